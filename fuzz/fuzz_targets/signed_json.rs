//! (b) Header or payload bytes, signed correctly so that they reach the strict scanner,
//! judged against the strict serde parser with duplicate detection at every depth (the
//! oracle): the same verdict, and when accepted the same header or claims. The first byte
//! says which part the rest replaces (even: the payload, odd: the header); the other part
//! is the shared vector `hs256_valid`'s. An accepted token is verified three times more
//! with the verified-token cache on: the hits answer the same claims, and their members
//! (from the per-thread memo) are the scan's.
#![no_main]

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use veritoken::fuzzing::{check_scanner, strict_object};
use veritoken::{ErrorCode, VerifiedToken, Verifier};

#[path = "common.rs"]
mod common;

struct Setup {
    verifier: Verifier,
    cached: Verifier,
    now: i64,
    key: hmac::Key,
    header: Vec<u8>,
    payload: Vec<u8>,
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    let (config, now, case) = common::vector("algorithms.json", "hs256_valid");
    let secret = config["issuers"][0]["keys"][0]["jwks"]["keys"][0]["k"]
        .as_str()
        .map(|k| URL_SAFE_NO_PAD.decode(k).unwrap())
        .unwrap();
    let token = case["token"].as_str().unwrap();
    let mut parts = token.split('.');
    let mut part = || URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap();
    let (header, payload) = (part(), part());
    let mut with_cache = config.clone();
    with_cache["cache"] = serde_json::json!({ "max_entries": 16 });
    Setup {
        verifier: common::verifier(config),
        cached: common::verifier(with_cache),
        now,
        key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
        header,
        payload,
    }
});

fuzz_target!(|data: &[u8]| {
    let Some((&mode, fuzzed)) = data.split_first() else {
        return;
    };
    let s = &*SETUP;
    let (header, payload) = match mode & 1 {
        0 => (&s.header[..], fuzzed),
        _ => (fuzzed, &s.payload[..]),
    };
    check_scanner(fuzzed);
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let tag = hmac::sign(&s.key, input.as_bytes());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
    let strict = strict_object(fuzzed);
    let result = s.verifier.verify_at(&token, s.now);
    match (&strict, &result) {
        (Err(_), Ok(_)) => panic!("accepted what the strict parser refuses"),
        (Err(_), Err(e)) => assert_eq!(e.code(), ErrorCode::TokenMalformed, "{e}"),
        (Ok(map), Ok(verified)) => {
            let got = if mode & 1 == 0 {
                verified.claims()
            } else {
                verified.header()
            };
            assert_eq!(got, map);
            check_cache_hit(&s.cached, &token, s.now, verified);
        }
        // Well-formed JSON the rules refuse (a wrong `alg`, an expired token, ...).
        (Ok(_), Err(_)) => {}
    }
});

/// `token`, accepted as `fresh`, verified three times by `cached`: at least the last two
/// are hits (the first of them usually finds another text in the memo, the second finds
/// this one's) with the same claims and the same members.
fn check_cache_hit(cached: &Verifier, token: &str, now: i64, fresh: &VerifiedToken) {
    let (mut scanned, mut memoized) = (Vec::new(), Vec::new());
    let found = fresh.claim_members(&mut scanned);
    let hits = || cached.metrics().token_cache_hits;
    let before = hits();
    for _ in 0..3 {
        let answer = cached
            .verify_at(token, now)
            .expect("accepted fresh, so cached too");
        assert_eq!(answer.claims_json(), fresh.claims_json());
        assert_eq!(answer.claim_members(&mut memoized), found);
        if found {
            assert_eq!(memoized, scanned);
        }
    }
    assert!(hits() >= before + 2, "the cache did not answer");
}
