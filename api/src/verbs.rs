//! The custom verbs of `{name}:{verb}` URLs, one enum per resource, each with
//! the HTTP method it takes. The client builds its URLs from them
//! ([`crate::paths::topic_verb`], [`crate::paths::subscription_verb`]) and the
//! server dispatches on them, so a verb is spelled once.

use std::fmt;
use std::str::FromStr;

use http::Method;

/// What the two verb enums share, so the server splits and checks `:verb`
/// once for both resources.
pub trait Verb: Copy + fmt::Display + FromStr<Err = UnknownVerb> + 'static {
    /// Every verb of the resource.
    const ALL: &'static [Self];
    /// The resource collection, plural, as error details name it (`topics`).
    const RESOURCE: &'static str;

    /// The verb as written after the colon, e.g. `publishStream`.
    fn as_str(self) -> &'static str;

    /// The one HTTP method the verb takes: `POST`, or `GET` for reads and
    /// WebSocket upgrades.
    fn method(self) -> Method;
}

/// A verb the resource does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{resource} have no :{verb} verb")]
pub struct UnknownVerb {
    pub resource: &'static str,
    pub verb: String,
}

macro_rules! verbs {
    (
        $(#[$doc:meta])*
        $name:ident in $resource:literal {
            $($(#[$variant_doc:meta])* $variant:ident = ($text:literal, $method:ident),)*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$variant_doc])* $variant,)*
        }

        impl Verb for $name {
            const ALL: &'static [Self] = &[$(Self::$variant,)*];
            const RESOURCE: &'static str = $resource;

            fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)* }
            }

            fn method(self) -> Method {
                match self { $(Self::$variant => Method::$method,)* }
            }
        }

        impl FromStr for $name {
            type Err = UnknownVerb;

            fn from_str(text: &str) -> Result<Self, UnknownVerb> {
                match text {
                    $($text => Ok(Self::$variant),)*
                    _ => Err(UnknownVerb { resource: $resource, verb: text.to_owned() }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

verbs! {
    /// The verbs of `/v1/topics/{topic}:{verb}`.
    TopicVerb in "topics" {
        /// Stores a batch of messages.
        Publish = ("publish", POST),
        /// Publishes over a WebSocket (an upgrade request).
        PublishStream = ("publishStream", GET),
    }
}

verbs! {
    /// The verbs of `/v1/subscriptions/{subscription}:{verb}`.
    SubscriptionVerb in "subscriptions" {
        Pull = ("pull", POST),
        Acknowledge = ("acknowledge", POST),
        Nack = ("nack", POST),
        ModifyAckDeadline = ("modifyAckDeadline", POST),
        /// Moves the subscription's cursor to a time or an end.
        Seek = ("seek", POST),
        /// Lists dead letters.
        DeadLetters = ("deadLetters", GET),
        /// Republishes dead letters to the subscription.
        Redrive = ("redrive", POST),
        ResumeOrderingKey = ("resumeOrderingKey", POST),
        /// Delivers over a WebSocket (an upgrade request).
        Stream = ("stream", GET),
        /// Consumer groups: join, keep the session alive, leave.
        Join = ("join", POST),
        Heartbeat = ("heartbeat", POST),
        Leave = ("leave", POST),
    }
}

/// The verbs of `V` that `method` takes, e.g. for an error detail listing them.
pub fn taking<V: Verb>(method: &Method) -> impl Iterator<Item = V> + '_ {
    V::ALL.iter().copied().filter(move |v| v.method() == method)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn round_trips<V: Verb + PartialEq + fmt::Debug>() {
        for verb in V::ALL {
            assert_eq!(verb.as_str().parse::<V>(), Ok(*verb), "{verb}");
            assert_eq!(verb.to_string(), verb.as_str());
        }
        let texts: HashSet<_> = V::ALL.iter().map(|v| v.as_str()).collect();
        assert_eq!(texts.len(), V::ALL.len(), "no two verbs share a spelling");
    }

    #[test]
    fn every_verb_round_trips_through_its_text() {
        round_trips::<TopicVerb>();
        round_trips::<SubscriptionVerb>();
    }

    #[test]
    fn unknown_verbs_and_other_cases_are_refused() {
        assert_eq!(
            "explode".parse::<TopicVerb>(),
            Err(UnknownVerb {
                resource: "topics",
                verb: "explode".to_owned()
            })
        );
        for bad in ["Publish", "PUBLISH", "publish_stream", ""] {
            assert!(bad.parse::<TopicVerb>().is_err(), "{bad}");
        }
        assert_eq!(
            "Pull"
                .parse::<SubscriptionVerb>()
                .map_err(|e| e.to_string()),
            Err("subscriptions have no :Pull verb".to_owned())
        );
    }

    #[test]
    fn reads_and_upgrades_take_get_everything_else_post() {
        let topic = |method| taking::<TopicVerb>(&method).collect::<Vec<_>>();
        assert_eq!(topic(Method::GET), [TopicVerb::PublishStream]);
        assert_eq!(topic(Method::POST), [TopicVerb::Publish]);
        let gets: Vec<_> = taking::<SubscriptionVerb>(&Method::GET).collect();
        assert_eq!(
            gets,
            [SubscriptionVerb::DeadLetters, SubscriptionVerb::Stream]
        );
        assert_eq!(
            taking::<SubscriptionVerb>(&Method::POST).count(),
            SubscriptionVerb::ALL.len() - gets.len()
        );
    }
}
