//! Fork safety of the remote key machinery, tested the way it failed: a child forked at
//! any instant of the first key fetch (before it, while the HTTP client or the runtime of
//! another verifier is being built, during the request, while the answer is parsed) must
//! verify on its own, never waiting on a lock or a fetch of its parent. Hundreds of forks,
//! each child under a watchdog (SIGALRM) so a hang is a failure, not a stuck test.

#![cfg(unix)]

use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use veritoken::{Config, DpopProof, Verifier};
use veritoken_testidp::{Fault, FaultMode, TestIdp, TokenRequest};

const TRIALS: usize = 240;
/// A child that has not answered by then is stuck (a verification waits at most 2 s).
const WATCHDOG_SECS: u32 = 10;

fn verifier(idp: &TestIdp, discovery: bool) -> Verifier {
    let source = match discovery {
        true => json!({"discovery": true}),
        false => json!({"jwks_uri": idp.jwks_uri()}),
    };
    let mut issuer = json!({
        "issuer": idp.url(),
        "audiences": ["api://default"],
        "algorithms": ["RS256"],
        "jwks_cache": {"timeout_ms": 2000},
    });
    for (k, v) in source.as_object().unwrap() {
        issuer[k] = v.clone();
    }
    Verifier::new(Config::from_value(json!({ "issuers": [issuer] })).unwrap()).unwrap()
}

/// A small deterministic generator: the same trials on every run, spread over the window.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// What the child does: verify with the inherited verifier, then with one it builds itself
/// (a new client and the child's own runtime). Exit 0 when both accept the token.
fn child(inherited: &Verifier, idp: &TestIdp, token: &str) -> ! {
    // SAFETY: alarm only arms a timer; its default action ends a child that hangs.
    unsafe { libc::alarm(WATCHDOG_SECS) };
    let first = inherited.verify(token).is_ok();
    let second = verifier(idp, false).verify(token).is_ok();
    let code = match (first, second) {
        (true, true) => 0,
        (false, _) => 10,
        (true, false) => 11,
    };
    // SAFETY: ends the child without running the parent's destructors or atexit handlers.
    unsafe { libc::_exit(code) }
}

/// Waits for `pid`; `None` if it did not end within the limit (then it is killed).
fn reap(pid: libc::pid_t, limit: Duration) -> Option<i32> {
    let start = Instant::now();
    loop {
        let mut status = 0;
        // SAFETY: polls the child this test forked.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            return Some(status);
        }
        if start.elapsed() > limit {
            // SAFETY: ends and reaps the child this test forked.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn a_child_forked_at_any_point_of_the_first_fetch_verifies_on_its_own() {
    let idp = Arc::new(TestIdp::start());
    let token = idp.token(&TokenRequest::default());
    let mut rng = Lcg(0x5eed);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    let started = Instant::now();
    for trial in 0..TRIALS {
        // Some trials answer slowly, so that the fork lands inside the request.
        let delay_ms = [0, 0, 5, 30][trial % 4];
        idp.set_fault(Fault {
            mode: if delay_ms > 0 {
                FaultMode::Delay
            } else {
                FaultMode::None
            },
            delay_ms,
        });
        let discovery = trial % 3 == 0;
        let v = verifier(&idp, discovery);
        // Meanwhile another thread builds a verifier (client, runtime use) and verifies.
        let other = {
            let (idp, token) = (idp.clone(), token.clone());
            std::thread::spawn(move || verifier(&idp, !discovery).verify(&token).is_ok())
        };
        std::thread::sleep(Duration::from_micros(rng.below(100_000)));
        // SAFETY: the child runs `child`, which ends with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            child(&v, &idp, &token);
        }
        assert!(pid > 0, "fork failed");
        let status = reap(pid, Duration::from_secs(WATCHDOG_SECS as u64 + 5));
        assert!(
            other.join().unwrap(),
            "trial {trial}: the parent's other verifier"
        );
        assert!(v.verify(&token).is_ok(), "trial {trial}: the parent itself");
        let outcome = match status {
            None => "killed after the watchdog".to_string(),
            Some(s) if libc::WIFEXITED(s) => format!("exit {}", libc::WEXITSTATUS(s)),
            Some(s) if libc::WIFSIGNALED(s) && libc::WTERMSIG(s) == libc::SIGALRM => {
                "hung (watchdog)".to_string()
            }
            Some(s) => format!("status {s}"),
        };
        *outcomes.entry(outcome.clone()).or_default() += 1;
        assert_eq!(
            outcome, "exit 0",
            "trial {trial} (delay {delay_ms} ms, discovery {discovery}): the child {outcome}"
        );
    }
    eprintln!(
        "{TRIALS} forks during the first fetch in {:?}: {outcomes:?}",
        started.elapsed()
    );
}

/// A verifier whose keys were fetched before fork() keeps them in the child, and fetches a
/// key it has not seen on its own.
#[test]
fn a_verifier_made_before_fork_works_in_the_child() {
    let idp = TestIdp::start();
    let cfg = json!({"issuers": [{"issuer": idp.url(), "audiences": ["api://default"],
        "algorithms": ["RS256", "ES256"], "jwks_uri": idp.jwks_uri()}]});
    let v = Verifier::new(Config::from_value(cfg).unwrap()).unwrap();
    let cached = idp.token(&TokenRequest::default());
    v.verify(&cached).unwrap();
    // A key the verifier has not seen: the child must fetch it itself.
    let kid = idp.rotate("ES256");
    let fresh = idp.token(&TokenRequest {
        alg: Some("ES256".into()),
        kid: Some(kid),
        ..Default::default()
    });

    // SAFETY: the child only verifies (its own runtime, threads and sockets) and leaves
    // through _exit, never returning into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let ok =
            v.verify(&cached).is_ok() && v.verify(&fresh).is_ok() && v.metrics().jwks_fetches >= 2;
        // SAFETY: _exit ends the forked child at once; nothing runs after it.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for the child forked above.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "the child did not exit normally");
    assert_eq!(libc::WEXITSTATUS(status), 0, "the child could not verify");
    // The parent is unaffected and fetches the new key on its own.
    assert!(v.verify(&fresh).is_ok());
}

/// The in-memory DPoP replay cache is the child's own after fork() (never a lock another
/// thread of the parent held): a child records its proofs and refuses their replay.
#[test]
fn a_child_keeps_its_own_dpop_replay_cache() {
    const URL: &str = "https://api.example.com/orders";
    let idp = TestIdp::start();
    let cfg = json!({"issuers": [{"issuer": idp.url(), "audiences": ["api://default"],
        "algorithms": ["RS256"], "jwks_uri": idp.jwks_uri()}],
        "dpop": {"mode": "allowed"}});
    let v = Verifier::new(Config::from_value(cfg).unwrap()).unwrap();
    let token = idp.dpop_bound_token();
    let proof = || idp.dpop_proof_for("GET", URL, &token);
    let verify = |proof: &str| {
        let p = DpopProof {
            proof,
            method: "GET",
            url: URL,
        };
        v.verify_presented_at(&token, Some(&p), veritoken::unix_now())
            .map_err(|e| e.code())
    };
    assert!(verify(&proof()).is_ok(), "the parent records a proof");
    let in_child = proof();

    // SAFETY: the child only verifies and leaves through _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // SAFETY: alarm only arms a timer; its default action ends a child that hangs.
        unsafe { libc::alarm(WATCHDOG_SECS) };
        let ok = verify(&in_child).is_ok()
            && verify(&in_child).err() == Some(veritoken::ErrorCode::DpopInvalid);
        // SAFETY: _exit ends the forked child at once; nothing runs after it.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let status = reap(pid, Duration::from_secs(WATCHDOG_SECS as u64 + 5));
    assert_eq!(
        status
            .filter(|s| libc::WIFEXITED(*s))
            .map(|s| libc::WEXITSTATUS(s)),
        Some(0),
        "the child verified its proof once and refused its replay ({status:?})"
    );
    // The parent's cache is its own too: the child's proof is new to it.
    assert!(verify(&in_child).is_ok());
}
