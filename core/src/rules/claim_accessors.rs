//! How every language reads the registered claims of a verified token: one rule per
//! accessor, here, so that `aud`, `exp` or `scp` read the same in Rust, C, Go, Python and
//! Node. The bindings convert these values to their types and never look at the claims
//! themselves (the shared vectors' `accessors.json` checks each of them);
//! `token::ClaimAccessors` gives them all at once.

use serde_json::{Map, Value};

/// The latest (and, negated, earliest) NumericDate an accessor gives, in seconds: the range
/// of a JavaScript `Date` (year 275760), so every language holds the same value. A larger
/// `exp` still verifies (it lies in the future); it reads as this bound.
pub const MAX_NUMERIC_DATE: i64 = 8_640_000_000_000;

/// A string member, `None` when absent or not a string.
pub fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// `iss`; "" when absent or not a string (a signed token's was checked equal to a
/// configured issuer; an introspection answer may leave it out).
pub fn issuer(claims: &Map<String, Value>) -> &str {
    string_claim(claims, "iss").unwrap_or_default()
}

/// `aud` as a list: a single string becomes one element; the strings of an array, in order,
/// any other entry left out; anything else (absent, an object) is the empty list.
pub fn audiences(claims: &Map<String, Value>) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// A NumericDate member in whole seconds since the epoch: the fraction dropped (toward
/// zero), clamped to ±[`MAX_NUMERIC_DATE`]; `None` when absent or not a number.
pub fn numeric_date(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    let seconds = claims.get(name)?.as_f64()?.trunc();
    let bound = MAX_NUMERIC_DATE as f64;
    Some(seconds.clamp(-bound, bound) as i64)
}

/// `cnf.jkt`, the RFC 7638 thumbprint of the key a DPoP-bound token is bound to (RFC 9449).
pub fn dpop_jkt(claims: &Map<String, Value>) -> Option<&str> {
    claims
        .get("cnf")
        .and_then(|c| c.get("jkt"))
        .and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn numeric_dates_drop_the_fraction_and_stay_in_range() {
        let c = map(json!({"exp": 1e20, "nbf": -1.9, "iat": 10.99, "x": "5"}));
        assert_eq!(numeric_date(&c, "exp"), Some(MAX_NUMERIC_DATE));
        assert_eq!(numeric_date(&c, "nbf"), Some(-1));
        assert_eq!(numeric_date(&c, "iat"), Some(10));
        assert_eq!(numeric_date(&c, "x"), None);
        let c = map(json!({"exp": -1e300}));
        assert_eq!(numeric_date(&c, "exp"), Some(-MAX_NUMERIC_DATE));
    }

    #[test]
    fn audiences_keep_only_strings() {
        assert_eq!(
            audiences(&map(json!({"aud": ["a", 1, null, "b"]}))),
            ["a", "b"]
        );
        assert_eq!(audiences(&map(json!({"aud": "a"}))), ["a"]);
        assert!(audiences(&map(json!({"aud": {"a": 1}}))).is_empty());
    }
}
