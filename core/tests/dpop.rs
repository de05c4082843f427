//! DPoP (RFC 9449) behaviour that one stateless vector cannot show: replay, nonces through
//! the error headers, bound tokens over real HTTP (remote JWKS and introspection), the
//! async path, a full replay cache, and a missing request method/URL.
//! Every single-request rule is in tests/vectors/dpop.json.

use serde_json::{json, Value};
use veritoken::{unix_now, Config, DpopProof, ErrorCode, SimpleRequest, Verifier};
use veritoken_testidp::{Fault, FaultMode, ProofRequest, TestIdp, TokenRequest};

const API: &str = "https://api.example.com/orders";

fn verifier(idp: &TestIdp, dpop: Value, introspect: bool) -> Verifier {
    let mut issuer = json!({
        "issuer": idp.url(),
        "audiences": ["api://default"],
        "algorithms": ["RS256", "ES256"],
        "jwks_uri": idp.jwks_uri(),
    });
    if introspect {
        issuer["introspection"] = json!({
            "endpoint": format!("{}/introspect", idp.url()),
            "client_id": "test-client",
            "client_secret": "test-secret",
        });
    }
    Verifier::new(Config::from_value(json!({"issuers": [issuer], "dpop": dpop})).unwrap()).unwrap()
}

fn bound_token(idp: &TestIdp, opaque: bool) -> String {
    idp.token(&TokenRequest {
        dpop_jkt: Some(idp.dpop_jkt()),
        opaque,
        ..Default::default()
    })
}

fn proof(idp: &TestIdp, token: &str, nonce: Option<String>) -> String {
    idp.dpop_proof(&ProofRequest {
        htm: "GET".into(),
        htu: API.into(),
        access_token: Some(token.into()),
        nonce,
        ..Default::default()
    })
}

fn request(token: &str, proof: &str) -> SimpleRequest {
    SimpleRequest {
        headers: vec![
            ("Authorization".into(), format!("DPoP {token}")),
            ("DPoP".into(), proof.into()),
        ],
        method: Some("GET".into()),
        url: Some(API.into()),
        ..Default::default()
    }
}

#[test]
fn a_proof_is_good_once() {
    let idp = TestIdp::start();
    let v = verifier(&idp, json!({"mode": "allowed"}), false);
    let token = bound_token(&idp, false);
    let p = proof(&idp, &token, None);
    let ok = v.verify_request(&request(&token, &p)).unwrap();
    assert_eq!(ok.dpop_jkt(), Some(idp.dpop_jkt().as_str()));
    let replay = v.verify_request(&request(&token, &p)).unwrap_err();
    assert_eq!(
        (replay.code(), replay.claim()),
        (ErrorCode::DpopInvalid, Some("jti"))
    );
    // A new proof (new jti) for the same token is fine; the same token as bearer is not.
    v.verify_request(&request(&token, &proof(&idp, &token, None)))
        .unwrap();
    let bearer = v.verify(&token).unwrap_err();
    assert_eq!(bearer.claim(), Some("cnf"));
    let m = v.metrics();
    assert_eq!((m.verified, m.rejected["dpop_invalid"]), (2, 2));
}

#[test]
fn use_dpop_nonce_carries_the_nonce_that_then_works() {
    let idp = TestIdp::start();
    let v = verifier(&idp, json!({"mode": "required", "nonce": true}), false);
    let token = bound_token(&idp, false);
    let err = v
        .verify_request(&request(&token, &proof(&idp, &token, None)))
        .unwrap_err();
    assert_eq!(err.claim(), Some("nonce"));
    let headers = v.error_headers(&err, Some("api"));
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    let challenge = get("www-authenticate").unwrap();
    assert!(
        challenge.starts_with("DPoP realm=\"api\", error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    assert!(challenge.contains("algs=\"RS256"), "{challenge}");
    let nonce = get("dpop-nonce").expect("a DPoP-Nonce header");
    assert_eq!(Some(nonce.clone()), v.dpop_nonce());
    v.verify_request(&request(&token, &proof(&idp, &token, Some(nonce))))
        .unwrap();
    // Another error of the same verifier carries no nonce.
    let missing = v.verify_request(&SimpleRequest::default()).unwrap_err();
    let h = v.error_headers(&missing, None);
    assert!(h.iter().all(|(k, _)| *k != "dpop-nonce"));
    assert!(
        h.contains(&(
            "www-authenticate",
            "DPoP algs=\"RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA ESP256 ESP384 ESP512 Ed25519\"".to_owned()
        )),
        "{h:?}"
    );
}

#[test]
fn an_introspected_token_is_bound_by_its_cnf() {
    let idp = TestIdp::start();
    let v = verifier(&idp, json!({"mode": "allowed"}), true);
    let token = bound_token(&idp, true);
    assert!(!token.contains('.'), "opaque");
    let ok = v
        .verify_request(&request(&token, &proof(&idp, &token, None)))
        .unwrap();
    assert_eq!(ok.algorithm(), None);
    assert_eq!(
        v.verify(&token).unwrap_err().code(),
        ErrorCode::DpopInvalid,
        "bound opaque token presented as bearer"
    );
}

#[test]
fn the_async_path_waits_for_keys_then_checks_the_proof() {
    let idp = TestIdp::start();
    let token = bound_token(&idp, false);
    let p = proof(&idp, &token, None);
    // A slow IdP, so that the first key fetch is still under way when try_verify_at looks.
    idp.set_fault(Fault {
        mode: FaultMode::Delay,
        delay_ms: 300,
    });
    let v = verifier(&idp, json!({"mode": "required"}), false);
    let proof = DpopProof {
        proof: &p,
        method: "GET",
        url: API,
    };
    // Cold cache: the non-waiting path declines, the async one fetches and decides.
    assert!(v.try_verify_at(&token, Some(&proof), unix_now()).is_none());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(v.verify_at_async(&token, Some(&proof), unix_now()))
        .unwrap();
    let other_url = DpopProof {
        url: "https://api.example.com/other",
        ..proof
    };
    let err = rt
        .block_on(v.verify_at_async(&token, Some(&other_url), unix_now()))
        .unwrap_err();
    assert_eq!(err.claim(), Some("htu"));
}

#[test]
fn a_dpop_request_needs_its_method_and_url() {
    let idp = TestIdp::start();
    let v = verifier(&idp, json!({"mode": "allowed"}), false);
    let token = bound_token(&idp, false);
    let mut req = request(&token, &proof(&idp, &token, None));
    req.url = None;
    assert_eq!(
        v.verify_request(&req).unwrap_err().code(),
        ErrorCode::Internal
    );
    // A URL that does not parse is the request's (built from its Host header, say): no
    // proof names it, so it is refused like a proof for another URL, never a 500.
    for url in [
        "not a url",
        "https://exa mple.com/x",
        "https://api.example.com:99999/",
    ] {
        req.url = Some(url.into());
        let err = v.verify_request(&req).unwrap_err();
        assert_eq!(
            (err.code(), err.claim()),
            (ErrorCode::DpopInvalid, Some("htu")),
            "{url}"
        );
    }
}

#[test]
fn the_replay_cache_fails_closed_when_full() {
    let idp = TestIdp::start();
    let v = verifier(
        &idp,
        json!({"mode": "allowed", "replay_cache_size": 2}),
        false,
    );
    let token = bound_token(&idp, false);
    for _ in 0..2 {
        v.verify_request(&request(&token, &proof(&idp, &token, None)))
            .unwrap();
    }
    let err = v
        .verify_request(&request(&token, &proof(&idp, &token, None)))
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::DpopInvalid);
    assert!(err.message().contains("retry"), "{err}");
}
