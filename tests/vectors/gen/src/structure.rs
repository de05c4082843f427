//! `structure.json`: Compact serialization, base64url, JSON and header rules.

use crate::common::*;

pub(crate) fn structure_cases(k: &Keys) -> Vec<Case> {
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
