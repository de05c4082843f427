//! A caller's global lock (Python's GIL) against the engine's waits and logging. The Python
//! binding's log sink takes the GIL to deliver a record, and `verify_offloading` runs cheap
//! verifications with the GIL held. So the engine must never wait for keys under the GIL
//! (every Python thread would stop), and never log while holding a lock that a thread
//! holding the GIL may ask for (the two would wait for each other for good).
//!
//! `Gil` below is that lock, modelled: a log sink that takes it as Python's does, and an
//! `offload` that releases it around the call, as the binding's does.

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;
use std::cell::Cell;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Condvar, Mutex, PoisonError};
use std::time::Duration;
use veritoken::{
    set_log_sink, unix_now, Config, DpopProof, Error, ErrorCode, LogLevel, LogRecord, LogSink,
    VerifiedToken, Verifier,
};
use veritoken_testidp::{Fault, FaultMode, TestIdp};

const SECRET: &str = "0123456789abcdef0123456789abcdef";
const AUDIENCE: &str = "api://default";

/// The caller's global lock: held by one thread at a time, re-entered by its holder.
struct Gil {
    held: Mutex<bool>,
    free: Condvar,
}

thread_local! {
    static HOLDING: Cell<bool> = const { Cell::new(false) };
}

static GIL: Gil = Gil {
    held: Mutex::new(false),
    free: Condvar::new(),
};

impl Gil {
    fn take(&self) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        while *held {
            held = self.free.wait(held).unwrap_or_else(PoisonError::into_inner);
        }
        *held = true;
        HOLDING.set(true);
    }

    fn release(&self) {
        *self.held.lock().unwrap_or_else(PoisonError::into_inner) = false;
        HOLDING.set(false);
        self.free.notify_one();
    }
}

/// A record on its way to the sink is waiting for the GIL.
static SINK_WAITING: AtomicBool = AtomicBool::new(false);

/// Returns once a record on its way to the sink waits for the GIL (held by this thread).
fn until_a_record_waits_for_the_gil() {
    while !SINK_WAITING.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Python's sink: the GIL for every record (asking whether it is wanted, then delivering).
struct GilSink;

impl LogSink for GilSink {
    fn enabled(&self, _: LogLevel) -> bool {
        if !HOLDING.get() {
            SINK_WAITING.store(true, Ordering::SeqCst);
            GIL.take();
            SINK_WAITING.store(false, Ordering::SeqCst);
            GIL.release();
        }
        true
    }

    fn log(&self, _: &LogRecord) {
        if !HOLDING.get() {
            GIL.take();
            GIL.release();
        }
    }
}

/// What the Python binding hands `verify_offloading`: the call, run with the GIL released.
fn offload(
    call: &(dyn Fn() -> Result<VerifiedToken, Error> + Sync),
) -> Result<VerifiedToken, Error> {
    GIL.release();
    let result = call();
    GIL.take();
    result
}

/// The answer a scenario's thread sends, or the end of the run: when two threads wait for
/// each other for good, one of them holds the GIL every other test here needs.
fn or_deadlock<T>(answer: mpsc::Receiver<T>, why: &str) -> T {
    answer
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| {
            // Straight to stderr: the test harness's capture would lose a print before exit.
            let _ = writeln!(std::io::stderr(), "deadlock: {why}");
            std::process::exit(101)
        })
}

/// One scenario at a time: they share the GIL and the process's log sink.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    // Warnings and errors only: the records that report failures, which the engine emits
    // from its I/O thread.
    set_log_sink(Some(Box::new(GilSink)), LogLevel::Warn).unwrap();
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn remote(idp: &TestIdp) -> Verifier {
    Verifier::new(
        Config::from_value(json!({"issuers": [{
            "issuer": idp.url(), "audiences": [AUDIENCE], "algorithms": ["RS256"],
            "jwks_uri": idp.jwks_uri(), "jwks_cache": {"timeout_ms": 5000},
        }]}))
        .unwrap(),
    )
    .unwrap()
}

/// An HS256 token naming `idp` as its issuer.
fn hmac_token(idp: &TestIdp) -> String {
    let claims = json!({"iss": idp.url(), "aud": AUDIENCE, "exp": unix_now() + 600});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

/// Verifies `token` with a static HS256 key on this thread, so that this thread's header
/// memo knows its header: the token is then cheap to `verify_offloading`, for any verifier.
fn memoize_header(idp: &TestIdp, token: &str) {
    let local = Verifier::new(
        Config::from_value(json!({"issuers": [{
            "issuer": idp.url(), "audiences": [AUDIENCE], "algorithms": ["HS256"],
            "keys": [{"secret": {"value": SECRET, "alg": "HS256"}}],
        }]}))
        .unwrap(),
    )
    .unwrap();
    local.verify(token).unwrap();
}

/// An HMAC header this thread knows, from an issuer whose keys are still being fetched:
/// the verification goes to `offload`, so another thread takes the GIL during the fetch.
#[test]
fn a_wait_for_keys_releases_the_gil_even_for_an_hmac_header() {
    let _serial = serial();
    let idp = TestIdp::start();
    idp.set_fault(Fault {
        mode: FaultMode::Delay,
        delay_ms: 500,
    });
    let v = remote(&idp);
    let token = hmac_token(&idp);
    memoize_header(&idp, &token);

    static STARTED: AtomicBool = AtomicBool::new(false);
    static IN_CALL: AtomicBool = AtomicBool::new(false);
    GIL.take();
    let other = std::thread::spawn(|| {
        while !STARTED.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        GIL.take();
        let during = IN_CALL.load(Ordering::SeqCst);
        GIL.release();
        during
    });
    IN_CALL.store(true, Ordering::SeqCst);
    STARTED.store(true, Ordering::SeqCst);
    let result = v.verify_offloading(&token, None, unix_now(), offload);
    IN_CALL.store(false, Ordering::SeqCst);
    GIL.release();
    let took_gil_during_the_fetch = other.join().unwrap();

    assert!(
        took_gil_during_the_fetch,
        "another thread got the GIL only after the verification: it waited for keys under it"
    );
    // The keys are RS256 ones; the HS256 token is refused once they are in.
    assert!(result.is_err());
    assert_eq!(idp.stats().jwks_requests, 1);
}

/// The I/O thread reports a failed fetch while a thread holding the GIL verifies against
/// the same issuer: the report waits for the GIL, so it must not hold the issuer's key
/// state, which that verification takes.
#[test]
fn a_failed_fetch_is_logged_without_holding_the_key_state() {
    let _serial = serial();
    let idp = TestIdp::start();
    idp.set_fault(Fault {
        mode: FaultMode::Status500,
        delay_ms: 0,
    });
    let token = hmac_token(&idp);
    let (done, answer) = mpsc::channel();
    std::thread::spawn(move || {
        memoize_header(&idp, &token);
        // The GIL first: building the verifier starts the fetch, whose failure must be
        // reported while this thread holds the GIL.
        GIL.take();
        let v = remote(&idp);
        // Joins that fetch (or starts one) without waiting for it.
        let _ = v.try_verify_at(&token, None, unix_now());
        // The fetch failed and its warning now waits for the GIL.
        until_a_record_waits_for_the_gil();
        let result = v.verify_offloading(&token, None, unix_now(), offload);
        GIL.release();
        let _ = done.send(result.map(|_| ()).map_err(|e| e.code()));
    });
    let result = or_deadlock(
        answer,
        "the failed fetch's warning held the key state while waiting for the GIL",
    );
    assert_eq!(result, Err(ErrorCode::JwksUnavailable));
}

/// A thread without the GIL finds the DPoP replay cache full and warns; the warning waits
/// for the GIL. Meanwhile a thread holding it verifies a cached token with a proof, whose
/// id goes to the same replay cache: the warning must not hold that cache's lock.
#[test]
fn a_full_replay_cache_is_logged_without_holding_it() {
    const URL: &str = "https://api.example.com/orders";
    let _serial = serial();
    let idp = TestIdp::start();
    let v = Verifier::new(
        Config::from_value(json!({
            "issuers": [{"issuer": idp.url(), "audiences": [AUDIENCE],
                "algorithms": ["RS256"], "jwks_uri": idp.jwks_uri()}],
            "dpop": {"mode": "allowed", "replay_cache_size": 1},
            "cache": {"max_entries": 16},
        }))
        .unwrap(),
    )
    .unwrap();
    let token = idp.dpop_bound_token();
    let proof = || idp.dpop_proof_for("GET", URL, &token);
    let with = |proof: &str| -> Result<(), ErrorCode> {
        let p = DpopProof {
            proof,
            method: "GET",
            url: URL,
        };
        v.verify_presented_at(&token, Some(&p), unix_now())
            .map(|_| ())
            .map_err(|e| e.code())
    };
    // The token is cached and the replay cache (one id) is full.
    assert_eq!(with(&proof()), Ok(()));
    let (second, third) = (proof(), proof());
    let (done, answer) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            GIL.take();
            // Another thread, one that does not hold the GIL, is refused for the full
            // cache, and its warning now waits for the GIL.
            let outside = s.spawn(|| with(&second));
            until_a_record_waits_for_the_gil();
            let p = DpopProof {
                proof: &third,
                method: "GET",
                url: URL,
            };
            let result = v.verify_offloading(&token, Some(&p), unix_now(), offload);
            GIL.release();
            let outside = outside.join().unwrap();
            let _ = done.send((outside, result.map(|_| ()).map_err(|e| e.code())));
        });
        let (outside, result) = or_deadlock(
            answer,
            "the full replay cache's warning held its lock while waiting for the GIL",
        );
        // Both are refused for the full cache (fail closed), neither hangs.
        assert_eq!(outside, Err(ErrorCode::DpopInvalid));
        assert_eq!(result, Err(ErrorCode::DpopInvalid));
    });
    assert_eq!(v.metrics().token_cache_hits, 2, "both were cache hits");
}
