//! Claim rules: a check on one claim's value (`equals`, `one_of`, `contains`, ...), the
//! claim named by its top-level name or by an RFC 6901 JSON Pointer. An issuer's rules
//! decide whether a token is for this service at all (`claim_invalid`, 401); a route's
//! rules decide whether the caller may do this (`scope_insufficient`, 403). Both name the
//! claim. Everything about a rule is checked when it is parsed, so a bad rule is a
//! `config_invalid` naming its place, never a surprise while serving.

use crate::support::error::{Error, ErrorCode};
use crate::support::untrusted_text::clip;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Number, Value};
use std::cmp::Ordering;
use std::fmt;

/// Where a claim is: a top-level name, or a JSON Pointer (`/realm_access/roles`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClaimPath {
    /// As written in the configuration: what errors name.
    text: String,
    /// The reference tokens, unescaped (one for a plain name).
    tokens: Vec<String>,
}

impl ClaimPath {
    /// Parses a claim name, or a JSON Pointer when `text` starts with `/` (`~0` is `~`,
    /// `~1` is `/`; any other `~` is an error, as RFC 6901 §3 says).
    pub fn parse(text: &str) -> Result<ClaimPath, String> {
        if text.is_empty() {
            return Err("a claim name or JSON Pointer must not be empty".into());
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Ok(ClaimPath {
                text: text.to_owned(),
                tokens: vec![text.to_owned()],
            });
        };
        let mut tokens = Vec::new();
        for raw in rest.split('/') {
            let mut token = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                match (c, c == '~') {
                    (_, false) => token.push(c),
                    (_, true) => match chars.next() {
                        Some('0') => token.push('~'),
                        Some('1') => token.push('/'),
                        _ => {
                            return Err(format!(
                                "{:?} is not a valid JSON Pointer: `~` must be followed by 0 or 1",
                                clip(text, 80)
                            ))
                        }
                    },
                }
            }
            tokens.push(token);
        }
        Ok(ClaimPath {
            text: text.to_owned(),
            tokens,
        })
    }

    /// The claim as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The value the path points at, if any (array members by decimal index, no leading zero).
    pub fn find<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        let (first, rest) = self.tokens.split_first()?;
        let mut at = claims.get(first)?;
        for token in rest {
            at = match at {
                Value::Object(map) => map.get(token)?,
                Value::Array(list) => list.get(array_index(token)?)?,
                _ => return None,
            };
        }
        Some(at)
    }
}

impl TryFrom<String> for ClaimPath {
    type Error = String;
    fn try_from(text: String) -> Result<ClaimPath, String> {
        ClaimPath::parse(&text)
    }
}

impl From<ClaimPath> for String {
    fn from(path: ClaimPath) -> String {
        path.text
    }
}

fn array_index(token: &str) -> Option<usize> {
    let digits = token.bytes().all(|b| b.is_ascii_digit());
    if !digits || token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

/// A value a rule compares with: a string, a number or a boolean (never an object,
/// an array or null: a rule on those would be ambiguous).
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    String(String),
    /// As written: an integer stays exact (64-bit IDs are past what an f64 holds).
    Number(Number),
    Bool(bool),
}

impl Scalar {
    /// Whether a claim value equals this one (numbers by value: 1 equals 1.0).
    fn matches(&self, value: &Value) -> bool {
        match (self, value) {
            (Scalar::String(a), Value::String(b)) => a == b,
            (Scalar::Number(a), Value::Number(b)) => compare(b, a) == Some(Ordering::Equal),
            (Scalar::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        }
    }
}

/// Two JSON numbers compared as the values they write. Not both as f64: an f64 holds
/// every integer only up to 2^53, so 2^53 + 1 would equal 2^53 and a rule on a 64-bit ID
/// (a snowflake tenant or account number) would accept its neighbours.
///
/// `as_i128` is `Some` for a number written as an integer (within 64 bits: a longer one
/// is an f64).
fn compare(a: &Number, b: &Number) -> Option<Ordering> {
    match (a.as_i128(), b.as_i128()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => integer_to_float(x, b.as_f64()?),
        (None, Some(y)) => integer_to_float(y, a.as_f64()?).map(Ordering::reverse),
        (None, None) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// `i` against `f`, exactly: `f`'s whole part is compared as an integer, then its fraction.
fn integer_to_float(i: i128, f: f64) -> Option<Ordering> {
    // Past ±1e30 no 64-bit integer is near; below, the whole part converts exactly.
    const FAR: f64 = 1e30;
    if f.is_nan() {
        return None;
    }
    if f.abs() >= FAR {
        return Some(if f > 0.0 {
            Ordering::Less
        } else {
            Ordering::Greater
        });
    }
    let whole = f.trunc();
    // Exact: `whole` is an integer of magnitude below 2^100.
    let order = i.cmp(&(whole as i128));
    Some(order.then(whole.partial_cmp(&f)?))
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::String(v) => s.serialize_str(v),
            Scalar::Number(v) => v.serialize(s),
            Scalar::Bool(v) => s.serialize_bool(*v),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, a number or a boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar::String(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v.into()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar::Number(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Number::from_f64(v)
                    .map(Scalar::Number)
                    .ok_or_else(|| E::custom("a number must be finite"))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

/// A rule as written: the claim and one or more operators, all of which must hold.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// A top-level claim name, or a JSON Pointer starting with `/`.
    pub claim: String,
    /// The claim equals this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equals: Option<Scalar>,
    /// The claim equals one of these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_of: Option<Vec<Scalar>>,
    /// The claim is an array holding this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<Scalar>,
    /// The claim is an array holding at least one of these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains_any: Option<Vec<Scalar>>,
    /// The claim is an array holding every one of these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains_all: Option<Vec<Scalar>>,
    /// `true`: the claim is present and not null; `false`: it is absent or null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// The claim is a number at least this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<Number>,
    /// The claim is a number at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<Number>,
}

/// A checked claim rule (see the module docs). Parsed from [`RuleSpec`]: at least one
/// operator, no empty list, a valid claim path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RuleSpec", into = "RuleSpec")]
pub struct ClaimRule {
    spec: RuleSpec,
    path: ClaimPath,
}

impl From<ClaimRule> for RuleSpec {
    fn from(rule: ClaimRule) -> RuleSpec {
        rule.spec
    }
}

impl TryFrom<RuleSpec> for ClaimRule {
    type Error = String;

    fn try_from(spec: RuleSpec) -> Result<ClaimRule, String> {
        let path = ClaimPath::parse(&spec.claim).map_err(|e| format!("claim: {e}"))?;
        let lists = [
            ("one_of", &spec.one_of),
            ("contains_any", &spec.contains_any),
            ("contains_all", &spec.contains_all),
        ];
        for (name, list) in lists {
            if list.as_ref().is_some_and(Vec::is_empty) {
                return Err(format!("{name}: needs at least one value"));
            }
        }
        let rule = ClaimRule { spec, path };
        if rule.operators().next().is_none() {
            return Err(format!(
                "the rule on {:?} has no operator (equals, one_of, contains, contains_any, \
                 contains_all, exists, at_least, at_most)",
                clip(&rule.spec.claim, 80)
            ));
        }
        Ok(rule)
    }
}

/// One operator of a rule: its name, and whether it holds for the claim's value (`None`:
/// the claim is absent).
type Operator<'a> = (&'static str, Box<dyn Fn(Option<&Value>) -> bool + 'a>);

impl ClaimRule {
    /// The claim as written (a name or a JSON Pointer): what a failure names.
    pub fn claim(&self) -> &str {
        self.path.as_str()
    }

    /// The operators this rule sets, each with whether it holds for `value`.
    fn operators(&self) -> impl Iterator<Item = Operator<'_>> {
        let s = &self.spec;
        let mut ops: Vec<Operator<'_>> = Vec::new();
        if let Some(want) = &s.equals {
            ops.push((
                "equals",
                Box::new(move |v| v.is_some_and(|v| want.matches(v))),
            ));
        }
        if let Some(list) = &s.one_of {
            ops.push((
                "one_of",
                Box::new(move |v| v.is_some_and(|v| list.iter().any(|w| w.matches(v)))),
            ));
        }
        if let Some(want) = &s.contains {
            ops.push(("contains", Box::new(move |v| holds(v, |i| want.matches(i)))));
        }
        if let Some(list) = &s.contains_any {
            ops.push((
                "contains_any",
                Box::new(move |v| list.iter().any(|w| holds(v, |i| w.matches(i)))),
            ));
        }
        if let Some(list) = &s.contains_all {
            ops.push((
                "contains_all",
                Box::new(move |v| {
                    matches!(v, Some(Value::Array(_)))
                        && list.iter().all(|w| holds(v, |i| w.matches(i)))
                }),
            ));
        }
        if let Some(want) = s.exists {
            ops.push((
                "exists",
                Box::new(move |v| want == v.is_some_and(|v| !v.is_null())),
            ));
        }
        if let Some(min) = &s.at_least {
            ops.push((
                "at_least",
                Box::new(move |v| ordered(v, min, Ordering::is_ge)),
            ));
        }
        if let Some(max) = &s.at_most {
            ops.push((
                "at_most",
                Box::new(move |v| ordered(v, max, Ordering::is_le)),
            ));
        }
        ops.into_iter()
    }

    /// The first operator that does not hold on `claims`, if any.
    pub fn failing_operator(&self, claims: &Map<String, Value>) -> Option<&'static str> {
        let value = self.path.find(claims);
        self.operators()
            .find(|(_, holds)| !holds(value))
            .map(|(name, _)| name)
    }

    /// `code` (naming the claim) unless the rule holds on `claims`.
    pub fn check(&self, claims: &Map<String, Value>, code: ErrorCode) -> Result<(), Error> {
        match self.failing_operator(claims) {
            None => Ok(()),
            Some(op) => Err(Error::for_claim(
                code,
                self.claim(),
                format!("claim {:?} fails the `{op}` rule", clip(self.claim(), 80)),
            )),
        }
    }
}

/// Whether `value` is an array with an item for which `f` holds.
fn holds(value: Option<&Value>, f: impl Fn(&Value) -> bool) -> bool {
    matches!(value, Some(Value::Array(list)) if list.iter().any(f))
}

/// Whether `value` is a number whose order against `bound` passes `test`.
fn ordered(value: Option<&Value>, bound: &Number, test: fn(Ordering) -> bool) -> bool {
    match value {
        Some(Value::Number(n)) => compare(n, bound).is_some_and(test),
        _ => false,
    }
}

/// Every rule in order; the first that fails gives `code`, naming its claim.
pub fn check_rules(
    rules: &[ClaimRule],
    claims: &Map<String, Value>,
    code: ErrorCode,
) -> Result<(), Error> {
    rules.iter().try_for_each(|r| r.check(claims, code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> Result<ClaimRule, Error> {
        crate::config::from_value(v)
    }

    fn claims() -> Map<String, Value> {
        json!({"azp": "web", "groups": ["admins", "dev"], "level": 3, "n": null,
               "realm_access": {"roles": ["user"]}, "a/b": {"~x": 1}, "list": [{"k": "v"}]})
        .as_object()
        .unwrap()
        .clone()
    }

    fn verdict(v: Value) -> Option<&'static str> {
        rule(v).unwrap().failing_operator(&claims())
    }

    #[test]
    fn operators() {
        assert_eq!(verdict(json!({"claim": "azp", "equals": "web"})), None);
        assert_eq!(
            verdict(json!({"claim": "azp", "equals": "cli"})),
            Some("equals")
        );
        assert_eq!(verdict(json!({"claim": "level", "equals": 3.0})), None);
        assert_eq!(
            verdict(json!({"claim": "level", "equals": "3"})),
            Some("equals")
        );
        assert_eq!(
            verdict(json!({"claim": "azp", "one_of": ["cli", "web"]})),
            None
        );
        assert_eq!(
            verdict(json!({"claim": "groups", "contains": "admins"})),
            None
        );
        assert_eq!(
            verdict(json!({"claim": "azp", "contains": "web"})),
            Some("contains")
        );
        assert_eq!(
            verdict(json!({"claim": "groups", "contains_any": ["x", "dev"]})),
            None
        );
        assert_eq!(
            verdict(json!({"claim": "groups", "contains_all": ["admins", "x"]})),
            Some("contains_all")
        );
        assert_eq!(
            verdict(json!({"claim": "groups", "contains_all": ["admins", "dev"]})),
            None
        );
        assert_eq!(
            verdict(json!({"claim": "n", "exists": true})),
            Some("exists")
        );
        assert_eq!(verdict(json!({"claim": "n", "exists": false})), None);
        assert_eq!(verdict(json!({"claim": "nope", "exists": false})), None);
        assert_eq!(
            verdict(json!({"claim": "level", "at_least": 3, "at_most": 3})),
            None
        );
        assert_eq!(
            verdict(json!({"claim": "level", "at_least": 4})),
            Some("at_least")
        );
        assert_eq!(
            verdict(json!({"claim": "azp", "at_most": 4})),
            Some("at_most")
        );
        assert_eq!(
            verdict(json!({"claim": "nope", "equals": "x"})),
            Some("equals")
        );
    }

    #[test]
    fn numbers_compare_as_written_not_rounded_to_f64() {
        let claims = json!({"id": 9_007_199_254_740_993u64, "max": u64::MAX, "min": i64::MIN,
                            "half": 2.5, "neg": -2.5, "huge": 1e300, "three": 3})
        .as_object()
        .unwrap()
        .clone();
        let fails = |r: Value| rule(r).unwrap().failing_operator(&claims);
        // 2^53 + 1 is not 2^53, though both are the same f64.
        for (claim, op, bound, holds) in [
            ("id", "equals", json!(9_007_199_254_740_993u64), true),
            ("id", "equals", json!(9_007_199_254_740_992u64), false),
            ("id", "equals", json!(9_007_199_254_740_992.0), false),
            ("id", "at_most", json!(9_007_199_254_740_992u64), false),
            ("id", "at_least", json!(9_007_199_254_740_994u64), false),
            ("id", "at_least", json!(9_007_199_254_740_993u64), true),
            ("max", "equals", json!(u64::MAX), true),
            ("max", "equals", json!(u64::MAX - 1), false),
            ("max", "at_most", json!(1.8446744073709552e19), true),
            ("min", "equals", json!(i64::MIN), true),
            ("min", "at_least", json!(i64::MIN + 1), false),
            ("three", "equals", json!(3.0), true),
            ("three", "at_least", json!(2.999_999_999), true),
            ("three", "at_most", json!(2.999_999_999), false),
            ("half", "at_least", json!(2), true),
            ("half", "at_most", json!(2), false),
            ("half", "at_most", json!(3), true),
            ("neg", "at_least", json!(-3), true),
            ("neg", "at_most", json!(-3), false),
            ("neg", "at_most", json!(-2), true),
            ("huge", "at_least", json!(u64::MAX), true),
            ("huge", "at_most", json!(i64::MAX), false),
        ] {
            let verdict = fails(json!({"claim": claim, op: bound}));
            assert_eq!(verdict.is_none(), holds, "{claim} {op} {bound}");
        }
        // one_of and contains compare the same way.
        assert_eq!(
            fails(json!({"claim": "id", "one_of": [9_007_199_254_740_992u64, 1]})),
            Some("one_of")
        );
        let listed = json!({"ids": [9_007_199_254_740_993u64]});
        let rule_on = |bound: u64| rule(json!({"claim": "ids", "contains": bound})).unwrap();
        assert!(rule_on(9_007_199_254_740_992)
            .failing_operator(listed.as_object().unwrap())
            .is_some());
        assert!(rule_on(9_007_199_254_740_993)
            .failing_operator(listed.as_object().unwrap())
            .is_none());
    }

    #[test]
    fn pointers() {
        assert_eq!(
            verdict(json!({"claim": "/realm_access/roles", "contains": "user"})),
            None
        );
        assert_eq!(verdict(json!({"claim": "/a~1b/~0x", "equals": 1})), None);
        assert_eq!(verdict(json!({"claim": "/list/0/k", "equals": "v"})), None);
        assert_eq!(
            verdict(json!({"claim": "/list/00/k", "exists": true})),
            Some("exists")
        );
        assert_eq!(
            verdict(json!({"claim": "/azp/x", "exists": true})),
            Some("exists")
        );
        let err = rule(json!({"claim": "/a~2", "exists": true})).unwrap_err();
        assert!(err.message().contains("JSON Pointer"), "{err}");
    }

    #[test]
    fn bad_rules_are_config_errors() {
        for (v, needle) in [
            (json!({"claim": "a", "equal": "x"}), "unknown field `equal`"),
            (
                json!({"claim": "a", "equals": ["x"]}),
                "a string, a number or a boolean",
            ),
            (
                json!({"claim": "a", "equals": {"x": 1}}),
                "a string, a number or a boolean",
            ),
            (json!({"claim": "a", "at_least": "3"}), "invalid type"),
            (
                json!({"claim": "a", "one_of": []}),
                "one_of: needs at least one value",
            ),
            (json!({"claim": "a"}), "has no operator"),
            (json!({"claim": "", "exists": true}), "must not be empty"),
        ] {
            let err = rule(v.clone()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ConfigInvalid);
            assert!(err.message().contains(needle), "{v}: {err}");
        }
    }

    #[test]
    fn failures_name_the_claim() {
        let r = rule(json!({"claim": "/realm_access/roles", "contains": "admin"})).unwrap();
        let err = r
            .check(&claims(), ErrorCode::ScopeInsufficient)
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::ScopeInsufficient);
        assert_eq!(err.claim(), Some("/realm_access/roles"));
    }
}
