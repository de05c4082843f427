//! `dpop.json`: DPoP (RFC 9449): proofs, key binding, schemes, nonces.

use crate::common::*;

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

pub(crate) fn dpop_cases(k: &Keys) -> Vec<Case> {
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
        require: None,
        optional: false,
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
    // RFC 9864 fully-specified names, as panva's dpop and oauth4webapi sign them: accepted
    // by the default dpop.algorithms, each on its own key type and curve only.
    {
        let p384 = Signer::Ec(&k.p384);
        let p521 = Signer::Ec(&k.p521);
        let rsa = Signer::Rsa(&k.rsa_b);
        for (alg, signer) in [
            ("Ed25519", &ed_client),
            ("ESP256", &client),
            ("ESP384", &p384),
            ("ESP512", &p521),
        ] {
            let bound = bound_claims(&jwk_thumbprint(&public_jwk(signer, None, None)));
            let token = jwt("HS256", &hs, Some("h"), &bound);
            out.push(case(
                &format!("dpop_valid_{}", alg.to_lowercase()),
                &format!("An {alg} proof (RFC 9864), default dpop.algorithms"),
                &cfg,
                dpop_request(
                    &token,
                    Some(&dpop_proof(signer, alg, &proof_claims(&token))),
                    "GET",
                    API_URL,
                ),
                valid(&bound),
            ));
        }
        // Proofs over a jwk of another key type or curve, signed by the key the alg needs.
        for (name, alg, signer, jwk_of) in [
            (
                "dpop_proof_ed25519_over_p256_jwk",
                "Ed25519",
                &ed_client,
                &client,
            ),
            (
                "dpop_proof_ed25519_over_rsa_jwk",
                "Ed25519",
                &ed_client,
                &rsa,
            ),
            (
                "dpop_proof_esp256_over_ed25519_jwk",
                "ESP256",
                &client,
                &ed_client,
            ),
            ("dpop_proof_esp256_over_p384_jwk", "ESP256", &client, &p384),
            ("dpop_proof_esp384_over_p256_jwk", "ESP384", &p384, &client),
            ("dpop_proof_esp512_over_p384_jwk", "ESP512", &p521, &p384),
        ] {
            let jwk = public_jwk(jwk_of, None, None);
            out.push(case(
                name,
                &format!(
                    "Proof alg {alg} over a {} {} jwk",
                    jwk["kty"].as_str().unwrap(),
                    jwk["crv"].as_str().unwrap_or("2048-bit")
                ),
                &cfg,
                get(&raw_proof(
                    json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk}),
                    signer,
                    alg,
                )),
                bad("alg"),
            ));
        }
        let ed_bound = bound_claims(&ed_jkt);
        let ed_token = jwt("HS256", &hs, Some("h"), &ed_bound);
        let ed_request = |alg: &str| {
            dpop_request(
                &ed_token,
                Some(&dpop_proof(&ed_client, alg, &proof_claims(&ed_token))),
                "GET",
                API_URL,
            )
        };
        // A configured allow-list is exact: EdDSA and Ed25519 are separate entries.
        out.push(case(
            "dpop_valid_allow_list_ed25519",
            "dpop.algorithms [Ed25519]; an Ed25519 proof",
            &cfg_mode("allowed", json!({"algorithms": ["Ed25519"]})),
            ed_request("Ed25519"),
            valid(&ed_bound),
        ));
        out.push(case(
            "dpop_proof_eddsa_not_allowed_ed25519_only",
            "dpop.algorithms [Ed25519]; an EdDSA proof",
            &cfg_mode("allowed", json!({"algorithms": ["Ed25519"]})),
            ed_request("EdDSA"),
            bad("alg"),
        ));
        out.push(case(
            "dpop_proof_ed25519_not_allowed_eddsa_only",
            "dpop.algorithms [EdDSA]; an Ed25519 proof",
            &cfg_mode("allowed", json!({"algorithms": ["EdDSA"]})),
            ed_request("Ed25519"),
            bad("alg"),
        ));
        // A jwk's own alg admits its fully-specified twin, as for issuer keys.
        let mut ed_jwk = public_jwk(&ed_client, None, Some("EdDSA"));
        let twin = jws(
            "Ed25519",
            &ed_client,
            &json!({"typ": "dpop+jwt", "alg": "Ed25519", "jwk": ed_jwk}).to_string(),
            &proof_claims(&ed_token).to_string(),
        );
        out.push(case(
            "dpop_valid_ed25519_jwk_alg_eddsa",
            "An Ed25519 proof whose jwk says alg EdDSA (its twin)",
            &cfg,
            dpop_request(&ed_token, Some(&twin), "GET", API_URL),
            valid(&ed_bound),
        ));
        ed_jwk["alg"] = "ES256".into();
        let wrong = jws(
            "Ed25519",
            &ed_client,
            &json!({"typ": "dpop+jwt", "alg": "Ed25519", "jwk": ed_jwk}).to_string(),
            &proof_claims(&ed_token).to_string(),
        );
        out.push(case(
            "dpop_proof_ed25519_jwk_alg_es256",
            "An Ed25519 proof whose jwk says alg ES256",
            &cfg,
            dpop_request(&ed_token, Some(&wrong), "GET", API_URL),
            bad("jwk"),
        ));
        let p256_jwk = public_jwk(&client, None, Some("ES256"));
        let twin = jws(
            "ESP256",
            &client,
            &json!({"typ": "dpop+jwt", "alg": "ESP256", "jwk": p256_jwk}).to_string(),
            &proof_claims(&token).to_string(),
        );
        out.push(case(
            "dpop_valid_esp256_jwk_alg_es256",
            "An ESP256 proof whose jwk says alg ES256 (its twin)",
            &cfg,
            get(&twin),
            valid(&bound),
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
    // `%+a` is no percent-encoding (two hex digits only): it is not `%0A`.
    let plus_hex = dpop_proof(
        &client,
        "ES256",
        &with(&token, &|c| {
            c["htu"] = "https://api.example.com/x%+a".into()
        }),
    );
    out.push(case(
        "dpop_proof_htu_plus_is_no_hex_digit",
        "Proof htu .../x%+a for the request URL .../x%0a",
        &cfg,
        dpop_request(
            &token,
            Some(&plus_hex),
            "GET",
            "https://api.example.com/x%0a",
        ),
        bad("htu"),
    ));
    // A request URL that does not parse (built from a client's Host header, say) is
    // named by no proof: the request's fault, not the server's.
    for (name, url) in [
        (
            "dpop_request_url_with_a_space",
            "https://exa mple.com/orders",
        ),
        (
            "dpop_request_url_port_out_of_range",
            "https://api.example.com:99999/orders",
        ),
        ("dpop_request_url_relative", "/orders"),
    ] {
        out.push(case(
            name,
            "The request URL is not an absolute http(s) URL",
            &cfg,
            dpop_request(&token, Some(&proof), "GET", url),
            bad("htu"),
        ));
    }
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
