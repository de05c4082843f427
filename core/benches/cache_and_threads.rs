//! Where traffic really goes: the same token again (the verified-token cache's hit, budget
//! ≤ 0.3 µs), and two threads against one (budget ≥ 1.9× the throughput of one, for every
//! algorithm and for a hit). Plain timing loops in one run, medians of interleaved rounds;
//! run by `make bench` (never by `make test`).

use serde_json::Value;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use veritoken::{Config, Verifier};

struct Case {
    name: String,
    verifier: Arc<Verifier>,
    token: Arc<str>,
    now: i64,
}

/// The `<alg>_valid` vector of each algorithm, with and without the token cache.
fn cases() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/algorithms.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let mut out = vec![];
    for alg in ["rs256", "es256", "eddsa", "hs256"] {
        let case = doc["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == format!("{alg}_valid").as_str())
            .unwrap();
        for cached in [false, true] {
            let mut config = case["config"].clone();
            if cached {
                config["cache"] = serde_json::json!({"max_entries": 1024});
            }
            let verifier = Verifier::new(Config::from_value(config).unwrap()).unwrap();
            let token: Arc<str> = case["token"].as_str().unwrap().into();
            let now = case["now"].as_i64().unwrap();
            verifier
                .verify_at(&token, now)
                .expect("the bench token verifies");
            let name = format!("{}{}", alg.to_uppercase(), if cached { " hit" } else { "" });
            out.push(Case {
                name,
                verifier: Arc::new(verifier),
                token,
                now,
            });
        }
    }
    out
}

/// Verifications per second on `threads` threads for about `span`.
fn throughput(case: &Case, threads: usize, span: Duration) -> f64 {
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (v, token, now, barrier) = (
                case.verifier.clone(),
                case.token.clone(),
                case.now,
                barrier.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                let start = Instant::now();
                let mut n = 0u64;
                while start.elapsed() < span {
                    for _ in 0..64 {
                        black_box(v.verify_at(black_box(&token), now).unwrap());
                    }
                    n += 64;
                }
                n as f64 / start.elapsed().as_secs_f64()
            })
        })
        .collect();
    barrier.wait();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches`: nothing to time
    }
    const ROUNDS: usize = 9;
    let span = Duration::from_millis(150);
    println!("\nverified-token cache and threads ({ROUNDS} interleaved rounds of 150 ms):");
    println!(
        "{:<10} {:>12} {:>14} {:>14} {:>8}  budget",
        "case", "per call", "1 thread/s", "2 threads/s", "2 vs 1"
    );
    for case in cases() {
        let (mut one, mut two, mut ratio) = (vec![], vec![], vec![]);
        for _ in 0..ROUNDS {
            let a = throughput(&case, 1, span);
            let b = throughput(&case, 2, span);
            one.push(a);
            two.push(b);
            ratio.push(b / a);
        }
        let (one, two, ratio) = (median(one), median(two), median(ratio));
        let per_call = 1e6 / one;
        let mut budget = format!(
            "2 threads ≥ 1.9×: {}",
            if ratio >= 1.9 { "ok" } else { "UNDER" }
        );
        if case.name.ends_with("hit") {
            let ok = if per_call <= 0.3 { "ok" } else { "OVER" };
            budget = format!("hit ≤ 0.3 µs: {ok}; {budget}");
        }
        println!(
            "{:<10} {:>9.3} µs {:>14.0} {:>14.0} {:>7.2}×  {budget}",
            case.name, per_call, one, two, ratio
        );
    }
}
