//! `accessors.json`: what every language's token accessors give for a claims set (issuer,
//! subject, audiences, dates, scopes...), including shapes only an introspection answer or
//! a lenient issuer could carry. The expected values are written out here by hand, not
//! computed by the engine: they are the rule every binding is held to.

use crate::common::*;

/// One accessor case: the claims as exact JSON text (no language re-serializes it), and
/// the value of every accessor. Where the engine accepts such claims, also a token signed
/// over exactly that text with the configuration that accepts it at `now`: runners then
/// read the accessors of the verified token, as users do.
pub(crate) struct AccessorCase {
    name: &'static str,
    description: &'static str,
    claims_json: String,
    /// The configuration and token, when the claims verify.
    signed: Option<(Value, String)>,
    expect: Value,
}

impl AccessorCase {
    pub(crate) fn name(&self) -> &str {
        self.name
    }

    pub(crate) fn is_signed(&self) -> bool {
        self.signed.is_some()
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut v = json!({
            "name": self.name,
            "description": self.description,
            "claims_json": self.claims_json,
            "expect": self.expect,
        });
        if let Some((config, token)) = &self.signed {
            v["config"] = config.clone();
            v["now"] = NOW.into();
            v["token"] = token.clone().into();
        }
        v
    }
}

/// The expected accessors of `base()` claims, with `changes` applied.
fn expect(changes: Value) -> Value {
    let mut e = json!({
        "issuer": ISS,
        "subject": "user-123",
        "jwt_id": null,
        "audiences": [AUD],
        "expires_at": NOW + 3600,
        "not_before": null,
        "issued_at": NOW - 60,
        "dpop_jkt": null,
        "scopes": ["read", "write"],
        "scopes_error": null,
    });
    for (k, v) in changes.as_object().unwrap() {
        assert!(e.get(k).is_some(), "unknown accessor {k}");
        e[k] = v.clone();
    }
    e
}

/// Typical claims as text, with `members` (raw JSON text) replacing or adding some.
fn claims_text(members: &[(&str, &str)]) -> String {
    let mut base: Vec<(String, String)> = [
        ("iss", format!("\"{ISS}\"")),
        ("sub", "\"user-123\"".to_owned()),
        ("aud", format!("\"{AUD}\"")),
        ("iat", (NOW - 60).to_string()),
        ("exp", (NOW + 3600).to_string()),
        ("scope", "\"read write\"".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (name, value) in members {
        match base.iter_mut().find(|(k, _)| k == name) {
            Some(member) if value.is_empty() => member.1.clear(),
            Some(member) => member.1 = (*value).to_owned(),
            None => base.push(((*name).to_owned(), (*value).to_owned())),
        }
    }
    let members: Vec<String> = base
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// Whether the engine accepts `token` under `config` at NOW (a case whose claims it
/// refuses is run on its claims alone).
fn verifies(config: &Value, token: &str) -> bool {
    let config = veritoken::Config::from_value(config.clone()).unwrap();
    let verifier = veritoken::Verifier::new(config).unwrap();
    verifier.verify_at(token, NOW).is_ok()
}

pub(crate) fn accessor_cases(k: &Keys) -> Vec<AccessorCase> {
    let s = Signer::Hmac(&k.hs256);
    let mut config = config(
        &["HS256"],
        vec![jwks(vec![public_jwk(&s, Some("h"), None)])],
    );
    config["issuers"][0]["audiences"] = json!([AUD, "api://a", "api://b", "api://déf"]);
    config["issuers"][0]["require_exp"] = false.into();
    let header = header("HS256", Some("h")).to_string();
    let case = |name, description, members: &[(&str, &str)], changes: Value| {
        let claims_json = claims_text(members);
        let token = jws("HS256", &s, &header, &claims_json);
        let signed = verifies(&config, &token).then(|| (config.clone(), token));
        AccessorCase {
            name,
            description,
            claims_json,
            signed,
            expect: expect(changes),
        }
    };
    vec![
        case(
            "accessors_typical",
            "A typical access token",
            &[],
            json!({}),
        ),
        case(
            "accessors_every_claim",
            "jti, nbf and an aud array present",
            &[
                ("jti", "\"id-1\""),
                ("nbf", &(NOW - 60).to_string()),
                ("aud", "[\"api://a\",\"api://b\"]"),
            ],
            json!({"jwt_id": "id-1", "not_before": NOW - 60, "audiences": ["api://a", "api://b"]}),
        ),
        case(
            "accessors_cnf_jkt",
            "cnf.jkt of a DPoP-bound token (refused as a bearer token: claims only)",
            &[(
                "cnf",
                "{\"jkt\":\"0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I\"}",
            )],
            json!({"dpop_jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
        ),
        case(
            "accessors_aud_non_strings",
            "Non-string entries of an aud array are left out, the strings kept in order",
            &[(
                "aud",
                "[\"api://a\",5,null,{\"x\":1},[\"api://c\"],true,\"api://b\"]",
            )],
            json!({"audiences": ["api://a", "api://b"]}),
        ),
        case(
            "accessors_aud_only_non_strings",
            "An aud array without strings is the empty list",
            &[("aud", "[1,2]")],
            json!({"audiences": []}),
        ),
        case(
            "accessors_aud_object",
            "aud neither a string nor an array",
            &[("aud", "{\"a\":\"api://a\"}")],
            json!({"audiences": []}),
        ),
        case(
            "accessors_aud_escaped",
            "Escapes in strings are decoded",
            &[
                ("aud", "\"api:\\/\\/d\\u00e9f\""),
                ("sub", "\"a\\\"b\\\\c\""),
            ],
            json!({"audiences": ["api://déf"], "subject": "a\"b\\c"}),
        ),
        case(
            "accessors_missing",
            "sub, aud, iat, exp, iss and every scope claim absent",
            &[
                ("sub", ""),
                ("aud", ""),
                ("iat", ""),
                ("exp", ""),
                ("iss", ""),
                ("scope", ""),
            ],
            json!({"subject": null, "audiences": [], "issued_at": null, "expires_at": null,
                   "issuer": "", "scopes": []}),
        ),
        case(
            "accessors_wrong_types",
            "sub, jti, iss and cnf.jkt that are not strings, dates that are not numbers",
            &[
                ("sub", "42"),
                ("jti", "[\"x\"]"),
                ("iss", "true"),
                ("cnf", "{\"jkt\":7}"),
                ("exp", "\"1767229200\""),
                ("nbf", "null"),
                ("iat", "{}"),
            ],
            json!({"subject": null, "jwt_id": null, "issuer": "", "dpop_jkt": null,
                   "expires_at": null, "not_before": null, "issued_at": null}),
        ),
        case(
            "accessors_exp_fraction",
            "A fractional exp drops its fraction",
            &[("exp", &format!("{}.999", NOW + 3600))],
            json!({"expires_at": NOW + 3600}),
        ),
        case(
            "accessors_dates_negative",
            "Negative dates drop their fraction toward zero",
            &[("exp", "-1.5"), ("nbf", "-0.5"), ("iat", "-86400")],
            json!({"expires_at": -1, "not_before": 0, "issued_at": -86400}),
        ),
        case(
            "accessors_exp_large",
            "A date past JavaScript's Date range (or i64) reads as +/- 8,640,000,000,000 s",
            &[
                ("exp", "1e20"),
                ("nbf", "-1e300"),
                ("iat", "-9300000000000000000"),
            ],
            json!({"expires_at": 8_640_000_000_000_i64, "not_before": -8_640_000_000_000_i64,
                   "issued_at": -8_640_000_000_000_i64}),
        ),
        case(
            "accessors_iat_large",
            "An iat just past the range reads as its bound (a future iat: claims only)",
            &[("iat", "8640000000001")],
            json!({"issued_at": 8_640_000_000_000_i64}),
        ),
        case(
            "accessors_exp_exponent",
            "A date written with an exponent",
            &[("exp", "1.7672292E9")],
            json!({"expires_at": 1_767_229_200}),
        ),
        case(
            "accessors_scp_array",
            "scp as an array, after scope",
            &[("scp", "[\"orders:read\",\"orders:write\"]")],
            json!({"scopes": ["read", "write", "orders:read", "orders:write"]}),
        ),
        case(
            "accessors_scp_string",
            "scp as a space-delimited string (runs of spaces ignored), no scope",
            &[("scope", ""), ("scp", "\" a  b \"")],
            json!({"scopes": ["a", "b"]}),
        ),
        case(
            "accessors_permissions",
            "scope, scp and permissions together, in that order",
            &[("scp", "\"s\""), ("permissions", "[\"p1\",\"p2\"]")],
            json!({"scopes": ["read", "write", "s", "p1", "p2"]}),
        ),
        case(
            "accessors_scope_array",
            "An array scope (go-authkit's shape): its strings are scopes",
            &[("scope", "[\"read\"]")],
            json!({"scopes": ["read"]}),
        ),
        case(
            "accessors_scope_array_with_role_policies",
            "An array scope's objects are role policies, not scopes: skipped",
            &[("scope", "[{\"rn\":\"svc\",\"role\":\"admin\"},\"read\"]")],
            json!({"scopes": ["read"]}),
        ),
        case(
            "accessors_scope_array_number",
            "An array scope with a number in it is malformed",
            &[("scope", "[\"read\",7]")],
            json!({"scopes": null, "scopes_error": "claim_invalid"}),
        ),
        case(
            "accessors_scp_non_string_entry",
            "An scp array with a non-string entry is malformed",
            &[("scp", "[\"a\",1]")],
            json!({"scopes": null, "scopes_error": "claim_invalid"}),
        ),
        case(
            "accessors_scope_null",
            "A null scope claim counts as absent",
            &[("scope", "null")],
            json!({"scopes": []}),
        ),
    ]
}
