//! Full `Verifier::verify_at` per algorithm, next to the floor: the bare aws-lc-rs
//! signature check with a key parsed once (what no JWT library can beat), on the same
//! token in the same run. `make bench` prints the ratios (budget: ≤ 1.15×, HS256 < 1 µs).

use aws_lc_rs::{hmac, signature::ParsedPublicKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::Value;
use std::hint::black_box;
use std::path::PathBuf;
use veritoken::{Algorithm, Config, Verifier};

fn b64(v: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap()
}

/// The floor for one JWK: aws-lc-rs objects built once, outside the measurement.
#[allow(clippy::large_enum_variant)] // built once per benchmark
enum Floor {
    Hmac(hmac::Key),
    Public(ParsedPublicKey),
}

fn floor(alg: Algorithm, jwk: &Value) -> Floor {
    use aws_lc_rs::signature as s;
    let public = |v: &'static dyn s::VerificationAlgorithm, bytes: Vec<u8>| {
        Floor::Public(ParsedPublicKey::new(v, bytes).unwrap())
    };
    match alg {
        Algorithm::HS256 => Floor::Hmac(hmac::Key::new(hmac::HMAC_SHA256, &b64(&jwk["k"]))),
        Algorithm::RS256 => {
            use der::Encode;
            let (n, e) = (b64(&jwk["n"]), b64(&jwk["e"]));
            let key = pkcs1::RsaPublicKey {
                modulus: der::asn1::UintRef::new(&n).unwrap(),
                public_exponent: der::asn1::UintRef::new(&e).unwrap(),
            };
            public(&s::RSA_PKCS1_2048_8192_SHA256, key.to_der().unwrap())
        }
        Algorithm::ES256 => {
            let mut point = vec![4u8];
            point.extend(b64(&jwk["x"]));
            point.extend(b64(&jwk["y"]));
            public(&s::ECDSA_P256_SHA256_FIXED, point)
        }
        Algorithm::EdDSA => public(&s::ED25519, b64(&jwk["x"])),
        _ => unreachable!(),
    }
}

fn bench(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/algorithms.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    for alg in [
        Algorithm::RS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::HS256,
    ] {
        let name = format!("{}_valid", alg.name().to_lowercase());
        let case = doc["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name.as_str())
            .unwrap();
        let token = case["token"].as_str().unwrap().to_owned();
        let now = case["now"].as_i64().unwrap();
        let verifier = Verifier::new(Config::from_value(case["config"].clone()).unwrap()).unwrap();
        verifier
            .verify_at(&token, now)
            .expect("the bench token verifies");
        let (input, sig) = token.rsplit_once('.').unwrap();
        let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
        let key = floor(
            alg,
            &case["config"]["issuers"][0]["keys"][0]["jwks"]["keys"][0],
        );

        let mut group = c.benchmark_group(alg.name());
        group.bench_function("floor_aws_lc_rs", |b| {
            b.iter(|| match &key {
                Floor::Hmac(k) => {
                    hmac::verify(k, black_box(input.as_bytes()), black_box(&sig)).unwrap()
                }
                Floor::Public(k) => k
                    .verify_sig(black_box(input.as_bytes()), black_box(&sig))
                    .unwrap(),
            })
        });
        group.bench_function("veritoken_verify", |b| {
            b.iter(|| verifier.verify_at(black_box(&token), now).unwrap())
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
