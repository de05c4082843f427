//! `extraction.json`: Finding the token in a request.

use crate::common::*;

pub(crate) fn extraction_cases(k: &Keys) -> Vec<Case> {
    let s = Signer::Hmac(&k.hs256);
    let c = claims();
    let token = jwt("HS256", &s, Some("h"), &c);
    let mut cfg = config(
        &["HS256"],
        vec![jwks(vec![public_jwk(&s, Some("h"), None)])],
    );
    let bearer_only = cfg.clone();
    cfg["token_sources"] = json!([
        {"header": {"name": "authorization", "scheme": "Bearer"}},
        {"header": {"name": "x-api-token", "prefix": "Token "}},
        {"cookie": {"name": "access_token"}},
        {"query": {"name": "access_token"}}
    ]);
    let bearer = format!("Bearer {token}");
    let lower = format!("bearer {token}");
    let prefixed = format!("Token {token}");
    let cookie = format!("theme=dark; access_token={token}");
    let query = format!("x=1&access_token={token}");
    let table: Vec<(&str, &str, &Value, Value, Value)> = vec![
        (
            "bearer",
            "Authorization: Bearer",
            &bearer_only,
            request(&[("Authorization", &bearer)], None),
            valid(&c),
        ),
        (
            "bearer_lowercase_scheme",
            "The scheme is case-insensitive",
            &bearer_only,
            request(&[("authorization", &lower)], None),
            valid(&c),
        ),
        (
            "missing",
            "No Authorization header",
            &bearer_only,
            request(&[("accept", "*/*")], None),
            rejected("token_missing"),
        ),
        (
            "basic_scheme",
            "Authorization: Basic is not a bearer token",
            &bearer_only,
            request(&[("Authorization", "Basic dXNlcjpwYXNz")], None),
            rejected("token_missing"),
        ),
        (
            "bare_scheme",
            "Authorization: Bearer with nothing after it",
            &bearer_only,
            request(&[("Authorization", "Bearer ")], None),
            rejected("token_missing"),
        ),
        (
            "empty_authorization",
            "An empty Authorization header: present, but no token in it",
            &bearer_only,
            request(&[("Authorization", "")], None),
            rejected("token_missing"),
        ),
        (
            "two_authorization_headers",
            "Two Authorization headers",
            &bearer_only,
            request(
                &[("Authorization", &bearer), ("Authorization", &bearer)],
                None,
            ),
            rejected("token_malformed"),
        ),
        (
            "token_with_space",
            "A space inside the token",
            &bearer_only,
            request(&[("Authorization", "Bearer abc def")], None),
            rejected("token_malformed"),
        ),
        (
            "query_ignored_by_default",
            "A query token when only the header is configured",
            &bearer_only,
            request(&[], Some(&query)),
            rejected("token_missing"),
        ),
        (
            "custom_header_prefix",
            "x-api-token with the prefix Token",
            &cfg,
            request(&[("X-Api-Token", &prefixed)], None),
            valid(&c),
        ),
        (
            "cookie",
            "The access_token cookie",
            &cfg,
            request(&[("Cookie", &cookie)], None),
            valid(&c),
        ),
        (
            "query",
            "The access_token query parameter",
            &cfg,
            request(&[], Some(&query)),
            valid(&c),
        ),
        (
            "order_header_first",
            "Header and query both present: the header wins",
            &cfg,
            request(&[("Authorization", &bearer)], Some("access_token=garbage")),
            valid(&c),
        ),
        (
            "duplicate_cookie",
            "The cookie twice",
            &cfg,
            request(
                &[("Cookie", &format!("access_token={token}; access_token=x"))],
                None,
            ),
            rejected("token_malformed"),
        ),
        (
            "nothing_anywhere",
            "None of the four sources present",
            &cfg,
            request(&[("Cookie", "theme=dark")], Some("x=1")),
            rejected("token_missing"),
        ),
        (
            "extracted_then_rejected",
            "An extracted token still goes through every rule",
            &cfg,
            request(&[("Authorization", "Bearer e30.e30.e30")], None),
            rejected("token_malformed"),
        ),
    ];
    table
        .into_iter()
        .map(|(name, desc, cfg, req, expect)| Case {
            name: format!("extract_{name}"),
            description: desc.to_owned(),
            config: cfg.clone(),
            token: None,
            request: Some(req),
            require_scopes: None,
            require: None,
            optional: false,
            expect,
        })
        .collect()
}
