//! Helpers every vector family uses: the case type, verdicts, tokens and configurations.

pub(crate) use serde_json::{json, Value};
pub(crate) use veritoken_testidp::keys::{
    access_token_hash, b64u, dpop_proof, jwk_thumbprint, public_jwk, public_pem, Keys, Signer,
};

/// 2026-01-01T00:00:00Z, the `now` of every case.
pub(crate) const NOW: i64 = 1_767_225_600;
pub(crate) const ISS: &str = "https://idp.example.com/";
pub(crate) const AUD: &str = "api://default";

pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) config: Value,
    pub(crate) token: Option<String>,
    pub(crate) request: Option<Value>,
    pub(crate) require_scopes: Option<Value>,
    /// A route requirement (scopes, roles, rules), checked after verification.
    pub(crate) require: Option<Value>,
    /// Optional authentication: a request without a token goes on anonymous.
    pub(crate) optional: bool,
    pub(crate) expect: Value,
}

impl Case {
    pub(crate) fn new(
        name: &str,
        description: &str,
        config: Value,
        token: String,
        expect: Value,
    ) -> Case {
        Case {
            name: name.to_owned(),
            description: description.to_owned(),
            config,
            token: Some(token),
            request: None,
            require_scopes: None,
            require: None,
            optional: false,
            expect,
        }
    }

    pub(crate) fn to_json(&self) -> Value {
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
        if let Some(r) = &self.require {
            v["require"] = r.clone();
        }
        if self.optional {
            v["optional"] = true.into();
        }
        v["expect"] = self.expect.clone();
        v
    }
}

pub(crate) fn valid(claims: &Value) -> Value {
    json!({"valid": true, "claims": claims})
}

/// Optional authentication let a request without a token through, with no claims.
pub(crate) fn anonymous() -> Value {
    json!({"valid": true, "anonymous": true})
}

pub(crate) fn rejected(code: &str) -> Value {
    json!({"valid": false, "error": code})
}

pub(crate) fn rejected_claim(code: &str, claim: &str) -> Value {
    json!({"valid": false, "error": code, "claim": claim})
}

pub(crate) fn claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "sub": "user-123", "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3600, "scope": "read write"})
}

/// A compact JWS over raw header and payload text (raw, so duplicates can be written).
pub(crate) fn jws(sign_alg: &str, signer: &Signer, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64u(header), b64u(payload));
    let sig = signer.sign(sign_alg, input.as_bytes());
    format!("{input}.{}", b64u(sig))
}

pub(crate) fn header(alg: &str, kid: Option<&str>) -> Value {
    let mut h = json!({"alg": alg, "typ": "JWT"});
    if let Some(kid) = kid {
        h["kid"] = kid.into();
    }
    h
}

pub(crate) fn jwt(alg: &str, signer: &Signer, kid: Option<&str>, claims: &Value) -> String {
    jws(
        alg,
        signer,
        &header(alg, kid).to_string(),
        &claims.to_string(),
    )
}

pub(crate) fn config(algorithms: &[&str], keys: Vec<Value>) -> Value {
    json!({"issuers": [{"issuer": ISS, "audiences": [AUD], "algorithms": algorithms, "keys": keys}]})
}

pub(crate) fn jwks(keys: Vec<Value>) -> Value {
    json!({"jwks": {"keys": keys}})
}

/// Flips one bit in the middle of the signature, keeping the encoding canonical.
pub(crate) fn tamper_signature(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut bytes = base64_decode(sig);
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    format!("{input}.{}", b64u(bytes))
}

pub(crate) fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

/// Replaces the payload, keeping the original signature.
pub(crate) fn swap_payload(token: &str, payload: &Value) -> String {
    let mut parts: Vec<&str> = token.split('.').collect();
    let encoded = b64u(payload.to_string());
    parts[1] = &encoded;
    parts.join(".")
}

pub(crate) fn request(headers: &[(&str, &str)], query: Option<&str>) -> Value {
    let mut r = json!({"headers": headers.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()});
    if let Some(q) = query {
        r["query"] = q.into();
    }
    r
}
