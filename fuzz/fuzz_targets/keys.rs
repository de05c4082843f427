//! (c) JWKS and PEM parsing: a JWKS document as a static and as a remote set, a PEM
//! document as a key, and each as configuration key sources. Never a panic; a key that
//! loads answers `verify` (false for garbage) without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veritoken::{Algorithm, AlgorithmSet, Origin};

fuzz_target!(|data: &[u8]| {
    let all: AlgorithmSet = Algorithm::ALL.into_iter().collect();
    if let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) {
        for origin in [Origin::Static, Origin::Remote] {
            if let Ok(parsed) = veritoken::parse_jwks(&doc, origin, all) {
                for key in &parsed.keys {
                    for alg in key.algorithms() {
                        assert!(!key.verify(alg, b"message", b"not a signature"));
                    }
                }
            }
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(key) = veritoken::fuzzing::pem_key(text) {
            for alg in key.algorithms() {
                assert!(!key.verify(alg, b"message", &[0; 64]));
            }
        }
    }
});
