//! A verifier built before fork() keeps working in the child (pre-fork servers such as
//! gunicorn, uwsgi or Node cluster): cached keys verify, and a fetch in the child works.
//! Its own test binary, so no other test's threads are running when it forks.

use serde_json::json;
use veritoken::{Config, Verifier};
use veritoken_testidp::{TestIdp, TokenRequest};

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
