//! Two `veritoken serve` processes behind one nginx upstream (round robin), sharing a DPoP
//! replay store on a real `redis-server`: a proof used through one sidecar is refused when
//! replayed through the other. Then Redis stops: the sidecar answers 503
//! `replay_store_unavailable` (nginx turns a 503 from auth_request into 500), `/readyz` says
//! not ready, and both recover when Redis is back. Skipped, with a message, only when nginx
//! or redis-server is missing and VERITOKEN_REQUIRE_NGINX / VERITOKEN_REQUIRE_REDIS is unset.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use veritoken_testidp::redis::RedisServer;
use veritoken_testidp::{ProofRequest, TestIdp, TokenRequest};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_sidecar(config: &Path) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_veritoken"))
        .args(["serve", "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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

/// The example nginx.conf with both sidecars in its upstream, and this test's ports and paths.
fn nginx_config(dir: &Path, sidecars: &[&str], front: u16, app: u16) -> PathBuf {
    let example = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/sidecar/nginx.conf"),
    )
    .unwrap();
    let servers: Vec<String> = sidecars
        .iter()
        .map(|s| format!("server {};", s.trim_start_matches("http://")))
        .collect();
    let temp = dir.display();
    let conf = example
        .replace("server 127.0.0.1:9090;", &servers.join("\n        "))
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
    assert!(conf.contains(&servers[1]), "the example's upstream changed");
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

/// The value of the first metric line holding every one of `parts`.
fn metric(text: &str, parts: &[&str]) -> u64 {
    text.lines()
        .filter(|l| !l.starts_with('#') && parts.iter().all(|p| l.contains(p)))
        .filter_map(|l| l.rsplit(' ').next()?.parse().ok())
        .next()
        .unwrap_or(0)
}

#[test]
fn two_sidecars_behind_one_nginx_share_replay_detection() {
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
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let idp = TestIdp::start();
    let dir = tempfile::tempdir().unwrap();
    let config: Value = json!({
        "listen": "127.0.0.1:0",
        "clients": [{
            "name": "orders",
            "paths": ["/auth/orders"],
            "required_scopes": ["orders:read"],
            "claim_headers": {"sub": "X-Auth-Subject", "scope": "X-Auth-Scope"},
            "verifier": {
                "issuers": [{"issuer": idp.url(), "audiences": ["api://default"], "algorithms": ["RS256"],
                    "jwks_uri": idp.jwks_uri()}],
                "dpop": {"mode": "allowed",
                    "replay": {"store": "redis", "url": redis.url(), "key_prefix": "sidecars", "timeout_ms": 200}}
            }
        }]
    });
    let config_path = dir.path().join("serve.json");
    std::fs::write(&config_path, config.to_string()).unwrap();
    let (_a, a) = start_sidecar(&config_path);
    let (_b, b) = start_sidecar(&config_path);
    let (front, app) = (free_port(), free_port());
    let conf = nginx_config(dir.path(), &[&a, &b], front, app);
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
    let url = format!("http://127.0.0.1:{front}/api/orders");
    let up = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(50));
        http.get(&url).send().is_ok()
    });
    let log = || std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
    assert!(up, "nginx did not start: {}", log());

    let bound = idp.token(&TokenRequest {
        scope: Some("orders:read".into()),
        dpop_jkt: Some(idp.dpop_jkt()),
        ..Default::default()
    });
    let proof = || {
        idp.dpop_proof(&ProofRequest {
            htm: "GET".into(),
            htu: url.clone(),
            access_token: Some(bound.clone()),
            ..Default::default()
        })
    };
    let through_nginx = |proof: &str| {
        http.get(&url)
            .header("Authorization", format!("DPoP {bound}"))
            .header("DPoP", proof)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let scrape = |base: &str| {
        http.get(format!("{base}/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let counts = |base: &str| {
        let text = scrape(base);
        (
            metric(&text, &["veritoken_requests", "verdict=\"allow\""]),
            metric(&text, &["veritoken_requests", "code=\"dpop_invalid\""]),
        )
    };
    // Use, replay, replay: nginx alternates, so each proof is replayed to the other process
    // (and to its own); never accepted twice.
    let rounds = 6;
    for round in 0..rounds {
        let p = proof();
        assert_eq!(through_nginx(&p), 200, "round {round}: {}", log());
        assert_eq!(
            through_nginx(&p),
            401,
            "round {round}: replay to the next sidecar"
        );
        assert_eq!(through_nginx(&p), 401, "round {round}: replay");
    }
    let (ca, cb) = (counts(&a), counts(&b));
    eprintln!("sidecar a (allow, dpop_invalid) = {ca:?}, sidecar b = {cb:?}");
    assert_eq!((ca.0 + cb.0, ca.1 + cb.1), (rounds, 2 * rounds));
    assert!(
        ca.0 > 0 && cb.0 > 0 && ca.1 > 0 && cb.1 > 0,
        "both sidecars served: {ca:?} {cb:?}"
    );
    assert_eq!(redis.keys().len() as u64, rounds);
    assert!(redis.keys().iter().all(|k| k.starts_with("sidecars:jti:")));

    // Redis stops: each sidecar refuses with 503 replay_store_unavailable and is not ready.
    redis.stop();
    let direct = |base: &str, proof: &str| {
        http.get(format!("{base}/auth/orders"))
            .header("Authorization", format!("DPoP {bound}"))
            .header("DPoP", proof)
            .header("X-Original-Method", "GET")
            .header("X-Original-URL", &url)
            .send()
            .unwrap()
    };
    for base in [&a, &b] {
        let r = direct(base, &proof());
        assert_eq!(r.status(), 503);
        let body: Value = r.json().unwrap();
        assert_eq!(body["error"]["code"], "replay_store_unavailable", "{body}");
        assert_eq!(
            http.get(format!("{base}/readyz")).send().unwrap().status(),
            503
        );
        let text = scrape(base);
        assert!(
            metric(&text, &["veritoken_store_errors", "client=\"orders\""]) >= 1,
            "{text}"
        );
    }
    assert_eq!(
        through_nginx(&proof()),
        500,
        "nginx: auth_request got a 503"
    );

    redis.restart();
    for base in [&a, &b] {
        assert_eq!(
            http.get(format!("{base}/readyz")).send().unwrap().status(),
            200
        );
        assert_eq!(direct(base, &proof()).status(), 200);
    }
    assert_eq!(through_nginx(&proof()), 200);
}
