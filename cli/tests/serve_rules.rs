//! The shared rule, role and optional-auth vectors (`tests/vectors/rules.json`) through
//! `veritoken serve`: one client per case (its verifier, requirement and `optional`),
//! status, code and named claim as every language gets them. The sidecar runs on the real
//! clock, so each case's HS256 token is signed again with its dates moved to now (a
//! tampered signature is tampered again); configurations that must not build go through
//! `serve --check`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use veritoken_testidp::keys::{b64u, Signer};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn cases() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/rules.json");
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

/// A case as a sidecar client at `/auth/{i}`: the route requirement's fields under the
/// client config's names (`scopes` is `required_scopes`, `roles` `required_roles`).
fn client(i: usize, case: &Value) -> Value {
    let mut c = json!({
        "name": format!("c{i}"),
        "paths": [format!("/auth/{i}")],
        "verifier": case["config"],
        "claim_headers": {"sub": "X-Auth-Subject"},
    });
    let mut require: Map<String, Value> = case["require"].as_object().cloned().unwrap_or_default();
    if let Some(scopes) = case.get("require_scopes") {
        require.insert("scopes".into(), scopes["scopes"].clone());
        if let Some(m) = scopes.get("match") {
            require.insert("scope_match".into(), m.clone());
        }
    }
    for (k, v) in require {
        let name = match k.as_str() {
            "scopes" => "required_scopes".to_owned(),
            "roles" => "required_roles".to_owned(),
            other => other.to_owned(),
        };
        c[name] = v;
    }
    if case["optional"] == true {
        c["optional"] = true.into();
    }
    c
}

/// `token` signed again with the case's HS256 key, its dates moved by `shift` seconds.
fn resign(token: &str, case: &Value, shift: i64, keep_bad: bool) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    for name in ["iat", "nbf", "exp"] {
        if let Some(n) = payload[name].as_i64() {
            payload[name] = (n + shift).into();
        }
    }
    let k = case["config"]["issuers"][0]["keys"][0]["jwks"]["keys"][0]["k"]
        .as_str()
        .unwrap();
    let secret = B64.decode(k).unwrap();
    let input = format!("{}.{}", parts[0], b64u(payload.to_string()));
    let mut sig = Signer::Hmac(&secret).sign("HS256", input.as_bytes());
    if keep_bad {
        sig[10] ^= 1;
    }
    format!("{input}.{}", b64u(sig))
}

/// The request headers of a case, its token moved to now.
fn headers(case: &Value, shift: i64) -> Vec<(String, String)> {
    let bad_sig = case["expect"]["error"] == "signature_invalid";
    if let Some(token) = case["token"].as_str() {
        let token = resign(token, case, shift, bad_sig);
        return vec![("authorization".into(), format!("Bearer {token}"))];
    }
    case["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let (name, value) = (h[0].as_str().unwrap(), h[1].as_str().unwrap());
            let value = match value.strip_prefix("Bearer ") {
                Some(t) if t.split('.').count() == 3 => {
                    format!("Bearer {}", resign(t, case, shift, bad_sig))
                }
                _ => value.to_owned(),
            };
            (name.to_owned(), value)
        })
        .collect()
}

fn serve(config: &Path, check: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_veritoken"));
    cmd.arg("serve");
    if check {
        cmd.arg("--check");
    }
    cmd.args(["--config", config.to_str().unwrap()]);
    cmd
}

#[test]
fn rule_role_and_optional_vectors_through_the_sidecar() {
    let cases = cases();
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut failures = Vec::new();
    let (bad, good): (Vec<_>, Vec<_>) = cases
        .iter()
        .enumerate()
        .partition(|(_, c)| c["expect"]["error"] == "config_invalid");
    for (i, case) in &bad {
        let path = dir.path().join(format!("bad{i}.json"));
        let config = json!({"listen": "127.0.0.1:0", "clients": [client(*i, case)]});
        std::fs::write(&path, config.to_string()).unwrap();
        let out = serve(&path, true).output().unwrap();
        if out.status.code() != Some(2) {
            failures.push(format!("{}: config accepted", case["name"]));
        }
    }
    let clients: Vec<Value> = good.iter().map(|(i, c)| client(*i, c)).collect();
    let path = dir.path().join("serve.json");
    std::fs::write(
        &path,
        json!({"listen": "127.0.0.1:0", "clients": clients}).to_string(),
    )
    .unwrap();
    let mut child = serve(&path, false)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _running = Running(child);
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let http = reqwest::blocking::Client::new();
    for (i, case) in &good {
        let name = case["name"].as_str().unwrap();
        let shift = now - case["now"].as_i64().unwrap();
        let mut request = http.get(format!("{base}/auth/{i}"));
        for (k, v) in headers(case, shift) {
            request = request.header(k, v);
        }
        let answer = request.send().unwrap();
        let status = answer.status().as_u16();
        let subject = answer
            .headers()
            .get("x-auth-subject")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = answer.json().unwrap_or(Value::Null);
        let expect = &case["expect"];
        let got = match (expect["valid"] == true, expect["anonymous"] == true) {
            (true, true) => (status == 200 && subject.is_none()).then_some(()),
            (true, false) => (status == 200
                && subject.as_deref() == expect["claims"]["sub"].as_str())
            .then_some(()),
            (false, _) => {
                let code = expect["error"].as_str().unwrap();
                let want_status = veritoken::ErrorCode::from_name(code)
                    .unwrap()
                    .http_status()
                    .unwrap();
                (status == want_status
                    && body["error"]["code"] == code
                    && (expect.get("claim").is_none() || body["error"]["claim"] == expect["claim"]))
                    .then_some(())
            }
        };
        if got.is_none() {
            failures.push(format!(
                "{name}: {status} {body} (subject {subject:?}), expected {expect}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
