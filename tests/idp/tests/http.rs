//! The test IdP as other languages use it: the binary, its endpoints and admin API.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_binary() -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_veritoken-testidp"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Running(child), line.trim().to_owned())
}

#[test]
fn the_binary_prints_its_url_and_serves_the_protocol() {
    let (_idp, base) = start_binary();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let http = reqwest::blocking::Client::new();

    let discovery: Value = http
        .get(format!("{base}/.well-known/openid-configuration"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(discovery["issuer"], base);
    assert_eq!(discovery["jwks_uri"], format!("{base}/jwks"));

    let jwks: Value = http
        .get(format!("{base}/jwks"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("d").is_none()),
        "no private members"
    );

    // Client authentication is enforced.
    let denied = http
        .post(format!("{base}/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap();
    assert_eq!(denied.status(), 401);
    let wrong_grant = http
        .post(format!("{base}/token"))
        .basic_auth("test-client", Some("test-secret"))
        .form(&[("grant_type", "password")])
        .send()
        .unwrap();
    assert_eq!(wrong_grant.status(), 400);

    // A token with requested claims and algorithm.
    let issued: Value = http
        .post(format!("{base}/token"))
        .basic_auth("test-client", Some("test-secret"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("alg", "EdDSA"),
            ("scope", "a b"),
            ("claims", r#"{"tenant":"t1"}"#),
        ])
        .send()
        .unwrap()
        .json()
        .unwrap();
    let token = issued["access_token"].as_str().unwrap();
    let cfg = json!({"issuers": [{"issuer": base, "audiences": ["api://default"], "algorithms": ["EdDSA"], "jwks_uri": format!("{base}/jwks")}]});
    let v = veritoken::Verifier::new(veritoken::Config::from_value(cfg).unwrap()).unwrap();
    let verified = v.verify(token).unwrap();
    assert_eq!(verified.claims()["tenant"], "t1");
    assert_eq!(verified.claims()["scope"], "a b");

    // Introspection knows the tokens it issued.
    let introspect = |token: &str| -> Value {
        let r = http
            .post(format!("{base}/introspect"))
            .basic_auth("test-client", Some("test-secret"))
            .form(&[("token", token)]);
        r.send().unwrap().json().unwrap()
    };
    assert_eq!(introspect(token)["active"], true);
    assert_eq!(introspect("not.a.token")["active"], false);

    // Rotation and retirement over the admin API.
    let kid: Value = http
        .post(format!("{base}/admin/keys"))
        .json(&json!({"alg": "ES256"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let kid = kid["kid"].as_str().unwrap().to_owned();
    let count = |http: &reqwest::blocking::Client| -> usize {
        let jwks: Value = http
            .get(format!("{base}/jwks"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        jwks["keys"].as_array().unwrap().len()
    };
    assert_eq!(count(&http), 4);
    assert_eq!(
        http.delete(format!("{base}/admin/keys/{kid}"))
            .send()
            .unwrap()
            .status(),
        204
    );
    assert_eq!(count(&http), 3);
    assert_eq!(
        http.delete(format!("{base}/admin/keys/nope"))
            .send()
            .unwrap()
            .status(),
        404
    );

    // Faults switch on and off over HTTP.
    http.post(format!("{base}/admin/fault"))
        .json(&json!({"mode": "status500"}))
        .send()
        .unwrap();
    assert_eq!(
        http.get(format!("{base}/jwks")).send().unwrap().status(),
        500
    );
    http.post(format!("{base}/admin/fault"))
        .json(&json!({"mode": "wrong_content_type"}))
        .send()
        .unwrap();
    let r = http.get(format!("{base}/jwks")).send().unwrap();
    assert_eq!(r.headers()["content-type"], "text/html");
    http.post(format!("{base}/admin/reset")).send().unwrap();
    http.post(format!("{base}/admin/cache"))
        .json(&json!({"max_age": 120, "etag": true}))
        .send()
        .unwrap();
    let r = http.get(format!("{base}/jwks")).send().unwrap();
    assert_eq!(r.headers()["cache-control"], "max-age=120");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let again = http
        .get(format!("{base}/jwks"))
        .header("if-none-match", etag)
        .send()
        .unwrap();
    assert_eq!(again.status(), 304);
    let bad_fault = http
        .post(format!("{base}/admin/fault"))
        .json(&json!({"mode": "explode"}))
        .send()
        .unwrap();
    assert!(bad_fault.status().is_client_error());

    let stats: Value = http
        .get(format!("{base}/admin/stats"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(stats["jwks_not_modified"], 1);
    assert_eq!(stats["token_requests"], 0, "reset cleared the counters");
}

/// The DPoP flow as a client in any language runs it over HTTP: a proof for the token
/// endpoint binds the token (token_type DPoP, cnf.jkt), and a proof from `/dpop/proof` for
/// the API call makes the engine accept it.
#[test]
fn dpop_bound_tokens_over_http() {
    let (_idp, base) = start_binary();
    let http = reqwest::blocking::Client::new();
    let token_url = format!("{base}/token");
    let proof = |body: Value| -> Value {
        http.post(format!("{base}/dpop/proof"))
            .json(&body)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let for_token = proof(json!({"htm": "POST", "htu": token_url}));
    let answer: Value = http
        .post(&token_url)
        .basic_auth("test-client", Some("test-secret"))
        .header("DPoP", for_token["proof"].as_str().unwrap())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(answer["token_type"], "DPoP");
    let token = answer["access_token"].as_str().unwrap();
    let api = "https://api.example.com/orders";
    let for_api = proof(json!({"htm": "GET", "htu": api, "access_token": token}));
    let v = veritoken::Verifier::new(
        veritoken::Config::from_value(json!({
            "issuers": [{"issuer": base, "audiences": ["api://default"], "algorithms": ["RS256"],
                         "jwks_uri": format!("{base}/jwks")}],
            "dpop": {"mode": "required"},
        }))
        .unwrap(),
    )
    .unwrap();
    let proof_text = for_api["proof"].as_str().unwrap();
    let verified = v
        .verify_dpop(
            token,
            &veritoken::DpopProof {
                proof: proof_text,
                method: "GET",
                url: api,
            },
        )
        .unwrap();
    assert_eq!(verified.dpop_jkt(), for_api["jkt"].as_str());
    // A bad DPoP header at the token endpoint is refused, like a real AS would.
    let refused = http
        .post(&token_url)
        .basic_auth("test-client", Some("test-secret"))
        .header("DPoP", "nonsense")
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap();
    assert_eq!(refused.status(), 400);
    // `dpop_jkt` binds without a proof (for clients that hold the key elsewhere).
    let by_param: Value = http
        .post(&token_url)
        .basic_auth("test-client", Some("test-secret"))
        .form(&[("grant_type", "client_credentials"), ("dpop_jkt", "abc")])
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(by_param["token_type"], "DPoP");
}
