//! (d) DPoP proofs: any bytes as the proof of a valid DPoP-bound token (and as the JWK
//! whose thumbprint is taken). Never a panic; a refusal is `dpop_invalid` or another
//! stable code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;
use veritoken::{DpopProof, ErrorCode, Verifier};

#[path = "common.rs"]
mod common;

static SETUP: LazyLock<(Verifier, i64, String)> = LazyLock::new(|| {
    let (config, now, case) = common::vector("dpop.json", "dpop_valid_es256");
    let header = case["request"]["headers"][0][1].as_str().unwrap();
    let token = header.strip_prefix("DPoP ").unwrap().to_owned();
    (common::verifier(config), now, token)
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (verifier, now, token) = &*SETUP;
    let proof = DpopProof {
        proof: text,
        method: "GET",
        url: "https://api.example.com/orders",
    };
    if let Err(e) = verifier.verify_dpop_at(token, &proof, *now) {
        assert_eq!(ErrorCode::from_name(e.code().as_str()), Some(e.code()));
    }
    if let Ok(serde_json::Value::Object(jwk)) = serde_json::from_str(text) {
        let _ = veritoken::thumbprint(&jwk);
    }
});
