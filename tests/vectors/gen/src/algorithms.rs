//! `algorithms.json`: Every algorithm: valid, tampered, wrong key, allow-list, unknown kid.

use crate::common::*;

pub(crate) fn algorithm_cases(k: &Keys) -> Vec<Case> {
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
        // RFC 9864 fully-specified names. Each is refused by an allow-list that names only
        // its polymorphic or older twin: the allow-list is exact.
        (
            "Ed25519",
            Signer::Ed(&k.ed),
            Some(Signer::Ed(&k.ed_b)),
            "EdDSA",
        ),
        (
            "ESP256",
            Signer::Ec(&k.p256),
            Some(Signer::Ec(&k.p256_b)),
            "ES256",
        ),
        ("ESP384", Signer::Ec(&k.p384), None, "ES384"),
        ("ESP512", Signer::Ec(&k.p521), None, "ES512"),
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
