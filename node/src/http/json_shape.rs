//! Reads a JSON request body as its type the way the OpenAPI document
//! describes it, where serde's defaults differ from JSON Schema:
//! - serde reads a struct from an array of its fields in order
//!   (`"retryPolicy": ["1s", "2s"]`); the document allows arrays only where the
//!   API has lists ([`api::types::LIST_FIELDS`]), so any other array is refused;
//! - JSON Schema counts `10.0` as an integer; serde refuses it for a `u32`,
//!   so a body that fails only on such numbers is read again with them as
//!   integers.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::error::Category;
use serde_json::{Number, Value};

/// Decodes `text` as `T`; errors classify as serde_json's do (syntax, data).
pub fn decode<T: DeserializeOwned>(text: &[u8]) -> serde_json::Result<T> {
    let mut check = serde_json::Deserializer::from_slice(text);
    Shape {
        array_allowed: false,
    }
    .deserialize(&mut check)?;
    check.end()?;
    match serde_json::from_slice(text) {
        Err(error) if error.classify() == Category::Data => {
            let mut value: Value = serde_json::from_slice(text)?;
            if integral_floats_to_integers(&mut value) {
                T::deserialize(value).map_err(|_| error)
            } else {
                Err(error)
            }
        }
        decoded => decoded,
    }
}

/// Rewrites every float without a fraction as an integer; answers whether
/// there was one.
fn integral_floats_to_integers(value: &mut Value) -> bool {
    match value {
        Value::Number(number) => {
            let Some(float) = number.as_f64().filter(|_| number.is_f64()) else {
                return false;
            };
            let integer = if float.fract() != 0.0 {
                None
            } else if (0.0..=u64::MAX as f64).contains(&float) {
                Some(Number::from(float as u64))
            } else if (i64::MIN as f64..0.0).contains(&float) {
                Some(Number::from(float as i64))
            } else {
                None
            };
            integer.map(|n| *number = n).is_some()
        }
        Value::Array(items) => items.iter_mut().fold(false, |found, item| {
            integral_floats_to_integers(item) | found
        }),
        Value::Object(fields) => fields.values_mut().fold(false, |found, item| {
            integral_floats_to_integers(item) | found
        }),
        Value::Null | Value::Bool(_) | Value::String(_) => false,
    }
}

/// Walks a JSON value, refusing arrays except as the value of a list field.
#[derive(Debug, Clone, Copy)]
struct Shape {
    array_allowed: bool,
}

impl<'de> DeserializeSeed<'de> for Shape {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Shape {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        if !self.array_allowed {
            return Err(de::Error::custom(
                "expected an object or a single value, found an array",
            ));
        }
        while items
            .next_element_seed(Shape {
                array_allowed: false,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<(), A::Error> {
        while let Some(list) = fields.next_key_seed(ListField)? {
            fields.next_value_seed(Shape {
                array_allowed: list,
            })?;
        }
        Ok(())
    }
}

/// Reads a field name as whether it names a list, without copying it.
#[derive(Debug, Clone, Copy)]
struct ListField;

impl<'de> DeserializeSeed<'de> for ListField {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for ListField {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, name: &str) -> Result<bool, E> {
        Ok(api::types::LIST_FIELDS.contains(&name))
    }
}

#[cfg(test)]
mod tests {
    use api::types::{CreateSubscriptionRequest, PublishRequest, PullRequest};

    use super::*;

    #[test]
    fn an_array_where_an_object_belongs_is_refused() {
        let nested = br#"{"topic": "orders", "retryPolicy": ["1s", "2s"]}"#;
        let error = decode::<CreateSubscriptionRequest>(nested).expect_err("array for an object");
        assert_eq!(error.classify(), Category::Data);
        assert!(error.to_string().contains("found an array"), "{error}");
        assert!(
            decode::<PullRequest>(b"[10, 0]").is_err(),
            "a whole body as an array"
        );
    }

    #[test]
    fn lists_stay_lists() {
        let body = br#"{"messages": [{"data": "aGk="}, {"attributes": {"k": "v"}}]}"#;
        let request: PublishRequest = decode(body).expect("a list of messages");
        assert_eq!(request.messages.len(), 2);
    }

    #[test]
    fn integral_floats_are_integers() {
        let request: PullRequest =
            decode(br#"{"maxMessages": 10.0, "waitSeconds": 1e1}"#).expect("integral floats");
        assert_eq!(request.max_messages, Some(10));
        assert_eq!(request.wait_seconds, Some(10));
        let error = decode::<PullRequest>(br#"{"maxMessages": 10.5}"#).expect_err("a fraction");
        assert!(error.to_string().contains("10.5"), "{error}");
    }

    #[test]
    fn syntax_errors_stay_syntax_errors() {
        let error = decode::<PullRequest>(b"{\"maxMessages\": ").expect_err("cut short");
        assert_eq!(error.classify(), Category::Eof);
    }
}
