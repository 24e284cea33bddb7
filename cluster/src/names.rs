//! Validating newtypes for resource names.
//!
//! Syntax (the same for topics and subscriptions, as in Google Pub/Sub):
//! `[A-Za-z][A-Za-z0-9._-]{2,254}`, so 3 to 255 characters, starting with a
//! letter. A name is checked once, where it enters the system; after that a
//! `TopicName` is known to be valid.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::MetadataError;

/// Shortest allowed name, in characters.
pub const MIN_NAME_LEN: usize = 3;
/// Longest allowed name, in characters.
pub const MAX_NAME_LEN: usize = 255;

/// The syntax as a regular expression (ECMA 262 and Rust's `regex` read it
/// alike), for the OpenAPI document: a name matches it exactly when
/// [`TopicName::new`] accepts it.
pub fn name_pattern() -> String {
    format!(
        "^[A-Za-z][A-Za-z0-9._-]{{{},{}}}$",
        MIN_NAME_LEN - 1,
        MAX_NAME_LEN - 1
    )
}

fn validate(kind: &'static str, name: &str) -> Result<(), MetadataError> {
    let invalid = |reason: &'static str| MetadataError::InvalidName {
        kind: kind.into(),
        name: name.to_owned(),
        reason: reason.into(),
    };
    if name.len() < MIN_NAME_LEN {
        return Err(invalid("must be at least 3 characters long"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid("must be at most 255 characters long"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(invalid("must start with a letter"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(invalid(
            "may contain only letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

macro_rules! resource_name {
    ($(#[$doc:meta])* $ty:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            /// Checks the syntax and wraps the name.
            pub fn new(name: impl Into<String>) -> Result<Self, MetadataError> {
                let name = name.into();
                validate($kind, &name)?;
                Ok(Self(name))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = MetadataError;
            fn try_from(name: String) -> Result<Self, Self::Error> {
                Self::new(name)
            }
        }

        impl From<$ty> for String {
            fn from(name: $ty) -> String {
                name.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

resource_name!(
    /// The name of a topic.
    TopicName,
    "topic"
);
resource_name!(
    /// The name of a subscription.
    SubscriptionName,
    "subscription"
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_documented_syntax() {
        for ok in ["abc", "orders", "Orders.v2_eu-west", &"a".repeat(255)] {
            assert!(TopicName::new(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn rejects_each_rule_with_its_reason() {
        let cases = [
            ("ab", "at least 3"),
            (&*"a".repeat(256), "at most 255"),
            ("1abc", "start with a letter"),
            ("_abc", "start with a letter"),
            ("ab c", "only letters"),
            ("ab/c", "only letters"),
            ("abé", "only letters"),
        ];
        for (name, reason) in cases {
            let err = TopicName::new(name).expect_err(name);
            assert!(err.to_string().contains(reason), "{name}: {err}");
        }
    }

    #[test]
    fn deserialization_validates() {
        let bad: Result<SubscriptionName, _> = serde_json::from_str("\"9lives\"");
        assert!(bad.is_err());
        let good: SubscriptionName = serde_json::from_str("\"sub-1\"").expect("valid");
        assert_eq!(good.as_str(), "sub-1");
    }

    proptest! {
        #[test]
        fn the_documented_pattern_accepts_exactly_the_valid_names(name in "(?s).{0,300}|[A-Za-z][A-Za-z0-9._-]{0,300}") {
            let pattern = regex::Regex::new(&name_pattern()).expect("the pattern compiles");
            prop_assert_eq!(pattern.is_match(&name), TopicName::new(name.clone()).is_ok(), "{:?}", name);
        }

        #[test]
        fn valid_iff_matches_pattern(name in "[ -~]{0,20}") {
            let pattern_ok = name.len() >= 3
                && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c));
            prop_assert_eq!(TopicName::new(name.clone()).is_ok(), pattern_ok);
        }
    }
}
