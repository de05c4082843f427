//! `veritoken serve` over real HTTP: directly, and behind a real nginx with the example
//! configuration from `examples/sidecar/`.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use veritoken_testidp::{ProofRequest, TestIdp, TokenRequest};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/sidecar")
}

/// The sidecar config for one client "orders" at /auth/orders, keys from `idp`.
fn write_config(dir: &Path, idp: &TestIdp) -> PathBuf {
    write_config_with(dir, idp, |_| {})
}

/// [`write_config`] with `edit` applied to the JSON first.
fn write_config_with(dir: &Path, idp: &TestIdp, edit: impl FnOnce(&mut Value)) -> PathBuf {
    let mut config = json!({
        "listen": "127.0.0.1:0",
        "max_header_bytes": 4096,
        "clients": [{
            "name": "orders",
            "paths": ["/auth/orders", "/auth/orders-too"],
            "required_scopes": ["orders:read"],
            "claim_headers": {"sub": "X-Auth-Subject", "scope": "X-Auth-Scope", "note": "X-Auth-Note"},
            "verifier": {
                "issuers": [{"issuer": idp.url(), "audiences": ["api://default"], "algorithms": ["RS256", "ES256"],
                    "jwks_uri": idp.jwks_uri(), "jwks_cache": {"ttl": 1, "min_ttl": 1, "refresh_ahead": 0}}],
                "token_sources": [
                    {"header": {"name": "authorization", "scheme": "Bearer"}},
                    {"cookie": {"name": "access_token"}},
                    {"query": {"name": "access_token"}}
                ]
            }
        }]
    });
    edit(&mut config);
    let path = dir.join("serve.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

fn start_sidecar(config: &Path) -> (Running, String) {
    start_sidecar_logging(config, Stdio::null())
}

/// [`start_sidecar`] with its log (stderr) going to `stderr`.
fn start_sidecar_logging(config: &Path, stderr: Stdio) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_veritoken"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    (Running(child), url)
}

fn token(idp: &TestIdp, scope: &str, lifetime: i64, claims: Value) -> String {
    idp.token(&TokenRequest {
        scope: Some(scope.into()),
        lifetime: Some(lifetime),
        claims: claims.as_object().unwrap().clone(),
        ..Default::default()
    })
}

/// `/auth/orders` with a fresh token granting `orders:read`.
fn authorized(
    http: &reqwest::blocking::Client,
    base: &str,
    idp: &TestIdp,
) -> reqwest::blocking::Response {
    let good = token(idp, "orders:read", 300, json!({}));
    http.get(format!("{base}/auth/orders"))
        .bearer_auth(&good)
        .send()
        .unwrap()
}

/// The sidecar's `/metrics` page.
fn metrics_text(http: &reqwest::blocking::Client, base: &str) -> String {
    http.get(format!("{base}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap()
}

fn wait_ready(http: &reqwest::blocking::Client, base: &str) {
    for _ in 0..100 {
        if http
            .get(format!("{base}/readyz"))
            .send()
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the sidecar never became ready");
}

#[test]
fn answers_auth_requests_directly() {
    let mut idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let (_sidecar, base) = start_sidecar(&write_config(dir.path(), &idp));
    let http = reqwest::blocking::Client::new();
    assert_eq!(
        http.get(format!("{base}/healthz")).send().unwrap().status(),
        200
    );
    wait_ready(&http, &base);
    let auth = format!("{base}/auth/orders");
    let good = token(
        &idp,
        "orders:read orders:write",
        300,
        json!({"note": "line1\r\nSet-Cookie: evil=1"}),
    );

    let r = http.get(&auth).bearer_auth(&good).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-auth-subject"], "test-client");
    assert_eq!(r.headers()["x-auth-scope"], "orders:read orders:write");
    assert_eq!(
        r.headers()["x-auth-note"],
        "line1  Set-Cookie: evil=1",
        "CR/LF never reach a header"
    );
    assert!(r.headers().get("set-cookie").is_none());
    assert_eq!(
        http.head(&auth).bearer_auth(&good).send().unwrap().status(),
        200
    );
    assert_eq!(
        http.get(format!("{base}/auth/orders-too"))
            .bearer_auth(&good)
            .send()
            .unwrap()
            .status(),
        200
    );

    let missing = http.get(&auth).send().unwrap();
    assert_eq!(missing.status(), 401);
    assert_eq!(
        missing.headers()["www-authenticate"],
        "Bearer realm=\"orders\""
    );
    assert_eq!(
        missing.json::<Value>().unwrap()["error"]["code"],
        "token_missing"
    );

    let expired = http
        .get(&auth)
        .bearer_auth(token(&idp, "orders:read", -10, json!({})))
        .send()
        .unwrap();
    assert_eq!(expired.status(), 401);
    assert!(expired.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    assert_eq!(
        expired.json::<Value>().unwrap()["error"]["code"],
        "token_expired"
    );

    let scope = http
        .get(&auth)
        .bearer_auth(token(&idp, "profile", 300, json!({})))
        .send()
        .unwrap();
    assert_eq!(scope.status(), 403);
    assert!(scope.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));

    let garbage = http.get(&auth).bearer_auth("not-a-token").send().unwrap();
    assert_eq!(garbage.status(), 401, "bad tokens never get a 5xx");

    // Other token sources: a cookie, and the ORIGINAL request's query via X-Original-URI.
    let cookie = http
        .get(&auth)
        .header("cookie", format!("theme=x; access_token={good}"))
        .send()
        .unwrap();
    assert_eq!(cookie.status(), 200);
    let query = http
        .get(&auth)
        .header("x-original-uri", format!("/api/orders?access_token={good}"))
        .send()
        .unwrap();
    assert_eq!(query.status(), 200);

    let huge = http
        .get(&auth)
        .bearer_auth(&good)
        .header("x-padding", "p".repeat(5000))
        .send()
        .unwrap();
    // Past max_header_bytes is a malformed token, as in every other surface: 401 with the
    // code, never a bare 431.
    assert_eq!(huge.status(), 401);
    assert_eq!(huge.headers()["x-veritoken-code"], "token_malformed");
    assert_eq!(
        huge.json::<Value>().unwrap()["error"]["code"],
        "token_malformed"
    );

    let id = http
        .get(&auth)
        .bearer_auth(&good)
        .header("x-request-id", "req-42")
        .send()
        .unwrap();
    assert_eq!(id.headers()["x-request-id"], "req-42");

    // The IdP goes down after warm-up: cached keys keep serving.
    idp.stop();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        http.get(&auth).bearer_auth(&good).send().unwrap().status(),
        200
    );

    let metrics = metrics_text(&http, &base);
    for expected in [
        "veritoken_requests_total{client=\"orders\",verdict=\"allow\",code=\"ok\"}",
        "veritoken_requests_total{client=\"orders\",verdict=\"deny\",code=\"token_missing\"}",
        "veritoken_requests_total{client=\"orders\",verdict=\"deny\",code=\"scope_insufficient\"}",
        "veritoken_request_duration_seconds_bucket{le=",
        "veritoken_jwks_fetches_total{client=\"orders\"}",
        "veritoken_jwks_fetch_failures_total{client=\"orders\"}",
        "veritoken_stale_serves_total{client=\"orders\"}",
    ] {
        assert!(
            metrics.contains(expected),
            "missing {expected} in\n{metrics}"
        );
    }
    // Every family of core's tables is served, with its type: the bindings' exporters
    // take the same tables.
    for family in veritoken::ENGINE_FAMILIES
        .iter()
        .chain(&veritoken::SIDECAR_FAMILIES)
    {
        let type_line = format!("# TYPE {} {}", family.name, family.kind.as_str());
        assert!(
            metrics.contains(&type_line),
            "missing {type_line} in\n{metrics}"
        );
    }
    for family in &veritoken::ENGINE_FAMILIES {
        let sample = format!("{}{{client=\"orders\"}}", family.sample_name());
        assert!(metrics.contains(&sample), "missing {sample} in\n{metrics}");
    }
}

#[test]
fn introspects_opaque_tokens() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config_with(dir.path(), &idp, |config| {
        config["clients"][0]["verifier"]["issuers"][0]["introspection"] = json!({
            "endpoint": format!("{}/introspect", idp.url()),
            "client_id": "test-client",
            "client_secret": "test-secret",
        });
    });
    let (_sidecar, base) = start_sidecar(&path);
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, &base);
    let auth = format!("{base}/auth/orders");
    let opaque = idp.token(&TokenRequest {
        opaque: true,
        scope: Some("orders:read".into()),
        ..Default::default()
    });
    let r = http.get(&auth).bearer_auth(&opaque).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-auth-subject"], "test-client");
    let r = http
        .get(&auth)
        .bearer_auth("opaque-never-issued")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    assert_eq!(
        r.json::<Value>().unwrap()["error"]["code"],
        "token_inactive"
    );
}

#[test]
fn dpop_proofs_and_nonces_directly() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config_with(dir.path(), &idp, |c| {
        c["clients"][0]["verifier"]["dpop"] = json!({"mode": "required", "nonce": true});
    });
    let (_sidecar, base) = start_sidecar(&config);
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, &base);
    let public = "https://api.example.com/orders?page=1";
    let bound = idp.token(&TokenRequest {
        scope: Some("orders:read".into()),
        dpop_jkt: Some(idp.dpop_jkt()),
        ..Default::default()
    });
    let proof = |nonce: Option<String>| {
        idp.dpop_proof(&ProofRequest {
            htm: "POST".into(),
            htu: "https://api.example.com/orders".into(),
            access_token: Some(bound.clone()),
            nonce,
            ..Default::default()
        })
    };
    // nginx style: X-Original-Method and X-Original-URL.
    let ask = |proof: &str| {
        http.get(format!("{base}/auth/orders"))
            .header("Authorization", format!("DPoP {bound}"))
            .header("DPoP", proof)
            .header("X-Original-Method", "POST")
            .header("X-Original-URL", public)
            .send()
            .unwrap()
    };
    let first = ask(&proof(None));
    assert_eq!(first.status(), 401);
    let challenge = first.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.starts_with("DPoP realm=\"orders\", error=\"use_dpop_nonce\""),
        "{challenge}"
    );
    let nonce = first.headers()["dpop-nonce"].to_str().unwrap().to_owned();
    let second = ask(&proof(Some(nonce.clone())));
    assert_eq!(second.status(), 200);
    assert_eq!(second.headers()["x-auth-subject"], "test-client");
    // The other family is never read, even when the configured one is there but cannot be
    // read (bytes past ASCII) or is absent: a client can send X-Forwarded-* through nginx.
    let forged = |original_url: Option<&[u8]>| {
        let mut request = http
            .get(format!("{base}/auth/orders"))
            .header("Authorization", format!("DPoP {bound}"))
            .header("DPoP", proof(Some(nonce.clone())))
            .header("X-Forwarded-Method", "POST")
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "api.example.com")
            .header("X-Forwarded-Uri", "/orders?page=1");
        if let Some(url) = original_url {
            request = request.header("X-Original-Method", "GET").header(
                "X-Original-URL",
                reqwest::header::HeaderValue::from_bytes(url).unwrap(),
            );
        }
        request.send().unwrap()
    };
    for url in [
        Some(b"https://api.example.com/admin?\xc3\xa9".as_slice()),
        None,
    ] {
        let answer = forged(url);
        assert_eq!(answer.status(), 401, "{url:?}");
        assert_eq!(answer.headers()["x-veritoken-code"], "dpop_invalid");
    }
    // Without the original method and URL (a proxy that does not send them) a DPoP
    // request cannot be judged: never a pass, and not a 500 a client can provoke either,
    // but 401 dpop_invalid naming what is missing.
    let blind = http
        .get(format!("{base}/auth/orders"))
        .header("Authorization", format!("DPoP {bound}"))
        .header("DPoP", proof(None))
        .send()
        .unwrap();
    assert_eq!(blind.status(), 401);
    assert!(blind.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("DPoP "));
    let body = blind.json::<Value>().unwrap();
    assert_eq!(body["error"]["code"], "dpop_invalid");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("X-Original-Method and X-Original-URL"),
        "{body}"
    );
    // Required mode: a bearer token is refused with a DPoP challenge.
    let bearer = http
        .get(format!("{base}/auth/orders"))
        .bearer_auth(token(&idp, "orders:read", 300, json!({})))
        .send()
        .unwrap();
    assert_eq!(bearer.status(), 401);
    assert!(bearer.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("DPoP "));
}

/// `original_request = "x-forwarded"` (Traefik, Caddy): the proof is checked against
/// X-Forwarded-Method, -Proto, -Host and -Uri, and X-Original-* from the client is ignored.
#[test]
fn dpop_behind_a_forwarding_proxy_reads_only_x_forwarded() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config_with(dir.path(), &idp, |c| {
        c["original_request"] = json!("x-forwarded");
        c["clients"][0]["verifier"]["dpop"] = json!({"mode": "required"});
    });
    let (_sidecar, base) = start_sidecar(&config);
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, &base);
    let bound = idp.token(&TokenRequest {
        scope: Some("orders:read".into()),
        dpop_jkt: Some(idp.dpop_jkt()),
        ..Default::default()
    });
    let proof = || idp.dpop_proof_for("GET", "https://api.example.com/orders", &bound);
    let ask = |forwarded: (&str, &str), original: Option<(&str, &str)>| {
        let mut request = http
            .get(format!("{base}/auth/orders"))
            .header("Authorization", format!("DPoP {bound}"))
            .header("DPoP", proof())
            .header("X-Forwarded-Method", forwarded.0)
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "api.example.com")
            .header("X-Forwarded-Uri", forwarded.1);
        if let Some((method, url)) = original {
            request = request
                .header("X-Original-Method", method)
                .header("X-Original-URL", url);
        }
        request.send().unwrap()
    };
    assert_eq!(ask(("GET", "/orders?page=1"), None).status(), 200);
    // The proxy says POST /admin; the client's own X-Original-* matching the proof loses.
    let forged = ask(
        ("POST", "/admin"),
        Some(("GET", "https://api.example.com/orders")),
    );
    assert_eq!(forged.status(), 401);
    assert_eq!(forged.headers()["x-veritoken-code"], "dpop_invalid");
    // Nothing from the proxy: refused, naming the headers of this family.
    let blind = http
        .get(format!("{base}/auth/orders"))
        .header("Authorization", format!("DPoP {bound}"))
        .header("DPoP", proof())
        .header("X-Original-Method", "GET")
        .header("X-Original-URL", "https://api.example.com/orders")
        .send()
        .unwrap();
    assert_eq!(blind.status(), 401);
    let body = blind.json::<Value>().unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains(
            "X-Forwarded-Method and X-Forwarded-Proto, X-Forwarded-Host and X-Forwarded-Uri"
        ),
        "{body}"
    );
}

/// A claim header can name a nested claim by JSON Pointer, as role_claim and rules can.
#[test]
fn claim_headers_take_json_pointers() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config_with(dir.path(), &idp, |c| {
        c["clients"][0]["claim_headers"] = json!({
            "/realm_access/roles": "X-Auth-Roles",
            "/realm_access/roles/1": "X-Auth-Second-Role",
            "/absent/x": "X-Auth-Absent",
        });
    });
    let (_sidecar, base) = start_sidecar(&config);
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, &base);
    let good = token(
        &idp,
        "orders:read",
        300,
        json!({"realm_access": {"roles": ["reader", "writer"]}}),
    );
    let r = http
        .get(format!("{base}/auth/orders"))
        .bearer_auth(&good)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-auth-roles"], "reader writer");
    assert_eq!(r.headers()["x-auth-second-role"], "writer");
    assert!(r.headers().get("x-auth-absent").is_none());
}

/// Text in a header value that reads like hyper's own error answer (a claim copied into a
/// header, the client's X-Request-Id) leaves the answer as it is, and the connection keeps
/// answering.
#[test]
fn status_line_text_in_header_values_is_only_text() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config_with(dir.path(), &idp, |c| {
        c["clients"][0]["claim_headers"]["name"] = json!("X-Auth-Name");
    });
    let (_sidecar, base) = start_sidecar(&config);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    wait_ready(&http, &base);
    let good = token(
        &idp,
        "orders:read",
        300,
        json!({"name": "HTTP/1.1 400 Bad Request"}),
    );
    // Twice on one kept-alive connection: the second must be answered too.
    for _ in 0..2 {
        let r = http
            .get(format!("{base}/auth/orders"))
            .bearer_auth(&good)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-auth-name"], "HTTP/1.1 400 Bad Request");
        assert_eq!(r.headers()["x-auth-subject"], "test-client");
        assert_eq!(r.headers()["x-auth-scope"], "orders:read");
    }
    for _ in 0..2 {
        let r = http
            .get(format!("{base}/auth/orders"))
            .header(
                "X-Request-Id",
                "HTTP/1.1 431 Request Header Fields Too Large",
            )
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["x-veritoken-code"], "token_missing");
        assert_eq!(r.json::<Value>().unwrap()["error"]["code"], "token_missing");
    }
    // Pipelined: a normal answer, then hyper's refusal of a malformed request, replaced.
    let addr = base.trim_start_matches("http://");
    let answer = raw(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /auth/orders HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let (_, refusal) = answer
        .split_once("ok\nHTTP/1.1 400 Bad Request\r\n")
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(
        refusal.contains("x-veritoken-code: bad_request"),
        "{answer}"
    );
    assert_eq!(
        raw_body(&format!("x\r\n{refusal}"))["error"]["code"],
        "bad_request"
    );
}

#[test]
fn slow_header_clients_are_cut_off() {
    use std::io::{Read, Write};
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config_with(dir.path(), &idp, |config| {
        config["header_read_timeout_ms"] = json!(300);
    });
    let (_sidecar, base) = start_sidecar(&path);
    let addr = base.trim_start_matches("http://");
    let mut slow = std::net::TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap(); // never finished
    slow.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let started = std::time::Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf); // returns when the sidecar closes the connection
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(2),
        "closed after {waited:?}"
    );
    // A normal client is still served.
    let http = reqwest::blocking::Client::new();
    assert_eq!(
        http.get(format!("{base}/healthz")).send().unwrap().status(),
        200
    );
}

#[test]
fn stops_gracefully_on_sigterm() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut sidecar, base) = start_sidecar(&write_config(dir.path(), &idp));
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, &base);
    // SAFETY: signalling the child we spawned.
    unsafe { libc_kill(sidecar.0.id() as i32, 15) };
    let status = sidecar.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[test]
fn check_mode_validates_configs() {
    let run = |config: &Path| {
        Command::new(env!("CARGO_BIN_EXE_veritoken"))
            .args(["serve", "--check", "--config", config.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let example = run(&examples().join("veritoken-serve.toml"));
    assert_eq!(
        example.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&example.stderr)
    );
    assert!(String::from_utf8_lossy(&example.stdout).contains("1 client(s), 1 path(s)"));

    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (r#"{"clients": []}"#, "at least one client"),
        (r#"{"clients": [], "lisen": "x"}"#, "unknown field `lisen`"),
        (
            r#"{"clients": [{"name": "a", "paths": ["/metrics"], "verifier": {"issuers": []}}]}"#,
            "reserved",
        ),
        (
            r#"{"clients": [{"name": "a", "paths": ["/x"], "claim_headers": {"sub": "Set-Cookie"}, "verifier": {"issuers": []}}]}"#,
            "cannot carry a claim",
        ),
        (
            r#"{"clients": [{"name": "a", "paths": ["/x"], "claim_headers": {"sub": "X-Request-Id"}, "verifier": {"issuers": []}}]}"#,
            "cannot carry a claim",
        ),
        (
            r#"{"clients": [{"name": "a", "paths": ["/x"], "claim_headers": {"/a~2": "X-A"}, "verifier": {"issuers": []}}]}"#,
            "claim_headers: \"/a~2\"",
        ),
        (
            r#"{"clients": [{"name": "a", "paths": ["/auth/:orders"], "verifier": {"issuers": []}}]}"#,
            "no segment may start with :",
        ),
        (
            r#"{"clients": [{"name": "a", "paths": ["/x"], "required_scopes": ["read write"], "verifier": {"issuers": []}}]}"#,
            "is not one scope",
        ),
        (
            r#"{"clients": [], "original_request": "x-real"}"#,
            "unknown variant `x-real`",
        ),
        (
            r#"{"clients": [{"name": "a", "paths": ["/x"], "verifier": {"issuers": []}}]}"#,
            "at least one issuer",
        ),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("bad.json");
        std::fs::write(&path, text).unwrap();
        let out = run(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {stderr}");
        assert!(stderr.contains(expected), "{text}: {stderr}");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The example nginx.conf with this test's ports, temp paths and logs.
fn nginx_config(dir: &Path, sidecar: &str, front: u16, app: u16) -> PathBuf {
    let example = std::fs::read_to_string(examples().join("nginx.conf")).unwrap();
    let temp = dir.display();
    let conf = example
        .replace("127.0.0.1:9090", sidecar.trim_start_matches("http://"))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{front}"))
        .replace("127.0.0.1:8081", &format!("127.0.0.1:{app}"))
        .replacen(
            "http {",
            &format!(
                "http {{\n    access_log off;\n    client_body_temp_path {temp}/body;\n    proxy_temp_path {temp}/proxy;\n    \
                 fastcgi_temp_path {temp}/fastcgi;\n    uwsgi_temp_path {temp}/uwsgi;\n    scgi_temp_path {temp}/scgi;\n"
            ),
            1,
        );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

#[test]
fn behind_a_real_nginx() {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(nginx) = nginx else {
        assert!(
            std::env::var_os("VERITOKEN_REQUIRE_NGINX").is_none(),
            "nginx is required but not installed"
        );
        eprintln!("SKIPPED: nginx is not installed (make test installs it)");
        return;
    };
    let mut idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config_with(dir.path(), &idp, |c| {
        c["clients"][0]["verifier"]["dpop"] = json!({"mode": "allowed"});
    });
    let (_sidecar, sidecar) = start_sidecar(&config);
    let (front, app) = (free_port(), free_port());
    let conf = nginx_config(dir.path(), &sidecar, front, app);
    let prefix = format!("{}/", dir.path().display());
    // One process: a SIGKILL (Running's drop) then leaves no orphaned worker behind,
    // holding the ports and every descriptor the test inherited.
    let globals = format!(
        "daemon off; master_process off; pid {}/nginx.pid; error_log {}/error.log;",
        dir.path().display(),
        dir.path().display()
    );
    let _nginx = Running(
        Command::new(nginx)
            .args(["-p", &prefix, "-c", conf.to_str().unwrap(), "-g", &globals])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, &sidecar);
    let url = format!("http://127.0.0.1:{front}/api/orders");
    let mut up = false;
    for _ in 0..100 {
        if http.get(&url).send().is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = || std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
    assert!(up, "nginx did not start: {}", log());

    let good = token(&idp, "orders:read", 300, json!({}));
    let r = http.get(&url).bearer_auth(&good).send().unwrap();
    assert_eq!(r.status(), 200, "{}", log());
    assert_eq!(
        r.text().unwrap(),
        "subject=test-client scope=orders:read\n",
        "the upstream sees the claim headers"
    );

    let expired = http
        .get(&url)
        .bearer_auth(token(&idp, "orders:read", -10, json!({})))
        .send()
        .unwrap();
    assert_eq!(expired.status(), 401);
    assert!(expired.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    assert_eq!(http.get(&url).send().unwrap().status(), 401);
    assert_eq!(
        http.get(&url)
            .bearer_auth(token(&idp, "profile", 300, json!({})))
            .send()
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        http.get(format!("{url}?access_token={good}"))
            .send()
            .unwrap()
            .status(),
        200,
        "query token via X-Original-URI"
    );

    // DPoP through nginx: the proof names the URL the client called, which nginx passes.
    let bound = idp.token(&TokenRequest {
        scope: Some("orders:read".into()),
        dpop_jkt: Some(idp.dpop_jkt()),
        ..Default::default()
    });
    let proof = idp.dpop_proof(&ProofRequest {
        htm: "GET".into(),
        htu: url.clone(),
        access_token: Some(bound.clone()),
        ..Default::default()
    });
    let dpop = |proof: &str| {
        http.get(&url)
            .header("Authorization", format!("DPoP {bound}"))
            .header("DPoP", proof)
            .send()
            .unwrap()
    };
    assert_eq!(dpop(&proof).status(), 200, "{}", log());
    let replayed = dpop(&proof);
    assert_eq!(replayed.status(), 401);
    assert!(replayed.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("DPoP realm=\"orders\", error=\"invalid_dpop_proof\""));

    idp.stop();
    std::thread::sleep(Duration::from_millis(1500));
    let stale = http.get(&url).bearer_auth(&good).send().unwrap();
    assert_eq!(
        stale.status(),
        200,
        "IdP down after warm-up: still served on cached keys"
    );
}

/// Sends `request` on a fresh connection and reads the answer until the sidecar closes it
/// (or 5 s pass): status, headers and body as text.
fn raw(addr: &str, request: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // The sidecar may answer and close before it has read everything.
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// The JSON body of a raw answer.
fn raw_body(answer: &str) -> Value {
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

#[test]
fn oversize_requests_get_a_code_and_the_defaults_agree() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    // The defaults: no max_header_bytes, the engine's default max_token_size (16384).
    let path = write_config_with(dir.path(), &idp, |config| {
        config.as_object_mut().unwrap().remove("max_header_bytes");
    });
    let (_sidecar, base) = start_sidecar(&path);
    let addr = base.trim_start_matches("http://").to_owned();
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, &base);
    let auth = format!("{base}/auth/orders");

    // A valid token just under the engine's 16,384-byte limit passes the sidecar too.
    let mut padding: i64 = 11_000;
    let big = loop {
        let t = token(
            &idp,
            "orders:read",
            300,
            json!({"pad": "x".repeat(padding as usize)}),
        );
        if (16_300..=16_384).contains(&t.len()) {
            break t;
        }
        // base64url: 4 characters per 3 bytes of payload.
        padding += (16_340 - t.len() as i64) * 3 / 4;
    };
    assert!(big.len() <= 16_384, "{}", big.len());
    let r = http.get(&auth).bearer_auth(&big).send().unwrap();
    assert_eq!(r.status(), 200, "a {}-byte token", big.len());

    // Past the limits, in the handler (20 KB) or in the HTTP layer (1 MiB, or more header
    // lines than allowed): 401 token_malformed with the JSON body and a challenge.
    for size in [20_000, 1 << 20] {
        let request = format!(
            "GET /auth/orders HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
            "a".repeat(size)
        );
        let answer = raw(&addr, request.as_bytes());
        assert!(answer.starts_with("HTTP/1.1 401 "), "{size}: {answer:.200}");
        assert!(answer.contains("www-authenticate: Bearer"), "{answer:.400}");
        assert_eq!(raw_body(&answer)["error"]["code"], "token_malformed");
    }
    let many: String = (0..1500).map(|i| format!("x-h{i}: 1\r\n")).collect();
    let answer = raw(
        &addr,
        format!("GET /auth/orders HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes(),
    );
    assert!(answer.starts_with("HTTP/1.1 401 "), "{answer:.200}");
    assert_eq!(raw_body(&answer)["error"]["code"], "token_malformed");
}

#[test]
fn many_small_headers_are_not_refused() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let (_sidecar, base) = start_sidecar(&write_config(dir.path(), &idp));
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, &base);
    let good = token(&idp, "orders:read", 300, json!({}));
    let mut request = http.get(format!("{base}/auth/orders")).bearer_auth(&good);
    // 150 headers (hyper's default allowed 100): well inside max_header_bytes.
    for i in 0..150 {
        request = request.header(format!("x-h{i}"), "1");
    }
    assert_eq!(request.send().unwrap().status(), 200);
}

#[test]
fn refusals_before_the_handler_have_a_body_a_log_line_and_a_count() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let (_sidecar, base) = start_sidecar(&write_config(dir.path(), &idp));
    let addr = base.trim_start_matches("http://").to_owned();
    let cases: [(&[u8], &str, &str); 4] = [
        (b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "404", "not_found"),
        (b"POST /auth/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", "405", "method_not_allowed"),
        (b"GET /auth/orders HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", "400", "bad_request"),
        (b"\x01\x02 nonsense\r\n\r\n", "400", "bad_request"),
    ];
    for (request, status, code) in cases {
        let answer = raw(&addr, request);
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status} ")),
            "{answer}"
        );
        assert!(
            answer.contains("content-type: application/json"),
            "{answer}"
        );
        assert_eq!(raw_body(&answer)["error"]["code"], code, "{answer}");
        assert!(
            answer.contains(&format!("x-veritoken-code: {code}\r\n")),
            "every rejection names its code: {answer}"
        );
    }
    let metrics = reqwest::blocking::get(format!("{base}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    for code in ["not_found", "method_not_allowed", "bad_request"] {
        let line =
            format!("veritoken_requests_total{{client=\"-\",verdict=\"deny\",code=\"{code}\"}}");
        assert!(metrics.contains(&line), "missing {line} in\n{metrics}");
    }
}

/// A rejection names its code in `x-veritoken-code`; with `error_body = false` it has no
/// body (nginx `auth_request` then keeps its connection to the sidecar open).
#[test]
fn error_bodies_can_be_left_out() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::blocking::Client::new();
    for body in [true, false] {
        let path = write_config_with(dir.path(), &idp, |config| {
            config["error_body"] = json!(body);
        });
        let (_sidecar, base) = start_sidecar(&path);
        wait_ready(&http, &base);
        let denied = http.get(format!("{base}/auth/orders")).send().unwrap();
        assert_eq!(denied.status(), 401);
        assert_eq!(denied.headers()["x-veritoken-code"], "token_missing");
        assert!(denied.headers().contains_key("www-authenticate"));
        let text = denied.text().unwrap();
        match body {
            true => assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap()["error"]["code"],
                "token_missing"
            ),
            false => assert_eq!(text, ""),
        }
        let ok = authorized(&http, &base, &idp);
        assert_eq!(ok.status(), 200);
        assert!(!ok.headers().contains_key("x-veritoken-code"));
    }
}

/// `access_log` (default on): one "auth request" line per answer, refusals included; off,
/// none, and the answers and metrics are unchanged.
#[test]
fn access_log_lines_can_be_turned_off() {
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    for on in [true, false] {
        let path = write_config_with(dir.path(), &idp, |config| {
            if !on {
                config["access_log"] = json!(false);
            }
        });
        let log = dir.path().join(format!("stderr-{on}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let (sidecar, base) = start_sidecar_logging(&path, file.into());
        let http = reqwest::blocking::Client::new();
        wait_ready(&http, &base);
        let denied = http.get(format!("{base}/auth/orders")).send().unwrap();
        assert_eq!(denied.status(), 401);
        let addr = base.trim_start_matches("http://");
        let refused = raw(
            addr,
            b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        assert!(refused.starts_with("HTTP/1.1 404 "), "{refused}");
        let metrics = metrics_text(&http, &base);
        assert!(metrics.contains(r#"code="token_missing""#), "{metrics}");
        drop(sidecar);
        let text = std::fs::read_to_string(&log).unwrap();
        let lines = text.lines().filter(|l| l.contains("auth request")).count();
        assert_eq!(lines, if on { 2 } else { 0 }, "access_log {on}:\n{text}");
    }
}

/// The sidecar's resident memory in KiB, from /proc.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn unfinished_huge_headers_leave_memory_nearly_flat() {
    use std::io::Write;
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let path = write_config_with(dir.path(), &idp, |config| {
        config["header_read_timeout_ms"] = json!(20_000);
    });
    let (sidecar, base) = start_sidecar(&path);
    let addr = base.trim_start_matches("http://").to_owned();
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, &base);
    let before = rss_kib(sidecar.0.id());
    // 400 connections each sending ~300 KB of headers that never end (before: hyper kept
    // up to ~400 KB per connection until the header timeout; ~150 MiB for 500).
    let chunk = format!("x-pad: {}\r\n", "p".repeat(1000));
    let mut held = Vec::new();
    for _ in 0..400 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_write_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let _ = s.write_all(b"GET /auth/orders HTTP/1.1\r\nHost: x\r\n");
        for _ in 0..300 {
            if s.write_all(chunk.as_bytes()).is_err() {
                break; // refused and closed once past the limit
            }
        }
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = rss_kib(sidecar.0.id());
    let grown = after.saturating_sub(before);
    eprintln!("RSS {before} KiB -> {after} KiB (+{grown} KiB) with 400 connections");
    assert!(grown < 40 * 1024, "RSS grew by {grown} KiB");
    assert_eq!(
        http.get(format!("{base}/healthz")).send().unwrap().status(),
        200
    );
    drop(held);
}

#[test]
fn raises_the_open_file_limit() {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &idp);
    let mut command = Command::new(env!("CARGO_BIN_EXE_veritoken"));
    command
        .args(["serve", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            limit.rlim_cur = 256.min(limit.rlim_max);
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let sidecar = Running(child);
    let pid = sidecar.0.id();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    let addr = base.trim_start_matches("http://").to_owned();
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>();
    assert_eq!(
        open_files[3], open_files[4],
        "soft limit raised to the hard one: {limits}"
    );
    // 400 idle connections, more than the soft limit the sidecar was started with.
    let mut idle = Vec::new();
    for _ in 0..400 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        idle.push(s);
    }
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    wait_ready(&http, &base);
    assert_eq!(authorized(&http, &base, &idp).status(), 200);
    drop(sidecar);
    let mut log = String::new();
    let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut log);
    assert!(log.contains("open-file limit raised"), "{log}");
    drop(idle);
}

#[test]
fn sigterm_answers_requests_on_idle_keep_alive_connections() {
    use std::io::{Read, Write};
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let (mut sidecar, base) = start_sidecar(&write_config(dir.path(), &idp));
    let addr = base.trim_start_matches("http://").to_owned();
    let http = reqwest::blocking::Client::new();
    wait_ready(&http, &base);
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    // 32 keep-alive connections, each answered once and then idle.
    let mut connections = Vec::new();
    for _ in 0..32 {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(request).unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
        connections.push(s);
    }
    // SAFETY: signalling the child we spawned.
    unsafe { libc_kill(sidecar.0.id() as i32, 15) };
    std::thread::sleep(Duration::from_millis(200));
    // Requests queued right after the signal are answered (and the connection closed),
    // not reset.
    for s in &mut connections {
        s.write_all(request).unwrap();
    }
    for (i, s) in connections.iter_mut().enumerate() {
        let mut answer = Vec::new();
        let read = s.read_to_end(&mut answer);
        assert!(read.is_ok(), "connection {i}: {read:?}");
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "connection {i}: {answer:?}"
        );
        assert!(answer.contains("connection: close"), "{answer}");
    }
    assert!(sidecar.0.wait().unwrap().success());
}
