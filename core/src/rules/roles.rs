//! Role policies in go-authkit's shape: a claim (`scope` by default) holding an array of
//! objects `{"rn": "my_service", "role": "admin", "tn": "tenant-1", "rs": "..."}`
//! (resource namespace, role, optional tenant and resource), and the string form a route
//! requires them by: `rn:role` (any tenant) or `rn:role@tn` (that tenant).

use crate::config::claim_rule::ClaimPath;
use crate::support::error::{Error, ErrorCode};
use crate::support::untrusted_text::clip;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;
use std::str::FromStr;

/// One granted role policy, read from a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RolePolicy {
    /// Resource namespace (`rn`).
    pub rn: String,
    pub role: String,
    /// Tenant (`tn`), when the policy is limited to one.
    pub tn: Option<String>,
    /// Resource (`rs`), when the policy is limited to one.
    pub rs: Option<String>,
}

/// A role a route requires: `rn:role` or `rn:role@tn`. `rn` is the text before the first
/// `:`, `tn` the text after the first `@` that follows it; no part may be empty or hold
/// whitespace. A requirement without a tenant is met by a policy for any tenant (or none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RoleRequirement {
    pub rn: String,
    pub role: String,
    pub tn: Option<String>,
}

impl FromStr for RoleRequirement {
    type Err = String;

    fn from_str(text: &str) -> Result<RoleRequirement, String> {
        let bad = || {
            format!(
                "{:?} is not a role: use \"rn:role\" or \"rn:role@tenant\"",
                clip(text, 80)
            )
        };
        let (rn, rest) = text.split_once(':').ok_or_else(bad)?;
        let (role, tn) = match rest.split_once('@') {
            Some((role, tn)) => (role, Some(tn)),
            None => (rest, None),
        };
        let part_ok = |p: &str| !p.is_empty() && !p.chars().any(char::is_whitespace);
        if !part_ok(rn) || !part_ok(role) || tn.is_some_and(|t| !part_ok(t)) {
            return Err(bad());
        }
        Ok(RoleRequirement {
            rn: rn.to_owned(),
            role: role.to_owned(),
            tn: tn.map(str::to_owned),
        })
    }
}

impl TryFrom<String> for RoleRequirement {
    type Error = String;
    fn try_from(text: String) -> Result<RoleRequirement, String> {
        text.parse()
    }
}

impl From<RoleRequirement> for String {
    fn from(r: RoleRequirement) -> String {
        r.to_string()
    }
}

impl fmt::Display for RoleRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.rn, self.role)?;
        if let Some(tn) = &self.tn {
            write!(f, "@{tn}")?;
        }
        Ok(())
    }
}

impl RoleRequirement {
    /// Whether `policy` grants this role.
    pub fn granted_by(&self, policy: &RolePolicy) -> bool {
        self.rn == policy.rn
            && self.role == policy.role
            && self
                .tn
                .as_ref()
                .is_none_or(|tn| policy.tn.as_ref() == Some(tn))
    }
}

/// The role policies in `claim`: none when it is absent, null or a string (plain OAuth
/// scopes); from an array, every object item (string items are plain scopes and skipped).
/// An object item without string `rn` and `role`, a `tn` or `rs` that is not a string, or
/// any other shape is `claim_invalid` naming the claim.
pub fn granted_roles(
    claims: &Map<String, Value>,
    claim: &ClaimPath,
) -> Result<Vec<RolePolicy>, Error> {
    let invalid = |why: &str| {
        Error::for_claim(
            ErrorCode::ClaimInvalid,
            claim.as_str(),
            format!("{:?} {why}", clip(claim.as_str(), 80)),
        )
    };
    let list = match claim.find(claims) {
        None | Some(Value::Null) | Some(Value::String(_)) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(invalid("is neither a string nor an array")),
    };
    let mut out = Vec::new();
    for item in list {
        let obj = match item {
            Value::String(_) => continue,
            Value::Object(obj) => obj,
            _ => {
                return Err(invalid(
                    "holds an item that is neither a string nor an object",
                ))
            }
        };
        let text = |name: &str, required: bool| match obj.get(name) {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            None | Some(Value::Null) if !required => Ok(None),
            _ => Err(invalid(&format!(
                "holds a role policy whose \"{name}\" is not a string"
            ))),
        };
        out.push(RolePolicy {
            rn: text("rn", true)?.unwrap_or_default(),
            role: text("role", true)?.unwrap_or_default(),
            tn: text("tn", false)?,
            rs: text("rs", false)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_form() {
        let r: RoleRequirement = "svc:admin@t1".parse().unwrap();
        assert_eq!(
            (r.rn.as_str(), r.role.as_str(), r.tn.as_deref()),
            ("svc", "admin", Some("t1"))
        );
        assert_eq!(r.to_string(), "svc:admin@t1");
        let r: RoleRequirement = "svc:a:b".parse().unwrap();
        assert_eq!(r.role, "a:b");
        for bad in ["svc", ":admin", "svc:", "svc:admin@", "s v:admin", ""] {
            assert!(bad.parse::<RoleRequirement>().is_err(), "{bad}");
        }
    }

    #[test]
    fn matching_and_shapes() {
        let claims = json!({"scope": [
            {"rn": "svc", "role": "admin", "tn": "t1"},
            {"rn": "svc", "role": "viewer", "rs": "r", "extra": 1},
            "read"
        ]});
        let claims = claims.as_object().unwrap();
        let path = ClaimPath::parse("scope").unwrap();
        let roles = granted_roles(claims, &path).unwrap();
        assert_eq!(roles.len(), 2);
        let req = |s: &str| s.parse::<RoleRequirement>().unwrap();
        assert!(roles.iter().any(|p| req("svc:admin").granted_by(p)));
        assert!(roles.iter().any(|p| req("svc:admin@t1").granted_by(p)));
        assert!(!roles.iter().any(|p| req("svc:admin@t2").granted_by(p)));
        assert!(!roles.iter().any(|p| req("svc:viewer@t1").granted_by(p)));
        for bad in [
            json!({"scope": 5}),
            json!({"scope": [{"rn": "svc"}]}),
            json!({"scope": [1]}),
            json!({"scope": [{"rn": "s", "role": "r", "tn": 1}]}),
        ] {
            let err = granted_roles(bad.as_object().unwrap(), &path).unwrap_err();
            assert_eq!(
                (err.code(), err.claim()),
                (ErrorCode::ClaimInvalid, Some("scope"))
            );
        }
        assert!(
            granted_roles(json!({"scope": "a b"}).as_object().unwrap(), &path)
                .unwrap()
                .is_empty()
        );
    }
}
