//! One pass over a JSON object that enforces the full grammar and refuses duplicate member
//! names at any depth WITHOUT building the document: only the members the rules need are
//! captured, borrowing from the input. This keeps the verify hot path free of maps; the
//! full claims are materialized later, and only if asked for.

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// A captured member value, reduced to what the rules look at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lite<'a> {
    Null,
    Bool,
    Number(f64),
    Str(Cow<'a, str>),
    /// Elements of a captured array (each reduced the same way).
    Array(Vec<Lite<'a>>),
    Object,
}

impl<'a> Lite<'a> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Lite::Str(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug)]
/// What [`scan_object`] found: the captured members (by position in `names`) and which of
/// the `presence` names are present with a non-null value (bit i for `presence[i]`).
pub(crate) struct Scanned<'a, const N: usize> {
    pub members: [Option<Lite<'a>>; N],
    pub present: u64,
}

/// Longest `presence` list [`scan_object`] accepts.
pub(crate) const MAX_PRESENCE_NAMES: usize = 64;

/// Scans `bytes` as one JSON object. Errors are short and never echo the input.
pub(crate) fn scan_object<'a, const N: usize>(
    bytes: &'a [u8],
    names: &[&str; N],
    presence: &[String],
) -> Result<Scanned<'a, N>, String> {
    debug_assert!(presence.len() <= MAX_PRESENCE_NAMES);
    let first = bytes.iter().find(|b| !b" \t\r\n".contains(b));
    if first != Some(&b'{') {
        return Err("is not a JSON object".to_owned());
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let top = Top { names, presence };
    let result =
        serde::Deserializer::deserialize_map(&mut de, top).and_then(|s| de.end().map(|_| s));
    result.map_err(|e| {
        let text = e.to_string();
        if text.starts_with("duplicate member") {
            format!("is not valid JSON ({text})")
        } else {
            format!(
                "is not valid JSON (error at line {} column {})",
                e.line(),
                e.column()
            )
        }
    })
}

/// Remembers the member names of one object to refuse duplicates (linear for the usual
/// handful of members, hashed past that so a huge object cannot cost quadratic time).
struct Seen<'a> {
    small: Vec<Cow<'a, str>>,
    large: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> Seen<'a> {
    fn new() -> Self {
        Seen {
            small: Vec::new(),
            large: None,
        }
    }

    /// False when `key` was seen before.
    fn insert(&mut self, key: Cow<'a, str>) -> bool {
        if let Some(set) = &mut self.large {
            return set.insert(key);
        }
        if self.small.contains(&key) {
            return false;
        }
        self.small.push(key);
        if self.small.len() > 32 {
            self.large = Some(self.small.drain(..).collect());
        }
        true
    }
}

fn duplicate<E: serde::de::Error>(key: &str) -> E {
    E::custom(format!(
        "duplicate member name {:?}",
        crate::text::clip(key, 40)
    ))
}

struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// Validates one value; `capture` keeps strings and array elements, otherwise nothing is kept.
#[derive(Copy, Clone)]
struct LiteSeed {
    capture: bool,
}

impl<'de> DeserializeSeed<'de> for LiteSeed {
    type Value = Lite<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LiteSeed {
    type Value = Lite<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Lite::Bool)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Lite::Number(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Lite::Number(v as f64))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        if v.is_finite() {
            Ok(Lite::Number(v))
        } else {
            Err(E::custom("number out of range"))
        }
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Lite::Str(if self.capture {
            Cow::Borrowed(v)
        } else {
            Cow::Borrowed("")
        }))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Lite::Str(if self.capture {
            Cow::Owned(v.to_owned())
        } else {
            Cow::Borrowed("")
        }))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Lite::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            if self.capture {
                items.push(item);
            }
        }
        Ok(Lite::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut seen = Seen::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if !seen.insert(key.clone()) {
                return Err(duplicate(&key));
            }
            map.next_value_seed(LiteSeed { capture: false })?;
        }
        Ok(Lite::Object)
    }
}

struct Top<'n, const N: usize> {
    names: &'n [&'n str; N],
    presence: &'n [String],
}

impl<'de, const N: usize> Visitor<'de> for Top<'_, N> {
    type Value = Scanned<'de, N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Scanned {
            members: std::array::from_fn(|_| None),
            present: 0,
        };
        let mut seen = Seen::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let slot = self.names.iter().position(|n| *n == key);
            let value = map.next_value_seed(LiteSeed {
                capture: slot.is_some(),
            })?;
            if let Some(i) = self.presence.iter().position(|n| *n == key) {
                if value != Lite::Null {
                    out.present |= 1 << i;
                }
            }
            if let Some(i) = slot {
                out.members[i] = Some(value);
            }
            if !seen.insert(key.clone()) {
                return Err(duplicate(&key));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(doc: &str) -> Result<Scanned<'_, 3>, String> {
        scan_object(
            doc.as_bytes(),
            &["iss", "aud", "exp"],
            &["sub".to_owned(), "jti".to_owned()],
        )
    }

    #[test]
    fn captures_members_of_interest() {
        let s = scan(r#"{"iss":"a\u0062","aud":["x",1,{"k":[]}],"exp":5.5,"sub":"s","jti":null,"n":{"a":{"b":[1,2]}}}"#).unwrap();
        assert_eq!(s.members[0], Some(Lite::Str("ab".into())));
        assert_eq!(
            s.members[1],
            Some(Lite::Array(vec![
                Lite::Str("x".into()),
                Lite::Number(1.0),
                Lite::Object
            ]))
        );
        assert_eq!(s.members[2], Some(Lite::Number(5.5)));
        assert_eq!(s.present, 0b01, "sub present, jti null");
    }

    #[test]
    fn refuses_duplicates_at_any_depth() {
        for doc in [
            r#"{"iss":"a","iss":"b"}"#,
            r#"{"x":1,"x":1}"#,
            r#"{"n":{"a":1,"a":2}}"#,
            r#"{"aud":[{"a":1,"\u0061":2}]}"#,
            r#"{"n":[[{"z":{"q":0,"q":0}}]]}"#,
        ] {
            assert!(scan(doc).unwrap_err().contains("duplicate member"), "{doc}");
        }
    }

    #[test]
    fn large_objects_still_catch_duplicates() {
        let mut doc = String::from("{");
        for i in 0..100 {
            doc.push_str(&format!("\"k{i}\":{i},"));
        }
        doc.push_str("\"k7\":0}");
        assert!(scan(&doc).unwrap_err().contains("duplicate"));
    }

    #[test]
    fn refuses_bad_json_without_echo() {
        for doc in [
            "",
            "[]",
            "\"x\"",
            "{",
            "{} {}",
            r#"{"a":1e999}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"secret":tru}"#,
            "foo",
        ] {
            let err = scan(doc).unwrap_err();
            assert!(!err.contains("tru") && !err.contains("secret"), "{err}");
        }
        assert!(scan(" \n{\"iss\":\"a\"}\n").is_ok());
    }

    #[test]
    fn agrees_with_the_full_parser() {
        for doc in [
            r#"{"a":[1,{"b":null}],"c":"\u00e9"}"#,
            r#"{"a":1,"a":1}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"{"a":tru}"#,
            "{}",
        ] {
            assert_eq!(
                scan(doc).is_ok(),
                crate::json::parse_object(doc.as_bytes()).is_ok(),
                "{doc}"
            );
        }
    }

    /// Differential test against the full strict parser (which builds the whole document
    /// through a different visitor): random and mutated documents must get the same
    /// verdict, and captured members the same values.
    #[test]
    fn random_documents_agree_with_the_full_parser() {
        struct Rng(u64);
        impl Rng {
            fn next(&mut self) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            }
            fn below(&mut self, n: u64) -> u64 {
                self.next() % n
            }
        }
        const KEYS: [&str; 8] = ["iss", "aud", "exp", "sub", "a", "\\u0069ss", "x", "jti"];
        fn value(r: &mut Rng, depth: u32, out: &mut String) {
            match r.below(if depth > 3 { 5 } else { 7 }) {
                0 => out.push_str(["null", "true", "false"][r.below(3) as usize]),
                1 => {
                    const NUMBERS: [&str; 9] = [
                        "0",
                        "-1",
                        "1.5",
                        "1e3",
                        "17672256000",
                        "-0.0",
                        "1e999",
                        "01",
                        "1.",
                    ];
                    out.push_str(NUMBERS[r.below(9) as usize])
                }
                2 => out.push_str(
                    [
                        "\"s\"",
                        "\"\\u00e9\"",
                        "\"\\ud83d\\ude00\"",
                        "\"\\ud800\"",
                        "\"a\\nb\"",
                        "\"\"",
                        "\"\\x\"",
                    ][r.below(7) as usize],
                ),
                3 | 4 => out.push_str("\"api://default\""),
                5 => {
                    out.push('[');
                    for i in 0..r.below(4) {
                        if i > 0 {
                            out.push(',');
                        }
                        value(r, depth + 1, out);
                    }
                    out.push(']');
                }
                _ => object(r, depth + 1, out),
            }
        }
        fn object(r: &mut Rng, depth: u32, out: &mut String) {
            out.push('{');
            for i in 0..r.below(6) {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(KEYS[r.below(KEYS.len() as u64) as usize]);
                out.push_str("\":");
                value(r, depth, out);
            }
            out.push('}');
        }
        let mut r = Rng(0x9E37_79B9_7F4A_7C15);
        let (mut accepted, mut rejected) = (0, 0);
        for _ in 0..20_000 {
            let mut doc = String::new();
            object(&mut r, 0, &mut doc);
            let mut bytes = doc.into_bytes();
            match r.below(4) {
                0 if !bytes.is_empty() => {
                    let at = r.below(bytes.len() as u64) as usize;
                    let pool = b"{}[],:\"\\ 0a\x00\xff";
                    bytes[at] = pool[r.below(pool.len() as u64) as usize];
                }
                1 if !bytes.is_empty() => bytes.truncate(r.below(bytes.len() as u64) as usize),
                _ => {}
            }
            let full = crate::json::parse_object(&bytes);
            let scanned = scan_object(&bytes, &["iss", "aud", "exp"], &["sub".to_owned()]);
            assert_eq!(
                full.is_ok(),
                scanned.is_ok(),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
            if let (Ok(map), Ok(s)) = (full, scanned) {
                accepted += 1;
                for (i, name) in ["iss", "aud", "exp"].iter().enumerate() {
                    let lite = s.members[i].as_ref();
                    match (map.get(*name), lite) {
                        (None, None) => {}
                        (Some(serde_json::Value::String(a)), Some(Lite::Str(b))) => {
                            assert_eq!(a, b)
                        }
                        (Some(serde_json::Value::Number(a)), Some(Lite::Number(b))) => {
                            assert_eq!(a.as_f64(), Some(*b))
                        }
                        (Some(serde_json::Value::Null), Some(Lite::Null)) => {}
                        (Some(serde_json::Value::Bool(_)), Some(Lite::Bool)) => {}
                        (Some(serde_json::Value::Array(a)), Some(Lite::Array(b))) => {
                            assert_eq!(a.len(), b.len())
                        }
                        (Some(serde_json::Value::Object(_)), Some(Lite::Object)) => {}
                        (a, b) => panic!("{name}: {a:?} vs {b:?}"),
                    }
                }
                let sub_present = map.get("sub").is_some_and(|v| !v.is_null());
                assert_eq!(s.present & 1 == 1, sub_present);
            } else {
                rejected += 1;
            }
        }
        assert!(
            accepted > 2_000 && rejected > 2_000,
            "{accepted} accepted, {rejected} rejected"
        );
    }
}
