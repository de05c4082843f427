//! What a route requires of a verified token, beyond the issuer's rules: scopes, role
//! policies and claim rules. Every failure is `scope_insufficient` (403); a claim rule's
//! failure names its claim. Checked in that order: scopes, roles, rules.

use crate::config::claim_rule::{check_rules, ClaimPath, ClaimRule};
use crate::rules::roles::{granted_roles, RoleRequirement};
use crate::rules::token::{require_scopes, ScopeMatch, VerifiedToken};
use crate::support::error::{Error, ErrorCode};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

/// A route's requirement, in the config schema's shape (JSON, TOML, YAML or a binding's
/// dict/object): every field optional, unknown fields refused.
///
/// ```json
/// {"scopes": ["orders:read"], "roles": ["orders:admin"], "role_match": "any",
///  "rules": [{"claim": "/realm_access/roles", "contains": "ops"}]}
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Requirement {
    /// Scopes the token must grant (`scope`, `scp`, `permissions`), each one scope
    /// ([`scope_tokens`]).
    #[serde(deserialize_with = "scope_tokens")]
    pub scopes: Vec<String>,
    /// `all` (default) or `any` of `scopes`.
    pub scope_match: ScopeMatch,
    /// Role policies the token must grant: `rn:role` or `rn:role@tn`.
    pub roles: Vec<RoleRequirement>,
    /// `all` (default) or `any` of `roles`.
    pub role_match: ScopeMatch,
    /// The claim holding the role policies (a name or a JSON Pointer). Default `scope`.
    pub role_claim: ClaimPath,
    /// Claim rules, all of which must hold.
    pub rules: Vec<ClaimRule>,
}

/// Whether `text` is one RFC 6749 §3.3 scope-token: non-empty printable ASCII without a
/// space, `"` or a backslash.
fn is_scope_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

/// Reads a list of required scopes, each one scope-token: `"read write"` (two scopes in
/// one string) or `""` is a configuration error, not a requirement no `scope` string can
/// ever meet.
pub fn scope_tokens<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    if let Some(bad) = list.iter().find(|s| !is_scope_token(s)) {
        return Err(serde::de::Error::custom(format!(
            "{bad:?} is not one scope (a non-empty word of printable ASCII; list several \
             scopes as several strings)"
        )));
    }
    Ok(list)
}

impl Default for Requirement {
    fn default() -> Self {
        Requirement {
            scopes: Vec::new(),
            scope_match: ScopeMatch::All,
            roles: Vec::new(),
            role_match: ScopeMatch::All,
            role_claim: ClaimPath::parse("scope").expect("a plain name"),
            rules: Vec::new(),
        }
    }
}

impl Requirement {
    /// From a JSON-like value; a bad field is `config_invalid` naming its path.
    pub fn from_value(value: Value) -> Result<Requirement, Error> {
        crate::config::from_value(value)
    }

    /// Parses requirement text (JSON, TOML or YAML).
    pub fn parse(text: &str, format: crate::config::Format) -> Result<Requirement, Error> {
        crate::config::parse_document(text, format)
    }

    /// Whether nothing is required (every verified token meets it).
    pub fn is_empty(&self) -> bool {
        self.scopes.is_empty() && self.roles.is_empty() && self.rules.is_empty()
    }

    /// `scope_insufficient` unless `token` meets the requirement (`claim_invalid` for a
    /// scope or role claim of the wrong shape).
    pub fn check(&self, token: &VerifiedToken) -> Result<(), Error> {
        if self.is_empty() {
            return Ok(());
        }
        self.check_claims(token.claims())
    }

    /// [`Requirement::check`] on a claims set (an introspection answer, or claims a
    /// binding holds).
    pub fn check_claims(&self, claims: &Map<String, Value>) -> Result<(), Error> {
        require_scopes(claims, &self.scopes, self.scope_match)?;
        self.check_roles(claims)?;
        check_rules(&self.rules, claims, ErrorCode::ScopeInsufficient)
    }

    fn check_roles(&self, claims: &Map<String, Value>) -> Result<(), Error> {
        if self.roles.is_empty() {
            return Ok(());
        }
        let granted = granted_roles(claims, &self.role_claim)?;
        let has = |r: &RoleRequirement| granted.iter().any(|p| r.granted_by(p));
        let ok = match self.role_match {
            ScopeMatch::All => self.roles.iter().all(has),
            ScopeMatch::Any => self.roles.iter().any(has),
        };
        if ok {
            return Ok(());
        }
        let missing: Vec<String> = self
            .roles
            .iter()
            .filter(|r| !has(r))
            .map(ToString::to_string)
            .collect();
        let message = match self.role_match {
            ScopeMatch::All => format!("missing required role(s): {}", missing.join(" ")),
            ScopeMatch::Any => format!("needs one of the roles: {}", missing.join(" ")),
        };
        Err(Error::new(ErrorCode::ScopeInsufficient, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(req: Value, claims: Value) -> Result<(), (ErrorCode, Option<String>)> {
        Requirement::from_value(req)
            .unwrap()
            .check_claims(claims.as_object().unwrap())
            .map_err(|e| (e.code(), e.claim().map(str::to_owned)))
    }

    #[test]
    fn order_and_codes() {
        let claims = json!({"scope": [{"rn": "svc", "role": "admin"}], "scp": ["read"], "tier": 2});
        assert_eq!(check(json!({}), claims.clone()), Ok(()));
        assert_eq!(
            check(
                json!({"scopes": ["read"], "roles": ["svc:admin"]}),
                claims.clone()
            ),
            Ok(())
        );
        assert_eq!(
            check(
                json!({"scopes": ["write"], "roles": ["svc:x"]}),
                claims.clone()
            ),
            Err((ErrorCode::ScopeInsufficient, None))
        );
        assert_eq!(
            check(
                json!({"roles": ["svc:x", "svc:admin"], "role_match": "any"}),
                claims.clone()
            ),
            Ok(())
        );
        assert_eq!(
            check(
                json!({"rules": [{"claim": "tier", "at_least": 3}]}),
                claims.clone()
            ),
            Err((ErrorCode::ScopeInsufficient, Some("tier".into())))
        );
        assert_eq!(
            check(
                json!({"roles": ["a:b"], "role_claim": "/realm/policies"}),
                json!({"realm": {"policies": [{"rn": "a", "role": "b"}]}})
            ),
            Ok(())
        );
    }

    #[test]
    fn bad_requirements_name_the_field() {
        for (v, needle) in [
            (json!({"roles": ["admin"]}), "roles[0]"),
            (json!({"rules": [{"claim": "a", "bogus": 1}]}), "rules[0]"),
            (json!({"scope": ["a"]}), "unknown field `scope`"),
            (json!({"role_claim": "/a~"}), "role_claim"),
        ] {
            let err = Requirement::from_value(v.clone()).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ConfigInvalid);
            assert!(err.message().contains(needle), "{v}: {err}");
        }
    }
}
