//! The `veritoken` binary end to end, on cases from the shared vectors.

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn case(file: &str, name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors")
        .join(file);
    let doc: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()
        .clone()
}

fn veritoken(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_veritoken"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.unwrap_or("").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stdout_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Writes the case's JWKS to `dir/jwks.json`.
fn write_jwks(dir: &Path, case: &Value) -> PathBuf {
    let path = dir.join("jwks.json");
    std::fs::write(
        &path,
        case["config"]["issuers"][0]["keys"][0]["jwks"].to_string(),
    )
    .unwrap();
    path
}

struct Setup {
    _dir: tempfile::TempDir,
    jwks: String,
    token: String,
    now: String,
    claims: Value,
}

fn rs256() -> Setup {
    let c = case("algorithms.json", "rs256_valid");
    let dir = tempfile::tempdir().unwrap();
    let jwks = write_jwks(dir.path(), &c).to_string_lossy().into_owned();
    Setup {
        _dir: dir,
        jwks,
        token: c["token"].as_str().unwrap().to_owned(),
        now: c["now"].to_string(),
        claims: c["expect"]["claims"].clone(),
    }
}

fn flags<'a>(s: &'a Setup, token: &'a str) -> Vec<&'a str> {
    vec![
        "verify",
        "--jwks",
        &s.jwks,
        "--issuer",
        "https://idp.example.com/",
        "--audience",
        "api://default",
        "--algorithms",
        "RS256,ES256",
        "--now",
        &s.now,
        token,
    ]
}

#[test]
fn verify_accepts_and_prints_claims() {
    let s = rs256();
    let out = veritoken(&flags(&s, &s.token), None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout_json(&out), s.claims);
}

#[test]
fn verify_reads_the_token_from_stdin() {
    let s = rs256();
    let out = veritoken(&flags(&s, "-"), Some(&format!("{}\n", s.token)));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_json(&out)["sub"], "user-123");
}

#[test]
fn verify_rejects_with_code_and_exit_1() {
    let s = rs256();
    let mut args = flags(&s, &s.token);
    let later = "1893456000";
    let pos = args.iter().position(|a| *a == s.now.as_str()).unwrap();
    args[pos] = later;
    let out = veritoken(&args, None);
    assert_eq!(out.status.code(), Some(1));
    let body = stdout_json(&out);
    assert_eq!(body["error"]["code"], "token_expired");
    assert_eq!(body["error"]["claim"], "exp");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expired"));
}

#[test]
fn verify_checks_scopes() {
    let s = rs256();
    let mut args = flags(&s, &s.token);
    args.splice(1..1, ["--scope", "read", "--scope", "admin"]);
    let out = veritoken(&args, None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["error"]["code"], "scope_insufficient");
    args.splice(1..1, ["--any-scope"]);
    assert_eq!(veritoken(&args, None).status.code(), Some(0));
}

#[test]
fn verify_with_a_config_file() {
    let c = case("claims.json", "claims_valid");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("veritoken.json");
    std::fs::write(&path, c["config"].to_string()).unwrap();
    let out = veritoken(
        &[
            "verify",
            "--config",
            path.to_str().unwrap(),
            "--now",
            &c["now"].to_string(),
            c["token"].as_str().unwrap(),
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // --leeway overrides the file: with exp 3600 s in the past and 1 h + 1 s leeway it passes.
    let later = (c["now"].as_i64().unwrap() + 3600 + 3600).to_string();
    let args = [
        "verify",
        "--config",
        path.to_str().unwrap(),
        "--now",
        &later,
        c["token"].as_str().unwrap(),
    ];
    assert_eq!(veritoken(&args, None).status.code(), Some(1));
    let mut lenient = args.to_vec();
    lenient.splice(1..1, ["--leeway", "3601"]);
    assert_eq!(veritoken(&lenient, None).status.code(), Some(0));
}

#[test]
fn usage_and_config_errors_exit_2() {
    let s = rs256();
    let missing_algs = [
        "verify",
        "--jwks",
        &s.jwks,
        "--issuer",
        "x",
        "--audience",
        "y",
        &s.token,
    ];
    let out = veritoken(&missing_algs, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--algorithms is required"));

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "leeway = 1\nissuers = []\nsurprise = true\n").unwrap();
    let out = veritoken(
        &["verify", "--config", bad.to_str().unwrap(), &s.token],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("surprise"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = veritoken(
        &[
            "verify",
            "--config",
            bad.to_str().unwrap(),
            "--issuer",
            "x",
            &s.token,
        ],
        None,
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "flags that conflict with --config"
    );

    let out = veritoken(
        &[
            "verify",
            "--jwks",
            "/nonexistent.json",
            "--issuer",
            "x",
            "--audience",
            "y",
            "--algorithms",
            "RS256",
            &s.token,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.json"));

    let out = veritoken(
        &[
            "verify",
            "--jwks",
            &s.jwks,
            "--issuer",
            "x",
            "--audience",
            "y",
            "--algorithms",
            "none",
            &s.token,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn inspect_shows_unverified_contents() {
    let s = rs256();
    let out = veritoken(&["inspect", "--now", &s.now, &s.token], None);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("UNVERIFIED"), "{text}");
    assert!(text.contains("\"sub\": \"user-123\""));
    assert!(text.contains("2026-01-01T01:00:00Z (in 1h)"), "{text}");
    assert!(text.contains("(1m ago)"), "{text}");

    let out = veritoken(&["inspect", "--json", "--now", &s.now, "-"], Some(&s.token));
    let v = stdout_json(&out);
    assert_eq!(v["verified"], false);
    assert_eq!(v["header"]["alg"], "RS256");
    assert_eq!(v["claims"], s.claims);

    let out = veritoken(&["inspect", "not-a-token"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["error"]["code"], "token_malformed");
}

/// `verify --dpop-proof --method --url` on DPoP vectors: the proof is checked against the
/// given method and URL, and a token presented as bearer without its proof is refused.
#[test]
fn verify_checks_a_dpop_proof() {
    let run = |name: &str, method: Option<&str>| {
        let c = case("dpop.json", name);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("veritoken.json");
        std::fs::write(&path, c["config"].to_string()).unwrap();
        let header = |n: &str| {
            c["request"]["headers"]
                .as_array()
                .unwrap()
                .iter()
                .find(|h| h[0] == n)
                .and_then(|h| h[1].as_str())
                .unwrap()
                .to_owned()
        };
        let token = header("Authorization")
            .trim_start_matches("DPoP ")
            .to_owned();
        let (proof, url, now) = (
            header("DPoP"),
            c["request"]["url"].clone(),
            c["now"].to_string(),
        );
        let mut args = vec!["verify", "--config", path.to_str().unwrap(), "--now", &now];
        let method = method.unwrap_or("GET");
        if !proof.is_empty() {
            args.extend(["--dpop-proof", &proof, "--method", method]);
            args.extend(["--url", url.as_str().unwrap()]);
        }
        args.push(&token);
        let out = veritoken(&args, None);
        (out.status.code(), stdout_json(&out))
    };
    let (code, claims) = run("dpop_valid_es256", None);
    assert_eq!(code, Some(0), "{claims}");
    assert_eq!(claims["sub"], "user-123");
    let (code, body) = run("dpop_valid_es256", Some("POST"));
    assert_eq!(code, Some(1));
    assert_eq!(body["error"]["code"], "dpop_invalid");
    assert_eq!(body["error"]["claim"], "htm");
    let (code, body) = run("dpop_proof_ath_mismatch", None);
    assert_eq!(
        (code, body["error"]["claim"].as_str()),
        (Some(1), Some("ath"))
    );
    // --method without --dpop-proof is a usage error.
    let out = veritoken(&["verify", "--method", "GET", "a.b.c"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn unreachable_keys_under_wait_at_startup_are_a_key_fetch_failure() {
    // Nothing listens on port 9 of loopback: the first fetch fails at once.
    let config = serde_json::json!({"issuers": [{
        "issuer": "https://idp.example.com/", "audiences": ["a"], "algorithms": ["RS256"],
        "jwks_uri": "http://127.0.0.1:9/jwks",
        "jwks_cache": {"wait_at_startup": true, "timeout_ms": 1000}}]});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("veritoken.json");
    std::fs::write(&path, config.to_string()).unwrap();
    let out = veritoken(
        &["verify", "--config", path.to_str().unwrap(), "a.b.c"],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("key fetch failed (jwks_unavailable)"),
        "{stderr}"
    );
    assert!(!stderr.contains("invalid configuration"), "{stderr}");
}

#[test]
fn a_static_jwks_with_an_unusable_key_works_and_says_what_was_skipped() {
    let c = case("keys.json", "keys_static_jwks_skips_unusable_key");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("veritoken.json");
    std::fs::write(&path, c["config"].to_string()).unwrap();
    let out = veritoken(
        &[
            "verify",
            "--config",
            path.to_str().unwrap(),
            "--now",
            &c["now"].to_string(),
            c["token"].as_str().unwrap(),
        ],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("JWKS key skipped")
            && stderr.contains("(kid \"weak\"): RSA key of 1024 bits"),
        "{stderr}"
    );
    assert!(stderr.contains("\"kty\" is missing"), "{stderr}");
}

/// `serve --check` on the same key set: the configuration is valid and the log says what
/// was skipped and why (the sidecar's verifiers are built, then it exits).
#[test]
fn serve_check_says_which_static_keys_were_skipped() {
    let c = case("keys.json", "keys_static_jwks_skips_unusable_key");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("serve.json");
    let config = serde_json::json!({"listen": "127.0.0.1:0",
        "clients": [{"name": "api", "paths": ["/auth"], "verifier": c["config"]}]});
    std::fs::write(&path, config.to_string()).unwrap();
    let out = veritoken(
        &["serve", "--check", "--config", path.to_str().unwrap()],
        None,
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("configuration OK"), "{stdout}");
    assert!(
        stderr.contains("JWKS key skipped") && stderr.contains("RSA key of 1024 bits"),
        "{stderr}"
    );
}

#[test]
fn bad_toml_is_reported_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("veritoken.toml");
    std::fs::write(&path, "leeway = 1\n[[issuers]]\nissuer = \n").unwrap();
    let out = veritoken(
        &["verify", "--config", path.to_str().unwrap(), "a.b.c"],
        None,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid TOML at line 3, column"),
        "{stderr}"
    );
}

/// Runs `veritoken` with its standard output closed before it writes (the reader of
/// `veritoken … | head -1` gone): the token comes on standard input, sent only after the
/// read end of the output pipe is dropped, so each write meets a broken pipe.
/// With `stderr_too`, standard error is closed the same way.
fn veritoken_unread(args: &[&str], stdin: &str, stderr_too: bool) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_veritoken"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    if stderr_too {
        drop(child.stderr.take());
    }
    let mut input = child.stdin.take().unwrap();
    // A command that fails before reading (a bad configuration) may be gone already.
    let _ = input.write_all(stdin.as_bytes());
    drop(input);
    child.wait_with_output().unwrap()
}

/// A closed output pipe is a quiet exit with the verdict's status, not a panic (101).
#[test]
fn a_reader_that_goes_away_is_a_quiet_exit_with_the_verdicts_status() {
    let s = rs256();
    let later = "1893456000";
    let mut rejected = flags(&s, "-");
    let pos = rejected.iter().position(|a| *a == s.now.as_str()).unwrap();
    rejected[pos] = later;
    let runs: [(Vec<&str>, i32); 5] = [
        (flags(&s, "-"), 0),
        (rejected, 1),
        (vec!["inspect", "--now", &s.now, "-"], 0),
        (vec!["inspect", "--json", "--now", &s.now, "-"], 0),
        (vec!["inspect", "-"], 1),
    ];
    for (args, status) in runs {
        let token = if status == 1 && args[0] == "inspect" {
            "not-a-token"
        } else {
            &s.token
        };
        let out = veritoken_unread(&args, token, false);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(status), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// Diagnostics that standard error does not take are dropped, not a panic: the warnings of
/// a key set with skipped keys, and the message of a bad configuration (still exit 2).
#[test]
fn a_closed_standard_error_is_no_panic() {
    let c = case("keys.json", "keys_static_jwks_skips_unusable_key");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("veritoken.json");
    std::fs::write(&path, c["config"].to_string()).unwrap();
    let now = c["now"].to_string();
    let args = [
        "verify",
        "--config",
        path.to_str().unwrap(),
        "--now",
        &now,
        "-",
    ];
    let out = veritoken_unread(&args, c["token"].as_str().unwrap(), true);
    assert_eq!(out.status.code(), Some(0));

    let s = rs256();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "issuers = []\nsurprise = true\n").unwrap();
    let out = veritoken_unread(
        &["verify", "--config", bad.to_str().unwrap(), "-"],
        &s.token,
        true,
    );
    assert_eq!(out.status.code(), Some(2));
}

/// `--now` at the ends of its range shows the times (saturated), not a subtraction
/// overflow panic.
#[test]
fn inspect_takes_any_now() {
    let s = rs256();
    for now in [i64::MIN, i64::MAX, -1] {
        for json in [false, true] {
            let now = format!("--now={now}");
            let mut args = vec!["inspect", &now, &s.token];
            if json {
                args.insert(1, "--json");
            }
            let out = veritoken(&args, None);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("2026-01-01T01:00:00Z ("), "{args:?}: {text}");
        }
    }
}

/// C1 controls (U+0080..U+009F: U+009B is an 8-bit CSI that terminals obey) and DEL in a
/// token's header and claims are printed as JSON escapes, the same JSON, in both outputs.
#[test]
fn inspect_escapes_c1_controls() {
    use base64::Engine as _;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = serde_json::json!({"alg": "HS256", "kid": "k\u{9b}1"});
    let claims = serde_json::json!({"sub": "\u{9b}31mred\u{9b}0m", "name": "del\u{7f}\u{80}", "ok": "caf\u{e9} \u{a0}"});
    let token = format!("{}.{}.c2ln", b64(header.clone()), b64(claims.clone()));
    let text = veritoken(&["inspect", &token], None);
    let json = veritoken(&["inspect", "--json", &token], None);
    for out in [&text, &json] {
        assert_eq!(out.status.code(), Some(0));
        let stdout = String::from_utf8(out.stdout.clone()).unwrap();
        assert!(
            !stdout.contains(|c: char| c.is_control() && c != '\n'),
            "{stdout:?}"
        );
        assert!(stdout.contains(r"\u009b31mred\u009b0m"), "{stdout}");
        assert!(stdout.contains(r"del\u007f\u0080"), "{stdout}");
        assert!(stdout.contains("caf\u{e9} \u{a0}"), "{stdout}");
    }
    let v = stdout_json(&json);
    assert_eq!((&v["header"], &v["claims"]), (&header, &claims));
}
