//! Writes the shared conformance vectors `tests/vectors/*.json`.
//!
//! `cargo run -p veritoken-vectorgen` regenerates them from the committed test keys;
//! `--new-keys` makes new keys first. Each case holds a full configuration, a fixed `now`,
//! a token (or a request to extract it from), and the expected claims or error code. Every
//! language runs every case and must agree. See `tests/vectors/README.md`.

use serde_json::{json, Value};
use std::path::PathBuf;
use veritoken_testidp::keys::{
    access_token_hash, b64u, dpop_proof, jwk_thumbprint, public_jwk, public_pem, Keys, Signer,
};

/// 2026-01-01T00:00:00Z, the `now` of every case.
const NOW: i64 = 1_767_225_600;
const ISS: &str = "https://idp.example.com/";
const AUD: &str = "api://default";

struct Case {
    name: String,
    description: String,
    config: Value,
    token: Option<String>,
    request: Option<Value>,
    require_scopes: Option<Value>,
    expect: Value,
}

impl Case {
    fn new(name: &str, description: &str, config: Value, token: String, expect: Value) -> Case {
        Case {
            name: name.to_owned(),
            description: description.to_owned(),
            config,
            token: Some(token),
            request: None,
            require_scopes: None,
            expect,
        }
    }

    fn to_json(&self) -> Value {
        let mut v = json!({"name": self.name, "description": self.description, "config": self.config, "now": NOW});
        if let Some(t) = &self.token {
            v["token"] = t.clone().into();
        }
        if let Some(r) = &self.request {
            v["request"] = r.clone();
        }
        if let Some(s) = &self.require_scopes {
            v["require_scopes"] = s.clone();
        }
        v["expect"] = self.expect.clone();
        v
    }
}

fn valid(claims: &Value) -> Value {
    json!({"valid": true, "claims": claims})
}

fn rejected(code: &str) -> Value {
    json!({"valid": false, "error": code})
}

fn rejected_claim(code: &str, claim: &str) -> Value {
    json!({"valid": false, "error": code, "claim": claim})
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "user-123", "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3600, "scope": "read write"})
}

/// A compact JWS over raw header and payload text (raw, so duplicates can be written).
fn jws(sign_alg: &str, signer: &Signer, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64u(header), b64u(payload));
    let sig = signer.sign(sign_alg, input.as_bytes());
    format!("{input}.{}", b64u(sig))
}

fn header(alg: &str, kid: Option<&str>) -> Value {
    let mut h = json!({"alg": alg, "typ": "JWT"});
    if let Some(kid) = kid {
        h["kid"] = kid.into();
    }
    h
}

fn jwt(alg: &str, signer: &Signer, kid: Option<&str>, claims: &Value) -> String {
    jws(
        alg,
        signer,
        &header(alg, kid).to_string(),
        &claims.to_string(),
    )
}

fn config(algorithms: &[&str], keys: Vec<Value>) -> Value {
    json!({"issuers": [{"issuer": ISS, "audiences": [AUD], "algorithms": algorithms, "keys": keys}]})
}

fn jwks(keys: Vec<Value>) -> Value {
    json!({"jwks": {"keys": keys}})
}

/// Flips one bit in the middle of the signature, keeping the encoding canonical.
fn tamper_signature(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut bytes = base64_decode(sig);
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    format!("{input}.{}", b64u(bytes))
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// Replaces the payload, keeping the original signature.
fn swap_payload(token: &str, payload: &Value) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    let encoded = b64u(payload.to_string());
    parts[1] = &encoded;
    parts.join(".")
}

fn algorithm_cases(k: &Keys) -> Vec<Case> {
    let table: Vec<(&str, Signer, Option<Signer>, &str)> = vec![
        (
            "HS256",
            Signer::Hmac(&k.hs256),
            Some(Signer::Hmac(&k.hs_b)),
            "HS384",
        ),
        (
            "HS384",
            Signer::Hmac(&k.hs384),
            Some(Signer::Hmac(&k.hs_b)),
            "HS256",
        ),
        (
            "HS512",
            Signer::Hmac(&k.hs512),
            Some(Signer::Hmac(&k.hs_b)),
            "HS256",
        ),
        (
            "RS256",
            Signer::Rsa(&k.rsa),
            Some(Signer::Rsa(&k.rsa_b)),
            "PS256",
        ),
        (
            "RS384",
            Signer::Rsa(&k.rsa),
            Some(Signer::Rsa(&k.rsa_b)),
            "RS256",
        ),
        (
            "RS512",
            Signer::Rsa(&k.rsa),
            Some(Signer::Rsa(&k.rsa_b)),
            "RS256",
        ),
        (
            "PS256",
            Signer::Rsa(&k.rsa),
            Some(Signer::Rsa(&k.rsa_b)),
            "RS256",
        ),
        (
            "PS384",
            Signer::Rsa(&k.rsa),
            Some(Signer::Rsa(&k.rsa_b)),
            "PS256",
        ),
        (
            "PS512",
            Signer::Rsa(&k.rsa),
            Some(Signer::Rsa(&k.rsa_b)),
            "PS256",
        ),
        (
            "ES256",
            Signer::Ec(&k.p256),
            Some(Signer::Ec(&k.p256_b)),
            "RS256",
        ),
        ("ES384", Signer::Ec(&k.p384), None, "ES256"),
        ("ES512", Signer::Ec(&k.p521), None, "ES256"),
        (
            "EdDSA",
            Signer::Ed(&k.ed),
            Some(Signer::Ed(&k.ed_b)),
            "ES256",
        ),
    ];
    // A key that can verify the allowed alternative, so the configuration stays valid.
    let spare_for = |alg: &str| match alg {
        "HS256" => Signer::Hmac(&k.hs_b),
        "HS384" => Signer::Hmac(&k.hs384),
        "ES256" => Signer::Ec(&k.p256_b),
        _ => Signer::Rsa(&k.rsa_b),
    };
    let mut out = Vec::new();
    for (alg, signer, other, disallowed_alternative) in &table {
        let lower = alg.to_lowercase();
        let kid = format!("k-{lower}");
        let key = public_jwk(signer, Some(&kid), None);
        let cfg = config(&[alg], vec![jwks(vec![key.clone()])]);
        let c = claims();
        let good = jwt(alg, signer, Some(&kid), &c);
        out.push(Case::new(
            &format!("{lower}_valid"),
            &format!("A well-formed {alg} token"),
            cfg.clone(),
            good.clone(),
            valid(&c),
        ));
        out.push(Case::new(
            &format!("{lower}_signature_tampered"),
            "One bit of the signature flipped",
            cfg.clone(),
            tamper_signature(&good),
            rejected("signature_invalid"),
        ));
        let mut changed = c.clone();
        changed["sub"] = "admin".into();
        out.push(Case::new(
            &format!("{lower}_payload_tampered"),
            "Payload replaced (sub changed), signature kept",
            cfg.clone(),
            swap_payload(&good, &changed),
            rejected("signature_invalid"),
        ));
        if let Some(other) = other {
            out.push(Case::new(
                &format!("{lower}_wrong_key"),
                "Signed by another key under the same kid",
                cfg.clone(),
                jwt(alg, other, Some(&kid), &c),
                rejected("signature_invalid"),
            ));
        }
        out.push(Case::new(
            &format!("{lower}_not_in_allow_list"),
            &format!("Valid {alg} token, but the allow-list names only {disallowed_alternative}"),
            config(
                &[disallowed_alternative],
                vec![
                    jwks(vec![key.clone()]),
                    jwks(vec![public_jwk(
                        &spare_for(disallowed_alternative),
                        Some("other"),
                        None,
                    )]),
                ],
            ),
            good.clone(),
            rejected("algorithm_not_allowed"),
        ));
        out.push(Case::new(
            &format!("{lower}_unknown_kid"),
            "The kid names no key in the set",
            cfg.clone(),
            jwt(alg, signer, Some("no-such-kid"), &c),
            rejected("key_not_found"),
        ));
    }
    // The same RSA signature presented under a different hash: the key supports both.
    let rsa_key = public_jwk(&Signer::Rsa(&k.rsa), Some("r"), None);
    let c = claims();
    let rs256 = jwt("RS256", &Signer::Rsa(&k.rsa), Some("r"), &c);
    let relabelled = {
        let sig = rs256.rsplit_once('.').unwrap().1;
        format!(
            "{}.{}.{sig}",
            b64u(header("RS384", Some("r")).to_string()),
            b64u(c.to_string())
        )
    };
    out.push(Case::new(
        "rs256_signature_relabelled_rs384",
        "An RS256 signature with the header changed to RS384 (both allowed)",
        config(&["RS256", "RS384"], vec![jwks(vec![rsa_key.clone()])]),
        relabelled,
        rejected("signature_invalid"),
    ));
    out.push(Case::new(
        "rs256_and_ps256_both_allowed_ps256_token",
        "One RSA key verifies PS256 when both RSA families are allowed",
        config(&["RS256", "PS256"], vec![jwks(vec![rsa_key])]),
        jwt("PS256", &Signer::Rsa(&k.rsa), Some("r"), &c),
        valid(&c),
    ));
    out
}

fn structure_cases(k: &Keys) -> Vec<Case> {
    let s = Signer::Hmac(&k.hs256);
    let cfg = config(
        &["HS256"],
        vec![jwks(vec![public_jwk(&s, Some("h"), None)])],
    );
    let c = claims();
    let hdr = header("HS256", Some("h")).to_string();
    let good = jws("HS256", &s, &hdr, &c.to_string());
    let with_header = |h: &str| jws("HS256", &s, h, &c.to_string());
    let with_payload = |p: &str| jws("HS256", &s, &hdr, p);
    let (input, sig) = good.rsplit_once('.').unwrap();
    let non_canonical_sig = {
        // 32 bytes in 43 characters leave 2 unused bits in the last one; set one.
        let mut chars: Vec<char> = sig.chars().collect();
        let last = chars.pop().unwrap();
        const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let idx = ALPHABET.find(last).unwrap();
        chars.push(ALPHABET.chars().nth(idx | 1).unwrap());
        format!("{input}.{}", chars.into_iter().collect::<String>())
    };
    let header_b64 = b64u(&hdr);
    let mut big = c.clone();
    big["padding"] = "x".repeat(600).into();
    let mut small_cfg = cfg.clone();
    small_cfg["max_token_size"] = 512.into();
    let m = "token_malformed";
    let u = "token_unsupported";
    let a = "algorithm_not_allowed";
    let raw_payload = c.to_string();
    let mut cases = vec![
        ("empty_token", "The empty string", String::new(), m),
        ("one_segment", "No dots at all", header_b64.clone(), m),
        (
            "two_segments",
            "Header and payload, no signature segment",
            input.to_owned(),
            m,
        ),
        (
            "four_segments",
            "An extra segment after the signature",
            format!("{good}.{sig}"),
            m,
        ),
        (
            "trailing_dot",
            "A fourth, empty segment",
            format!("{good}."),
            m,
        ),
        (
            "five_segments_jwe",
            "A JWE (five segments)",
            format!(
                "{}.{}.{}.{}.{}",
                b64u(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#),
                "a",
                "b",
                "c",
                "d"
            ),
            u,
        ),
        (
            "signature_padded",
            "Padding '=' after the signature",
            format!("{good}="),
            m,
        ),
        (
            "header_padded",
            "The header segment with '=' padding",
            format!("{header_b64}=.{}", good.split_once('.').unwrap().1),
            m,
        ),
        (
            "payload_standard_alphabet",
            "A '+' (standard base64) in the payload segment",
            good.replacen('.', ".+", 1),
            m,
        ),
        (
            "space_inside",
            "A space inside the payload segment",
            good.replacen('.', ". ", 1),
            m,
        ),
        (
            "trailing_newline",
            "A newline after the token",
            format!("{good}\n"),
            m,
        ),
        (
            "leading_space",
            "A space before the token",
            format!(" {good}"),
            m,
        ),
        (
            "signature_non_canonical_bits",
            "Unused trailing bits of the signature set",
            non_canonical_sig,
            m,
        ),
        (
            "header_not_json",
            "Header is not JSON",
            with_header("alg=HS256"),
            m,
        ),
        (
            "header_array",
            "Header is a JSON array",
            with_header(r#"["HS256"]"#),
            m,
        ),
        (
            "header_duplicate_alg",
            "Header names alg twice",
            with_header(r#"{"alg":"HS256","kid":"h","alg":"HS256"}"#),
            m,
        ),
        (
            "header_duplicate_via_escape",
            "Header names alg twice, once escaped",
            with_header(r#"{"alg":"HS256","kid":"h","\u0061lg":"none"}"#),
            m,
        ),
        (
            "header_missing_alg",
            "Header without alg",
            with_header(r#"{"kid":"h","typ":"JWT"}"#),
            m,
        ),
        (
            "header_alg_number",
            "alg is a number",
            with_header(r#"{"alg":256,"kid":"h"}"#),
            m,
        ),
        (
            "header_kid_number",
            "kid is a number",
            with_header(r#"{"alg":"HS256","kid":1}"#),
            m,
        ),
        (
            "header_typ_array",
            "typ is an array",
            with_header(r#"{"alg":"HS256","kid":"h","typ":["JWT"]}"#),
            m,
        ),
        (
            "alg_none_empty_signature",
            "alg none with an empty signature",
            format!("{}.{}.", b64u(r#"{"alg":"none"}"#), b64u(&raw_payload)),
            a,
        ),
        (
            "alg_none_with_signature",
            "alg none with a signature segment",
            format!(
                "{}.{}.{sig}",
                b64u(r#"{"alg":"none","kid":"h"}"#),
                b64u(&raw_payload)
            ),
            a,
        ),
        (
            "alg_none_mixed_case",
            "alg NoNe",
            format!("{}.{}.", b64u(r#"{"alg":"NoNe"}"#), b64u(&raw_payload)),
            a,
        ),
        (
            "alg_unknown",
            "alg HS1024",
            with_header(r#"{"alg":"HS1024","kid":"h"}"#),
            a,
        ),
        (
            "alg_lowercase",
            "alg hs256 (names are case-sensitive)",
            with_header(r#"{"alg":"hs256","kid":"h"}"#),
            a,
        ),
        (
            "header_crit",
            "crit names an extension",
            with_header(r#"{"alg":"HS256","kid":"h","crit":["exp"],"exp":1}"#),
            u,
        ),
        (
            "header_b64_false",
            "RFC 7797 unencoded payload",
            with_header(r#"{"alg":"HS256","kid":"h","b64":false,"crit":["b64"]}"#),
            u,
        ),
        (
            "header_b64_true_without_crit",
            "b64 present without crit",
            with_header(r#"{"alg":"HS256","kid":"h","b64":true}"#),
            u,
        ),
        (
            "header_cty_jwt",
            "A nested JWT (cty JWT)",
            with_header(r#"{"alg":"HS256","kid":"h","cty":"JWT"}"#),
            u,
        ),
        (
            "header_enc",
            "A JWE header member in a JWS",
            with_header(r#"{"alg":"HS256","kid":"h","enc":"A128GCM"}"#),
            u,
        ),
        (
            "payload_not_json",
            "Payload is the bytes foo",
            with_payload("foo"),
            m,
        ),
        ("payload_empty", "Payload is empty", with_payload(""), m),
        (
            "payload_array",
            "Payload is a JSON array",
            with_payload("[1,2]"),
            m,
        ),
        (
            "payload_string",
            "Payload is a JSON string",
            with_payload(r#""sub""#),
            m,
        ),
        (
            "payload_duplicate_claim",
            "sub appears twice",
            with_payload(&format!(
                r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"sub":"a","sub":"b"}}"#,
                NOW + 60
            )),
            m,
        ),
        (
            "payload_duplicate_nested",
            "A duplicate member inside a nested object",
            with_payload(&format!(
                r#"{{"iss":"{ISS}","aud":"{AUD}","exp":{},"ctx":{{"role":"a","role":"b"}}}}"#,
                NOW + 60
            )),
            m,
        ),
        (
            "payload_trailing_garbage",
            "Text after the JSON object",
            with_payload(&format!("{raw_payload} x")),
            m,
        ),
        (
            "payload_invalid_utf8",
            "Payload bytes are not UTF-8",
            {
                let input = format!("{header_b64}.{}", b64u(b"{\"sub\":\"\xff\"}"));
                format!("{input}.{}", b64u(s.sign("HS256", input.as_bytes())))
            },
            m,
        ),
        (
            "json_serialization",
            "The JSON serialization instead of the compact one",
            json!({"payload": b64u(&raw_payload), "protected": header_b64, "signature": sig})
                .to_string(),
            m,
        ),
        (
            "signature_empty",
            "Empty signature segment",
            format!("{input}."),
            "signature_invalid",
        ),
        (
            "signature_truncated",
            "Signature one byte short",
            {
                let mut b = base64_decode(sig);
                b.pop();
                format!("{input}.{}", b64u(b))
            },
            "signature_invalid",
        ),
    ];
    let mut out: Vec<Case> = cases
        .drain(..)
        .map(|(name, desc, token, code)| {
            Case::new(
                &format!("structure_{name}"),
                desc,
                cfg.clone(),
                token,
                rejected(code),
            )
        })
        .collect();
    out.push(Case::new(
        "structure_token_too_large",
        "Over the configured max_token_size (512) before decoding",
        small_cfg,
        jwt("HS256", &s, Some("h"), &big),
        rejected(m),
    ));
    out.push(Case::new(
        "structure_reference_valid",
        "The untouched token these cases start from",
        cfg,
        good,
        valid(&c),
    ));
    out
}

fn claim_cases(k: &Keys) -> Vec<Case> {
    let s = Signer::Hmac(&k.hs256);
    let base_cfg = config(
        &["HS256"],
        vec![jwks(vec![public_jwk(&s, Some("h"), None)])],
    );
    let mut out = Vec::new();
    let mut add = |name: &str,
                   desc: &str,
                   edit: &dyn Fn(&mut Value),
                   cfg_edit: &dyn Fn(&mut Value),
                   expect: Option<Value>| {
        let mut c = claims();
        edit(&mut c);
        let mut cfg = base_cfg.clone();
        cfg_edit(&mut cfg);
        let token = jwt("HS256", &s, Some("h"), &c);
        let expect = expect.unwrap_or_else(|| valid(&c));
        out.push(Case::new(
            &format!("claims_{name}"),
            desc,
            cfg,
            token,
            expect,
        ));
    };
    let none = |_: &mut Value| {};
    let issuer0 = |f: fn(&mut Value)| move |cfg: &mut Value| f(&mut cfg["issuers"][0]);
    add(
        "valid",
        "All registered claims in range",
        &none,
        &none,
        None,
    );
    add(
        "exp_past",
        "exp one second ago",
        &|c| c["exp"] = (NOW - 1).into(),
        &none,
        Some(rejected_claim("token_expired", "exp")),
    );
    add(
        "exp_equals_now",
        "exp equal to now is already expired",
        &|c| c["exp"] = NOW.into(),
        &none,
        Some(rejected_claim("token_expired", "exp")),
    );
    add(
        "exp_past_within_leeway",
        "exp 10 s ago with 30 s leeway",
        &|c| c["exp"] = (NOW - 10).into(),
        &|cfg| cfg["leeway"] = 30.into(),
        None,
    );
    add(
        "exp_past_beyond_leeway",
        "exp 31 s ago with 30 s leeway",
        &|c| c["exp"] = (NOW - 31).into(),
        &|cfg| cfg["leeway"] = 30.into(),
        Some(rejected_claim("token_expired", "exp")),
    );
    add(
        "exp_fractional",
        "exp half a second from now",
        &|c| c["exp"] = json!(NOW as f64 + 0.5),
        &none,
        None,
    );
    add(
        "exp_missing",
        "No exp (required by default)",
        &|c| {
            c.as_object_mut().unwrap().remove("exp");
        },
        &none,
        Some(rejected_claim("claim_missing", "exp")),
    );
    add(
        "exp_missing_not_required",
        "No exp, require_exp false",
        &|c| {
            c.as_object_mut().unwrap().remove("exp");
        },
        &issuer0(|i| i["require_exp"] = false.into()),
        None,
    );
    add(
        "exp_string",
        "exp as a numeric string",
        &|c| c["exp"] = (NOW + 60).to_string().into(),
        &none,
        Some(rejected_claim("claim_invalid", "exp")),
    );
    add(
        "exp_boolean",
        "exp true",
        &|c| c["exp"] = true.into(),
        &none,
        Some(rejected_claim("claim_invalid", "exp")),
    );
    add(
        "exp_null",
        "exp null",
        &|c| c["exp"] = Value::Null,
        &none,
        Some(rejected_claim("claim_invalid", "exp")),
    );
    add(
        "nbf_future",
        "nbf one minute ahead",
        &|c| c["nbf"] = (NOW + 60).into(),
        &none,
        Some(rejected_claim("token_not_yet_valid", "nbf")),
    );
    add(
        "nbf_now",
        "nbf equal to now",
        &|c| c["nbf"] = NOW.into(),
        &none,
        None,
    );
    add(
        "nbf_future_within_leeway",
        "nbf 20 s ahead, 30 s leeway",
        &|c| c["nbf"] = (NOW + 20).into(),
        &|cfg| cfg["leeway"] = 30.into(),
        None,
    );
    add(
        "nbf_string",
        "nbf as a string",
        &|c| c["nbf"] = "0".into(),
        &none,
        Some(rejected_claim("claim_invalid", "nbf")),
    );
    add(
        "iat_future",
        "iat one minute ahead",
        &|c| {
            c["iat"] = (NOW + 60).into();
            c["nbf"] = (NOW - 60).into();
        },
        &none,
        Some(rejected_claim("token_issued_in_future", "iat")),
    );
    add(
        "iat_future_within_leeway",
        "iat 20 s ahead, 30 s leeway",
        &|c| c["iat"] = (NOW + 20).into(),
        &|cfg| cfg["leeway"] = 30.into(),
        None,
    );
    add(
        "iat_string",
        "iat as a string",
        &|c| c["iat"] = "yesterday".into(),
        &none,
        Some(rejected_claim("claim_invalid", "iat")),
    );
    add(
        "iat_absent",
        "No iat (optional)",
        &|c| {
            c.as_object_mut().unwrap().remove("iat");
        },
        &none,
        None,
    );
    add(
        "iss_missing",
        "No iss",
        &|c| {
            c.as_object_mut().unwrap().remove("iss");
        },
        &none,
        Some(rejected_claim("claim_missing", "iss")),
    );
    add(
        "iss_wrong",
        "iss of another issuer",
        &|c| c["iss"] = "https://evil.example.com/".into(),
        &none,
        Some(rejected_claim("issuer_invalid", "iss")),
    );
    add(
        "iss_case_differs",
        "iss differs in case only",
        &|c| c["iss"] = ISS.to_uppercase().into(),
        &none,
        Some(rejected_claim("issuer_invalid", "iss")),
    );
    add(
        "iss_trailing_slash_missing",
        "iss without the trailing slash",
        &|c| c["iss"] = ISS.trim_end_matches('/').into(),
        &none,
        Some(rejected_claim("issuer_invalid", "iss")),
    );
    add(
        "iss_number",
        "iss is a number",
        &|c| c["iss"] = 1.into(),
        &none,
        Some(rejected_claim("claim_invalid", "iss")),
    );
    add(
        "iss_array",
        "iss is an array",
        &|c| c["iss"] = json!([ISS]),
        &none,
        Some(rejected_claim("claim_invalid", "iss")),
    );
    add(
        "aud_missing",
        "No aud",
        &|c| {
            c.as_object_mut().unwrap().remove("aud");
        },
        &none,
        Some(rejected_claim("claim_missing", "aud")),
    );
    add(
        "aud_wrong",
        "aud of another API",
        &|c| c["aud"] = "api://other".into(),
        &none,
        Some(rejected_claim("audience_invalid", "aud")),
    );
    add(
        "aud_array_contains",
        "aud array holding ours",
        &|c| c["aud"] = json!(["api://other", AUD]),
        &none,
        None,
    );
    add(
        "aud_array_without",
        "aud array without ours",
        &|c| c["aud"] = json!(["api://a", "api://b"]),
        &none,
        Some(rejected_claim("audience_invalid", "aud")),
    );
    add(
        "aud_empty_array",
        "aud is []",
        &|c| c["aud"] = json!([]),
        &none,
        Some(rejected_claim("claim_invalid", "aud")),
    );
    add(
        "aud_array_with_number",
        "aud array holding a number",
        &|c| c["aud"] = json!([AUD, 7]),
        &none,
        Some(rejected_claim("claim_invalid", "aud")),
    );
    add(
        "aud_number",
        "aud is a number",
        &|c| c["aud"] = 7.into(),
        &none,
        Some(rejected_claim("claim_invalid", "aud")),
    );
    add(
        "aud_object",
        "aud is an object",
        &|c| c["aud"] = json!({"aud": AUD}),
        &none,
        Some(rejected_claim("claim_invalid", "aud")),
    );
    add(
        "aud_second_configured",
        "aud matches the second configured audience",
        &|c| c["aud"] = "api://second".into(),
        &issuer0(|i| i["audiences"] = json!([AUD, "api://second"])),
        None,
    );
    add(
        "max_age_within",
        "iat 60 s ago, max_age 300",
        &none,
        &issuer0(|i| i["max_age"] = 300.into()),
        None,
    );
    add(
        "max_age_exceeded",
        "iat 60 s ago, max_age 30",
        &none,
        &issuer0(|i| i["max_age"] = 30.into()),
        Some(rejected_claim("token_too_old", "iat")),
    );
    add(
        "max_age_needs_iat",
        "max_age set, no iat",
        &|c| {
            c.as_object_mut().unwrap().remove("iat");
        },
        &issuer0(|i| i["max_age"] = 300.into()),
        Some(rejected_claim("claim_missing", "iat")),
    );
    add(
        "max_lifetime_within",
        "lifetime 3660 s, maximum 7200",
        &none,
        &issuer0(|i| i["max_lifetime"] = 7200.into()),
        None,
    );
    add(
        "max_lifetime_exceeded",
        "lifetime 3660 s, maximum 3600",
        &none,
        &issuer0(|i| i["max_lifetime"] = 3600.into()),
        Some(rejected_claim("token_too_old", "exp")),
    );
    add(
        "required_claim_present",
        "sub required and present",
        &none,
        &issuer0(|i| i["required_claims"] = json!(["sub"])),
        None,
    );
    add(
        "required_claim_missing",
        "jti required, absent",
        &none,
        &issuer0(|i| i["required_claims"] = json!(["jti"])),
        Some(rejected_claim("claim_missing", "jti")),
    );
    add(
        "required_claim_null",
        "sub required, null",
        &|c| c["sub"] = Value::Null,
        &issuer0(|i| i["required_claims"] = json!(["sub"])),
        Some(rejected_claim("claim_missing", "sub")),
    );
    add(
        "order_audience_before_expiry",
        "Wrong aud and expired: aud is checked first",
        &|c| {
            c["aud"] = "api://other".into();
            c["exp"] = (NOW - 100).into();
        },
        &none,
        Some(rejected_claim("audience_invalid", "aud")),
    );
    add(
        "order_expiry_before_nbf",
        "Expired and not yet valid: exp is checked first",
        &|c| {
            c["exp"] = (NOW - 100).into();
            c["nbf"] = (NOW + 100).into();
        },
        &none,
        Some(rejected_claim("token_expired", "exp")),
    );
    add(
        "unicode_claims",
        "Non-ASCII claim values survive intact",
        &|c| c["name"] = "Zoë Łukasz 東京 😀".into(),
        &none,
        None,
    );
    add(
        "large_numbers",
        "Large and negative numeric claims",
        &|c| {
            c["big"] = json!(1e300);
            c["neg"] = json!(-5);
        },
        &none,
        None,
    );

    // typ (RFC 9068 access tokens).
    let typ_cfg = {
        let mut cfg = base_cfg.clone();
        cfg["issuers"][0]["typ"] = "at+jwt".into();
        cfg
    };
    let c = claims();
    for (name, typ, expect) in [
        ("typ_at_jwt", Some("at+jwt"), valid(&c)),
        (
            "typ_application_prefix",
            Some("application/at+JWT"),
            valid(&c),
        ),
        (
            "typ_jwt_when_at_jwt_required",
            Some("JWT"),
            rejected("type_invalid"),
        ),
        ("typ_missing_when_required", None, rejected("type_invalid")),
    ] {
        let mut h = json!({"alg": "HS256", "kid": "h"});
        if let Some(t) = typ {
            h["typ"] = t.into();
        }
        out.push(Case::new(
            &format!("claims_{name}"),
            "typ header against typ at+jwt",
            typ_cfg.clone(),
            jws("HS256", &s, &h.to_string(), &c.to_string()),
            expect,
        ));
    }

    // Two issuers, each with its own keys and algorithms.
    let other_iss = "https://other.example.org";
    let ec = Signer::Ec(&k.p256);
    let multi = json!({"issuers": [
        {"issuer": ISS, "audiences": [AUD], "algorithms": ["HS256"], "keys": [jwks(vec![public_jwk(&s, Some("h"), None)])]},
        {"issuer": other_iss, "audiences": ["api://b"], "algorithms": ["ES256"], "keys": [jwks(vec![public_jwk(&ec, Some("e"), None)])]}
    ]});
    let mut b_claims = claims();
    b_claims["iss"] = other_iss.into();
    b_claims["aud"] = "api://b".into();
    out.push(Case::new(
        "multi_issuer_second",
        "Token of the second issuer, its own key",
        multi.clone(),
        jwt("ES256", &ec, Some("e"), &b_claims),
        valid(&b_claims),
    ));
    out.push(Case::new(
        "multi_issuer_first",
        "Token of the first issuer",
        multi.clone(),
        jwt("HS256", &s, Some("h"), &claims()),
        valid(&claims()),
    ));
    let mut crossed = claims();
    crossed["aud"] = "api://b".into();
    out.push(Case::new(
        "multi_issuer_key_of_the_other",
        "iss names the first issuer but the token is ES256 from the second's key",
        multi.clone(),
        jwt("ES256", &ec, Some("e"), &crossed),
        rejected("algorithm_not_allowed"),
    ));
    out.push(Case::new(
        "multi_issuer_audience_of_the_other",
        "Second issuer's token with the first issuer's audience",
        multi,
        jwt("ES256", &ec, Some("e"), &{
            let mut c = b_claims.clone();
            c["aud"] = AUD.into();
            c
        }),
        rejected_claim("audience_invalid", "aud"),
    ));
    out
}

fn key_cases(k: &Keys) -> Vec<Case> {
    let c = claims();
    let rsa = Signer::Rsa(&k.rsa);
    let rsa_b = Signer::Rsa(&k.rsa_b);
    let hs = Signer::Hmac(&k.hs256);
    let p256 = Signer::Ec(&k.p256);
    let p384 = Signer::Ec(&k.p384);
    let ed = Signer::Ed(&k.ed);
    let mut out = Vec::new();
    let rsa_jwk = public_jwk(&rsa, Some("rsa"), None);

    // Algorithm confusion: the RSA public key used as an HMAC secret.
    let pem = public_pem(&rsa);
    let confused = jwt("HS256", &Signer::Hmac(pem.as_bytes()), Some("rsa"), &c);
    let both = config(&["RS256", "HS256"], vec![jwks(vec![rsa_jwk.clone()])]);
    out.push(Case::new(
        "keys_confusion_hs256_with_rsa_public_key",
        "HS256 token keyed with the RSA public key's PEM",
        both,
        confused,
        rejected("algorithm_not_allowed"),
    ));
    let ec_keys = config(
        &["ES256", "ES384", "EdDSA"],
        vec![jwks(vec![
            public_jwk(&p256, Some("p256"), None),
            public_jwk(&p384, Some("p384"), None),
            public_jwk(&ed, Some("ed"), None),
        ])],
    );
    out.push(Case::new(
        "keys_es256_token_for_p384_key",
        "ES256 header, kid of a P-384 key",
        ec_keys.clone(),
        jwt("ES256", &p256, Some("p384"), &c),
        rejected("algorithm_not_allowed"),
    ));
    out.push(Case::new(
        "keys_eddsa_token_for_p256_key",
        "EdDSA header, kid of a P-256 key",
        ec_keys.clone(),
        jwt("EdDSA", &ed, Some("p256"), &c),
        rejected("algorithm_not_allowed"),
    ));
    out.push(Case::new(
        "keys_three_curves_p384",
        "ES384 among three curve keys",
        ec_keys,
        jwt("ES384", &p384, Some("p384"), &c),
        valid(&c),
    ));
    let pinned = config(
        &["RS256", "PS256"],
        vec![jwks(vec![public_jwk(&rsa, Some("rsa"), Some("RS256"))])],
    );
    out.push(Case::new(
        "keys_jwk_alg_pins_rs256_valid",
        "JWK alg RS256, RS256 token",
        pinned.clone(),
        jwt("RS256", &rsa, Some("rsa"), &c),
        valid(&c),
    ));
    out.push(Case::new(
        "keys_jwk_alg_pins_rs256_ps256_token",
        "JWK alg RS256, PS256 token",
        pinned,
        jwt("PS256", &rsa, Some("rsa"), &c),
        rejected("algorithm_not_allowed"),
    ));

    // kid lookup.
    let two = config(
        &["RS256"],
        vec![jwks(vec![
            rsa_jwk.clone(),
            public_jwk(&rsa_b, Some("rsa-b"), None),
        ])],
    );
    out.push(Case::new(
        "keys_second_of_two",
        "kid selects the second key",
        two.clone(),
        jwt("RS256", &rsa_b, Some("rsa-b"), &c),
        valid(&c),
    ));
    out.push(Case::new(
        "keys_no_kid_two_keys",
        "No kid while two keys could verify",
        two,
        jwt("RS256", &rsa, None, &c),
        rejected("key_not_found"),
    ));
    let one = config(&["RS256"], vec![jwks(vec![rsa_jwk.clone()])]);
    out.push(Case::new(
        "keys_no_kid_one_key",
        "No kid, exactly one key",
        one,
        jwt("RS256", &rsa, None, &c),
        valid(&c),
    ));
    let dup = config(
        &["RS256"],
        vec![jwks(vec![
            rsa_jwk.clone(),
            public_jwk(&rsa_b, Some("rsa"), None),
            public_jwk(&rsa_b, Some("spare"), None),
        ])],
    );
    out.push(Case::new(
        "keys_duplicate_kid",
        "Two keys share the kid: neither is used",
        dup.clone(),
        jwt("RS256", &rsa, Some("rsa"), &c),
        rejected("key_not_found"),
    ));
    out.push(Case::new(
        "keys_duplicate_kid_other_key_fine",
        "The unambiguous key of that set still works",
        dup,
        jwt("RS256", &rsa_b, Some("spare"), &c),
        valid(&c),
    ));
    let mut enc = public_jwk(&rsa_b, Some("enc"), None);
    enc["use"] = "enc".into();
    let mut ops = public_jwk(&rsa_b, Some("ops"), None);
    ops["key_ops"] = json!(["encrypt", "wrapKey"]);
    let mut ops_ok = public_jwk(&rsa_b, Some("ops-ok"), None);
    ops_ok["key_ops"] = json!(["verify"]);
    let usage = config(
        &["RS256"],
        vec![jwks(vec![rsa_jwk.clone(), enc, ops, ops_ok])],
    );
    out.push(Case::new(
        "keys_use_enc_ignored",
        "The kid names a use:enc key",
        usage.clone(),
        jwt("RS256", &rsa_b, Some("enc"), &c),
        rejected("key_not_found"),
    ));
    out.push(Case::new(
        "keys_key_ops_without_verify_ignored",
        "The kid names a key whose key_ops lack verify",
        usage.clone(),
        jwt("RS256", &rsa_b, Some("ops"), &c),
        rejected("key_not_found"),
    ));
    out.push(Case::new(
        "keys_key_ops_verify",
        "key_ops [verify] is usable",
        usage,
        jwt("RS256", &rsa_b, Some("ops-ok"), &c),
        valid(&c),
    ));

    // Other static sources.
    let pem_cfg = config(
        &["RS256", "ES256", "EdDSA"],
        vec![
            json!({"pem": {"key": public_pem(&rsa), "kid": "pem-rsa"}}),
            json!({"pem": {"key": public_pem(&p256), "kid": "pem-ec"}}),
            json!({"pem": {"key": public_pem(&ed), "kid": "pem-ed"}}),
        ],
    );
    out.push(Case::new(
        "keys_pem_rsa",
        "RSA key from an SPKI PEM",
        pem_cfg.clone(),
        jwt("RS256", &rsa, Some("pem-rsa"), &c),
        valid(&c),
    ));
    out.push(Case::new(
        "keys_pem_ec",
        "P-256 key from an SPKI PEM",
        pem_cfg.clone(),
        jwt("ES256", &p256, Some("pem-ec"), &c),
        valid(&c),
    ));
    out.push(Case::new(
        "keys_pem_ed25519",
        "Ed25519 key from an SPKI PEM",
        pem_cfg.clone(),
        jwt("EdDSA", &ed, Some("pem-ed"), &c),
        valid(&c),
    ));
    out.push(Case::new(
        "keys_pem_wrong_kid",
        "kid names none of the PEM keys",
        pem_cfg,
        jwt("RS256", &rsa, Some("nope"), &c),
        rejected("key_not_found"),
    ));
    let kidless = config(&["RS256"], vec![json!({"pem": {"key": public_pem(&rsa)}})]);
    out.push(Case::new(
        "keys_pem_without_kid_matches_any_kid",
        "A key without kid matches a token's kid",
        kidless,
        jwt("RS256", &rsa, Some("whatever"), &c),
        valid(&c),
    ));
    let secret_text = "correct horse battery staple, 32+";
    let utf8 = config(
        &["HS256"],
        vec![json!({"secret": {"value": secret_text, "alg": "HS256"}})],
    );
    out.push(Case::new(
        "keys_secret_utf8",
        "HMAC secret given as text",
        utf8,
        jwt("HS256", &Signer::Hmac(secret_text.as_bytes()), None, &c),
        valid(&c),
    ));
    use base64::Engine;
    let std_b64 = base64::engine::general_purpose::STANDARD.encode(&k.hs384);
    let b64cfg = config(
        &["HS384"],
        vec![
            json!({"secret": {"value": std_b64, "encoding": "base64", "alg": "HS384", "kid": "s"}}),
        ],
    );
    out.push(Case::new(
        "keys_secret_base64",
        "HMAC secret given as base64",
        b64cfg.clone(),
        jwt("HS384", &Signer::Hmac(&k.hs384), Some("s"), &c),
        valid(&c),
    ));
    out.push(Case::new(
        "keys_secret_bound_to_alg",
        "A secret for HS384 does not verify HS256",
        {
            let mut cfg = b64cfg;
            cfg["issuers"][0]["algorithms"] = json!(["HS256", "HS384"]);
            cfg
        },
        jwt("HS256", &Signer::Hmac(&k.hs384), Some("s"), &c),
        rejected("algorithm_not_allowed"),
    ));

    // Configurations that must not build.
    let bad = |name: &str, desc: &str, cfg: Value| {
        Case::new(
            &format!("config_{name}"),
            desc,
            cfg,
            jwt("HS256", &hs, None, &c),
            rejected("config_invalid"),
        )
    };
    let mut short = k.hs256.clone();
    short.truncate(31);
    out.push(bad(
        "hmac_secret_too_short",
        "A 31-byte HS256 secret",
        config(
            &["HS256"],
            vec![jwks(vec![public_jwk(
                &Signer::Hmac(&short),
                None,
                Some("HS256"),
            )])],
        ),
    ));
    out.push(bad(
        "hmac_secret_text_too_short",
        "A 16-character HS256 secret",
        config(
            &["HS256"],
            vec![json!({"secret": {"value": "0123456789abcdef", "alg": "HS256"}})],
        ),
    ));
    let mut n = vec![0xd3u8; 128];
    n[127] = 0x5b;
    out.push(bad(
        "rsa_1024",
        "An RSA key of 1024 bits",
        config(
            &["RS256"],
            vec![jwks(vec![
                json!({"kty": "RSA", "n": b64u(&n), "e": "AQAB"}),
            ])],
        ),
    ));
    let mut private = public_jwk(&p256, Some("p"), None);
    private["d"] = b64u([1u8; 32]).into();
    out.push(bad(
        "jwks_private_member",
        "A JWKS holding a private EC key",
        config(&["ES256"], vec![jwks(vec![private])]),
    ));
    out.push(bad(
        "jwks_mixed_symmetric",
        "oct and RSA keys in one JWKS",
        config(
            &["RS256", "HS256"],
            vec![jwks(vec![rsa_jwk.clone(), public_jwk(&hs, None, None)])],
        ),
    ));
    out.push(bad("unknown_key", "An unknown member in the config", {
        let mut cfg = config(&["HS256"], vec![jwks(vec![public_jwk(&hs, None, None)])]);
        cfg["issuers"][0]["audience"] = AUD.into();
        cfg
    }));
    out.push(bad(
        "algorithm_none",
        "none in the allow-list",
        config(&["none"], vec![jwks(vec![public_jwk(&hs, None, None)])]),
    ));
    out.push(bad("no_audiences", "An empty audience list", {
        let mut cfg = config(&["HS256"], vec![jwks(vec![public_jwk(&hs, None, None)])]);
        cfg["issuers"][0]["audiences"] = json!([]);
        cfg
    }));
    out.push(bad(
        "no_algorithms",
        "An empty allow-list",
        config(&[], vec![jwks(vec![public_jwk(&hs, None, None)])]),
    ));
    out.push(bad(
        "no_usable_key",
        "Keys that cannot verify any allowed algorithm",
        config(&["RS256"], vec![jwks(vec![public_jwk(&p256, None, None)])]),
    ));
    out.push(bad("unsupported_curve", "An EC key on secp256k1", config(&["ES256"], vec![jwks(vec![json!({"kty": "EC", "crv": "secp256k1", "x": b64u([1u8; 32]), "y": b64u([2u8; 32])})])])));
    out.push(bad(
        "invalid_point",
        "An EC point that is not on the curve",
        config(
            &["ES256"],
            vec![jwks(vec![
                json!({"kty": "EC", "crv": "P-256", "x": b64u([1u8; 32]), "y": b64u([2u8; 32])}),
            ])],
        ),
    ));
    out.push(bad("pem_private_key", "A PEM private key where a public one belongs", config(&["EdDSA"], vec![json!({"pem": {"key": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n-----END PRIVATE KEY-----\n"}})])));
    out.push(bad("leeway_negative", "A negative leeway", {
        let mut cfg = config(&["HS256"], vec![jwks(vec![public_jwk(&hs, None, None)])]);
        cfg["leeway"] = json!(-1);
        cfg
    }));
    out.push(bad(
        "no_issuers",
        "No issuer at all",
        json!({"issuers": []}),
    ));
    out
}

fn request(headers: &[(&str, &str)], query: Option<&str>) -> Value {
    let mut r = json!({"headers": headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()});
    if let Some(q) = query {
        r["query"] = q.into();
    }
    r
}

fn extraction_cases(k: &Keys) -> Vec<Case> {
    let s = Signer::Hmac(&k.hs256);
    let c = claims();
    let token = jwt("HS256", &s, Some("h"), &c);
    let mut cfg = config(
        &["HS256"],
        vec![jwks(vec![public_jwk(&s, Some("h"), None)])],
    );
    let bearer_only = cfg.clone();
    cfg["token_sources"] = json!([
        {"header": {"name": "authorization", "scheme": "Bearer"}},
        {"header": {"name": "x-api-token", "prefix": "Token "}},
        {"cookie": {"name": "access_token"}},
        {"query": {"name": "access_token"}}
    ]);
    let bearer = format!("Bearer {token}");
    let lower = format!("bearer {token}");
    let prefixed = format!("Token {token}");
    let cookie = format!("theme=dark; access_token={token}");
    let query = format!("x=1&access_token={token}");
    let table: Vec<(&str, &str, &Value, Value, Value)> = vec![
        (
            "bearer",
            "Authorization: Bearer",
            &bearer_only,
            request(&[("Authorization", &bearer)], None),
            valid(&c),
        ),
        (
            "bearer_lowercase_scheme",
            "The scheme is case-insensitive",
            &bearer_only,
            request(&[("authorization", &lower)], None),
            valid(&c),
        ),
        (
            "missing",
            "No Authorization header",
            &bearer_only,
            request(&[("accept", "*/*")], None),
            rejected("token_missing"),
        ),
        (
            "basic_scheme",
            "Authorization: Basic is not a bearer token",
            &bearer_only,
            request(&[("Authorization", "Basic dXNlcjpwYXNz")], None),
            rejected("token_missing"),
        ),
        (
            "bare_scheme",
            "Authorization: Bearer with nothing after it",
            &bearer_only,
            request(&[("Authorization", "Bearer ")], None),
            rejected("token_missing"),
        ),
        (
            "two_authorization_headers",
            "Two Authorization headers",
            &bearer_only,
            request(
                &[("Authorization", &bearer), ("Authorization", &bearer)],
                None,
            ),
            rejected("token_malformed"),
        ),
        (
            "token_with_space",
            "A space inside the token",
            &bearer_only,
            request(&[("Authorization", "Bearer abc def")], None),
            rejected("token_malformed"),
        ),
        (
            "query_ignored_by_default",
            "A query token when only the header is configured",
            &bearer_only,
            request(&[], Some(&query)),
            rejected("token_missing"),
        ),
        (
            "custom_header_prefix",
            "x-api-token with the prefix Token",
            &cfg,
            request(&[("X-Api-Token", &prefixed)], None),
            valid(&c),
        ),
        (
            "cookie",
            "The access_token cookie",
            &cfg,
            request(&[("Cookie", &cookie)], None),
            valid(&c),
        ),
        (
            "query",
            "The access_token query parameter",
            &cfg,
            request(&[], Some(&query)),
            valid(&c),
        ),
        (
            "order_header_first",
            "Header and query both present: the header wins",
            &cfg,
            request(&[("Authorization", &bearer)], Some("access_token=garbage")),
            valid(&c),
        ),
        (
            "duplicate_cookie",
            "The cookie twice",
            &cfg,
            request(
                &[("Cookie", &format!("access_token={token}; access_token=x"))],
                None,
            ),
            rejected("token_malformed"),
        ),
        (
            "nothing_anywhere",
            "None of the four sources present",
            &cfg,
            request(&[("Cookie", "theme=dark")], Some("x=1")),
            rejected("token_missing"),
        ),
        (
            "extracted_then_rejected",
            "An extracted token still goes through every rule",
            &cfg,
            request(&[("Authorization", "Bearer e30.e30.e30")], None),
            rejected("token_malformed"),
        ),
    ];
    table
        .into_iter()
        .map(|(name, desc, cfg, req, expect)| Case {
            name: format!("extract_{name}"),
            description: desc.to_owned(),
            config: cfg.clone(),
            token: None,
            request: Some(req),
            require_scopes: None,
            expect,
        })
        .collect()
}

fn scope_cases(k: &Keys) -> Vec<Case> {
    let s = Signer::Hmac(&k.hs256);
    let cfg = config(
        &["HS256"],
        vec![jwks(vec![public_jwk(&s, Some("h"), None)])],
    );
    let with = |name: &str, value: Value| {
        let mut c = claims();
        c.as_object_mut().unwrap().remove("scope");
        c[name] = value;
        c
    };
    let table: Vec<(&str, &str, Value, Value, bool)> = vec![
        (
            "all_granted",
            "scope 'read write', needs read+write",
            claims(),
            json!({"scopes": ["read", "write"]}),
            true,
        ),
        (
            "all_missing_one",
            "scope 'read write', needs read+admin",
            claims(),
            json!({"scopes": ["read", "admin"], "match": "all"}),
            false,
        ),
        (
            "any_one_granted",
            "needs any of admin, write",
            claims(),
            json!({"scopes": ["admin", "write"], "match": "any"}),
            true,
        ),
        (
            "any_none_granted",
            "needs any of admin, root",
            claims(),
            json!({"scopes": ["admin", "root"], "match": "any"}),
            false,
        ),
        (
            "scp_array",
            "scp as an array",
            with("scp", json!(["read", "orders:write"])),
            json!({"scopes": ["orders:write"]}),
            true,
        ),
        (
            "scp_string",
            "scp as a space-delimited string",
            with("scp", json!("read orders:write")),
            json!({"scopes": ["orders:write"]}),
            true,
        ),
        (
            "permissions",
            "permissions array",
            with("permissions", json!(["orders:read"])),
            json!({"scopes": ["orders:read"]}),
            true,
        ),
        (
            "permissions_missing",
            "permissions array without the needed one",
            with("permissions", json!(["orders:read"])),
            json!({"scopes": ["orders:delete"]}),
            false,
        ),
        (
            "no_scope_claim",
            "No scope claim at all",
            with("other", json!(1)),
            json!({"scopes": ["read"]}),
            false,
        ),
        (
            "empty_requirement",
            "Nothing required",
            with("other", json!(1)),
            json!({"scopes": []}),
            true,
        ),
        (
            "substring_is_not_a_scope",
            "scope 'readonly' does not grant read",
            with("scope", json!("readonly")),
            json!({"scopes": ["read"]}),
            false,
        ),
        (
            "case_sensitive",
            "scope 'READ' does not grant read",
            with("scope", json!("READ")),
            json!({"scopes": ["read"]}),
            false,
        ),
    ];
    let mut out: Vec<Case> = table
        .into_iter()
        .map(|(name, desc, c, req, ok)| {
            let mut case = Case::new(
                &format!("scopes_{name}"),
                desc,
                cfg.clone(),
                jwt("HS256", &s, Some("h"), &c),
                if ok {
                    valid(&c)
                } else {
                    rejected("scope_insufficient")
                },
            );
            case.require_scopes = Some(req);
            case
        })
        .collect();
    let mut bad = Case::new(
        "scopes_scope_wrong_type",
        "scope is a number",
        cfg.clone(),
        jwt("HS256", &s, Some("h"), &with("scope", json!(5))),
        rejected_claim("claim_invalid", "scope"),
    );
    bad.require_scopes = Some(json!({"scopes": ["read"]}));
    out.push(bad);
    let mut bad = Case::new(
        "scopes_permissions_wrong_type",
        "permissions holds a number",
        cfg,
        jwt(
            "HS256",
            &s,
            Some("h"),
            &with("permissions", json!(["a", 1])),
        ),
        rejected_claim("claim_invalid", "permissions"),
    );
    bad.require_scopes = Some(json!({"scopes": ["a"]}));
    out.push(bad);
    out
}

/// The API every DPoP case calls, and its URL.
const API_URL: &str = "https://api.example.com/orders";
const NONCE_SECRET: &str = "test-only-dpop-nonce-secret-0123456789";

/// The engine's stateless nonce for the slot of `now` (written apart from the engine's).
fn dpop_nonce(now: i64, lifetime: i64) -> String {
    let slot = ((now / lifetime) as u64).to_be_bytes();
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, NONCE_SECRET.as_bytes());
    let tag = aws_lc_rs::hmac::sign(&key, &slot);
    let mut raw = slot.to_vec();
    raw.extend_from_slice(&tag.as_ref()[..16]);
    b64u(raw)
}

fn dpop_request(token: &str, proof: Option<&str>, method: &str, url: &str) -> Value {
    let auth = format!("DPoP {token}");
    let mut headers = vec![("Authorization", auth.as_str())];
    if let Some(proof) = proof {
        headers.push(("DPoP", proof));
    }
    let mut r = request(&headers, None);
    r["method"] = method.into();
    r["url"] = url.into();
    r
}

fn dpop_cases(k: &Keys) -> Vec<Case> {
    let hs = Signer::Hmac(&k.hs256);
    let client = Signer::Ec(&k.p256_b);
    let ed_client = Signer::Ed(&k.ed_b);
    let jkt = jwk_thumbprint(&public_jwk(&client, None, None));
    let ed_jkt = jwk_thumbprint(&public_jwk(&ed_client, None, None));
    let cfg_mode = |mode: &str, extra: Value| {
        let mut c = config(
            &["HS256"],
            vec![jwks(vec![public_jwk(&hs, Some("h"), None)])],
        );
        let mut dpop = json!({"mode": mode});
        for (key, value) in extra.as_object().unwrap() {
            dpop[key] = value.clone();
        }
        c["dpop"] = dpop;
        c
    };
    let cfg = cfg_mode("allowed", json!({}));
    let bound_claims = |jkt: &str| {
        let mut c = claims();
        c["cnf"] = json!({"jkt": jkt});
        c
    };
    let bound = bound_claims(&jkt);
    let token = jwt("HS256", &hs, Some("h"), &bound);
    let proof_claims = |token: &str| json!({"jti": "proof-1", "htm": "GET", "htu": API_URL, "iat": NOW - 5, "ath": access_token_hash(token)});
    let with = |token: &str, edit: &dyn Fn(&mut Value)| {
        let mut c = proof_claims(token);
        edit(&mut c);
        c
    };
    let proof = dpop_proof(&client, "ES256", &proof_claims(&token));
    // A proof with a chosen header (alg and jwk as given) and the standard claims.
    let raw_proof = |header: Value, signer: &Signer, sign_alg: &str| {
        jws(
            sign_alg,
            signer,
            &header.to_string(),
            &proof_claims(&token).to_string(),
        )
    };
    let client_jwk = public_jwk(&client, None, None);
    let case = |name: &str, description: &str, config: &Value, req: Value, expect: Value| Case {
        name: name.to_owned(),
        description: description.to_owned(),
        config: config.clone(),
        token: None,
        request: Some(req),
        require_scopes: None,
        expect,
    };
    let get = |proof: &str| dpop_request(&token, Some(proof), "GET", API_URL);
    let bad = |claim: &str| rejected_claim("dpop_invalid", claim);
    let mut out = vec![
        case(
            "dpop_valid_es256",
            "A DPoP-bound token with an ES256 proof for this request",
            &cfg,
            get(&proof),
            valid(&bound),
        ),
        case(
            "dpop_valid_required_mode",
            "DPoP required: a bound token with its proof",
            &cfg_mode("required", json!({})),
            get(&proof),
            valid(&bound),
        ),
    ];
    {
        let ed_bound = bound_claims(&ed_jkt);
        let ed_token = jwt("HS256", &hs, Some("h"), &ed_bound);
        let ed_proof = dpop_proof(&ed_client, "EdDSA", &proof_claims(&ed_token));
        out.push(case(
            "dpop_valid_eddsa",
            "An EdDSA proof",
            &cfg,
            dpop_request(&ed_token, Some(&ed_proof), "GET", API_URL),
            valid(&ed_bound),
        ));
        out.push(case(
            "dpop_proof_other_key",
            "The proof is signed by another key than the token's cnf.jkt",
            &cfg,
            dpop_request(
                &token,
                Some(&dpop_proof(&ed_client, "EdDSA", &proof_claims(&token))),
                "GET",
                API_URL,
            ),
            bad("cnf"),
        ));
    }
    let normalized = dpop_proof(
        &client,
        "ES256",
        &with(&token, &|c| {
            c["htu"] = "HTTPS://API.Example.COM:443/./orders".into()
        }),
    );
    out.push(case(
        "dpop_valid_htu_normalized",
        "htu and the request URL agree after normalization; the query is ignored",
        &cfg,
        dpop_request(
            &token,
            Some(&normalized),
            "GET",
            "https://api.example.com/orders?page=2",
        ),
        valid(&bound),
    ));
    let mut lenient = cfg.clone();
    lenient["leeway"] = 10.into();
    out.push(case(
        "dpop_valid_iat_within_leeway",
        "Proof iat 5 s ahead, leeway 10 s",
        &lenient,
        get(&dpop_proof(
            &client,
            "ES256",
            &with(&token, &|c| c["iat"] = (NOW + 5).into()),
        )),
        valid(&bound),
    ));
    let unbound = claims();
    let unbound_token = jwt("HS256", &hs, Some("h"), &unbound);
    let bearer = |t: &str| request(&[("Authorization", &format!("Bearer {t}"))], None);
    out.push(case(
        "dpop_allowed_bearer_unbound",
        "DPoP allowed: an unbound bearer token is still fine",
        &cfg,
        bearer(&unbound_token),
        valid(&unbound),
    ));
    out.push(case(
        "dpop_bound_token_as_bearer",
        "A DPoP-bound token sent as a bearer token",
        &cfg,
        bearer(&token),
        bad("cnf"),
    ));
    out.push(case(
        "dpop_bound_token_as_bearer_disabled",
        "Even with DPoP disabled, a bound token is not a bearer token",
        &cfg_mode("disabled", json!({})),
        bearer(&token),
        bad("cnf"),
    ));
    let mut mtls = claims();
    mtls["cnf"] = json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"});
    out.push(case(
        "dpop_cnf_mtls_binding_refused",
        "cnf.x5t#S256 (an mTLS binding, which cannot be checked here) is refused, not taken as bearer",
        &cfg,
        bearer(&jwt("HS256", &hs, Some("h"), &mtls)),
        rejected_claim("claim_invalid", "cnf"),
    ));
    let mut empty_cnf = claims();
    empty_cnf["cnf"] = json!({});
    out.push(case(
        "dpop_cnf_empty_refused",
        "cnf naming no confirmation method",
        &cfg,
        bearer(&jwt("HS256", &hs, Some("h"), &empty_cnf)),
        rejected_claim("claim_invalid", "cnf"),
    ));
    let mut odd = claims();
    odd["cnf"] = "jkt".into();
    out.push(case(
        "dpop_cnf_not_object",
        "cnf is a string",
        &cfg,
        bearer(&jwt("HS256", &hs, Some("h"), &odd)),
        rejected_claim("claim_invalid", "cnf"),
    ));
    out.push(case(
        "dpop_scheme_when_disabled",
        "DPoP disabled: the DPoP scheme counts as no token",
        &cfg_mode("disabled", json!({})),
        get(&proof),
        rejected("token_missing"),
    ));
    out.push(case(
        "dpop_required_bearer",
        "DPoP required: an unbound bearer token is refused",
        &cfg_mode("required", json!({})),
        bearer(&unbound_token),
        rejected("dpop_invalid"),
    ));
    out.push(case(
        "dpop_no_proof_header",
        "The DPoP scheme without a DPoP header",
        &cfg,
        dpop_request(&token, None, "GET", API_URL),
        rejected("dpop_invalid"),
    ));
    let mut two = get(&proof);
    two["headers"]
        .as_array_mut()
        .unwrap()
        .push(json!(["DPoP", proof]));
    out.push(case(
        "dpop_two_proof_headers",
        "Two DPoP headers",
        &cfg,
        two,
        rejected("dpop_invalid"),
    ));
    out.push(case(
        "dpop_unbound_token_with_proof",
        "A valid proof, but the token has no cnf.jkt",
        &cfg,
        dpop_request(
            &unbound_token,
            Some(&dpop_proof(&client, "ES256", &proof_claims(&unbound_token))),
            "GET",
            API_URL,
        ),
        bad("cnf"),
    ));
    out.push(case(
        "dpop_token_expired_with_proof",
        "The token's own rules come first",
        &cfg,
        {
            let mut c = bound.clone();
            c["exp"] = (NOW - 1).into();
            let t = jwt("HS256", &hs, Some("h"), &c);
            dpop_request(
                &t,
                Some(&dpop_proof(&client, "ES256", &proof_claims(&t))),
                "GET",
                API_URL,
            )
        },
        rejected_claim("token_expired", "exp"),
    ));
    out.push(case(
        "dpop_proof_malformed",
        "The DPoP header is not a JWS",
        &cfg,
        get("not-a-proof"),
        rejected("dpop_invalid"),
    ));
    out.push(case(
        "dpop_proof_typ_jwt",
        "Proof typ JWT",
        &cfg,
        get(&raw_proof(
            json!({"typ": "JWT", "alg": "ES256", "jwk": client_jwk}),
            &client,
            "ES256",
        )),
        bad("typ"),
    ));
    out.push(case(
        "dpop_proof_no_typ",
        "Proof without typ",
        &cfg,
        get(&raw_proof(
            json!({"alg": "ES256", "jwk": client_jwk}),
            &client,
            "ES256",
        )),
        bad("typ"),
    ));
    out.push(case(
        "dpop_proof_duplicate_member",
        "Proof header with a duplicate member",
        &cfg,
        get(&jws(
            "ES256",
            &client,
            &format!(r#"{{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":{client_jwk}}}"#),
            &proof_claims(&token).to_string(),
        )),
        rejected("dpop_invalid"),
    ));
    out.push(case(
        "dpop_proof_crit",
        "Proof header with crit",
        &cfg,
        get(&raw_proof(
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": client_jwk, "crit": ["x"], "x": 1}),
            &client,
            "ES256",
        )),
        bad("crit"),
    ));
    out.push(case(
        "dpop_proof_alg_none",
        "Proof alg none",
        &cfg,
        get(&format!(
            "{}.{}.",
            b64u(json!({"typ": "dpop+jwt", "alg": "none", "jwk": client_jwk}).to_string()),
            b64u(proof_claims(&token).to_string())
        )),
        bad("alg"),
    ));
    out.push(case(
        "dpop_proof_alg_hs256",
        "Proof signed with HMAC over an oct jwk",
        &cfg,
        get(&raw_proof(
            json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": public_jwk(&hs, None, None)}),
            &hs,
            "HS256",
        )),
        bad("alg"),
    ));
    out.push(case(
        "dpop_proof_alg_not_allowed",
        "dpop.algorithms allows EdDSA only; the proof is ES256",
        &cfg_mode("allowed", json!({"algorithms": ["EdDSA"]})),
        get(&proof),
        bad("alg"),
    ));
    out.push(case(
        "dpop_proof_alg_mismatches_jwk",
        "Proof alg EdDSA over a P-256 jwk",
        &cfg,
        get(&raw_proof(
            json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": client_jwk}),
            &ed_client,
            "EdDSA",
        )),
        bad("alg"),
    ));
    out.push(case(
        "dpop_proof_no_jwk",
        "Proof header without jwk",
        &cfg,
        get(&raw_proof(
            json!({"typ": "dpop+jwt", "alg": "ES256"}),
            &client,
            "ES256",
        )),
        bad("jwk"),
    ));
    let mut private = client_jwk.clone();
    private["d"] = b64u([7u8; 32]).into();
    out.push(case(
        "dpop_proof_private_jwk",
        "Proof jwk carries a private member",
        &cfg,
        get(&raw_proof(
            json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": private}),
            &client,
            "ES256",
        )),
        bad("jwk"),
    ));
    out.push(case(
        "dpop_proof_bad_signature",
        "Proof signature tampered",
        &cfg,
        get(&tamper_signature(&proof)),
        rejected("dpop_invalid"),
    ));
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, &str, Edit, &str)> = vec![
        (
            "dpop_proof_htm_mismatch",
            "Proof htm POST for a GET",
            Box::new(|c| c["htm"] = "POST".into()),
            "htm",
        ),
        (
            "dpop_proof_htm_lowercase",
            "Proof htm get (methods are case-sensitive)",
            Box::new(|c| c["htm"] = "get".into()),
            "htm",
        ),
        (
            "dpop_proof_htu_other_path",
            "Proof htu names another path",
            Box::new(|c| c["htu"] = "https://api.example.com/admin".into()),
            "htu",
        ),
        (
            "dpop_proof_htu_other_scheme",
            "Proof htu over http",
            Box::new(|c| c["htu"] = "http://api.example.com/orders".into()),
            "htu",
        ),
        (
            "dpop_proof_no_htu",
            "Proof without htu",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("htu");
            }),
            "htu",
        ),
        (
            "dpop_proof_iat_too_old",
            "Proof iat 301 s ago (max_age 300)",
            Box::new(|c| c["iat"] = (NOW - 301).into()),
            "iat",
        ),
        (
            "dpop_proof_iat_future",
            "Proof iat 5 s ahead, no leeway",
            Box::new(|c| c["iat"] = (NOW + 5).into()),
            "iat",
        ),
        (
            "dpop_proof_iat_string",
            "Proof iat is a string",
            Box::new(|c| c["iat"] = (NOW - 5).to_string().into()),
            "iat",
        ),
        (
            "dpop_proof_ath_mismatch",
            "Proof ath is the hash of another token",
            Box::new(|c| c["ath"] = access_token_hash("another").into()),
            "ath",
        ),
        (
            "dpop_proof_no_ath",
            "Proof without ath",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("ath");
            }),
            "ath",
        ),
        (
            "dpop_proof_no_jti",
            "Proof without jti",
            Box::new(|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "jti",
        ),
        (
            "dpop_proof_jti_number",
            "Proof jti is a number",
            Box::new(|c| c["jti"] = 7.into()),
            "jti",
        ),
    ];
    for (name, description, edit, claim) in cases {
        out.push(case(
            name,
            description,
            &cfg,
            get(&dpop_proof(&client, "ES256", &with(&token, &*edit))),
            bad(claim),
        ));
    }
    let nonce_cfg = cfg_mode(
        "allowed",
        json!({"nonce": true, "nonce_secret": NONCE_SECRET, "nonce_lifetime": 300}),
    );
    out.push(case(
        "dpop_nonce_missing",
        "Nonces on: a proof without one gets use_dpop_nonce",
        &nonce_cfg,
        get(&proof),
        bad("nonce"),
    ));
    out.push(case(
        "dpop_nonce_valid",
        "Nonces on: the current nonce",
        &nonce_cfg,
        get(&dpop_proof(
            &client,
            "ES256",
            &with(&token, &|c| c["nonce"] = dpop_nonce(NOW, 300).into()),
        )),
        valid(&bound),
    ));
    out.push(case(
        "dpop_nonce_previous_slot",
        "Nonces on: the nonce of the previous slot is still good",
        &nonce_cfg,
        get(&dpop_proof(
            &client,
            "ES256",
            &with(&token, &|c| c["nonce"] = dpop_nonce(NOW - 300, 300).into()),
        )),
        valid(&bound),
    ));
    out.push(case(
        "dpop_nonce_expired",
        "Nonces on: a nonce two slots old",
        &nonce_cfg,
        get(&dpop_proof(
            &client,
            "ES256",
            &with(&token, &|c| c["nonce"] = dpop_nonce(NOW - 600, 300).into()),
        )),
        bad("nonce"),
    ));
    out.push(case(
        "dpop_nonce_forged",
        "Nonces on: a nonce made with another secret",
        &nonce_cfg,
        get(&dpop_proof(
            &client,
            "ES256",
            &with(&token, &|c| {
                c["nonce"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into()
            }),
        )),
        bad("nonce"),
    ));
    for (name, description, dpop) in [
        (
            "dpop_config_symmetric_alg",
            "dpop.algorithms may not hold an HMAC algorithm",
            json!({"algorithms": ["HS256"]}),
        ),
        (
            "dpop_config_unknown_mode",
            "dpop.mode must be disabled, allowed or required",
            json!({"mode": "sometimes"}),
        ),
        (
            "dpop_config_short_nonce_secret",
            "dpop.nonce_secret must be at least 32 bytes",
            json!({"nonce": true, "nonce_secret": "short"}),
        ),
        (
            "dpop_config_unknown_key",
            "Unknown keys in dpop are refused",
            json!({"max_agee": 5}),
        ),
    ] {
        let mut c = cfg.clone();
        for (key, value) in dpop.as_object().unwrap() {
            c["dpop"][key] = value.clone();
        }
        out.push(case(
            name,
            description,
            &c,
            get(&proof),
            rejected("config_invalid"),
        ));
    }
    out
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let fresh = std::env::args().any(|a| a == "--new-keys");
    let keys = Keys::load_or_create(&root.join("keys/test-only-private-keys.json"), fresh);
    let groups: Vec<(&str, &str, Vec<Case>)> = vec![
        (
            "algorithms",
            "Every algorithm: valid, tampered, wrong key, allow-list, unknown kid",
            algorithm_cases(&keys),
        ),
        (
            "structure",
            "Compact serialization, base64url, JSON and header rules",
            structure_cases(&keys),
        ),
        (
            "claims",
            "Registered claims, typ, ordering of checks, several issuers",
            claim_cases(&keys),
        ),
        (
            "keys",
            "Key binding, kid lookup, key sources and configurations that must not build",
            key_cases(&keys),
        ),
        (
            "extraction",
            "Finding the token in a request",
            extraction_cases(&keys),
        ),
        (
            "scopes",
            "Scope and permission requirements",
            scope_cases(&keys),
        ),
        (
            "dpop",
            "DPoP (RFC 9449): proofs, key binding, schemes, nonces",
            dpop_cases(&keys),
        ),
    ];
    let mut total = 0;
    let mut names = std::collections::HashSet::new();
    for (file, description, cases) in groups {
        for case in &cases {
            assert!(
                names.insert(case.name.clone()),
                "duplicate case name {}",
                case.name
            );
        }
        total += cases.len();
        let doc = json!({
            "description": description,
            "generated_by": "cargo run -p veritoken-vectorgen (tests/vectors/gen)",
            "cases": cases.iter().map(Case::to_json).collect::<Vec<_>>(),
        });
        let path = root.join(format!("{file}.json"));
        std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap() + "\n").unwrap();
        println!("{:>4} cases  {}", cases.len(), path.display());
    }
    println!("{total:>4} cases in all");
}
