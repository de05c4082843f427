//! What a shared replay store costs: the latency of one DPoP verification (token and proof,
//! ES256, keys cached) with the memory store and with the Redis store on loopback, in one
//! run, interleaved in rounds so that both sides see the same machine. Prints p50 and p99
//! of each and what Redis adds; the budget is p99 added ≤ 250 µs. Then the introspection
//! cache on Redis: what an answer read from Redis (another process's) costs next to one in
//! this process's memory, and next to asking the endpoint. `make bench-redis` runs it with a
//! `redis-server` of its own; it is never part of `make test`.

use serde_json::json;
use std::time::Instant;
use veritoken::{unix_now, Config, DpopProof, Verifier};
use veritoken_testidp::redis::RedisServer;
use veritoken_testidp::{ProofRequest, TestIdp, TokenRequest};

const API: &str = "https://api.example.com/orders";
const ROUNDS: usize = 10;
const PER_ROUND: usize = 1_000;
const BUDGET_P99_ADDED_US: f64 = 250.0;
/// Opaque tokens introspected once by one verifier, then read from Redis by another.
const OPAQUE_TOKENS: usize = 2_000;

fn verifier(idp: &TestIdp, replay: serde_json::Value) -> Verifier {
    let config = json!({
        "issuers": [{"issuer": idp.url(), "audiences": ["api://default"], "algorithms": ["RS256"],
            "jwks_uri": idp.jwks_uri()}],
        "dpop": {"mode": "allowed", "algorithms": ["ES256"], "replay": replay},
    });
    Verifier::new(Config::from_value(config).unwrap()).unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("bench-redis needs redis-server");
        std::process::exit(1);
    };
    let idp = TestIdp::start();
    let memory = verifier(&idp, json!({"store": "memory"}));
    let shared = verifier(
        &idp,
        json!({"store": "redis", "url": redis.url(), "timeout_ms": 1000}),
    );
    let token = idp.token(&TokenRequest {
        dpop_jkt: Some(idp.dpop_jkt()),
        ..Default::default()
    });
    let proofs: Vec<String> = (0..2 * ROUNDS * PER_ROUND + 200)
        .map(|_| {
            idp.dpop_proof(&ProofRequest {
                htm: "GET".into(),
                htu: API.into(),
                access_token: Some(token.clone()),
                ..Default::default()
            })
        })
        .collect();
    let mut next = proofs.iter();
    let mut one = |v: &Verifier| {
        let proof = DpopProof {
            proof: next.next().unwrap(),
            method: "GET",
            url: API,
        };
        let now = unix_now();
        let started = Instant::now();
        v.verify_dpop_at(&token, &proof, now).expect("accepted");
        started.elapsed().as_secs_f64() * 1e6
    };
    // Warm-up: keys fetched, connection made.
    for _ in 0..100 {
        one(&memory);
        one(&shared);
    }
    let (mut mem, mut red) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        mem.extend((0..PER_ROUND).map(|_| one(&memory)));
        red.extend((0..PER_ROUND).map(|_| one(&shared)));
    }
    mem.sort_by(f64::total_cmp);
    red.sort_by(f64::total_cmp);
    let (m50, m99) = (percentile(&mem, 0.5), percentile(&mem, 0.99));
    let (r50, r99) = (percentile(&red, 0.5), percentile(&red, 0.99));
    println!(
        "DPoP verify (ES256 proof, RS256 token), {} requests each, sync path:",
        mem.len()
    );
    println!("  memory store  p50 {m50:8.1} µs   p99 {m99:8.1} µs");
    println!("  redis store   p50 {r50:8.1} µs   p99 {r99:8.1} µs   (loopback)");
    let added = r99 - m99;
    println!(
        "  added by redis: p50 {:+.1} µs, p99 {added:+.1} µs (budget p99 ≤ {BUDGET_P99_ADDED_US} µs: {})",
        r50 - m50,
        if added <= BUDGET_P99_ADDED_US { "ok" } else { "OVER" }
    );
    let m = shared.metrics();
    println!(
        "  store: {} commands, {} errors, mean {:.1} µs inside the I/O thread",
        m.store_requests,
        m.store_errors,
        m.store_latency_us as f64 / m.store_requests.max(1) as f64
    );
    introspection(&idp, &redis);
}

fn summary(label: &str, mut micros: Vec<f64>) {
    micros.sort_by(f64::total_cmp);
    println!(
        "  {label:<34} p50 {:8.1} µs   p99 {:8.1} µs",
        percentile(&micros, 0.5),
        percentile(&micros, 0.99)
    );
}

/// One verifier asks the endpoint for every token (and writes each answer to Redis); a
/// second reads each answer from Redis once, then from its own memory.
fn introspection(idp: &TestIdp, redis: &RedisServer) {
    let build = || {
        let config = json!({
            "issuers": [{"issuer": idp.url(), "audiences": ["api://default"], "algorithms": ["RS256"],
                "jwks_uri": idp.jwks_uri(), "introspection": {
                    "endpoint": format!("{}/introspect", idp.url()), "client_id": "test-client",
                    "client_secret": "test-secret", "cache": "redis", "max_entries": OPAQUE_TOKENS * 2}}],
            "dpop": {"replay": {"store": "redis", "url": redis.url(), "timeout_ms": 1000}},
        });
        Verifier::new(Config::from_value(config).unwrap()).unwrap()
    };
    let (writer, reader) = (build(), build());
    let tokens: Vec<String> = (0..OPAQUE_TOKENS)
        .map(|_| {
            idp.token(&TokenRequest {
                opaque: true,
                ..Default::default()
            })
        })
        .collect();
    let time = |v: &Verifier, token: &str| {
        let started = Instant::now();
        v.verify(token).expect("active");
        started.elapsed().as_secs_f64() * 1e6
    };
    let asked: Vec<f64> = tokens.iter().map(|t| time(&writer, t)).collect();
    let from_redis: Vec<f64> = tokens.iter().map(|t| time(&reader, t)).collect();
    let from_memory: Vec<f64> = tokens.iter().map(|t| time(&reader, t)).collect();
    let m = reader.metrics();
    assert_eq!(
        (m.introspection_requests, m.introspection_store_hits),
        (0, OPAQUE_TOKENS as u64)
    );
    println!("Opaque token verify (introspection), {OPAQUE_TOKENS} tokens, sync path:");
    summary("endpoint asked (+ Redis GET, SET)", asked);
    summary("answer from Redis (another's)", from_redis);
    summary("answer from this process's memory", from_memory);
}
