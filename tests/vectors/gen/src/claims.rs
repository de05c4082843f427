//! `claims.json`: Registered claims, typ, ordering of checks, several issuers.

use crate::common::*;

pub(crate) fn claim_cases(k: &Keys) -> Vec<Case> {
    let s = Signer::Hmac(&k.hs256);
    let base_cfg = config(
        &["HS256"],
        vec![jwks(vec![public_jwk(&s, Some("h"), None)])],
    );
    let mut out = Vec::new();
    let mut add = |name: &str,
                   desc: &str,
                   edit: &dyn Fn(&mut Value),
                   cfg_edit: &dyn Fn(&mut Value),
                   expect: Option<Value>| {
        let mut c = claims();
        edit(&mut c);
        let mut cfg = base_cfg.clone();
        cfg_edit(&mut cfg);
        let token = jwt("HS256", &s, Some("h"), &c);
        let expect = expect.unwrap_or_else(|| valid(&c));
        out.push(Case::new(
            &format!("claims_{name}"),
            desc,
            cfg,
            token,
            expect,
        ));
    };
    let none = |_: &mut Value| {};
    let issuer0 = |f: fn(&mut Value)| move |cfg: &mut Value| f(&mut cfg["issuers"][0]);
    add(
        "valid",
        "All registered claims in range",
        &none,
        &none,
        None,
    );
    add(
        "exp_past",
        "exp one second ago",
        &|c| c["exp"] = (NOW - 1).into(),
        &none,
        Some(rejected_claim("token_expired", "exp")),
    );
    add(
        "exp_equals_now",
        "exp equal to now is already expired",
        &|c| c["exp"] = NOW.into(),
        &none,
        Some(rejected_claim("token_expired", "exp")),
    );
    add(
        "exp_past_within_leeway",
        "exp 10 s ago with 30 s leeway",
        &|c| c["exp"] = (NOW - 10).into(),
        &|cfg| cfg["leeway"] = 30.into(),
        None,
    );
    add(
        "exp_past_beyond_leeway",
        "exp 31 s ago with 30 s leeway",
        &|c| c["exp"] = (NOW - 31).into(),
        &|cfg| cfg["leeway"] = 30.into(),
        Some(rejected_claim("token_expired", "exp")),
    );
    add(
        "exp_fractional",
        "exp half a second from now",
        &|c| c["exp"] = json!(NOW as f64 + 0.5),
        &none,
        None,
    );
    add(
        "exp_missing",
        "No exp (required by default)",
        &|c| {
            c.as_object_mut().unwrap().remove("exp");
        },
        &none,
        Some(rejected_claim("claim_missing", "exp")),
    );
    add(
        "exp_missing_not_required",
        "No exp, require_exp false",
        &|c| {
            c.as_object_mut().unwrap().remove("exp");
        },
        &issuer0(|i| i["require_exp"] = false.into()),
        None,
    );
    add(
        "exp_string",
        "exp as a numeric string",
        &|c| c["exp"] = (NOW + 60).to_string().into(),
        &none,
        Some(rejected_claim("claim_invalid", "exp")),
    );
    add(
        "exp_boolean",
        "exp true",
        &|c| c["exp"] = true.into(),
        &none,
        Some(rejected_claim("claim_invalid", "exp")),
    );
    add(
        "exp_null",
        "exp null",
        &|c| c["exp"] = Value::Null,
        &none,
        Some(rejected_claim("claim_invalid", "exp")),
    );
    add(
        "nbf_future",
        "nbf one minute ahead",
        &|c| c["nbf"] = (NOW + 60).into(),
        &none,
        Some(rejected_claim("token_not_yet_valid", "nbf")),
    );
    add(
        "nbf_now",
        "nbf equal to now",
        &|c| c["nbf"] = NOW.into(),
        &none,
        None,
    );
    add(
        "nbf_future_within_leeway",
        "nbf 20 s ahead, 30 s leeway",
        &|c| c["nbf"] = (NOW + 20).into(),
        &|cfg| cfg["leeway"] = 30.into(),
        None,
    );
    add(
        "nbf_string",
        "nbf as a string",
        &|c| c["nbf"] = "0".into(),
        &none,
        Some(rejected_claim("claim_invalid", "nbf")),
    );
    add(
        "iat_future",
        "iat one minute ahead",
        &|c| {
            c["iat"] = (NOW + 60).into();
            c["nbf"] = (NOW - 60).into();
        },
        &none,
        Some(rejected_claim("token_issued_in_future", "iat")),
    );
    add(
        "iat_future_within_leeway",
        "iat 20 s ahead, 30 s leeway",
        &|c| c["iat"] = (NOW + 20).into(),
        &|cfg| cfg["leeway"] = 30.into(),
        None,
    );
    add(
        "iat_string",
        "iat as a string",
        &|c| c["iat"] = "yesterday".into(),
        &none,
        Some(rejected_claim("claim_invalid", "iat")),
    );
    add(
        "iat_absent",
        "No iat (optional)",
        &|c| {
            c.as_object_mut().unwrap().remove("iat");
        },
        &none,
        None,
    );
    add(
        "iss_missing",
        "No iss",
        &|c| {
            c.as_object_mut().unwrap().remove("iss");
        },
        &none,
        Some(rejected_claim("claim_missing", "iss")),
    );
    add(
        "iss_wrong",
        "iss of another issuer",
        &|c| c["iss"] = "https://evil.example.com/".into(),
        &none,
        Some(rejected_claim("issuer_invalid", "iss")),
    );
    add(
        "iss_case_differs",
        "iss differs in case only",
        &|c| c["iss"] = ISS.to_uppercase().into(),
        &none,
        Some(rejected_claim("issuer_invalid", "iss")),
    );
    add(
        "iss_trailing_slash_missing",
        "iss without the trailing slash",
        &|c| c["iss"] = ISS.trim_end_matches('/').into(),
        &none,
        Some(rejected_claim("issuer_invalid", "iss")),
    );
    add(
        "iss_number",
        "iss is a number",
        &|c| c["iss"] = 1.into(),
        &none,
        Some(rejected_claim("claim_invalid", "iss")),
    );
    add(
        "iss_array",
        "iss is an array",
        &|c| c["iss"] = json!([ISS]),
        &none,
        Some(rejected_claim("claim_invalid", "iss")),
    );
    add(
        "aud_missing",
        "No aud",
        &|c| {
            c.as_object_mut().unwrap().remove("aud");
        },
        &none,
        Some(rejected_claim("claim_missing", "aud")),
    );
    add(
        "aud_wrong",
        "aud of another API",
        &|c| c["aud"] = "api://other".into(),
        &none,
        Some(rejected_claim("audience_invalid", "aud")),
    );
    add(
        "aud_array_contains",
        "aud array holding ours",
        &|c| c["aud"] = json!(["api://other", AUD]),
        &none,
        None,
    );
    add(
        "aud_array_without",
        "aud array without ours",
        &|c| c["aud"] = json!(["api://a", "api://b"]),
        &none,
        Some(rejected_claim("audience_invalid", "aud")),
    );
    add(
        "aud_empty_array",
        "aud is []",
        &|c| c["aud"] = json!([]),
        &none,
        Some(rejected_claim("claim_invalid", "aud")),
    );
    add(
        "aud_array_with_number",
        "aud array holding a number",
        &|c| c["aud"] = json!([AUD, 7]),
        &none,
        Some(rejected_claim("claim_invalid", "aud")),
    );
    add(
        "aud_number",
        "aud is a number",
        &|c| c["aud"] = 7.into(),
        &none,
        Some(rejected_claim("claim_invalid", "aud")),
    );
    add(
        "aud_object",
        "aud is an object",
        &|c| c["aud"] = json!({"aud": AUD}),
        &none,
        Some(rejected_claim("claim_invalid", "aud")),
    );
    add(
        "aud_second_configured",
        "aud matches the second configured audience",
        &|c| c["aud"] = "api://second".into(),
        &issuer0(|i| i["audiences"] = json!([AUD, "api://second"])),
        None,
    );
    add(
        "max_age_within",
        "iat 60 s ago, max_age 300",
        &none,
        &issuer0(|i| i["max_age"] = 300.into()),
        None,
    );
    add(
        "max_age_exceeded",
        "iat 60 s ago, max_age 30",
        &none,
        &issuer0(|i| i["max_age"] = 30.into()),
        Some(rejected_claim("token_too_old", "iat")),
    );
    add(
        "max_age_needs_iat",
        "max_age set, no iat",
        &|c| {
            c.as_object_mut().unwrap().remove("iat");
        },
        &issuer0(|i| i["max_age"] = 300.into()),
        Some(rejected_claim("claim_missing", "iat")),
    );
    add(
        "max_lifetime_within",
        "lifetime 3660 s, maximum 7200",
        &none,
        &issuer0(|i| i["max_lifetime"] = 7200.into()),
        None,
    );
    add(
        "max_lifetime_exceeded",
        "lifetime 3660 s, maximum 3600",
        &none,
        &issuer0(|i| i["max_lifetime"] = 3600.into()),
        Some(rejected_claim("token_too_old", "exp")),
    );
    add(
        "required_claim_present",
        "sub required and present",
        &none,
        &issuer0(|i| i["required_claims"] = json!(["sub"])),
        None,
    );
    add(
        "required_claim_missing",
        "jti required, absent",
        &none,
        &issuer0(|i| i["required_claims"] = json!(["jti"])),
        Some(rejected_claim("claim_missing", "jti")),
    );
    add(
        "required_claim_null",
        "sub required, null",
        &|c| c["sub"] = Value::Null,
        &issuer0(|i| i["required_claims"] = json!(["sub"])),
        Some(rejected_claim("claim_missing", "sub")),
    );
    add(
        "order_audience_before_expiry",
        "Wrong aud and expired: aud is checked first",
        &|c| {
            c["aud"] = "api://other".into();
            c["exp"] = (NOW - 100).into();
        },
        &none,
        Some(rejected_claim("audience_invalid", "aud")),
    );
    add(
        "order_expiry_before_nbf",
        "Expired and not yet valid: exp is checked first",
        &|c| {
            c["exp"] = (NOW - 100).into();
            c["nbf"] = (NOW + 100).into();
        },
        &none,
        Some(rejected_claim("token_expired", "exp")),
    );
    add(
        "unicode_claims",
        "Non-ASCII claim values survive intact",
        &|c| c["name"] = "Zoë Łukasz 東京 😀".into(),
        &none,
        None,
    );
    add(
        "large_numbers",
        "Large and negative numeric claims",
        &|c| {
            c["big"] = json!(1e300);
            c["neg"] = json!(-5);
        },
        &none,
        None,
    );

    // typ (RFC 9068 access tokens).
    let typ_cfg = {
        let mut cfg = base_cfg.clone();
        cfg["issuers"][0]["typ"] = "at+jwt".into();
        cfg
    };
    let c = claims();
    for (name, typ, expect) in [
        ("typ_at_jwt", Some("at+jwt"), valid(&c)),
        (
            "typ_application_prefix",
            Some("application/at+JWT"),
            valid(&c),
        ),
        (
            "typ_jwt_when_at_jwt_required",
            Some("JWT"),
            rejected("type_invalid"),
        ),
        ("typ_missing_when_required", None, rejected("type_invalid")),
        // A character across byte 12, where the `application/` prefix would end.
        (
            "typ_non_ascii_across_the_prefix",
            Some("aaaaaaaaaaa\u{e9}-more"),
            rejected("type_invalid"),
        ),
        (
            "typ_non_ascii_after_the_prefix",
            Some("application/\u{e9}t+jwt"),
            rejected("type_invalid"),
        ),
    ] {
        let mut h = json!({"alg": "HS256", "kid": "h"});
        if let Some(t) = typ {
            h["typ"] = t.into();
        }
        out.push(Case::new(
            &format!("claims_{name}"),
            "typ header against typ at+jwt",
            typ_cfg.clone(),
            jws("HS256", &s, &h.to_string(), &c.to_string()),
            expect,
        ));
    }

    // Two issuers, each with its own keys and algorithms.
    let other_iss = "https://other.example.org";
    let ec = Signer::Ec(&k.p256);
    let multi = json!({"issuers": [
        {"issuer": ISS, "audiences": [AUD], "algorithms": ["HS256"], "keys": [jwks(vec![public_jwk(&s, Some("h"), None)])]},
        {"issuer": other_iss, "audiences": ["api://b"], "algorithms": ["ES256"], "keys": [jwks(vec![public_jwk(&ec, Some("e"), None)])]}
    ]});
    let mut b_claims = claims();
    b_claims["iss"] = other_iss.into();
    b_claims["aud"] = "api://b".into();
    out.push(Case::new(
        "multi_issuer_second",
        "Token of the second issuer, its own key",
        multi.clone(),
        jwt("ES256", &ec, Some("e"), &b_claims),
        valid(&b_claims),
    ));
    out.push(Case::new(
        "multi_issuer_first",
        "Token of the first issuer",
        multi.clone(),
        jwt("HS256", &s, Some("h"), &claims()),
        valid(&claims()),
    ));
    let mut crossed = claims();
    crossed["aud"] = "api://b".into();
    out.push(Case::new(
        "multi_issuer_key_of_the_other",
        "iss names the first issuer but the token is ES256 from the second's key",
        multi.clone(),
        jwt("ES256", &ec, Some("e"), &crossed),
        rejected("algorithm_not_allowed"),
    ));
    out.push(Case::new(
        "multi_issuer_audience_of_the_other",
        "Second issuer's token with the first issuer's audience",
        multi,
        jwt("ES256", &ec, Some("e"), &{
            let mut c = b_claims.clone();
            c["aud"] = AUD.into();
            c
        }),
        rejected_claim("audience_invalid", "aud"),
    ));
    out
}
