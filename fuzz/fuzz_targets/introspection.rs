//! (e) Introspection answers: any bytes as the endpoint's answer body, read and judged as
//! the verifier does (`active`, then the claim rules). Never a panic; an accepted answer
//! was a strict JSON object with `"active": true`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use std::sync::LazyLock;
use veritoken::Verifier;

#[path = "common.rs"]
mod common;

const NOW: i64 = 1_767_225_600;

static VERIFIER: LazyLock<Verifier> = LazyLock::new(|| {
    // The endpoint is never called: the answer is handed over directly.
    common::verifier(json!({"issuers": [{
        "issuer": "https://idp.example.com/",
        "audiences": ["api://default"],
        "algorithms": ["HS256"],
        "keys": [{"secret": {"value": "0123456789abcdef0123456789abcdef", "alg": "HS256"}}],
        "introspection": {
            "endpoint": "http://127.0.0.1:9/introspect",
            "client_id": "rs",
            "client_secret": "s3cret"
        }
    }]}))
});

fuzz_target!(|data: &[u8]| {
    let result = veritoken::fuzzing::introspection_answer(&VERIFIER, data, NOW);
    if let Ok(token) = result {
        let strict = veritoken::fuzzing::strict_object(data).expect("accepted, so strict JSON");
        assert_eq!(strict.get("active"), Some(&Value::Bool(true)));
        assert!(!token.claims().contains_key("active"));
    }
});
