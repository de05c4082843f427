//! A loop for profilers (`valgrind --tool=callgrind`, `perf`): verifies one vector token
//! N times. `cargo run --release --example profile_verify -- hs256_valid 100000`
use serde_json::Value;
use veritoken::{Config, Verifier};

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "hs256_valid".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/algorithms.json"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let case = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name.as_str())
        .expect("case");
    let verifier = Verifier::new(Config::from_value(case["config"].clone()).unwrap()).unwrap();
    let (token, now) = (
        case["token"].as_str().unwrap(),
        case["now"].as_i64().unwrap(),
    );
    let start = std::time::Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            verifier
                .verify_at(std::hint::black_box(token), now)
                .unwrap(),
        );
    }
    println!(
        "{name}: {:.3} µs per verify",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
