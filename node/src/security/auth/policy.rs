//! [`Policy`]: allow rules per principal, read from the policy file. Deny by
//! default: a request passes only when one of its principal's rules names
//! the action and a resource pattern matching the resource.
//!
//! ```yaml
//! principals:
//!   orders-service:
//!     - resources: ["topics/orders-*"]
//!       actions: [publish]
//!     - resources: ["subscriptions/orders-*"]
//!       actions: [consume]
//!   ops:
//!     - resources: ["*"]
//!       actions: [publish, consume, manage, admin]
//! ```
//!
//! Resources are `topics/NAME`, `subscriptions/NAME` and `cluster`; a pattern's
//! `*` stands for any run of characters (including none) and `?` for one.

use std::collections::HashMap;

use serde::Deserialize;

/// What a request does to a resource (DESIGN §10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Publish to a topic (`:publish`, `:publishStream`).
    Publish,
    /// Read a subscription: pull, stream, ack, nack, modifyAckDeadline, seek,
    /// dead letters, consumer-group membership.
    Consume,
    /// Create, update and delete topics and subscriptions; redrive; resume
    /// ordering keys.
    Manage,
    /// Cluster operations.
    Admin,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Publish => "publish",
            Action::Consume => "consume",
            Action::Manage => "manage",
            Action::Admin => "admin",
        }
    }
}

/// One allow rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub resources: Vec<String>,
    pub actions: Vec<Action>,
}

impl Rule {
    fn covers(&self, action: Option<Action>, resource: &str) -> bool {
        action.is_none_or(|a| self.actions.contains(&a))
            && self.resources.iter().any(|p| glob_matches(p, resource))
    }
}

/// The allow rules of every principal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    principals: HashMap<String, Vec<Rule>>,
}

impl Policy {
    /// Reads a policy file's YAML.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        serde_saphyr::from_str(text).map_err(|e| e.to_string())
    }

    /// Whether `principal` may do `action` (any action when `None`: reading
    /// a resource's description) on `resource`.
    pub fn allows(&self, principal: &str, action: Option<Action>, resource: &str) -> bool {
        self.principals
            .get(principal)
            .is_some_and(|rules| rules.iter().any(|r| r.covers(action, resource)))
    }

    /// Whether `principal` has any rule at all (lists need one).
    pub fn grants_anything(&self, principal: &str) -> bool {
        self.principals
            .get(principal)
            .is_some_and(|rules| rules.iter().any(|r| !r.actions.is_empty()))
    }
}

/// `*` matches any run of characters, `?` exactly one; everything else itself.
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    // Iterative matching with one backtrack point: linear in practice and
    // never exponential, whatever the pattern.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn globs_match_prefixes_suffixes_and_single_characters() {
        assert!(glob_matches("topics/orders-*", "topics/orders-eu"));
        assert!(glob_matches("topics/orders-*", "topics/orders-"));
        assert!(!glob_matches("topics/orders-*", "topics/payments"));
        assert!(!glob_matches("topics/orders-*", "subscriptions/orders-eu"));
        assert!(glob_matches("*", "cluster"));
        assert!(glob_matches("*/a?c", "topics/abc"));
        assert!(!glob_matches("*/a?c", "topics/abbc"));
        assert!(glob_matches("topics/*-eu*", "topics/x-eu-y"));
        assert!(!glob_matches("cluster", "clusters"));
    }

    #[test]
    fn a_policy_denies_what_no_rule_allows() {
        let policy = Policy::parse(
            "principals:\n  orders:\n    - resources: [\"topics/orders-*\"]\n      actions: [publish]\n",
        )
        .expect("policy");
        assert!(policy.allows("orders", Some(Action::Publish), "topics/orders-1"));
        assert!(policy.allows("orders", None, "topics/orders-1"));
        assert!(!policy.allows("orders", Some(Action::Publish), "topics/payments"));
        assert!(!policy.allows("orders", Some(Action::Manage), "topics/orders-1"));
        assert!(!policy.allows("orders", Some(Action::Admin), "cluster"));
        assert!(!policy.allows("stranger", None, "topics/orders-1"));
        assert!(policy.grants_anything("orders"));
        assert!(!policy.grants_anything("stranger"));
    }

    #[test]
    fn unknown_actions_and_keys_are_refused() {
        assert!(
            Policy::parse("principals: { a: [ { resources: [\"*\"], actions: [read] } ] }")
                .is_err()
        );
        assert!(Policy::parse("rules: []").is_err());
    }

    proptest! {
        #[test]
        fn a_pattern_without_wildcards_matches_only_itself(a in "[a-z/-]{0,12}", b in "[a-z/-]{0,12}") {
            prop_assert_eq!(glob_matches(&a, &b), a == b);
        }

        #[test]
        fn a_trailing_star_is_a_prefix_match(prefix in "[a-z-]{0,8}", text in "[a-z-]{0,12}") {
            prop_assert_eq!(glob_matches(&format!("{prefix}*"), &text), text.starts_with(&prefix));
        }
    }
}
