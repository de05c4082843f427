//! `keys.json`: Key binding, kid lookup, key sources and configurations that must not build.

use crate::common::*;

pub(crate) fn key_cases(k: &Keys) -> Vec<Case> {
    let c = claims();
    let rsa = Signer::Rsa(&k.rsa);
    let rsa_b = Signer::Rsa(&k.rsa_b);
    let hs = Signer::Hmac(&k.hs256);
    let p256 = Signer::Ec(&k.p256);
    let p384 = Signer::Ec(&k.p384);
    let p521 = Signer::Ec(&k.p521);
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
    // RFC 9864 names are bound to one key type and curve: a key of any other is refused.
    let fully_specified = config(
        &["RS256", "ESP256", "ESP384", "ESP512", "Ed25519"],
        vec![jwks(vec![
            rsa_jwk.clone(),
            public_jwk(&p256, Some("p256"), None),
            public_jwk(&p384, Some("p384"), None),
            public_jwk(&p521, Some("p521"), None),
            public_jwk(&ed, Some("ed"), None),
        ])],
    );
    for (name, description, alg, signer, kid) in [
        (
            "keys_ed25519_token_for_p256_key",
            "Ed25519 header, kid of a P-256 key",
            "Ed25519",
            &ed,
            "p256",
        ),
        (
            "keys_ed25519_token_for_rsa_key",
            "Ed25519 header, kid of an RSA key",
            "Ed25519",
            &ed,
            "rsa",
        ),
        (
            "keys_esp256_token_for_ed25519_key",
            "ESP256 header, kid of an Ed25519 key",
            "ESP256",
            &p256,
            "ed",
        ),
        (
            "keys_esp256_token_for_p384_key",
            "ESP256 header, kid of a P-384 key",
            "ESP256",
            &p256,
            "p384",
        ),
        (
            "keys_esp384_token_for_p521_key",
            "ESP384 header, kid of a P-521 key",
            "ESP384",
            &p384,
            "p521",
        ),
        (
            "keys_esp512_token_for_p256_key",
            "ESP512 header, kid of a P-256 key",
            "ESP512",
            &p521,
            "p256",
        ),
        (
            "keys_esp256_token_for_rsa_key",
            "ESP256 header, kid of an RSA key",
            "ESP256",
            &p256,
            "rsa",
        ),
    ] {
        out.push(Case::new(
            name,
            description,
            fully_specified.clone(),
            jwt(alg, signer, Some(kid), &c),
            rejected("algorithm_not_allowed"),
        ));
    }
    out.push(Case::new(
        "keys_fully_specified_p521",
        "ESP512 among RSA, three curve and Ed25519 keys",
        fully_specified.clone(),
        jwt("ESP512", &p521, Some("p521"), &c),
        valid(&c),
    ));
    // A JWK's own alg admits its exact fully-specified twin (the same verification), each
    // way, and nothing else (docs/design.md).
    for (name, description, jwk_alg, token_alg, signer) in [
        (
            "keys_jwk_alg_eddsa_ed25519_token",
            "JWK alg EdDSA, Ed25519 token (its twin)",
            "EdDSA",
            "Ed25519",
            &ed,
        ),
        (
            "keys_jwk_alg_ed25519_eddsa_token",
            "JWK alg Ed25519, EdDSA token (its twin)",
            "Ed25519",
            "EdDSA",
            &ed,
        ),
        (
            "keys_jwk_alg_es256_esp256_token",
            "JWK alg ES256, ESP256 token (its twin)",
            "ES256",
            "ESP256",
            &p256,
        ),
        (
            "keys_jwk_alg_esp256_es256_token",
            "JWK alg ESP256, ES256 token (its twin)",
            "ESP256",
            "ES256",
            &p256,
        ),
        (
            "keys_jwk_alg_esp384_es384_token",
            "JWK alg ESP384, ES384 token (its twin)",
            "ESP384",
            "ES384",
            &p384,
        ),
        (
            "keys_jwk_alg_es512_esp512_token",
            "JWK alg ES512, ESP512 token (its twin)",
            "ES512",
            "ESP512",
            &p521,
        ),
    ] {
        let key = public_jwk(signer, Some("k"), Some(jwk_alg));
        out.push(Case::new(
            name,
            description,
            config(&[token_alg], vec![jwks(vec![key])]),
            jwt(token_alg, signer, Some("k"), &c),
            valid(&c),
        ));
    }
    out.push(Case::new(
        "keys_jwk_alg_esp384_on_p256_key",
        "JWK alg ESP384 on a P-256 key: the key is skipped, no usable key is left",
        config(
            &["ES256", "ESP256", "ESP384"],
            vec![jwks(vec![public_jwk(&p256, Some("k"), Some("ESP384"))])],
        ),
        jwt("ESP256", &p256, Some("k"), &c),
        rejected("config_invalid"),
    ));
    out.push(Case::new(
        "keys_jwk_alg_ed25519_on_p256_key",
        "JWK alg Ed25519 on a P-256 key next to a good one: that key is skipped",
        config(
            &["ES256", "Ed25519"],
            vec![jwks(vec![
                public_jwk(&p256, Some("k"), Some("Ed25519")),
                public_jwk(&ed, Some("ed"), None),
            ])],
        ),
        jwt("ES256", &p256, Some("k"), &c),
        rejected("key_not_found"),
    ));
    out.push(Case::new(
        "keys_pem_alg_ed25519",
        "An Ed25519 PEM restricted to alg Ed25519 verifies an Ed25519 token",
        config(
            &["Ed25519"],
            vec![json!({"pem": {"key": public_pem(&ed), "kid": "pem-ed", "alg": "Ed25519"}})],
        ),
        jwt("Ed25519", &ed, Some("pem-ed"), &c),
        valid(&c),
    ));
    out.push(Case::new(
        "keys_pem_alg_esp256_on_ed25519_key",
        "An Ed25519 PEM restricted to alg ESP256",
        config(
            &["ESP256"],
            vec![json!({"pem": {"key": public_pem(&ed), "kid": "pem-ed", "alg": "ESP256"}})],
        ),
        jwt("Ed25519", &ed, Some("pem-ed"), &c),
        rejected("config_invalid"),
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
    // One rule for static and fetched sets: an unusable key is skipped, the others work.
    let mixed_quality = config(
        &["RS256"],
        vec![jwks(vec![
            json!({"kty": "RSA", "kid": "weak", "n": b64u(&n), "e": "AQAB"}),
            json!({"kid": "no-kty", "n": b64u(&n), "e": "AQAB"}),
            rsa_jwk.clone(),
        ])],
    );
    out.push(Case::new(
        "keys_static_jwks_skips_unusable_key",
        "A static JWKS with an RSA-1024 key and a key without kty next to a good one: the good one verifies",
        mixed_quality.clone(),
        jwt("RS256", &rsa, Some("rsa"), &c),
        valid(&c),
    ));
    out.push(Case::new(
        "keys_static_jwks_skipped_key_not_found",
        "A token naming the skipped RSA-1024 key's kid",
        mixed_quality,
        jwt("RS256", &rsa, Some("weak"), &c),
        rejected("key_not_found"),
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
