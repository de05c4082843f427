//! (a) Any bytes as a token, for verifiers with HMAC, RSA, EC and Ed25519 keys (under the
//! names EdDSA, Ed25519 and ESP256 too): never a panic, always a stable code; an accepted
//! token is one the fuzzer found in the seed corpus, so its claims parse strictly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use veritoken::{ErrorCode, Verifier};

#[path = "common.rs"]
mod common;

static VERIFIERS: LazyLock<Vec<(Verifier, i64)>> = LazyLock::new(|| {
    [
        "hs256_valid",
        "rs256_valid",
        "es256_valid",
        "eddsa_valid",
        "ed25519_valid",
        "esp256_valid",
    ]
    .into_iter()
    .map(|name| {
        let (config, now, _) = common::vector("algorithms.json", name);
        (common::verifier(config), now)
    })
    .collect()
});

fuzz_target!(|data: &[u8]| {
    let Ok(token) = veritoken::utf8_str(data) else {
        return;
    };
    let _ = veritoken::decode_unverified(token);
    for (verifier, now) in VERIFIERS.iter() {
        match verifier.verify_at(token, *now) {
            Ok(verified) => {
                let strict = veritoken::fuzzing::strict_object(verified.claims_json().as_bytes());
                assert_eq!(strict.as_ref().ok(), Some(verified.claims()));
            }
            Err(e) => {
                assert_eq!(ErrorCode::from_name(e.code().as_str()), Some(e.code()));
                assert!(!e.message().is_empty());
            }
        }
    }
});
