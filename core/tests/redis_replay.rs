//! The DPoP replay store on a real Redis (`redis-server` started per test on a free loopback
//! port, no persistence): a proof used at one verifier is refused at another sharing the
//! store, sync and async; keys carry the prefix and only a hash; the key lives as long as the
//! proof could be accepted, not a second less; Redis stopped or frozen mid-run refuses
//! proofs with `replay_store_unavailable` within the timeout, then recovery; a forked child
//! uses its own connection; a record whose reply was lost and that was sent again is not a
//! replay of itself. Skipped (with a message) only when `redis-server` is missing and
//! `VERITOKEN_REQUIRE_REDIS` is unset.

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use veritoken::{unix_now, Config, DpopProof, ErrorCode, OwnedDpopProof, Verifier};
use veritoken_testidp::redis::RedisServer;
use veritoken_testidp::{ProofRequest, TestIdp, TokenRequest};

const API: &str = "https://api.example.com/orders";
const TIMEOUT_MS: u64 = 200;

fn verifier(idp: &TestIdp, redis: &RedisServer, dpop: Value) -> Verifier {
    verifier_at(idp, &redis.url(), dpop)
}

fn verifier_at(idp: &TestIdp, redis_url: &str, dpop: Value) -> Verifier {
    let mut dpop_config = json!({
        "mode": "allowed",
        "replay": {"store": "redis", "url": redis_url, "key_prefix": "test30", "timeout_ms": TIMEOUT_MS},
    });
    for (k, v) in dpop.as_object().unwrap() {
        dpop_config[k] = v.clone();
    }
    let issuer = json!({
        "issuer": idp.url(),
        "audiences": ["api://default"],
        "algorithms": ["RS256"],
        "jwks_uri": idp.jwks_uri(),
    });
    Verifier::new(Config::from_value(json!({"issuers": [issuer], "dpop": dpop_config})).unwrap())
        .unwrap()
}

fn bound_token(idp: &TestIdp) -> String {
    idp.token(&TokenRequest {
        dpop_jkt: Some(idp.dpop_jkt()),
        ..Default::default()
    })
}

fn proof(idp: &TestIdp, token: &str, jti: Option<&str>) -> String {
    idp.dpop_proof(&ProofRequest {
        htm: "GET".into(),
        htu: API.into(),
        access_token: Some(token.into()),
        jti: jti.map(str::to_owned),
        ..Default::default()
    })
}

fn presented(p: &str) -> DpopProof<'_> {
    DpopProof {
        proof: p,
        method: "GET",
        url: API,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn a_proof_replayed_to_another_verifier_sharing_the_store_is_refused() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let (a, b) = (
        verifier(&idp, &redis, json!({})),
        verifier(&idp, &redis, json!({})),
    );
    let token = bound_token(&idp);
    let p = proof(&idp, &token, None);
    a.verify_dpop(&token, &presented(&p)).unwrap();
    let replay = b.verify_dpop(&token, &presented(&p)).unwrap_err();
    assert_eq!(
        (replay.code(), replay.claim()),
        (ErrorCode::DpopInvalid, Some("jti")),
        "{replay}"
    );
    // The async path (awaits Redis) the other way round, and the background one.
    let q = proof(&idp, &token, None);
    rt().block_on(b.verify_at_async(&token, Some(&presented(&q)), unix_now()))
        .unwrap();
    let err = rt()
        .block_on(a.verify_at_async(&token, Some(&presented(&q)), unix_now()))
        .unwrap_err();
    assert_eq!(err.claim(), Some("jti"), "{err}");
    assert!(
        a.try_verify_at(&token, Some(&presented(&q)), unix_now())
            .is_none(),
        "with a shared store, a proof is never judged without waiting"
    );
    let (tx, rx) = std::sync::mpsc::channel();
    a.verify_in_background(
        token.clone(),
        Some(OwnedDpopProof {
            proof: q.clone(),
            method: "GET".into(),
            url: API.into(),
        }),
        unix_now(),
        move |r| tx.send(r.map(|_| ())).unwrap(),
    )
    .unwrap();
    let err = rx
        .recv_timeout(Duration::from_secs(5))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.claim(), Some("jti"));
    // Bearer tokens never touch the store.
    let before = a.metrics().store_requests;
    let bearer = idp.token(&TokenRequest::default());
    assert!(a.try_verify_at(&bearer, None, unix_now()).unwrap().is_ok());
    let m = a.metrics();
    assert_eq!(m.store_requests, before);
    assert_eq!((m.verified, m.store_errors), (2, 0));
    assert!(m.store_latency_us > 0);
}

#[test]
fn keys_carry_the_prefix_a_hash_and_the_proof_lifetime() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let v = verifier(&idp, &redis, json!({"max_age": 60}));
    let token = bound_token(&idp);
    let jti = "visible-jti-0123456789";
    let p = proof(&idp, &token, Some(jti));
    v.verify_dpop(&token, &presented(&p)).unwrap();
    let keys = redis.keys();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let key = &keys[0];
    let hash = key
        .strip_prefix("test30:jti:")
        .expect("the configured prefix");
    assert_eq!(hash.len(), 32, "{key}");
    assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    assert!(!key.contains(jti) && !key.contains(&token[..20]) && !key.contains(&p[..20]));
    // The value is the id of the write (random, 128 bits): nothing of the proof either.
    let value = redis.cli(&["GET", key]);
    assert_eq!(value.len(), 32, "{value}");
    assert!(value.bytes().all(|b| b.is_ascii_hexdigit()), "{value}");
    assert!(!p.contains(&value) && !token.contains(&value) && value != hash);
    // iat is now: kept max_age + leeway + 1 s = 61 s.
    let pttl: u64 = redis.cli(&["PTTL", key]).parse().unwrap();
    assert!((59_000..=61_000).contains(&pttl), "PTTL {pttl}");
}

#[test]
fn ttl_expiry_lets_nothing_through_early() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let v = verifier(&idp, &redis, json!({"max_age": 1}));
    let token = bound_token(&idp);
    let p = proof(&idp, &token, None);
    v.verify_dpop(&token, &presented(&p)).unwrap();
    let (started, mut tries) = (Instant::now(), 0);
    // Until the key is gone, every replay is refused as a replay; once it is gone, the proof
    // is already too old: no instant lets it through.
    while !redis.keys().is_empty() {
        let err = v.verify_dpop(&token, &presented(&p)).unwrap_err();
        assert!(matches!(err.claim(), Some("jti" | "iat")), "{err}");
        tries += 1;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the key never expired"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let err = v.verify_dpop(&token, &presented(&p)).unwrap_err();
    assert_eq!(err.claim(), Some("iat"), "{err}");
    assert!(tries > 10, "{tries}");
}

#[test]
fn redis_stopped_or_frozen_refuses_proofs_then_recovers() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let v = verifier(&idp, &redis, json!({}));
    let token = bound_token(&idp);
    v.verify_dpop(&token, &presented(&proof(&idp, &token, None)))
        .unwrap();
    assert!(v.is_ready() && rt().block_on(v.check_ready()));

    redis.stop();
    let started = Instant::now();
    let err = v
        .verify_dpop(&token, &presented(&proof(&idp, &token, None)))
        .unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.code(), ErrorCode::ReplayStoreUnavailable, "{err}");
    assert_eq!(err.code().http_status(), Some(503));
    assert!(!err.message().contains("127.0.0.1"), "{err}");
    let p = proof(&idp, &token, None);
    let async_err = rt()
        .block_on(v.verify_at_async(&token, Some(&presented(&p)), unix_now()))
        .unwrap_err();
    assert_eq!(async_err.code(), ErrorCode::ReplayStoreUnavailable);
    assert!(
        waited < Duration::from_millis(TIMEOUT_MS + 300),
        "{waited:?}"
    );
    assert!(!v.is_ready() && !rt().block_on(v.check_ready()));
    // Bearer tokens do not depend on the store.
    v.verify(&idp.token(&TokenRequest::default())).unwrap();

    redis.restart();
    // The first proof after Redis is back is recorded (the lost connection is replaced
    // within the same command's timeout).
    v.verify_dpop(&token, &presented(&proof(&idp, &token, None)))
        .expect("recovered as soon as Redis is back");
    assert!(v.is_ready());
    // Frozen (accepts nothing, answers nothing): refused after the timeout, not later.
    redis.pause();
    let started = Instant::now();
    let err = v
        .verify_dpop(&token, &presented(&proof(&idp, &token, None)))
        .unwrap_err();
    let waited = started.elapsed();
    redis.resume();
    assert_eq!(err.code(), ErrorCode::ReplayStoreUnavailable, "{err}");
    assert!(
        waited >= Duration::from_millis(TIMEOUT_MS - 20)
            && waited < Duration::from_millis(TIMEOUT_MS + 300),
        "{waited:?}"
    );
    eprintln!("Redis stopped: refused; frozen: refused after {waited:?}");
    let m = v.metrics();
    assert!(m.store_errors >= 3, "{m:?}");
    assert!(m.rejected["replay_store_unavailable"] >= 3, "{m:?}");
    v.verify_dpop(&token, &presented(&proof(&idp, &token, None)))
        .unwrap();
}

/// A child forked after the parent used its connection makes its own, and still sees the
/// parent's records.
#[cfg(unix)]
#[test]
fn a_forked_child_uses_its_own_connection() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let v = verifier(&idp, &redis, json!({}));
    let token = bound_token(&idp);
    let used = proof(&idp, &token, None);
    let fresh = proof(&idp, &token, None);
    v.verify_dpop(&token, &presented(&used)).unwrap();
    // SAFETY: the child verifies (its own runtime and connection) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: a hang ends the child with SIGALRM instead of stalling the test.
        unsafe { libc::alarm(10) };
        let replay = v.verify_dpop(&token, &presented(&used));
        let new = v.verify_dpop(&token, &presented(&fresh));
        let code = match (replay.map_err(|e| e.claim().map(str::to_owned)), new) {
            (Err(Some(claim)), Ok(_)) if claim == "jti" => 0,
            (Ok(_), _) => 10,
            (Err(_), Ok(_)) => 11,
            (_, Err(_)) => 12,
        };
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(code) };
    }
    assert!(pid > 0);
    let mut status = 0;
    // SAFETY: waits for the child just forked.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child status {status}"
    );
    let err = v.verify_dpop(&token, &presented(&fresh)).unwrap_err();
    assert_eq!(err.claim(), Some("jti"), "the child's record is shared");
}

/// A relay to Redis on loopback that, on its first connection only, passes the first `SET`
/// (the write of a proof id) on to Redis and then closes both sides instead of relaying
/// Redis's reply: a reply lost after Redis ran the command. Counts the replies lost.
fn reply_dropper(redis_port: u16) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dropped = Arc::new(AtomicUsize::new(0));
    let count = dropped.clone();
    thread::spawn(move || {
        for (n, client) in listener.incoming().enumerate() {
            let (Ok(client), Ok(server)) = (client, TcpStream::connect(("127.0.0.1", redis_port)))
            else {
                return;
            };
            let wrote = Arc::new(AtomicBool::new(false));
            let (mut from_client, mut to_server) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            let seen = wrote.clone();
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(len @ 1..) = from_client.read(&mut buf) {
                    let chunk = &buf[..len];
                    let write = |cmd: &[u8]| chunk.windows(cmd.len()).any(|w| w == cmd);
                    if write(b"$3\r\nSET\r\n") {
                        seen.store(true, Ordering::SeqCst);
                    }
                    if to_server.write_all(chunk).is_err() {
                        break;
                    }
                }
                let _ = to_server.shutdown(Shutdown::Write);
            });
            let (mut from_server, mut to_client) = (server, client);
            let count = count.clone();
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(len @ 1..) = from_server.read(&mut buf) {
                    if n == 0 && wrote.load(Ordering::SeqCst) {
                        count.fetch_add(1, Ordering::SeqCst);
                        let _ = to_client.shutdown(Shutdown::Both);
                        let _ = from_server.shutdown(Shutdown::Both);
                        return;
                    }
                    if to_client.write_all(&buf[..len]).is_err() {
                        break;
                    }
                }
                let _ = to_client.shutdown(Shutdown::Write);
            });
        }
    });
    (port, dropped)
}

/// Redis recorded the proof but its reply was lost; the store resends the command on a new
/// connection, and that second answer must not call the proof its own replay. Sync and
/// async (each through its own relay, verifier and proof).
#[test]
fn a_record_resent_after_its_reply_was_lost_is_not_a_replay() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let token = bound_token(&idp);
    for (round, sync) in [true, false].into_iter().enumerate() {
        let (port, dropped) = reply_dropper(redis.port());
        let v = verifier_at(&idp, &format!("redis://127.0.0.1:{port}/"), json!({}));
        let p = proof(&idp, &token, None);
        let verify = || match sync {
            true => v.verify_dpop(&token, &presented(&p)),
            false => rt().block_on(v.verify_at_async(&token, Some(&presented(&p)), unix_now())),
        };
        let first = verify();
        assert_eq!(
            dropped.load(Ordering::SeqCst),
            1,
            "the relay lost one reply (sync: {sync})"
        );
        first.unwrap_or_else(|e| {
            panic!("sync {sync}: the resent record is a replay of itself: {e}")
        });
        assert_eq!(redis.keys().len(), round + 1, "{:?}", redis.keys());
        // A real second use of the proof is still a replay.
        let err = verify().unwrap_err();
        assert_eq!(
            (err.code(), err.claim()),
            (ErrorCode::DpopInvalid, Some("jti")),
            "{err}"
        );
        let m = v.metrics();
        assert_eq!(
            m.store_errors, 0,
            "the resend succeeded within the timeout: {m:?}"
        );
    }
}
