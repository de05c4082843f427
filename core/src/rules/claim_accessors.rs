//! How every language reads the registered claims of a verified token: one rule per
//! accessor, here, so that `aud`, `exp` or `scp` read the same in Rust, C, Go, Python and
//! Node. The bindings convert these values to their types and never look at the claims
//! themselves (the shared vectors' `accessors.json` checks each of them);
//! `token::ClaimAccessors` gives them all at once.
//!
//! Each rule reads a claim as a [`Member`], which comes either from the parsed claims or,
//! for the speed of bindings that ask for every accessor of every token, straight from the
//! members the scanner locates in the claims text ([`scanned`]).

use crate::format::json_scanner::{self, ClaimValue};
use crate::support::error::{Error, ErrorCode};
use serde_json::{Map, Value};

/// The latest (and, negated, earliest) NumericDate an accessor gives, in seconds: the range
/// of a JavaScript `Date` (year 275760), so every language holds the same value. A larger
/// `exp` still verifies (it lies in the future); it reads as this bound.
pub const MAX_NUMERIC_DATE: i64 = 8_640_000_000_000;

/// How many claims an accessor reads, and where [`scanned`] keeps each.
const READ: usize = 11;

fn slot(name: &str) -> Option<usize> {
    Some(match name {
        "iss" => 0,
        "sub" => 1,
        "jti" => 2,
        "aud" => 3,
        "exp" => 4,
        "nbf" => 5,
        "iat" => 6,
        "cnf" => 7,
        "scope" => 8,
        "scp" => 9,
        "permissions" => 10,
        _ => return None,
    })
}

/// A claim as the accessor rules tell values apart.
#[derive(Clone, Copy, Debug)]
pub enum Member<'a> {
    Absent,
    Null,
    Str(&'a str),
    Number(f64),
    Array(&'a [Value]),
    Object(&'a Map<String, Value>),
    /// `true` or `false`.
    Bool,
}

impl<'a> Member<'a> {
    /// `name` of parsed claims.
    pub fn of(claims: &'a Map<String, Value>, name: &str) -> Self {
        match claims.get(name) {
            None => Member::Absent,
            Some(Value::Null) => Member::Null,
            Some(Value::Bool(_)) => Member::Bool,
            Some(Value::String(s)) => Member::Str(s),
            // Every JSON number has an f64 reading (serde_json keeps no others).
            Some(Value::Number(n)) => Member::Number(n.as_f64().unwrap_or(f64::NAN)),
            Some(Value::Array(list)) => Member::Array(list),
            Some(Value::Object(map)) => Member::Object(map),
        }
    }
}

/// The members the accessors read, located in `claims_json` (a validated JSON object)
/// without parsing it: `None` when one of them is more than a plain string, an integer of
/// at most 15 digits, a boolean or null (an array, an object, an escaped string, another
/// number), or a name is not plain. Callers then parse the claims; the results are the
/// same (`crate::fuzzing::check_scanner` holds them to it in the property tests and the
/// `signed_json` fuzz target).
pub fn scanned<'a>(claims_json: &'a str) -> Option<impl Fn(&str) -> Member<'a>> {
    let mut read = [Member::Absent; READ];
    let mut all_read = true;
    let whole = json_scanner::each_member(claims_json.as_bytes(), |member| {
        let Some(slot) = slot(&claims_json[member.name]) else {
            return;
        };
        read[slot] = match member.value {
            ClaimValue::Plain(text) => Member::Str(&claims_json[text]),
            ClaimValue::Integer(n) => Member::Number(n),
            ClaimValue::True | ClaimValue::False => Member::Bool,
            ClaimValue::Null => Member::Null,
            ClaimValue::Json(_) => {
                all_read = false;
                Member::Absent
            }
        };
    });
    (whole && all_read)
        .then_some(move |name: &str| slot(name).map_or(Member::Absent, |slot| read[slot]))
}

/// A string claim, `None` when absent or not a string.
pub fn string(member: Member<'_>) -> Option<&str> {
    match member {
        Member::Str(s) => Some(s),
        _ => None,
    }
}

/// A string member, `None` when absent or not a string.
pub fn string_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    string(Member::of(claims, name))
}

/// `iss`; "" when absent or not a string (a signed token's was checked equal to a
/// configured issuer; an introspection answer may leave it out).
pub fn issuer(claims: &Map<String, Value>) -> &str {
    string_claim(claims, "iss").unwrap_or_default()
}

/// `aud` as a list: a single string becomes one element; the strings of an array, in order,
/// any other entry left out; anything else (absent, an object) is the empty list.
pub fn audience_list(aud: Member<'_>) -> Vec<&str> {
    match aud {
        Member::Str(s) => vec![s],
        Member::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// [`audience_list`] of parsed claims.
pub fn audiences(claims: &Map<String, Value>) -> Vec<&str> {
    audience_list(Member::of(claims, "aud"))
}

/// A NumericDate in whole seconds since the epoch: the fraction dropped (toward zero),
/// clamped to ±[`MAX_NUMERIC_DATE`]; `None` when absent or not a number.
pub fn date(member: Member<'_>) -> Option<i64> {
    let Member::Number(seconds) = member else {
        return None;
    };
    let bound = MAX_NUMERIC_DATE as f64;
    Some(seconds.trunc().clamp(-bound, bound) as i64)
}

/// [`date`] of a member of parsed claims.
pub fn numeric_date(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    date(Member::of(claims, name))
}

/// `cnf.jkt`, the RFC 7638 thumbprint of the key a DPoP-bound token is bound to (RFC 9449).
pub fn jkt(cnf: Member<'_>) -> Option<&str> {
    match cnf {
        Member::Object(cnf) => cnf.get("jkt").and_then(Value::as_str),
        _ => None,
    }
}

/// [`jkt`] of parsed claims.
pub fn dpop_jkt(claims: &Map<String, Value>) -> Option<&str> {
    jkt(Member::of(claims, "cnf"))
}

/// Everything granted: the space-delimited `scope` (or the strings of an array `scope`,
/// whose objects are role policies), `scp` (array or space-delimited string) and the
/// `permissions` array, in that order. A claim of the wrong shape is `claim_invalid`.
pub fn scopes<'a>(claim: impl Fn(&str) -> Member<'a>) -> Result<Vec<&'a str>, Error> {
    let mut granted = Vec::new();
    for name in ["scope", "scp", "permissions"] {
        let invalid = || {
            Error::for_claim(
                ErrorCode::ClaimInvalid,
                name,
                format!("\"{name}\" has the wrong type"),
            )
        };
        match claim(name) {
            Member::Absent | Member::Null => {}
            Member::Str(s) if name != "permissions" => {
                granted.extend(s.split(' ').filter(|s| !s.is_empty()))
            }
            // An array `scope` is go-authkit's shape: its objects are role policies
            // (read by `Requirement`), its strings plain scopes.
            Member::Array(list) if name == "scope" => {
                for item in list {
                    match item {
                        Value::String(s) => granted.push(s.as_str()),
                        Value::Object(_) => {}
                        _ => return Err(invalid()),
                    }
                }
            }
            Member::Array(list) => {
                for item in list {
                    granted.push(item.as_str().ok_or_else(invalid)?);
                }
            }
            _ => return Err(invalid()),
        }
    }
    Ok(granted)
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
