//! Strict JSON: the same grammar as serde_json, but a member name repeated in any object at
//! any depth is an error (RFC 7515 §5.2 lets us refuse them; accepting "last wins" lets two
//! parsers disagree about one token).

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Parses `bytes` as one JSON value, refusing duplicate member names at any depth.
pub fn parse(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// Parses `bytes` as one JSON object, refusing duplicate member names at any depth.
pub fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match parse(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("is not a JSON object".to_owned()),
        Err(e) => Err(format!("is not valid JSON ({})", describe(&e))),
    }
}

/// A serde_json error without the echo of the input that some of its messages carry.
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Data => {
            let text = e.to_string();
            if text.starts_with("duplicate member") {
                text
            } else {
                format!("invalid value at line {} column {}", e.line(), e.column())
            }
        }
        Category::Eof => "unexpected end of input".to_owned(),
        Category::Syntax | Category::Io => {
            format!("syntax error at line {} column {}", e.line(), e.column())
        }
    }
}

struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element_seed(StrictValue)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(A::Error::custom(format!(
                    "duplicate member name {:?}",
                    crate::support::untrusted_text::clip(&key, 40)
                )));
            }
            let value = map.next_value_seed(StrictValue)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_objects() {
        let m = parse_object(br#"{"a":1,"b":{"c":[1,2,{"d":null}]},"e":"x"}"#).unwrap();
        assert_eq!(m["e"], "x");
    }

    #[test]
    fn rejects_duplicates_at_any_depth() {
        for doc in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"a":{"b":1,"b":1}}"#,
            br#"{"a":[{"x":1},{"y":2,"y":3}]}"#,
            br#"{"a":1,"\u0061":2}"#,
        ] {
            let err = parse_object(doc).unwrap_err();
            assert!(err.contains("duplicate member"), "{err}");
        }
    }

    #[test]
    fn rejects_non_objects_and_trailing_data() {
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(b"\"x\"").is_err());
        assert!(parse_object(b"{} {}").is_err());
        assert!(parse_object(b"{").is_err());
        assert!(parse_object(b"foo").is_err());
        assert!(parse_object(b"{\"a\":1e999}").is_err());
        assert!(parse_object(b"{\"a\":\"\\ud800\"}").is_err());
    }

    #[test]
    fn errors_do_not_echo_input() {
        let err = parse_object(br#"{"secret": tru}"#).unwrap_err();
        assert!(!err.contains("tru"), "{err}");
    }
}
