//! `scopes.json`: Scope and permission requirements.

use crate::common::*;

pub(crate) fn scope_cases(k: &Keys) -> Vec<Case> {
    let s = Signer::Hmac(&k.hs256);
    let cfg = config(
        &["HS256"],
        vec![jwks(vec![public_jwk(&s, Some("h"), None)])],
    );
    let with = |name: &str, value: Value| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove("scope");
        c[name] = value;
        c
    };
    let table: Vec<(&str, &str, Value, Value, bool)> = vec![
        (
            "all_granted",
            "scope 'read write', needs read+write",
            claims(),
            json!({"scopes": ["read", "write"]}),
            true,
        ),
        (
            "all_missing_one",
            "scope 'read write', needs read+admin",
            claims(),
            json!({"scopes": ["read", "admin"], "match": "all"}),
            false,
        ),
        (
            "any_one_granted",
            "needs any of admin, write",
            claims(),
            json!({"scopes": ["admin", "write"], "match": "any"}),
            true,
        ),
        (
            "any_none_granted",
            "needs any of admin, root",
            claims(),
            json!({"scopes": ["admin", "root"], "match": "any"}),
            false,
        ),
        (
            "scp_array",
            "scp as an array",
            with("scp", json!(["read", "orders:write"])),
            json!({"scopes": ["orders:write"]}),
            true,
        ),
        (
            "scp_string",
            "scp as a space-delimited string",
            with("scp", json!("read orders:write")),
            json!({"scopes": ["orders:write"]}),
            true,
        ),
        (
            "permissions",
            "permissions array",
            with("permissions", json!(["orders:read"])),
            json!({"scopes": ["orders:read"]}),
            true,
        ),
        (
            "permissions_missing",
            "permissions array without the needed one",
            with("permissions", json!(["orders:read"])),
            json!({"scopes": ["orders:delete"]}),
            false,
        ),
        (
            "no_scope_claim",
            "No scope claim at all",
            with("other", json!(1)),
            json!({"scopes": ["read"]}),
            false,
        ),
        (
            "empty_requirement",
            "Nothing required",
            with("other", json!(1)),
            json!({"scopes": []}),
            true,
        ),
        (
            "substring_is_not_a_scope",
            "scope 'readonly' does not grant read",
            with("scope", json!("readonly")),
            json!({"scopes": ["read"]}),
            false,
        ),
        (
            "case_sensitive",
            "scope 'READ' does not grant read",
            with("scope", json!("READ")),
            json!({"scopes": ["read"]}),
            false,
        ),
    ];
    let mut out: Vec<Case> = table
        .into_iter()
        .map(|(name, desc, c, req, ok)| {
            let mut case = Case::new(
                &format!("scopes_{name}"),
                desc,
                cfg.clone(),
                jwt("HS256", &s, Some("h"), &c),
                if ok {
                    valid(&c)
                } else {
                    rejected("scope_insufficient")
                },
            );
            case.require_scopes = Some(req);
            case
        })
        .collect();
    let mut bad = Case::new(
        "scopes_scope_wrong_type",
        "scope is a number",
        cfg.clone(),
        jwt("HS256", &s, Some("h"), &with("scope", json!(5))),
        rejected_claim("claim_invalid", "scope"),
    );
    bad.require_scopes = Some(json!({"scopes": ["read"]}));
    out.push(bad);
    let mut bad = Case::new(
        "scopes_permissions_wrong_type",
        "permissions holds a number",
        cfg,
        jwt(
            "HS256",
            &s,
            Some("h"),
            &with("permissions", json!(["a", 1])),
        ),
        rejected_claim("claim_invalid", "permissions"),
    );
    bad.require_scopes = Some(json!({"scopes": ["a"]}));
    out.push(bad);
    out
}
