//! RFC 7662 introspection over real HTTP against the test IdP: active, inactive, cache hits,
//! one request per token under concurrency, IdP down and slow, routing, claim checks.

use serde_json::{json, Value};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use veritoken::{Config, ErrorCode, Verifier};
use veritoken_testidp::{Fault, FaultMode, TestIdp, TokenRequest};

fn config(idp: &TestIdp, introspection: Value, extra: Value) -> Config {
    let mut issuer = json!({
        "issuer": idp.url(),
        "audiences": ["api://default"],
        "algorithms": ["RS256", "ES256"],
        "jwks_uri": idp.jwks_uri(),
        "introspection": introspection,
    });
    for (k, v) in extra.as_object().unwrap() {
        issuer[k] = v.clone();
    }
    Config::from_value(json!({ "issuers": [issuer] })).unwrap()
}

fn basic(idp: &TestIdp) -> Value {
    json!({
        "endpoint": format!("{}/introspect", idp.url()),
        "client_id": "test-client",
        "client_secret": "test-secret",
    })
}

fn opaque(idp: &TestIdp, scope: &str) -> String {
    idp.token(&TokenRequest {
        opaque: true,
        scope: Some(scope.into()),
        ..Default::default()
    })
}

fn code(result: Result<veritoken::VerifiedToken, veritoken::Error>) -> ErrorCode {
    result.expect_err("should be refused").code()
}

#[test]
fn an_active_opaque_token_is_accepted_and_its_answer_cached() {
    let idp = TestIdp::start();
    let v = Verifier::new(config(&idp, basic(&idp), json!({}))).unwrap();
    let token = opaque(&idp, "orders:read");
    assert!(!token.contains('.'));
    let t = v.verify(&token).unwrap();
    assert_eq!(t.algorithm(), None);
    assert_eq!(t.header_json(), "{}");
    assert_eq!(t.subject(), Some("test-client"));
    assert!(t.claims().get("active").is_none());
    t.require_scopes(&["orders:read"], veritoken::ScopeMatch::All)
        .unwrap();
    for _ in 0..5 {
        v.verify(&token).unwrap();
    }
    assert_eq!(idp.stats().introspection_requests, 1);
    let m = v.metrics();
    assert_eq!(
        (
            m.introspection_requests,
            m.introspection_cache_hits,
            m.verified
        ),
        (1, 5, 6)
    );
}

#[test]
fn inactive_and_unknown_tokens_are_token_inactive_and_negatively_cached() {
    let idp = TestIdp::start();
    let v = Verifier::new(config(&idp, basic(&idp), json!({}))).unwrap();
    let token = opaque(&idp, "a");
    idp.revoke(&idp.jti_of(&token).unwrap());
    assert_eq!(code(v.verify(&token)), ErrorCode::TokenInactive);
    assert_eq!(code(v.verify(&token)), ErrorCode::TokenInactive);
    assert_eq!(
        code(v.verify("opaque-never-issued")),
        ErrorCode::TokenInactive
    );
    assert_eq!(idp.stats().introspection_requests, 2);
}

#[test]
fn one_request_for_many_concurrent_callers() {
    let idp = TestIdp::start();
    let token = opaque(&idp, "a");
    idp.set_fault(Fault {
        mode: FaultMode::Delay,
        delay_ms: 200,
    });
    let v = Verifier::new(config(&idp, basic(&idp), json!({}))).unwrap();
    let barrier = Arc::new(Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let (v, token, barrier) = (v.clone(), token.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                v.verify(&token).is_ok()
            })
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap()));
    assert_eq!(idp.stats().introspection_requests, 1);
}

#[test]
fn an_endpoint_down_or_slow_is_introspection_unavailable_and_not_cached() {
    let idp = TestIdp::start();
    let token = opaque(&idp, "a");
    let mut slow = basic(&idp);
    slow["timeout_ms"] = json!(300);
    let v = Verifier::new(config(&idp, slow, json!({}))).unwrap();
    idp.set_fault(Fault {
        mode: FaultMode::Down,
        delay_ms: 0,
    });
    let e = v.verify(&token).unwrap_err();
    assert_eq!(e.code(), ErrorCode::IntrospectionUnavailable);
    assert!(
        !e.message().contains(&token),
        "the token leaked: {}",
        e.message()
    );
    idp.set_fault(Fault {
        mode: FaultMode::Delay,
        delay_ms: 2_000,
    });
    let started = Instant::now();
    assert_eq!(code(v.verify(&token)), ErrorCode::IntrospectionUnavailable);
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        started.elapsed()
    );
    idp.set_fault(Fault {
        mode: FaultMode::None,
        delay_ms: 0,
    });
    v.verify(&token).unwrap(); // failures were not cached
    assert_eq!(v.metrics().introspection_failures, 2);
}

#[test]
fn jwts_stay_local_unless_every_token_is_introspected() {
    let idp = TestIdp::start();
    let jwt = idp.token(&TokenRequest::default());
    let local = Verifier::new(config(&idp, basic(&idp), json!({}))).unwrap();
    local.verify(&jwt).unwrap();
    assert_eq!(idp.stats().introspection_requests, 0);

    let mut all = basic(&idp);
    all["tokens"] = json!("all");
    let strict = Verifier::new(config(&idp, all, json!({}))).unwrap();
    let revoked = idp.token(&TokenRequest::default());
    idp.revoke(&idp.jti_of(&revoked).unwrap());
    local.verify(&revoked).unwrap(); // a valid signature is all local verification sees
    assert_eq!(code(strict.verify(&revoked)), ErrorCode::TokenInactive);
    strict.verify(&jwt).unwrap();
    assert_eq!(idp.stats().introspection_requests, 2);
}

#[test]
fn introspected_claims_meet_the_issuers_rules() {
    let idp = TestIdp::start();
    let v = Verifier::new(config(
        &idp,
        basic(&idp),
        json!({"required_claims": ["scope"]}),
    ))
    .unwrap();
    let other = idp.token(&TokenRequest {
        opaque: true,
        audience: Some("api://other".into()),
        scope: Some("a".into()),
        ..Default::default()
    });
    assert_eq!(code(v.verify(&other)), ErrorCode::AudienceInvalid);
    let no_scope = idp.token(&TokenRequest {
        opaque: true,
        ..Default::default()
    });
    let e = v.verify(&no_scope).unwrap_err();
    assert_eq!(
        (e.code(), e.claim()),
        (ErrorCode::ClaimMissing, Some("scope"))
    );
    let foreign = idp.token(&TokenRequest {
        opaque: true,
        scope: Some("a".into()),
        claims: json!({"iss": "https://elsewhere"})
            .as_object()
            .unwrap()
            .clone(),
        ..Default::default()
    });
    assert_eq!(code(v.verify(&foreign)), ErrorCode::IssuerInvalid);
    assert_eq!(code(v.verify("has space")), ErrorCode::TokenMalformed);
    assert_eq!(
        code(v.verify(&"x".repeat(20_000))),
        ErrorCode::TokenMalformed
    );
}

#[test]
fn claim_rules_and_roles_apply_to_introspection_answers() {
    let idp = TestIdp::start();
    let v = Verifier::new(config(
        &idp,
        basic(&idp),
        json!({"rules": [{"claim": "azp", "equals": "my-client"}]}),
    ))
    .unwrap();
    let with = |claims: Value| {
        idp.token(&TokenRequest {
            opaque: true,
            claims: claims.as_object().unwrap().clone(),
            ..Default::default()
        })
    };
    let e = v.verify(&with(json!({"azp": "other"}))).unwrap_err();
    assert_eq!(
        (e.code(), e.claim()),
        (ErrorCode::ClaimInvalid, Some("azp"))
    );
    let token = with(json!({"azp": "my-client", "tenant": "t-1",
        "scope": [{"rn": "orders", "role": "admin", "tn": "t-1"}]}));
    let t = v.verify(&token).unwrap();
    let route = |req: Value| veritoken::Requirement::from_value(req).unwrap().check(&t);
    route(json!({"roles": ["orders:admin@t-1"], "rules": [{"claim": "tenant", "equals": "t-1"}]}))
        .unwrap();
    let e = route(json!({"rules": [{"claim": "tenant", "equals": "t-2"}]})).unwrap_err();
    assert_eq!(
        (e.code(), e.claim()),
        (ErrorCode::ScopeInsufficient, Some("tenant"))
    );
    assert_eq!(
        route(json!({"roles": ["orders:viewer"]}))
            .unwrap_err()
            .code(),
        ErrorCode::ScopeInsufficient
    );
}

#[test]
fn discovery_post_auth_and_async() {
    let idp = TestIdp::start();
    let intro = json!({
        "auth": "client_secret_post",
        "client_id": "test-client",
        "client_secret_env": "VERITOKEN_TEST_INTROSPECTION_SECRET",
    });
    std::env::set_var("VERITOKEN_TEST_INTROSPECTION_SECRET", "test-secret");
    let mut cfg = config(&idp, intro, json!({"discovery": true}));
    cfg.issuers[0].jwks_uri = None;
    let v = Verifier::new(cfg).unwrap();
    let token = opaque(&idp, "a");
    assert!(v
        .try_verify_at(&token, None, veritoken::unix_now())
        .is_none());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(v.verify_async(&token)).unwrap();
    assert_eq!(t.issuer(), idp.url());
    assert!(v
        .try_verify_at(&token, None, veritoken::unix_now())
        .unwrap()
        .is_ok()); // cached now
}

#[test]
fn configuration_mistakes_are_refused() {
    let idp = TestIdp::start();
    let refuse = |value: Value| {
        let e = Verifier::new(Config::from_value(value).unwrap()).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ConfigInvalid);
        e.message().to_owned()
    };
    let issuer = |name: &str, intro: Value| {
        json!({"issuer": name, "audiences": ["a"], "algorithms": ["RS256"],
               "jwks_uri": idp.jwks_uri(), "introspection": intro})
    };
    let no_secret = json!({"endpoint": format!("{}/introspect", idp.url()), "client_id": "c"});
    assert!(refuse(json!({"issuers": [issuer("https://a", no_secret)]})).contains("client_secret"));
    let no_endpoint = json!({"client_id": "c", "client_secret": "hunter2-xyzzy"});
    let message = refuse(json!({"issuers": [issuer("https://a", no_endpoint)]}));
    assert!(
        message.contains("endpoint") && !message.contains("xyzzy"),
        "{message}"
    );
    let twice =
        json!({"issuers": [issuer("https://a", basic(&idp)), issuer("https://b", basic(&idp))]});
    assert!(refuse(twice).contains("at most one issuer"));
}

/// RFC 6749 §2.3.1 (RFC 7662 §2.1): with `client_secret_basic` the id and secret are
/// form-urlencoded before base64, so a secret with `+`, `/`, `=`, `%`, `:` or a space
/// authenticates; sent raw, the IdP reads `+` as a space and refuses the client.
#[test]
fn client_credentials_with_form_characters_authenticate_in_basic_and_post() {
    use veritoken_testidp::{ODD_CLIENT_ID, ODD_CLIENT_SECRET};
    let idp = TestIdp::start();
    for auth in ["client_secret_basic", "client_secret_post"] {
        let introspection = json!({
            "endpoint": format!("{}/introspect", idp.url()),
            "auth": auth,
            "client_id": ODD_CLIENT_ID,
            "client_secret": ODD_CLIENT_SECRET,
        });
        let v = Verifier::new(config(&idp, introspection, json!({}))).unwrap();
        let t = v.verify(&opaque(&idp, "orders:read"));
        assert!(t.is_ok(), "{auth}: {:?}", t.err());
    }
    // The IdP does decode as the RFC says: the raw pair is refused.
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .encode(format!("{ODD_CLIENT_ID}:{ODD_CLIENT_SECRET}"));
    let (url, token) = (
        format!("{}/introspect", idp.url()),
        opaque(&idp, "orders:read"),
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .post(url)
            .header("authorization", format!("Basic {raw}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status.as_u16(), 401);
}
