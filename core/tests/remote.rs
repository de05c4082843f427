//! Remote keys over real HTTP against the test IdP on loopback (docs/design.md §4).

mod common;
use common::wait_until;
use serde_json::{json, Value};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use veritoken::{Config, ErrorCode, Verifier};
use veritoken_testidp::{CachePolicy, Fault, FaultMode, TestIdp, TokenRequest};

fn config(issuer: &str, source: Value, cache: Value) -> Config {
    let mut issuer_cfg = json!({
        "issuer": issuer,
        "audiences": ["api://default"],
        "algorithms": ["RS256", "ES256", "EdDSA"],
        "jwks_cache": cache,
    });
    for (k, v) in source.as_object().unwrap() {
        issuer_cfg[k] = v.clone();
    }
    Config::from_value(json!({ "issuers": [issuer_cfg] })).unwrap()
}

fn verifier(idp: &TestIdp, cache: Value) -> Verifier {
    Verifier::new(config(
        &idp.url(),
        json!({"jwks_uri": idp.jwks_uri()}),
        cache,
    ))
    .unwrap()
}

fn token(idp: &TestIdp, alg: &str) -> String {
    idp.token(&TokenRequest {
        alg: Some(alg.into()),
        ..Default::default()
    })
}

fn token_with_kid(idp: &TestIdp, kid: &str) -> String {
    let alg = if kid.starts_with("es256") {
        "ES256"
    } else if kid.starts_with("eddsa") {
        "EdDSA"
    } else {
        "RS256"
    };
    idp.token(&TokenRequest {
        alg: Some(alg.into()),
        kid: Some(kid.into()),
        ..Default::default()
    })
}

/// Whether `v` refuses `token` with `code` within 6 s (keys change at the next refresh).
fn refused_within_6s(v: &Verifier, token: &str, code: ErrorCode) -> bool {
    wait_until(Duration::from_secs(6), || {
        v.verify(token).err().map(|e| e.code()) == Some(code)
    })
}

/// A token naming `kid` whose signature is never reached (the kid is unknown).
fn forged_with_kid(valid: &str, kid: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut parts = valid.split('.');
    parts.next();
    let header = b64.encode(json!({"alg": "ES256", "kid": kid}).to_string());
    format!(
        "{header}.{}.{}",
        parts.next().unwrap(),
        parts.next().unwrap()
    )
}

#[test]
fn verifies_through_a_jwks_url_and_counts() {
    let idp = TestIdp::start();
    let v = verifier(&idp, json!({}));
    for alg in ["RS256", "ES256", "EdDSA"] {
        let t = v.verify(&token(&idp, alg)).unwrap();
        assert_eq!(t.subject(), Some("test-client"));
    }
    let m = v.metrics();
    assert_eq!(m.verified, 3);
    assert_eq!(m.jwks_fetches, 1);
    assert_eq!(idp.stats().jwks_requests, 1);
}

#[test]
fn discovery_finds_the_jwks_and_checks_the_issuer() {
    let idp = TestIdp::start();
    let v = Verifier::new(config(&idp.url(), json!({"discovery": true}), json!({}))).unwrap();
    assert!(v.verify(&token(&idp, "RS256")).is_ok());
    assert_eq!(idp.stats().discovery_requests, 1);

    // The discovery document says http://127.0.0.1:PORT; a trailing slash is another issuer.
    let wrong = format!("{}/", idp.url());
    let cfg = config(
        &wrong,
        json!({"discovery": true}),
        json!({"wait_at_startup": true, "timeout_ms": 2000}),
    );
    let err = Verifier::new(cfg).unwrap_err();
    assert_eq!(err.code(), ErrorCode::JwksUnavailable);
    assert!(err.message().contains("names issuer"), "{err}");
}

#[test]
fn rotation_needs_no_restart_and_retired_keys_go_away() {
    let idp = TestIdp::start();
    let v = verifier(
        &idp,
        json!({"ttl": 1, "min_ttl": 1, "refresh_ahead": 0, "cooldown": 1}),
    );
    let first = token(&idp, "RS256");
    v.verify(&first).unwrap();

    let new_kid = idp.rotate("RS256");
    let rotated = token_with_kid(&idp, &new_kid);
    assert!(
        v.verify(&rotated).is_ok(),
        "a new kid is fetched on first sight"
    );

    let old_kid = idp
        .kids()
        .into_iter()
        .find(|k| k.starts_with("rs256") && *k != new_kid)
        .unwrap();
    let old = token_with_kid(&idp, &old_kid);
    assert!(v.verify(&old).is_ok(), "still published");
    idp.retire(&old_kid);
    assert!(
        refused_within_6s(&v, &old, ErrorCode::KeyNotFound),
        "the retired key is dropped at the next refresh"
    );
    assert!(v.verify(&rotated).is_ok());
}

#[test]
fn a_thousand_concurrent_unknown_kid_verifications_share_one_fetch() {
    let idp = TestIdp::start();
    let v = verifier(&idp, json!({}));
    v.verify(&token(&idp, "ES256")).unwrap();
    let before = idp.stats().jwks_requests;
    let kid = idp.rotate("ES256");
    let t = token_with_kid(&idp, &kid);
    let barrier = Arc::new(Barrier::new(1000));
    let ok = std::thread::scope(|s| {
        let handles: Vec<_> = (0..1000)
            .map(|_| {
                let (v, t, barrier) = (&v, &t, barrier.clone());
                s.spawn(move || {
                    barrier.wait();
                    v.verify(t).is_ok()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .filter(|ok| *ok)
            .count()
    });
    assert_eq!(ok, 1000, "every caller got the new key");
    assert_eq!(idp.stats().jwks_requests - before, 1, "exactly one fetch");
    assert_eq!(v.metrics().jwks_fetches, 2);
}

#[test]
fn a_burst_of_random_kids_fetches_at_most_twice_and_waits_bounded() {
    let idp = TestIdp::start();
    let timeout_ms = 1000;
    let v = verifier(&idp, json!({"timeout_ms": timeout_ms, "cooldown": 30}));
    let valid = token(&idp, "ES256");
    v.verify(&valid).unwrap();
    idp.set_fault(Fault {
        mode: FaultMode::Delay,
        delay_ms: 300,
    });
    let before = idp.stats().jwks_requests;
    let tokens: Vec<String> = (0..10_000)
        .map(|i| forged_with_kid(&valid, &format!("random-{i:05}")))
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (codes, slowest) = runtime.block_on(async {
        let tasks: Vec<_> = tokens
            .into_iter()
            .map(|t| {
                let v = v.clone();
                tokio::spawn(async move {
                    let start = Instant::now();
                    let r = v.verify_async(&t).await;
                    (r.err().map(|e| e.code()), start.elapsed())
                })
            })
            .collect();
        let mut codes = std::collections::BTreeMap::new();
        let mut slowest = Duration::ZERO;
        for task in tasks {
            let (code, took) = task.await.unwrap();
            *codes.entry(format!("{code:?}")).or_insert(0) += 1;
            slowest = slowest.max(took);
        }
        (codes, slowest)
    });
    let fetches = idp.stats().jwks_requests - before;
    eprintln!("10k random kids: {fetches} fetch(es), slowest call {slowest:?}, outcomes {codes:?}");
    assert_eq!(codes.get("Some(KeyNotFound)"), Some(&10_000));
    assert!(fetches <= 2, "{fetches} fetches");
    assert!(
        slowest <= Duration::from_millis(timeout_ms + 250),
        "a call waited {slowest:?}"
    );
    // After the burst, the cooldown refuses new unknown kids at once, without fetching.
    let rejections = v.metrics().cooldown_rejections;
    let start = Instant::now();
    for i in 0..100 {
        let err = v
            .verify(&forged_with_kid(&valid, &format!("late-{i}")))
            .unwrap_err();
        assert_eq!(err.code(), ErrorCode::KeyNotFound);
    }
    eprintln!(
        "100 unknown kids during the cooldown took {:?}",
        start.elapsed()
    );
    // None of them waits for a fetch: all 100 together take less than one fetch timeout.
    assert!(start.elapsed() < Duration::from_millis(timeout_ms));
    assert_eq!(v.metrics().cooldown_rejections - rejections, 100);
    assert_eq!(
        idp.stats().jwks_requests - before,
        fetches,
        "no fetch during the cooldown"
    );
    // The known key still verifies.
    assert!(v.verify(&valid).is_ok());
}

#[test]
fn serves_stale_keys_until_max_stale_then_fails_closed_and_recovers() {
    let mut idp = TestIdp::start();
    let v = verifier(
        &idp,
        json!({"ttl": 1, "min_ttl": 1, "refresh_ahead": 0, "max_stale": 3, "cooldown": 1, "timeout_ms": 500}),
    );
    let t = token(&idp, "RS256");
    v.verify(&t).unwrap();
    idp.stop();
    let down = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        v.verify(&t).is_ok(),
        "stale keys still serve while the IdP is down"
    );
    assert!(v.metrics().stale_serves > 0);
    assert!(v.metrics().jwks_fetch_failures > 0);
    assert!(
        refused_within_6s(&v, &t, ErrorCode::JwksUnavailable),
        "after max_stale the keys are refused"
    );
    assert!(
        down.elapsed() >= Duration::from_secs(2),
        "not before max_stale"
    );
    idp.restart();
    assert!(
        wait_until(Duration::from_secs(6), || v.verify(&t).is_ok()),
        "recovers when the IdP is back"
    );
}

#[test]
fn a_slow_idp_does_not_slow_cached_verifications_and_cold_ones_are_bounded() {
    let idp = TestIdp::start();
    let v = verifier(
        &idp,
        json!({"ttl": 1, "min_ttl": 1, "refresh_ahead": 0, "timeout_ms": 800}),
    );
    let t = token(&idp, "EdDSA");
    v.verify(&t).unwrap();
    idp.set_fault(Fault {
        mode: FaultMode::Delay,
        delay_ms: 3000,
    });
    std::thread::sleep(Duration::from_millis(1200)); // a refresh is now stuck on the slow IdP
    let mut slowest = Duration::ZERO;
    for _ in 0..200 {
        let start = Instant::now();
        v.verify(&t).unwrap();
        slowest = slowest.max(start.elapsed());
    }
    eprintln!("cached verify during a stuck refresh: slowest of 200 = {slowest:?}");
    assert!(slowest < Duration::from_millis(50), "{slowest:?}");

    let cold = verifier(&idp, json!({"timeout_ms": 800}));
    let start = Instant::now();
    let err = cold.verify(&t).unwrap_err();
    let took = start.elapsed();
    eprintln!(
        "cold verify against a slow IdP: {:?} after {took:?}",
        err.code()
    );
    assert_eq!(err.code(), ErrorCode::JwksUnavailable);
    assert!(took < Duration::from_millis(1100), "{took:?}");
}

#[test]
fn broken_responses_keep_the_last_good_keys_and_are_counted() {
    let idp = TestIdp::start();
    let v = verifier(
        &idp,
        json!({"ttl": 1, "min_ttl": 1, "refresh_ahead": 0, "max_response_size": 65536}),
    );
    let t = token(&idp, "RS256");
    v.verify(&t).unwrap();
    for mode in [
        FaultMode::Garbage,
        FaultMode::Oversize,
        FaultMode::Status500,
        FaultMode::WrongContentType,
        FaultMode::RedirectLoop,
        FaultMode::Down,
    ] {
        let failures = v.metrics().jwks_fetch_failures;
        idp.set_fault(Fault { mode, delay_ms: 0 });
        assert!(
            wait_until(Duration::from_secs(8), || v.metrics().jwks_fetch_failures
                > failures),
            "{mode:?} is counted as a failed fetch"
        );
        assert!(
            v.verify(&t).is_ok(),
            "{mode:?}: the last good keys stay in use"
        );
        // Recover before the next fault, so the refresher's backoff starts from 1 s again.
        idp.set_fault(Fault::default());
        let (fetches, failed) = (v.metrics().jwks_fetches, v.metrics().jwks_fetch_failures);
        let recovered = wait_until(Duration::from_secs(8), || {
            let m = v.metrics();
            m.jwks_fetches > fetches && m.jwks_fetch_failures == failed
        });
        assert!(recovered, "{mode:?}: no clean fetch after recovery: {:?} (before: {fetches} fetches, {failed} failures)", v.metrics());
    }
}

#[test]
fn etag_revalidation_and_cache_control() {
    let idp = TestIdp::start();
    idp.set_cache(CachePolicy {
        max_age: Some(1),
        etag: true,
    });
    let v = verifier(&idp, json!({"ttl": 300, "min_ttl": 1, "refresh_ahead": 0}));
    v.verify(&token(&idp, "RS256")).unwrap();
    // max-age=1 overrides the 300 s default: the refresher revalidates within seconds.
    assert!(
        wait_until(Duration::from_secs(5), || idp.stats().jwks_not_modified
            >= 1),
        "a 304 was served"
    );
    // The IdP counts its 304 as it sends it; the refresher counts it once the answer is
    // in, a moment later on its own thread.
    assert!(
        wait_until(Duration::from_secs(5), || v.metrics().jwks_not_modified
            >= 1),
        "the verifier counted the 304: {:?}",
        v.metrics()
    );
    assert!(v.verify(&token(&idp, "RS256")).is_ok());
}

#[test]
fn starts_without_the_idp_unless_told_to_wait() {
    let mut idp = TestIdp::start();
    let url = idp.url();
    let jwks = idp.jwks_uri();
    let t = token(&idp, "RS256");
    idp.stop();
    let cfg = |cache: Value| config(&url, json!({"jwks_uri": jwks}), cache);
    let v = Verifier::new(cfg(json!({"timeout_ms": 300}))).expect("building does not need the IdP");
    assert_eq!(v.verify(&t).unwrap_err().code(), ErrorCode::JwksUnavailable);
    let err = Verifier::new(cfg(json!({"timeout_ms": 300, "wait_at_startup": true}))).unwrap_err();
    assert_eq!(err.code(), ErrorCode::JwksUnavailable);
    idp.restart();
    assert!(
        wait_until(Duration::from_secs(5), || v.verify(&t).is_ok()),
        "comes up once the IdP does"
    );
}

#[test]
fn remote_source_rules_are_checked_at_build_time() {
    let build = |source: Value, cache: Value| {
        Verifier::new(config("https://i", source, cache))
            .map(|_| ())
            .unwrap_err()
    };
    let e = build(
        json!({"jwks_uri": "http://idp.example.com/jwks"}),
        json!({}),
    );
    assert!(e.message().contains("plain http"), "{e}");
    let e = build(
        json!({"jwks_uri": "https://idp.example.com/jwks", "discovery": true}),
        json!({}),
    );
    assert!(e.message().contains("not both"), "{e}");
    let e = build(
        json!({"jwks_uri": "https://x/jwks", "keys": [{"jwks": {"keys": []}}]}),
        json!({}),
    );
    assert!(e.message().contains("excludes static"), "{e}");
    let e = build(
        json!({"jwks_uri": "https://x/jwks"}),
        json!({"min_ttl": 10, "max_ttl": 5}),
    );
    assert!(e.message().contains("min_ttl"), "{e}");
    let unknown = json!({"issuers": [{"issuer": "https://i", "audiences": ["a"], "algorithms": ["RS256"],
        "jwks_uri": "https://x/jwks", "jwks_cache": {"ttl_seconds": 10}}]});
    let e = Config::from_value(unknown).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ConfigInvalid);
    assert!(e.message().contains("jwks_cache.ttl_seconds"), "{e}");
    // http to a non-loopback host only with allow_http; a HMAC key never comes from remote.
    assert!(Verifier::new(config(
        "https://i",
        json!({"jwks_uri": "http://idp.example.com/jwks"}),
        json!({"allow_http": true, "timeout_ms": 200})
    ))
    .is_ok());
}

#[test]
fn no_token_or_secret_reaches_the_errors() {
    let idp = TestIdp::start();
    let v = verifier(&idp, json!({}));
    let t = token(&idp, "RS256");
    let tampered = format!("{}x", &t[..t.len() - 1]);
    let e = v.verify(&tampered).unwrap_err();
    assert!(!e.message().contains(&t[..20]) && !e.to_string().contains(&t[t.len() - 20..]));
}

#[test]
fn two_issuers_each_with_their_own_remote_keys() {
    let (a, b) = (TestIdp::start(), TestIdp::start());
    let cfg = json!({"issuers": [
        {"issuer": a.url(), "audiences": ["api://default"], "algorithms": ["RS256"], "jwks_uri": a.jwks_uri()},
        {"issuer": b.url(), "audiences": ["api://default"], "algorithms": ["ES256"], "discovery": true}
    ]});
    let v = Verifier::new(Config::from_value(cfg).unwrap()).unwrap();
    assert_eq!(v.verify(&token(&a, "RS256")).unwrap().issuer(), a.url());
    assert_eq!(v.verify(&token(&b, "ES256")).unwrap().issuer(), b.url());
    // Each issuer keeps its own allow-list: B's RS256 token is refused though B has the key.
    assert_eq!(
        v.verify(&token(&b, "RS256")).unwrap_err().code(),
        ErrorCode::AlgorithmNotAllowed
    );
    assert_eq!(a.stats().jwks_requests, 1);
    assert_eq!(b.stats().jwks_requests, 1);
    assert_eq!(b.stats().discovery_requests, 1);
}

#[test]
fn try_verify_never_waits_and_starts_the_fetch() {
    let idp = TestIdp::start();
    idp.set_fault(Fault {
        mode: FaultMode::Delay,
        delay_ms: 300,
    });
    let v = verifier(&idp, json!({}));
    let t = token(&idp, "ES256");
    let started = Instant::now();
    assert!(v.try_verify_at(&t, None, veritoken::unix_now()).is_none());
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "try_verify_at waited"
    );
    // The blocking call joins the fetch already under way.
    v.verify(&t).unwrap();
    assert_eq!(v.metrics().jwks_fetches, 1);
    let again = v
        .try_verify_at(&t, None, veritoken::unix_now())
        .expect("keys are cached now");
    assert!(again.is_ok());
    assert_eq!(v.metrics().verified, 2);
}

/// One code for one situation: an unknown kid whose refresh fails is `jwks_unavailable`
/// whether the cache was warm (keys of an earlier fetch) or cold, on the first try and on
/// the ones that follow during the backoff; `key_not_found` only once the source answered.
#[test]
fn an_unknown_kid_whose_refresh_fails_is_jwks_unavailable_warm_or_cold() {
    let idp = TestIdp::start();
    let cache = json!({"cooldown": 1, "timeout_ms": 800});
    let valid = token(&idp, "RS256");
    let warm = verifier(&idp, cache.clone());
    warm.verify(&valid).unwrap();
    for mode in [FaultMode::Down, FaultMode::Status500] {
        // A kid of its own per round: one the source answered without is remembered missing.
        let unknown = forged_with_kid(&valid, &format!("rotated-in-later-{mode:?}"));
        idp.set_fault(Fault { mode, delay_ms: 0 });
        let cold = verifier(&idp, cache.clone());
        for (state, v) in [("warm", &warm), ("cold", &cold)] {
            for attempt in 0..3 {
                let err = v.verify(&unknown).unwrap_err();
                assert_eq!(
                    err.code(),
                    ErrorCode::JwksUnavailable,
                    "{mode:?}, {state} cache, attempt {attempt}: {err}"
                );
            }
        }
        // Keys it holds still verify while the source fails.
        assert!(warm.verify(&valid).is_ok());
        idp.set_fault(Fault::default());
        // Once the source answers again, the same kid is `key_not_found`.
        assert!(
            wait_until(Duration::from_secs(8), || warm
                .verify(&unknown)
                .err()
                .map(|e| e.code())
                == Some(ErrorCode::KeyNotFound)),
            "{mode:?}: key_not_found once the IdP answers: {:?}",
            warm.verify(&unknown).err()
        );
        // Past the cooldown that answer started: until then an unknown kid is refused
        // without asking the source (key_not_found, the source having just answered).
        std::thread::sleep(Duration::from_millis(1100));
    }
}

/// A failing source is retried with a doubling backoff shared by every caller: hundreds
/// of verifications on a cold cache send a handful of requests, not one each.
#[test]
fn a_failing_source_is_fetched_with_backoff_not_once_per_verification() {
    let idp = TestIdp::start();
    idp.set_fault(Fault {
        mode: FaultMode::Status500,
        delay_ms: 0,
    });
    let t = token(&idp, "RS256");
    let before = idp.stats().jwks_requests;
    let v = verifier(&idp, json!({"timeout_ms": 500}));
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_millis(2500) {
        let err = v.verify(&t).unwrap_err();
        assert_eq!(err.code(), ErrorCode::JwksUnavailable, "{err}");
        n += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    let fetched = idp.stats().jwks_requests - before;
    let m = v.metrics();
    eprintln!(
        "IdP answering 500: {n} verifications in 2.5 s sent {fetched} key requests; \
         {} fetches skipped by the backoff",
        m.jwks_fetches_skipped
    );
    // Backoff 0.5-1 s, then 1-2 s: at most 4 fetches in 2.5 s (one more for timing).
    assert!(n >= 200, "{n}");
    assert!(fetched <= 5, "{fetched} key requests for {n} verifications");
    assert!(m.jwks_fetches_skipped >= (n - 5) as u64, "{m:?}");

    // Concurrent callers share the outcome too.
    let v = Arc::new(verifier(&idp, json!({"timeout_ms": 500})));
    let before = idp.stats().jwks_requests;
    let barrier = Arc::new(Barrier::new(16));
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (v, t, barrier) = (v.clone(), t.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (0..50)
                    .map(|_| v.verify(&t).unwrap_err().code())
                    .all(|c| c == ErrorCode::JwksUnavailable)
            })
        })
        .collect();
    assert!(threads.into_iter().all(|t| t.join().unwrap()));
    let fetched = idp.stats().jwks_requests - before;
    eprintln!("16 threads x 50 verifications, IdP answering 500: {fetched} key requests");
    assert!(fetched <= 3, "{fetched}");
}

/// `verify_in_background` runs the waiting verification as a task of the engine's I/O
/// thread and hands each result to its callback there: 50 calls on a cold cache behind a
/// slow IdP all complete, sharing one fetch, with no thread of the caller's held.
#[test]
fn verify_in_background_completes_every_call_from_the_io_thread() {
    let idp = TestIdp::start();
    idp.set_fault(Fault {
        mode: FaultMode::Delay,
        delay_ms: 300,
    });
    let v = verifier(&idp, json!({"timeout_ms": 3000}));
    let t = token(&idp, "RS256");
    let (tx, rx) = std::sync::mpsc::channel();
    for _ in 0..50 {
        let tx = tx.clone();
        v.verify_in_background(t.clone(), None, veritoken::unix_now(), move |r| {
            let thread = std::thread::current().name().map(str::to_owned);
            tx.send((r.map(|t| t.subject().map(str::to_owned)), thread))
                .unwrap();
        })
        .unwrap();
    }
    for _ in 0..50 {
        let (result, thread) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(result.unwrap().as_deref(), Some("test-client"));
        assert_eq!(thread.as_deref(), Some("veritoken-io"));
    }
    assert_eq!(v.metrics().jwks_fetches, 1);
}

/// RFC 9864 names through a real JWKS URL: an IdP publishing keys with `alg` `Ed25519`,
/// `ESP256`, `ESP384` and `ESP512` (and signing with them) is verified when the allow-list
/// names them, and refused (`algorithm_not_allowed`) when it names only the twins.
#[test]
fn fully_specified_algorithms_through_a_jwks_url() {
    let idp = TestIdp::start();
    let names = ["Ed25519", "ESP256", "ESP384", "ESP512"];
    for alg in names {
        idp.rotate(alg);
    }
    let with = |algorithms: &[&str]| {
        let mut cfg = config(&idp.url(), json!({"jwks_uri": idp.jwks_uri()}), json!({}));
        cfg.issuers[0].algorithms = algorithms
            .iter()
            .map(|a| veritoken::Algorithm::from_name(a).unwrap())
            .collect();
        Verifier::new(cfg).unwrap()
    };
    let fully = with(&names);
    let twins = with(&["EdDSA", "ES256", "ES384", "ES512"]);
    for alg in names {
        let t = token(&idp, alg);
        assert_eq!(
            fully.verify(&t).unwrap().algorithm(),
            Some(veritoken::Algorithm::from_name(alg).unwrap()),
            "{alg}"
        );
        assert_eq!(
            twins.verify(&t).unwrap_err().code(),
            ErrorCode::AlgorithmNotAllowed,
            "{alg}"
        );
    }
}

/// An issuer that removes its last key for the allowed algorithms still answers with a key
/// set: the removal takes effect at the next refresh (it was kept as a "failed fetch",
/// and the removed key verified until max_stale).
#[test]
fn a_key_set_left_without_a_usable_key_ends_the_old_keys() {
    let idp = TestIdp::start();
    let mut config = config(
        &idp.url(),
        json!({"jwks_uri": idp.jwks_uri()}),
        json!({"ttl": 1, "min_ttl": 1, "refresh_ahead": 0}),
    );
    config.issuers[0].algorithms = vec![veritoken::Algorithm::RS256];
    let v = Verifier::new(config).unwrap();
    let old = token(&idp, "RS256");
    v.verify(&old).unwrap();
    for kid in idp.kids().into_iter().filter(|k| k.starts_with("rs256")) {
        idp.retire(&kid);
    }
    assert!(
        refused_within_6s(&v, &old, ErrorCode::KeyNotFound),
        "the removed key still verifies: {:?}",
        v.verify(&old).err()
    );
    assert_eq!(
        v.metrics().jwks_fetch_failures,
        0,
        "an answer, not a failure"
    );
}

/// During a slow refresh for one unknown kid, another unknown kid fails fast instead of
/// waiting for it (DESIGN §4); callers with the same kid share the refresh.
#[test]
fn other_unknown_kids_do_not_wait_for_a_refresh_in_flight() {
    let idp = TestIdp::start();
    let v = verifier(&idp, json!({"timeout_ms": 3000, "cooldown": 30}));
    let valid = token(&idp, "ES256");
    v.verify(&valid).unwrap();
    idp.set_fault(Fault {
        mode: FaultMode::Delay,
        delay_ms: 1500,
    });
    let first = forged_with_kid(&valid, "unknown-a");
    std::thread::scope(|s| {
        let starter = s.spawn(|| {
            let start = Instant::now();
            let code = v.verify(&first).unwrap_err().code();
            (code, start.elapsed())
        });
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        let other = v.verify(&forged_with_kid(&valid, "unknown-b")).unwrap_err();
        let other_took = start.elapsed();
        let start = Instant::now();
        let same = v.verify(&first).unwrap_err();
        let same_took = start.elapsed();
        let (code, starter_took) = starter.join().unwrap();
        assert_eq!(other.code(), ErrorCode::KeyNotFound);
        assert!(
            other_took < Duration::from_millis(500),
            "another kid waited {other_took:?}"
        );
        assert_eq!(
            (code, same.code()),
            (ErrorCode::KeyNotFound, ErrorCode::KeyNotFound)
        );
        assert!(
            starter_took >= Duration::from_millis(1200),
            "{starter_took:?}"
        );
        assert!(
            same_took >= Duration::from_millis(800),
            "the same kid shares the refresh: {same_took:?}"
        );
    });
}

/// Cache-policy durations past ten years are refused when the verifier is built: added to
/// the clock they overflowed, a panic on the fetch task that left its flight open for good.
#[test]
fn absurd_cache_durations_are_config_errors() {
    for field in ["max_stale", "cooldown", "missing_kid_ttl", "max_ttl", "ttl"] {
        let mut cache = json!({"max_ttl": 315_360_000u64});
        cache[field] = json!(u64::MAX);
        let config = Config::from_value(json!({"issuers": [{
            "issuer": "https://idp.example", "audiences": ["a"], "algorithms": ["RS256"],
            "jwks_uri": "https://idp.example/jwks", "jwks_cache": cache}]}));
        let err = config.and_then(Verifier::new).expect_err(field);
        assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{field}: {err}");
    }
}

/// Discovery then the key set are two requests, each within `timeout_ms`: the first
/// verification waits for both (it gave up after one timeout, with the IdP answering).
#[test]
fn a_cold_discovery_waits_for_both_requests() {
    let idp = TestIdp::start();
    idp.set_fault(Fault {
        mode: FaultMode::Delay,
        delay_ms: 700,
    });
    let v = Verifier::new(config(
        &idp.url(),
        json!({"discovery": true}),
        json!({"timeout_ms": 1000}),
    ))
    .unwrap();
    let start = Instant::now();
    let result = v.verify(&token(&idp, "RS256"));
    assert!(
        result.is_ok(),
        "{:?} after {:?}",
        result.err(),
        start.elapsed()
    );
    assert!(
        start.elapsed() >= Duration::from_millis(1000),
        "{:?}",
        start.elapsed()
    );
}
