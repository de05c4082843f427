//! Signing for tests: key pairs, JOSE signatures, public JWKs and PEMs. The test IdP signs
//! its tokens with these, and the vector generator its cases (with TEST-ONLY keys made once
//! and committed as PKCS#8 in `tests/vectors/keys/test-only-private-keys.json`, so
//! regenerating gives the same keys and, for deterministic algorithms, the same tokens).

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use aws_lc_rs::{hmac, signature::EcdsaSigningAlgorithm};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Map, Value};
use std::path::Path;

pub fn b64u(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Something that signs: an asymmetric key pair or an HMAC secret.
pub enum Signer<'a> {
    Rsa(&'a RsaKeyPair),
    Ec(&'a EcdsaKeyPair),
    Ed(&'a Ed25519KeyPair),
    Hmac(&'a [u8]),
}

impl Signer<'_> {
    /// Signs `message` the way JOSE algorithm `alg` prescribes.
    pub fn sign(&self, alg: &str, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Signer::Rsa(key) => {
                let padding: &'static dyn signature::RsaEncoding = match alg {
                    "RS256" => &signature::RSA_PKCS1_SHA256,
                    "RS384" => &signature::RSA_PKCS1_SHA384,
                    "RS512" => &signature::RSA_PKCS1_SHA512,
                    "PS256" => &signature::RSA_PSS_SHA256,
                    "PS384" => &signature::RSA_PSS_SHA384,
                    "PS512" => &signature::RSA_PSS_SHA512,
                    _ => panic!("RSA cannot sign {alg}"),
                };
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(padding, &rng, message, &mut sig).unwrap();
                sig
            }
            Signer::Ec(key) => key.sign(&rng, message).unwrap().as_ref().to_vec(),
            Signer::Ed(key) => key.sign(message).as_ref().to_vec(),
            Signer::Hmac(secret) => {
                let h = match alg {
                    "HS256" => hmac::HMAC_SHA256,
                    "HS384" => hmac::HMAC_SHA384,
                    "HS512" => hmac::HMAC_SHA512,
                    _ => panic!("HMAC cannot sign {alg}"),
                };
                hmac::sign(&hmac::Key::new(h, secret), message)
                    .as_ref()
                    .to_vec()
            }
        }
    }
}

pub struct Keys {
    pub rsa: RsaKeyPair,
    pub rsa_b: RsaKeyPair,
    pub p256: EcdsaKeyPair,
    pub p256_b: EcdsaKeyPair,
    pub p384: EcdsaKeyPair,
    pub p521: EcdsaKeyPair,
    pub ed: Ed25519KeyPair,
    pub ed_b: Ed25519KeyPair,
    pub hs256: Vec<u8>,
    pub hs384: Vec<u8>,
    pub hs512: Vec<u8>,
    pub hs_b: Vec<u8>,
}

const EC_NAMES: [(&str, &EcdsaSigningAlgorithm); 4] = [
    ("p256", &signature::ECDSA_P256_SHA256_FIXED_SIGNING),
    ("p256_b", &signature::ECDSA_P256_SHA256_FIXED_SIGNING),
    ("p384", &signature::ECDSA_P384_SHA384_FIXED_SIGNING),
    ("p521", &signature::ECDSA_P521_SHA512_FIXED_SIGNING),
];

fn make_stored() -> Map<String, Value> {
    let mut m = Map::new();
    for name in ["rsa", "rsa_b"] {
        let k = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let der: Pkcs8V1Der = k.as_der().unwrap();
        m.insert(name.into(), STANDARD.encode(der.as_ref()).into());
    }
    for (name, alg) in EC_NAMES {
        let k = EcdsaKeyPair::generate(alg).unwrap();
        m.insert(
            name.into(),
            STANDARD.encode(k.to_pkcs8v1().unwrap().as_ref()).into(),
        );
    }
    for name in ["ed", "ed_b"] {
        let k = Ed25519KeyPair::generate().unwrap();
        m.insert(
            name.into(),
            STANDARD.encode(k.to_pkcs8v1().unwrap().as_ref()).into(),
        );
    }
    for (name, len) in [("hs256", 32), ("hs384", 48), ("hs512", 64), ("hs_b", 32)] {
        let mut secret = vec![0u8; len];
        SystemRandom::new().fill(&mut secret).unwrap();
        m.insert(name.into(), b64u(&secret).into());
    }
    m
}

impl Keys {
    /// Loads the committed keys, or makes and writes them when `fresh` or absent.
    pub fn load_or_create(path: &Path, fresh: bool) -> Keys {
        let stored: Map<String, Value> = if !fresh && path.is_file() {
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
        } else {
            let mut m = make_stored();
            m.insert("_note".into(), "TEST-ONLY keys for the veritoken conformance vectors. Never use them for anything else.".into());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, serde_json::to_string_pretty(&m).unwrap() + "\n").unwrap();
            m
        };
        let der = |name: &str| STANDARD.decode(stored[name].as_str().unwrap()).unwrap();
        let secret = |name: &str| {
            URL_SAFE_NO_PAD
                .decode(stored[name].as_str().unwrap())
                .unwrap()
        };
        let ec = |name: &str| {
            let alg = EC_NAMES.iter().find(|(n, _)| *n == name).unwrap().1;
            EcdsaKeyPair::from_pkcs8(alg, &der(name)).unwrap()
        };
        Keys {
            rsa: RsaKeyPair::from_pkcs8(&der("rsa")).unwrap(),
            rsa_b: RsaKeyPair::from_pkcs8(&der("rsa_b")).unwrap(),
            p256: ec("p256"),
            p256_b: ec("p256_b"),
            p384: ec("p384"),
            p521: ec("p521"),
            ed: Ed25519KeyPair::from_pkcs8(&der("ed")).unwrap(),
            ed_b: Ed25519KeyPair::from_pkcs8(&der("ed_b")).unwrap(),
            hs256: secret("hs256"),
            hs384: secret("hs384"),
            hs512: secret("hs512"),
            hs_b: secret("hs_b"),
        }
    }
}

/// The public JWK of a signer, with the given `kid` and optional `alg`.
pub fn public_jwk(signer: &Signer, kid: Option<&str>, alg: Option<&str>) -> Value {
    let mut jwk = match signer {
        Signer::Rsa(k) => {
            let pkcs1 = k.public_key().as_ref().to_vec();
            let parsed = pkcs1::RsaPublicKeyRef::try_from(pkcs1.as_slice()).unwrap();
            json!({"kty": "RSA", "n": b64u(parsed.modulus.as_bytes()), "e": b64u(parsed.public_exponent.as_bytes())})
        }
        Signer::Ec(k) => {
            let point = k.public_key().as_ref();
            let len = (point.len() - 1) / 2;
            let crv = match len {
                32 => "P-256",
                48 => "P-384",
                _ => "P-521",
            };
            json!({"kty": "EC", "crv": crv, "x": b64u(&point[1..1 + len]), "y": b64u(&point[1 + len..])})
        }
        Signer::Ed(k) => {
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64u(k.public_key().as_ref())})
        }
        Signer::Hmac(secret) => json!({"kty": "oct", "k": b64u(secret)}),
    };
    if let Some(kid) = kid {
        jwk["kid"] = kid.into();
    }
    if let Some(alg) = alg {
        jwk["alg"] = alg.into();
    }
    jwk
}

/// The SPKI PEM of an asymmetric signer's public key.
pub fn public_pem(signer: &Signer) -> String {
    let der: PublicKeyX509Der = match signer {
        Signer::Rsa(k) => k.public_key().as_der().unwrap(),
        Signer::Ec(k) => k.public_key().as_der().unwrap(),
        Signer::Ed(k) => k.public_key().as_der().unwrap(),
        Signer::Hmac(_) => panic!("an HMAC secret has no PEM form"),
    };
    der::pem::encode_string("PUBLIC KEY", der::pem::LineEnding::LF, der.as_ref()).unwrap()
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK (written apart from the engine's, so
/// the two cross-check each other).
pub fn jwk_thumbprint(jwk: &Value) -> String {
    let s = |name: &str| jwk[name].as_str().unwrap_or_default().to_owned();
    let canonical = match jwk["kty"].as_str() {
        Some("EC") => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            s("crv"),
            s("x"),
            s("y")
        ),
        Some("RSA") => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
        _ => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, s("crv"), s("x")),
    };
    b64u(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        canonical.as_bytes(),
    ))
}

/// `ath`: the base64url SHA-256 of an access token (RFC 9449 §4.2).
pub fn access_token_hash(token: &str) -> String {
    b64u(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        token.as_bytes(),
    ))
}

/// A DPoP proof (RFC 9449 §4.2) signed by `signer` with `alg`, its public JWK in the header;
/// `claims` are the payload as given (so tests can leave members out or break them).
pub fn dpop_proof(signer: &Signer, alg: &str, claims: &Value) -> String {
    let header = json!({"typ": "dpop+jwt", "alg": alg, "jwk": public_jwk(signer, None, None)});
    let input = format!("{}.{}", b64u(header.to_string()), b64u(claims.to_string()));
    let sig = signer.sign(alg, input.as_bytes());
    format!("{input}.{}", b64u(sig))
}
