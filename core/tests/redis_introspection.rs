//! The introspection answer cache on a real Redis (`cache = "redis"`, the server of
//! `[dpop.replay]`; `redis-server` started per test on a free loopback port): a second
//! verifier answers from Redis without asking the IdP (active and inactive answers, sync and
//! async); keys are `<prefix>:introspection:<hex SHA-256>` and hold no token text; the TTL
//! never passes `exp` nor the first answer's own lifetime; Redis stopped or frozen mid-run
//! falls back to the endpoint (never to an accept), then recovery. Skipped (with a message)
//! only when `redis-server` is missing and `VERITOKEN_REQUIRE_REDIS` is unset.

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use veritoken::{unix_now, Config, ErrorCode, Verifier};
use veritoken_testidp::redis::RedisServer;
use veritoken_testidp::{Fault, FaultMode, TestIdp, TokenRequest};

const TIMEOUT_MS: u64 = 200;
const PREFIX: &str = "test30i";

fn config(idp: &TestIdp, redis_url: Option<&str>, introspection: Value) -> Config {
    let mut intro = json!({
        "endpoint": format!("{}/introspect", idp.url()),
        "client_id": "test-client",
        "client_secret": "test-secret",
        "cache": "redis",
    });
    for (k, v) in introspection.as_object().unwrap() {
        intro[k] = v.clone();
    }
    let issuer = json!({
        "issuer": idp.url(),
        "audiences": ["api://default"],
        "algorithms": ["RS256"],
        "jwks_uri": idp.jwks_uri(),
        "introspection": intro,
    });
    let mut config = json!({"issuers": [issuer]});
    if let Some(url) = redis_url {
        config["dpop"] = json!({"replay": {
            "store": "redis", "url": url, "key_prefix": PREFIX, "timeout_ms": TIMEOUT_MS,
        }});
    }
    Config::from_value(config).unwrap()
}

fn verifier(idp: &TestIdp, redis: &RedisServer, introspection: Value) -> Verifier {
    Verifier::new(config(idp, Some(&redis.url()), introspection)).unwrap()
}

fn opaque(idp: &TestIdp, lifetime: Option<i64>) -> String {
    idp.token(&TokenRequest {
        opaque: true,
        scope: Some("orders:read".into()),
        lifetime,
        ..Default::default()
    })
}

fn sha256_hex(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn key_of(token: &str) -> String {
    format!("{PREFIX}:introspection:{}", sha256_hex(token))
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn requests(idp: &TestIdp) -> u64 {
    idp.stats().introspection_requests
}

#[test]
fn a_second_verifier_answers_from_redis_without_asking_the_idp() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let (a, b) = (
        verifier(&idp, &redis, json!({})),
        verifier(&idp, &redis, json!({})),
    );
    let token = opaque(&idp, None);
    assert_eq!(a.verify(&token).unwrap().subject(), Some("test-client"));
    assert_eq!(requests(&idp), 1);
    let from_redis = b.verify(&token).unwrap();
    assert_eq!(requests(&idp), 1, "the second verifier read a's answer");
    assert_eq!(from_redis.subject(), Some("test-client"));
    from_redis
        .require_scopes(&["orders:read"], veritoken::ScopeMatch::All)
        .unwrap();
    // Then b's own memory: no second Redis round trip.
    let store_requests = b.metrics().store_requests;
    b.verify(&token).unwrap();
    let m = b.metrics();
    assert_eq!(
        (
            m.introspection_requests,
            m.introspection_store_hits,
            m.introspection_cache_hits,
            m.store_requests,
            m.store_errors
        ),
        (0, 1, 1, store_requests, 0),
        "{m:?}"
    );
    assert_eq!(a.metrics().introspection_requests, 1);

    // An inactive answer is shared too (and refused at both).
    let revoked = opaque(&idp, None);
    idp.revoke(&idp.jti_of(&revoked).unwrap());
    let err = rt().block_on(b.verify_at_async(&revoked, None, unix_now()));
    assert_eq!(err.unwrap_err().code(), ErrorCode::TokenInactive);
    assert_eq!(requests(&idp), 2);
    let err = rt().block_on(a.verify_at_async(&revoked, None, unix_now()));
    assert_eq!(err.unwrap_err().code(), ErrorCode::TokenInactive);
    assert_eq!(requests(&idp), 2, "a read b's inactive answer");
    assert_eq!(a.metrics().introspection_store_hits, 1);
}

#[test]
fn keys_are_the_prefix_and_the_sha256_and_hold_no_token_text() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let v = verifier(&idp, &redis, json!({}));
    let (active, inactive) = (opaque(&idp, None), opaque(&idp, None));
    idp.revoke(&idp.jti_of(&inactive).unwrap());
    v.verify(&active).unwrap();
    v.verify(&inactive).unwrap_err();
    let mut expected = vec![key_of(&active), key_of(&inactive)];
    expected.sort();
    assert_eq!(redis.keys(), expected);
    for key in &expected {
        let value = redis.cli(&["GET", key]);
        for token in [&active, &inactive] {
            assert!(!key.contains(token.as_str()) && !value.contains(token.as_str()));
        }
    }
    let value = redis.cli(&["GET", &key_of(&active)]);
    assert!(
        value.starts_with("A ") && value.contains("\"sub\":\"test-client\""),
        "{value}"
    );
    assert!(!value.contains("\"active\""), "{value}");
    assert!(redis.cli(&["GET", &key_of(&inactive)]).starts_with("I "));
}

#[test]
fn the_ttl_never_passes_exp_nor_the_first_answers_lifetime() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let pttl = |token: &str| -> i64 { redis.cli(&["PTTL", &key_of(token)]).parse().unwrap() };
    let v = verifier(&idp, &redis, json!({"cache_ttl": 60, "negative_ttl": 3}));
    // exp in 20 s: kept at most 20 s, although cache_ttl is 60.
    let short = opaque(&idp, Some(20));
    v.verify(&short).unwrap();
    let left = pttl(&short);
    assert!((17_000..=20_000).contains(&left), "PTTL {left}");
    let long = opaque(&idp, Some(3600));
    v.verify(&long).unwrap();
    let left = pttl(&long);
    assert!((58_000..=60_000).contains(&left), "PTTL {left}");
    let revoked = opaque(&idp, None);
    idp.revoke(&idp.jti_of(&revoked).unwrap());
    v.verify(&revoked).unwrap_err();
    let left = pttl(&revoked);
    assert!((1_000..=3_000).contains(&left), "PTTL {left}");

    // Written for 2 s by one verifier, read by another whose own cache_ttl is 60: that one
    // keeps it in memory only until the first answer's time is up, then asks again.
    let quick = verifier(&idp, &redis, json!({"cache_ttl": 2}));
    let patient = verifier(&idp, &redis, json!({"cache_ttl": 60}));
    let token = opaque(&idp, None);
    quick.verify(&token).unwrap();
    let before = requests(&idp);
    patient.verify(&token).unwrap();
    assert_eq!(requests(&idp), before, "read from Redis");
    std::thread::sleep(Duration::from_millis(2_300));
    patient.verify(&token).unwrap();
    assert_eq!(
        requests(&idp),
        before + 1,
        "past the first answer's 2 s: asked again"
    );
}

#[test]
fn redis_stopped_or_frozen_falls_back_to_the_endpoint_then_recovers() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let (a, b) = (
        verifier(&idp, &redis, json!({})),
        verifier(&idp, &redis, json!({})),
    );
    a.verify(&opaque(&idp, None)).unwrap();

    redis.stop();
    let token = opaque(&idp, None);
    let started = Instant::now();
    a.verify(&token).expect("the endpoint answers instead");
    let stopped = started.elapsed();
    assert!(
        stopped < Duration::from_millis(TIMEOUT_MS + 500),
        "{stopped:?}"
    );
    rt().block_on(b.verify_at_async(&token, None, unix_now()))
        .expect("async too");
    let m = a.metrics();
    assert!(m.store_errors >= 1, "{m:?}");
    assert_eq!(m.introspection_requests, 2, "{m:?}");
    assert_eq!(b.metrics().introspection_requests, 1);
    // The fallback is an answer from the endpoint, never an accept without one.
    idp.set_fault(Fault {
        mode: FaultMode::Down,
        delay_ms: 0,
    });
    let err = a.verify(&opaque(&idp, None)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::IntrospectionUnavailable, "{err}");
    let revoked = opaque(&idp, None);
    idp.set_fault(Fault {
        mode: FaultMode::None,
        delay_ms: 0,
    });
    idp.revoke(&idp.jti_of(&revoked).unwrap());
    assert_eq!(
        a.verify(&revoked).unwrap_err().code(),
        ErrorCode::TokenInactive
    );
    // A cache that falls back does not make the verifier unready (DPoP is off here).
    assert!(a.is_ready() && rt().block_on(a.check_ready()));

    redis.restart();
    let token = opaque(&idp, None);
    a.verify(&token).expect("recovered");
    let before = requests(&idp);
    b.verify(&token).unwrap();
    assert_eq!(requests(&idp), before, "shared again once Redis is back");

    // Frozen: the endpoint is asked after the store's timeout, not later.
    redis.pause();
    let token = opaque(&idp, None);
    let started = Instant::now();
    let result = a.verify(&token);
    let waited = started.elapsed();
    redis.resume();
    result.expect("the endpoint answers instead");
    assert!(
        waited >= Duration::from_millis(TIMEOUT_MS - 20)
            && waited < Duration::from_millis(TIMEOUT_MS + 500),
        "{waited:?}"
    );
    eprintln!("Redis stopped: endpoint asked after {stopped:?}; frozen: after {waited:?}");
}

#[test]
fn cache_redis_needs_the_replay_store_and_names_the_path() {
    let idp = TestIdp::start();
    let err = Verifier::new(config(&idp, None, json!({}))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert!(
        err.message().contains("issuers[0]: introspection.cache")
            && err.message().contains("dpop.replay"),
        "{err}"
    );
    let err = Verifier::new(config(&idp, Some("http://u:hunter2@h"), json!({}))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert!(
        err.message().contains("dpop.replay: url") && !err.message().contains("hunter2"),
        "{err}"
    );
    let bad = json!({"issuers": [{
        "issuer": idp.url(), "audiences": ["a"], "algorithms": ["RS256"], "jwks_uri": idp.jwks_uri(),
        "introspection": {"endpoint": "http://127.0.0.1:1/i", "client_id": "c", "client_secret": "s", "cache": "disk"},
    }]});
    let err = Config::from_value(bad).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ConfigInvalid);
    assert!(
        err.message().contains("issuers[0].introspection.cache"),
        "{err}"
    );
    // Memory stays the default, with or without a replay store.
    Verifier::new(config(&idp, None, json!({"cache": "memory"}))).unwrap();
}
