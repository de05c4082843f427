//! The opt-in verified-token cache (`[cache] max_entries`): what a hit still checks.
//! Static keys with tokens minted here, and remote keys against the test IdP for
//! rotation, removal, the stale window and DPoP proofs.

mod common;
use common::wait_until;
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};
use std::time::Duration;
use veritoken::{Config, ErrorCode, SimpleRequest, Verifier};
use veritoken_testidp::{ProofRequest, TestIdp, TokenRequest};

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const NOW: i64 = 1_767_225_600;

fn static_verifier(extra: Value) -> Verifier {
    let mut config = json!({
        "issuers": [{"issuer": "https://issuer.example", "audiences": ["api"],
            "algorithms": ["HS256"], "max_age": 600,
            "keys": [{"secret": {"value": SECRET, "alg": "HS256"}}]}],
        "cache": {"max_entries": 1000},
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    Verifier::new(Config::from_value(config).unwrap()).unwrap()
}

fn mint(claims: Value) -> String {
    let mut base = json!({"iss": "https://issuer.example", "aud": "api", "sub": "alice",
        "iat": NOW - 10, "exp": NOW + 100});
    for (k, v) in claims.as_object().unwrap() {
        base[k] = v.clone();
    }
    encode(
        &Header::default(),
        &base,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn hits(v: &Verifier) -> (u64, u64) {
    let m = v.metrics();
    (m.token_cache_hits, m.token_cache_misses)
}

#[test]
fn a_repeated_token_is_a_hit_and_answers_the_same() {
    let v = static_verifier(json!({}));
    let t = mint(json!({}));
    let first = v.verify_at(&t, NOW).unwrap();
    let again = v.verify_at(&t, NOW).unwrap();
    assert_eq!(first.claims_json(), again.claims_json());
    assert_eq!(first.header_json(), again.header_json());
    assert_eq!(hits(&v), (1, 1));
    assert_eq!(v.metrics().verified, 2);
    // Off by default: no lookups at all.
    let off = Verifier::new(
        Config::from_value(json!({"issuers": [{"issuer": "https://issuer.example",
            "audiences": ["api"], "algorithms": ["HS256"],
            "keys": [{"secret": {"value": SECRET, "alg": "HS256"}}]}]}))
        .unwrap(),
    )
    .unwrap();
    off.verify_at(&t, NOW).unwrap();
    off.verify_at(&t, NOW).unwrap();
    assert_eq!(hits(&off), (0, 0));
}

#[test]
fn a_hits_members_are_its_own_claims_whatever_hit_came_before() {
    // Hits answer members from this thread's memo of the last claims text: tokens in turn,
    // the same token twice, texts of one length whose members differ, each must locate
    // its own claims.
    let v = static_verifier(json!({}));
    let tokens = [
        mint(json!({"sub": "alice", "n": 100})),
        mint(json!({"sub": "alice", "n": "1"})),
        mint(json!({"sub": "bob", "scope": "read write", "n": 22})),
        mint(json!({"sub": "b\u{f6}b", "n": 1.5})),
    ];
    let fresh: Vec<_> = tokens
        .iter()
        .map(|t| v.verify_at(t, NOW).unwrap())
        .collect();
    let located = |token: &veritoken::VerifiedToken| {
        let mut out = Vec::new();
        let found = token.claim_members(&mut out);
        let text = token.claims_json();
        let names: Vec<&str> = out.iter().map(|m| &text[m.name.clone()]).collect();
        (found, format!("{names:?} {:?}", out))
    };
    for i in [0, 0, 1, 0, 2, 2, 3, 1, 3, 3] {
        let hit = v.verify_at(&tokens[i], NOW).unwrap();
        assert_eq!(hit.claims_json(), fresh[i].claims_json());
        assert_eq!(located(&hit), located(&fresh[i]), "token {i}");
    }
    assert_eq!(hits(&v), (10, 4));
    let (found, members) = located(&fresh[2]);
    assert!(found && members.contains(r#""scope""#), "{members}");
}

#[test]
fn the_time_rules_are_judged_again_at_every_hit() {
    let v = static_verifier(json!({"leeway": 2}));
    let t = mint(json!({"exp": NOW + 100, "nbf": NOW - 5, "iat": NOW - 10}));
    v.verify_at(&t, NOW).unwrap();
    // exp + leeway: valid at NOW+101, expired at exactly NOW+102, from the cache too.
    assert!(v.verify_at(&t, NOW + 101).is_ok());
    let expired = v.verify_at(&t, NOW + 102).unwrap_err();
    assert_eq!(
        (expired.code(), expired.claim()),
        (ErrorCode::TokenExpired, Some("exp"))
    );
    // Earlier than nbf - leeway, and iat in the future: the same codes as a full verify.
    assert_eq!(
        v.verify_at(&t, NOW - 8).unwrap_err().code(),
        ErrorCode::TokenNotYetValid
    );
    let young = mint(json!({"iat": NOW}));
    v.verify_at(&young, NOW).unwrap();
    assert_eq!(
        v.verify_at(&young, NOW - 3).unwrap_err().code(),
        ErrorCode::TokenIssuedInFuture
    );
    // max_age (600 s after iat, plus leeway).
    let old = mint(json!({"exp": NOW + 10_000}));
    v.verify_at(&old, NOW).unwrap();
    assert!(v.verify_at(&old, NOW - 10 + 602).is_ok());
    assert_eq!(
        v.verify_at(&old, NOW - 10 + 603).unwrap_err().code(),
        ErrorCode::TokenTooOld
    );
    let (h, _) = hits(&v);
    assert!(h >= 5, "the verdicts above came from the cache: {h} hits");
    // Each verdict equals what a verifier without the cache says.
    let fresh = static_verifier(json!({"leeway": 2, "cache": {"max_entries": 0}}));
    for (token, now) in [
        (&t, NOW + 102),
        (&t, NOW - 8),
        (&young, NOW - 3),
        (&old, NOW + 593),
    ] {
        assert_eq!(
            v.verify_at(token, now).err().map(|e| e.code()),
            fresh.verify_at(token, now).err().map(|e| e.code()),
            "at {now}"
        );
    }
}

#[test]
fn a_tampered_copy_of_a_cached_token_is_verified_in_full_and_refused() {
    // One slot: every copy is looked up in the cached token's entry, so only comparing
    // the whole token keeps it from answering.
    let v = static_verifier(json!({"cache": {"max_entries": 1}}));
    let t = mint(json!({}));
    v.verify_at(&t, NOW).unwrap();
    let mut bytes = t.clone().into_bytes();
    for at in [t.len() - 2, t.find('.').unwrap() + 3, 3] {
        let original = bytes[at];
        bytes[at] = if original == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes.clone()).unwrap();
        let err = v.verify_at(&tampered, NOW).unwrap_err();
        assert!(
            matches!(
                err.code(),
                ErrorCode::SignatureInvalid | ErrorCode::TokenMalformed
            ),
            "byte {at}: {err}"
        );
        bytes[at] = original;
    }
    assert_eq!(hits(&v), (0, 4));
    assert!(v.verify_at(&t, NOW).is_ok());
    assert_eq!(hits(&v), (1, 4));
}

#[test]
fn bounded_and_counted() {
    let v = static_verifier(json!({"cache": {"max_entries": 8}}));
    for i in 0..200 {
        v.verify_at(&mint(json!({"sub": format!("user-{i}")})), NOW)
            .unwrap();
    }
    let m = v.metrics();
    assert!(m.token_cache_evictions >= 192, "{m:?}");
    let too_big = Config::from_value(json!({"issuers": [{"issuer": "https://i",
        "audiences": ["a"], "algorithms": ["HS256"], "keys": [{"secret": {"value": SECRET, "alg": "HS256"}}]}],
        "cache": {"max_entries": 1usize << 21}}))
    .unwrap();
    assert_eq!(
        Verifier::new(too_big).unwrap_err().code(),
        ErrorCode::ConfigInvalid
    );
    let unknown = Config::from_value(json!({"issuers": [{"issuer": "https://i",
        "audiences": ["a"], "algorithms": ["HS256"]}], "cache": {"entries": 1}}));
    assert!(unknown.unwrap_err().message().contains("entries"));
}

fn remote_verifier(idp: &TestIdp, cache: Value, dpop: Value) -> Verifier {
    let config = json!({
        "issuers": [{"issuer": idp.url(), "audiences": ["api://default"],
            "algorithms": ["RS256", "ES256"], "jwks_uri": idp.jwks_uri(), "jwks_cache": cache}],
        "cache": {"max_entries": 100},
        "dpop": dpop,
    });
    Verifier::new(Config::from_value(config).unwrap()).unwrap()
}

/// A verifier whose keys are fetched again every second (no DPoP).
fn refetching_every_second(idp: &TestIdp) -> Verifier {
    remote_verifier(
        idp,
        json!({"ttl": 1, "min_ttl": 1, "refresh_ahead": 0, "cooldown": 1}),
        json!({}),
    )
}

/// Verifies `t` twice: the second is a hit (fresh keys).
fn verified_twice(v: &Verifier, t: &str) {
    v.verify(t).unwrap();
    v.verify(t).unwrap();
    assert!(hits(v).0 >= 1, "fresh keys: a hit");
}

/// Whether `t` comes to be refused as `jwks_unavailable` within 8 s (keys past `max_stale`).
fn refused_as_unavailable(v: &Verifier, t: &str) -> bool {
    wait_until(Duration::from_secs(8), || {
        v.verify(t).err().map(|e| e.code()) == Some(ErrorCode::JwksUnavailable)
    })
}

#[test]
fn a_removed_key_ends_its_cached_tokens() {
    let idp = TestIdp::start();
    let v = refetching_every_second(&idp);
    let kid = idp.rotate("ES256");
    let t = idp.token(&TokenRequest {
        alg: Some("ES256".into()),
        kid: Some(kid.clone()),
        ..Default::default()
    });
    verified_twice(&v, &t);
    idp.retire(&kid);
    assert!(
        wait_until(Duration::from_secs(8), || v.verify(&t).is_err()),
        "a token whose key was removed is refused once the keys are refetched"
    );
    assert_eq!(v.verify(&t).unwrap_err().code(), ErrorCode::KeyNotFound);
}

#[test]
fn past_freshness_hits_go_on_until_max_stale() {
    let mut idp = TestIdp::start();
    let v = remote_verifier(
        &idp,
        json!({"ttl": 1, "min_ttl": 1, "refresh_ahead": 0, "max_stale": 4, "cooldown": 1}),
        json!({}),
    );
    let t = idp.token(&TokenRequest::default());
    verified_twice(&v, &t);
    idp.stop();
    // Past freshness (1 s), with the IdP down, the full path would verify with these same
    // keys: hits go on, each counted as a stale serve, with no miss.
    assert!(
        wait_until(Duration::from_secs(4), || {
            v.verify(&t).is_ok() && v.metrics().stale_serves > 0
        }),
        "the stale window serves the last good keys"
    );
    let (before, stale) = (hits(&v), v.metrics().stale_serves);
    v.verify(&t).unwrap();
    assert_eq!(hits(&v), (before.0 + 1, before.1), "a stale hit");
    assert_eq!(v.metrics().stale_serves, stale + 1);
    assert!(
        refused_as_unavailable(&v, &t),
        "a cached token is refused once its keys pass max_stale"
    );
}

#[test]
fn a_dpop_bound_token_from_the_cache_still_needs_a_fresh_proof() {
    let idp = TestIdp::start();
    let v = remote_verifier(&idp, json!({}), json!({"mode": "allowed"}));
    let token = idp.token(&TokenRequest {
        dpop_jkt: Some(idp.dpop_jkt()),
        ..Default::default()
    });
    let api = "https://api.example.com/orders";
    let proof = || {
        idp.dpop_proof(&ProofRequest {
            htm: "GET".into(),
            htu: api.into(),
            access_token: Some(token.clone()),
            ..Default::default()
        })
    };
    let request = |proof: &str| SimpleRequest {
        headers: vec![
            ("Authorization".into(), format!("DPoP {token}")),
            ("DPoP".into(), proof.into()),
        ],
        method: Some("GET".into()),
        url: Some(api.into()),
        ..Default::default()
    };
    let p = proof();
    v.verify_request(&request(&p)).unwrap();
    v.verify_request(&request(&proof())).unwrap();
    assert!(hits(&v).0 >= 1, "the token part came from the cache");
    let replay = v.verify_request(&request(&p)).unwrap_err();
    assert_eq!(
        (replay.code(), replay.claim()),
        (ErrorCode::DpopInvalid, Some("jti"))
    );
    assert_eq!(v.verify(&token).unwrap_err().claim(), Some("cnf"));
}

#[cfg(unix)]
#[test]
fn entries_are_not_used_after_fork() {
    let v = static_verifier(json!({}));
    let t = mint(json!({}));
    v.verify_at(&t, NOW).unwrap();
    v.verify_at(&t, NOW).unwrap();
    assert_eq!(hits(&v), (1, 1));
    // SAFETY: the child verifies and leaves through _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = v.verify_at(&t, NOW).is_ok() && hits(&v) == (1, 2);
        let again = v.verify_at(&t, NOW).is_ok() && hits(&v) == (2, 2);
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(if ok && again { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    v.verify_at(&t, NOW).unwrap();
    assert_eq!(hits(&v), (2, 1), "the parent's entries stay usable");
}

#[test]
fn max_stale_ends_keys_whose_freshness_lasts_longer() {
    // The keys stay fresh for 60 s, but max_stale says they serve at most 2 s after
    // their fetch: the shorter one ends them, cached tokens included.
    let mut idp = TestIdp::start();
    let v = remote_verifier(
        &idp,
        json!({"ttl": 60, "min_ttl": 60, "max_ttl": 60, "refresh_ahead": 0, "max_stale": 2, "cooldown": 1}),
        json!({}),
    );
    let t = idp.token(&TokenRequest::default());
    verified_twice(&v, &t);
    idp.stop();
    assert!(
        refused_as_unavailable(&v, &t),
        "keys past max_stale do not serve, even when still fresh by their ttl"
    );
    assert!(!v.is_ready());
}

#[test]
fn a_refetch_of_the_same_key_set_keeps_its_cached_tokens() {
    // No ETag, so every refresh downloads the whole document again; the same bytes are
    // the same keys, and the entries they verified stay hits.
    let idp = TestIdp::start();
    let v = refetching_every_second(&idp);
    let t = idp.token(&TokenRequest::default());
    verified_twice(&v, &t);
    let (before, fetched) = (hits(&v), idp.stats().jwks_requests);
    assert!(
        wait_until(Duration::from_secs(8), || idp.stats().jwks_requests
            >= fetched + 2),
        "the keys were fetched again"
    );
    assert_eq!(idp.stats().jwks_not_modified, 0, "whole documents, no 304");
    v.verify(&t).unwrap();
    assert_eq!(hits(&v), (before.0 + 1, before.1), "still a hit, no miss");
}

#[test]
fn a_new_key_beside_the_verifying_one_refreshes_its_tokens() {
    // A rotation that keeps the token's key: the refetched key set is another set, so the
    // entry made with the old one is not used; the token verifies in full and hits again.
    let idp = TestIdp::start();
    let v = refetching_every_second(&idp);
    let t = idp.token(&TokenRequest::default());
    verified_twice(&v, &t);
    let misses_before = hits(&v).1;
    idp.rotate("ES256");
    assert!(
        wait_until(Duration::from_secs(8), || {
            v.verify(&t).unwrap();
            hits(&v).1 > misses_before
        }),
        "the new key set made the entry a miss"
    );
    let (h, _) = hits(&v);
    v.verify(&t).unwrap();
    assert_eq!(hits(&v).0, h + 1, "and the token is cached again");
}

#[test]
fn a_proof_from_another_key_is_refused_for_a_cached_token() {
    // Bound to a key the proof is not signed with: the token part comes from the cache the
    // second time, and the proof is still checked against its binding.
    let idp = TestIdp::start();
    let v = remote_verifier(&idp, json!({}), json!({"mode": "allowed"}));
    let token = idp.token(&TokenRequest {
        dpop_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I".into()),
        ..Default::default()
    });
    let api = "https://api.example.com/orders";
    for _ in 0..2 {
        let proof = idp.dpop_proof(&ProofRequest {
            htm: "GET".into(),
            htu: api.into(),
            access_token: Some(token.clone()),
            ..Default::default()
        });
        let err = v
            .verify_request(&SimpleRequest {
                headers: vec![
                    ("Authorization".into(), format!("DPoP {token}")),
                    ("DPoP".into(), proof),
                ],
                method: Some("GET".into()),
                url: Some(api.into()),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::DpopInvalid, "{err}");
    }
    assert_eq!(hits(&v).0, 1, "the second time, the token part was a hit");
}

#[test]
fn a_try_then_a_wait_for_keys_is_one_miss() {
    // Every binding's way: a call that never waits, then (keys being fetched) one that does.
    let idp = TestIdp::start();
    idp.set_fault(veritoken_testidp::Fault {
        mode: veritoken_testidp::FaultMode::Delay,
        delay_ms: 700,
    });
    let v = remote_verifier(
        &idp,
        json!({"wait_at_startup": false, "timeout_ms": 5000}),
        json!({}),
    );
    let t = idp.token(&TokenRequest::default());
    assert!(
        v.try_verify_at(&t, None, veritoken::unix_now()).is_none(),
        "keys are still being fetched"
    );
    assert_eq!(hits(&v), (0, 0), "a try that stops to wait is no miss yet");
    v.verify(&t).unwrap();
    assert_eq!(hits(&v), (0, 1));
    v.verify(&t).unwrap();
    assert_eq!(hits(&v), (1, 1));
}
