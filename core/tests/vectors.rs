//! Runs every shared conformance case in `tests/vectors/*.json` (the same files every
//! binding runs), and cross-checks the signature verdicts against `jsonwebtoken`.

use serde_json::Value;
use std::path::PathBuf;
use veritoken::{Config, Error, ErrorCode, Requirement, ScopeMatch, SimpleRequest, Verifier};

fn vector_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

fn cases() -> Vec<Value> {
    vector_files()
        .iter()
        .flat_map(|f| {
            let doc: Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
            doc["cases"].as_array().unwrap().clone()
        })
        .collect()
}

fn request(case: &Value) -> SimpleRequest {
    let r = &case["request"];
    SimpleRequest {
        headers: r["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h[0].as_str().unwrap().to_owned(),
                    h[1].as_str().unwrap().to_owned(),
                )
            })
            .collect(),
        query: r["query"].as_str().map(str::to_owned),
        method: r["method"].as_str().map(str::to_owned),
        url: r["url"].as_str().map(str::to_owned),
    }
}

/// The engine's verdict for one case: the claims (`null` for an anonymous request on an
/// optional route), or the error. The route requirement is built with the verifier, so a
/// bad one is `config_invalid` before any token is looked at.
fn run(case: &Value) -> Result<Value, Error> {
    let verifier = Verifier::new(Config::from_value(case["config"].clone())?)?;
    let requirement = match case.get("require") {
        Some(req) => Some(Requirement::from_value(req.clone())?),
        None => None,
    };
    let now = case["now"].as_i64().unwrap();
    let verified = match case["token"].as_str() {
        Some(token) => verifier.verify_at(token, now)?,
        None if case["optional"] == true => {
            match verifier.verify_request_optional_at(&request(case), now)? {
                Some(verified) => verified,
                None => return Ok(Value::Null),
            }
        }
        None => verifier.verify_request_at(&request(case), now)?,
    };
    if let Some(requirement) = &requirement {
        requirement.check(&verified)?;
    }
    // The algorithm reported is the one the protected header names (and verified under).
    assert_eq!(
        verified.algorithm().map(|a| a.name()),
        verified.header().get("alg").and_then(Value::as_str),
        "{}",
        case["name"]
    );
    if let Some(req) = case.get("require_scopes") {
        let scopes: Vec<&str> = req["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let mode = ScopeMatch::from_name(req["match"].as_str().unwrap_or("all")).unwrap();
        verified.require_scopes(&scopes, mode)?;
    }
    Ok(Value::Object(verified.into_claims()))
}

#[test]
fn every_shared_vector_gives_the_expected_verdict() {
    let cases = cases();
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    let mut failures = Vec::new();
    let mut codes = std::collections::BTreeSet::new();
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let expect = &case["expect"];
        match (run(case), expect["valid"].as_bool().unwrap()) {
            (Ok(Value::Null), true) if expect["anonymous"] == true => {}
            (Ok(claims), true) if claims == expect["claims"] && expect["anonymous"] != true => {}
            (Ok(claims), true) => failures.push(format!("{name}: claims differ: {claims}")),
            (Ok(_), false) => {
                failures.push(format!("{name}: accepted, expected {}", expect["error"]))
            }
            (Err(e), true) => failures.push(format!("{name}: rejected with {e}")),
            (Err(e), false) => {
                codes.insert(e.code().as_str());
                if e.code().as_str() != expect["error"] {
                    failures.push(format!("{name}: got {e}, expected {}", expect["error"]));
                } else if let Some(claim) = expect["claim"].as_str() {
                    if e.claim() != Some(claim) {
                        failures.push(format!("{name}: claim {:?}, expected {claim}", e.claim()));
                    }
                }
            }
        }
    }
    eprintln!(
        "{} vectors run, {} error codes exercised: {:?}",
        cases.len(),
        codes.len(),
        codes
    );
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every code this engine can raise without a network (docs/design.md §5 minus JWKS, introspection,
/// the replay store and internal) is reached by at least one vector; a new code must bring its vectors.
#[test]
fn vectors_cover_every_static_error_code() {
    let expected: std::collections::BTreeSet<String> = cases()
        .iter()
        .filter_map(|c| c["expect"]["error"].as_str().map(str::to_owned))
        .collect();
    // Codes that need a network (JWKS, introspection, a Redis replay store) or a bug;
    // core/tests/remote.rs, introspection.rs and redis_replay.rs reach them.
    let later = [
        ErrorCode::TokenInactive,
        ErrorCode::JwksUnavailable,
        ErrorCode::IntrospectionUnavailable,
        ErrorCode::Internal,
        ErrorCode::ReplayStoreUnavailable,
    ];
    for code in ErrorCode::ALL.iter().filter(|c| !later.contains(c)) {
        assert!(expected.contains(code.as_str()), "no vector expects {code}");
    }
}

/// Differential reference: where `jsonwebtoken` can express the case (one JWKS key source,
/// an algorithm it has), its signature verdict must match ours for signature-level outcomes.
#[test]
fn signature_verdicts_agree_with_jsonwebtoken() {
    use jsonwebtoken::{decode, jwk::Jwk, Algorithm as JAlg, DecodingKey, Validation};
    let mut compared = 0;
    for case in cases() {
        let Some(token) = case["token"].as_str() else {
            continue;
        };
        let issuers = case["config"]["issuers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let [issuer] = issuers.as_slice() else {
            continue;
        };
        let Some(keys) = issuer["keys"][0]["jwks"]["keys"].as_array() else {
            continue;
        };
        let expect = &case["expect"];
        let ours_valid = expect["valid"] == true;
        let signature_case = ours_valid || expect["error"] == "signature_invalid";
        if !signature_case || case.get("request").is_some() {
            continue;
        }
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            continue;
        };
        let kid = header.kid.clone();
        let Some(jwk) = keys
            .iter()
            .find(|k| kid.is_none() || k["kid"].as_str() == kid.as_deref())
        else {
            continue;
        };
        let Ok(jwk) = serde_json::from_value::<Jwk>(jwk.clone()) else {
            continue;
        };
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            continue;
        };
        if header.alg == JAlg::EdDSA && jwk.common.key_algorithm.is_some() {
            continue;
        }
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let theirs_valid = decode::<Value>(token, &key, &validation).is_ok();
        assert_eq!(
            ours_valid, theirs_valid,
            "{}: veritoken {ours_valid}, jsonwebtoken {theirs_valid}",
            case["name"]
        );
        compared += 1;
    }
    eprintln!("{compared} signature verdicts compared with jsonwebtoken");
    assert!(compared >= 40, "only {compared} cases compared");
}

/// Random mutations of every valid vector token (flips, deletions, insertions, truncations,
/// extra dots) must never panic, and every mutant that differs from the original must be
/// rejected with a code, or be accepted only when it still decodes to the same JWS.
#[test]
fn mutated_tokens_never_panic_and_never_pass_changed() {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let (mut tried, mut accepted_unchanged) = (0, 0);
    for case in cases() {
        if case["expect"]["valid"] != true || case.get("require_scopes").is_some() {
            continue;
        }
        let Some(token) = case["token"].as_str() else {
            continue;
        };
        let verifier = Verifier::new(Config::from_value(case["config"].clone()).unwrap()).unwrap();
        let now = case["now"].as_i64().unwrap();
        for _ in 0..200 {
            let mut bytes = token.as_bytes().to_vec();
            let at = next(bytes.len());
            match next(5) {
                0 => bytes[at] = b"AZaz09-_.=+/ \x00\xff"[next(15)],
                1 => {
                    bytes.remove(at);
                }
                2 => bytes.insert(at, b"A._=\n"[next(5)]),
                3 => bytes.truncate(at),
                _ => {
                    bytes.splice(at..at, *b"..");
                }
            }
            let mutant = String::from_utf8_lossy(&bytes).into_owned();
            let attempt = || {
                verifier
                    .verify_at(&mutant, now)
                    .map(|t| t.claims_json().to_owned())
            };
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(attempt));
            let result = outcome
                .unwrap_or_else(|_| panic!("{}: verify panicked on {mutant:?}", case["name"]));
            tried += 1;
            if result.is_ok() {
                assert_eq!(
                    mutant, token,
                    "{}: a changed token was accepted: {mutant:?}",
                    case["name"]
                );
                accepted_unchanged += 1;
            }
        }
    }
    eprintln!("{tried} mutated tokens verified without a panic; {accepted_unchanged} mutations were no-ops");
    assert!(tried > 5_000, "{tried}");
}

/// One top-level list of a vector file other than `cases`, which must hold entries: a
/// runner that finds none would pass without checking anything.
fn section(file: &str, name: &str) -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let doc: Value = serde_json::from_slice(&std::fs::read(dir.join(file)).unwrap()).unwrap();
    let list = doc[name].as_array().cloned().unwrap_or_default();
    assert!(!list.is_empty(), "{file} has no {name:?} entries");
    list
}

/// `accessors.json`: every accessor of a verified token (where the claims verify) and of
/// the claims alone gives the expected value.
#[test]
fn accessors_give_the_shared_values() {
    use veritoken::ClaimAccessors;
    let cases = section("accessors.json", "accessors");
    let mut signed = 0;
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let expect = &case["expect"];
        let text = case["claims_json"].as_str().unwrap();
        let claims: serde_json::Map<String, Value> = serde_json::from_str(text).unwrap();
        let of_claims = serde_json::to_value(ClaimAccessors::of(&claims)).unwrap();
        assert_eq!(&of_claims, expect, "{name}: accessors of the claims");
        let json: Value =
            serde_json::from_str(&veritoken::claim_accessors_json(text).unwrap()).unwrap();
        assert_eq!(&json, expect, "{name}: claim_accessors_json");
        let Some(token) = case["token"].as_str() else {
            continue;
        };
        signed += 1;
        let verifier = Verifier::new(Config::from_value(case["config"].clone()).unwrap()).unwrap();
        let t = verifier
            .verify_at(token, case["now"].as_i64().unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let methods = serde_json::json!({
            "issuer": t.issuer(),
            "subject": t.subject(),
            "jwt_id": t.jwt_id(),
            "audiences": t.audiences(),
            "expires_at": t.expires_at(),
            "not_before": t.not_before(),
            "issued_at": t.issued_at(),
            "dpop_jkt": t.dpop_jkt(),
            "scopes": t.granted_scopes().ok(),
            "scopes_error": t.granted_scopes().err().map(|e| e.code().as_str()),
        });
        assert_eq!(&methods, expect, "{name}: the verified token's accessors");
        assert_eq!(
            serde_json::to_value(t.accessors()).unwrap(),
            *expect,
            "{name}"
        );
    }
    assert!(
        signed > 0 && signed < cases.len(),
        "{signed} of {} signed",
        cases.len()
    );
}

/// `error_codes.json` is the engine's table as it is now (`make vectors` after a change):
/// the Python and Node tests check their codes against this file.
#[test]
fn error_code_vectors_are_the_engine_table() {
    let listed = section("error_codes.json", "error_codes");
    let engine: Vec<Value> = ErrorCode::ALL
        .iter()
        .map(|c| serde_json::json!({"name": c.as_str(), "number": c.as_int(), "http_status": c.http_status()}))
        .collect();
    assert_eq!(
        listed, engine,
        "tests/vectors/error_codes.json is stale: run `make vectors`"
    );
}
