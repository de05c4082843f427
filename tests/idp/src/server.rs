//! The IdP's state, HTTP routes and in-process handle.

use crate::keys::{access_token_hash, b64u, dpop_proof, jwk_thumbprint, public_jwk, Signer};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A fault applied to discovery and JWKS responses.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    #[default]
    None,
    /// 503 for discovery and JWKS (in process, [`TestIdp::stop`] refuses connections).
    Down,
    /// Answer normally after `delay_ms`.
    Delay,
    /// HTTP 500.
    Status500,
    /// 200 with a body that is not JSON.
    Garbage,
    /// 200 with a 2 MiB body.
    Oversize,
    /// 302 to itself, forever.
    RedirectLoop,
    /// The right JSON served as `text/html`.
    WrongContentType,
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    #[serde(default)]
    pub mode: FaultMode,
    #[serde(default)]
    pub delay_ms: u64,
}

/// What the JWKS response says about caching.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CachePolicy {
    /// `Cache-Control: max-age=N` when set.
    #[serde(default)]
    pub max_age: Option<u64>,
    /// Send an `ETag` and answer `304` to a matching `If-None-Match`.
    #[serde(default)]
    pub etag: bool,
}

/// Requests served, per endpoint.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub discovery_requests: u64,
    pub jwks_requests: u64,
    pub jwks_not_modified: u64,
    pub token_requests: u64,
    pub introspection_requests: u64,
}

/// What a token should hold. Unset fields get defaults: `sub` = client id, `aud`
/// `api://default`, a 300 s lifetime, RS256.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[serde(default)]
    pub alg: Option<String>,
    #[serde(default)]
    pub kid: Option<String>,
    #[serde(default)]
    pub audience: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub lifetime: Option<i64>,
    /// Extra or overriding claims.
    #[serde(default)]
    pub claims: Map<String, Value>,
    /// Issue an opaque token (a random handle that only introspection resolves).
    #[serde(default)]
    pub opaque: bool,
    /// Bind the token to this DPoP key thumbprint (`cnf.jkt`, RFC 9449).
    #[serde(default)]
    pub dpop_jkt: Option<String>,
}

/// What `POST /dpop/proof` signs with the IdP's test client key.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofRequest {
    pub htm: String,
    pub htu: String,
    /// The access token the proof goes with (gives `ath`).
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub nonce: Option<String>,
    /// Default: now.
    #[serde(default)]
    pub iat: Option<i64>,
    /// Default: random.
    #[serde(default)]
    pub jti: Option<String>,
}

enum KeyPair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

struct IdpKey {
    kid: String,
    alg: String,
    pair: KeyPair,
}

impl IdpKey {
    fn signer(&self) -> Signer<'_> {
        match &self.pair {
            KeyPair::Rsa(k) => Signer::Rsa(k),
            KeyPair::Ec(k) => Signer::Ec(k),
            KeyPair::Ed(k) => Signer::Ed(k),
        }
    }
}

fn generate(alg: &str) -> Result<KeyPair, String> {
    let ec =
        |a: &'static signature::EcdsaSigningAlgorithm| EcdsaKeyPair::generate(a).map(KeyPair::Ec);
    match alg {
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => {
            RsaKeyPair::generate(KeySize::Rsa2048).map(KeyPair::Rsa)
        }
        // RFC 9864 names (ESPxxx, Ed25519) sign exactly as their twins do.
        "ES256" | "ESP256" => ec(&signature::ECDSA_P256_SHA256_FIXED_SIGNING),
        "ES384" | "ESP384" => ec(&signature::ECDSA_P384_SHA384_FIXED_SIGNING),
        "ES512" | "ESP512" => ec(&signature::ECDSA_P521_SHA512_FIXED_SIGNING),
        "EdDSA" | "Ed25519" => Ed25519KeyPair::generate().map(KeyPair::Ed),
        other => return Err(format!("the test IdP cannot make {other} keys")),
    }
    .map_err(|_| "key generation failed".to_owned())
}

struct Idp {
    base: String,
    keys: Vec<IdpKey>,
    next_kid: u32,
    fault: Fault,
    cache: CachePolicy,
    stats: Stats,
    issued: HashSet<String>,
    revoked: HashSet<String>,
    /// Opaque tokens and the JWT each stands for.
    opaque: HashMap<String, String>,
    /// The test client's DPoP key (ES256), for `POST /dpop/proof`.
    client_key: EcdsaKeyPair,
}

type Shared = Arc<Mutex<Idp>>;

fn lock(s: &Shared) -> MutexGuard<'_, Idp> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

const CLIENT_ID: &str = "test-client";
const CLIENT_SECRET: &str = "test-secret";
/// A second client whose id and secret hold the characters RFC 6749 §2.3.1's form encoding
/// changes (`+`, `/`, `=`, `:`, `%`, space): a client that sends them raw is refused.
pub const ODD_CLIENT_ID: &str = "svc:reports 1";
pub const ODD_CLIENT_SECRET: &str = "q7+Hx/Zk w==%41:&";

impl Idp {
    /// A fresh IdP at `base` with one RS256, ES256 and EdDSA key each.
    fn new(base: String) -> Result<Idp, String> {
        let mut idp = Idp {
            base,
            keys: Vec::new(),
            next_kid: 0,
            fault: Fault::default(),
            cache: CachePolicy::default(),
            stats: Stats::default(),
            issued: HashSet::new(),
            revoked: HashSet::new(),
            opaque: HashMap::new(),
            client_key: EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| "key generation failed")?,
        };
        for alg in ["RS256", "ES256", "EdDSA"] {
            idp.add_key(alg)?;
        }
        Ok(idp)
    }

    fn add_key(&mut self, alg: &str) -> Result<String, String> {
        let pair = generate(alg)?;
        self.next_kid += 1;
        let kid = format!("{}-{}", alg.to_lowercase(), self.next_kid);
        self.keys.push(IdpKey {
            kid: kid.clone(),
            alg: alg.to_owned(),
            pair,
        });
        Ok(kid)
    }

    fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| {
                let mut jwk = public_jwk(&k.signer(), Some(&k.kid), Some(&k.alg));
                jwk["use"] = "sig".into();
                jwk
            })
            .collect();
        json!({ "keys": keys })
    }

    fn mint(&mut self, req: &TokenRequest, client: &str) -> Result<String, String> {
        let alg = req.alg.clone().unwrap_or_else(|| "RS256".into());
        let key = match &req.kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| &k.kid == kid)
                .ok_or_else(|| format!("no key {kid}"))?,
            None => self
                .keys
                .iter()
                .rev()
                .find(|k| k.alg == alg)
                .ok_or_else(|| format!("no {alg} key"))?,
        };
        let iat = now();
        let mut jti = [0u8; 12];
        aws_lc_rs::rand::fill(&mut jti).map_err(|_| "no randomness")?;
        let mut claims = json!({
            "iss": self.base,
            "sub": client,
            "aud": req.audience.clone().unwrap_or_else(|| "api://default".into()),
            "iat": iat,
            "nbf": iat,
            "exp": iat + req.lifetime.unwrap_or(300),
            "jti": b64u(jti),
            "client_id": client,
        });
        if let Some(scope) = &req.scope {
            claims["scope"] = scope.clone().into();
        }
        if let Some(jkt) = &req.dpop_jkt {
            claims["cnf"] = json!({ "jkt": jkt });
        }
        for (k, v) in &req.claims {
            claims[k] = v.clone();
        }
        let header = json!({"alg": alg, "typ": "JWT", "kid": key.kid});
        let input = format!("{}.{}", b64u(header.to_string()), b64u(claims.to_string()));
        let sig = key.signer().sign(&alg, input.as_bytes());
        if let Some(jti) = claims["jti"].as_str() {
            self.issued.insert(jti.to_owned());
        }
        let jwt = format!("{input}.{}", b64u(sig));
        if !req.opaque {
            return Ok(jwt);
        }
        let mut handle = [0u8; 24];
        aws_lc_rs::rand::fill(&mut handle).map_err(|_| "no randomness")?;
        let opaque = format!("opaque-{}", b64u(handle));
        self.opaque.insert(opaque.clone(), jwt);
        Ok(opaque)
    }
}

impl Idp {
    fn client_jkt(&self) -> String {
        jwk_thumbprint(&public_jwk(&Signer::Ec(&self.client_key), None, None))
    }

    /// A DPoP proof by the test client's key.
    fn proof(&self, req: &ProofRequest) -> String {
        let mut jti = [0u8; 12];
        let _ = aws_lc_rs::rand::fill(&mut jti);
        let mut claims = json!({
            "jti": req.jti.clone().unwrap_or_else(|| b64u(jti)),
            "htm": req.htm,
            "htu": req.htu,
            "iat": req.iat.unwrap_or_else(now),
        });
        if let Some(token) = &req.access_token {
            claims["ath"] = access_token_hash(token).into();
        }
        if let Some(nonce) = &req.nonce {
            claims["nonce"] = nonce.clone().into();
        }
        dpop_proof(&Signer::Ec(&self.client_key), "ES256", &claims)
    }
}

/// The thumbprint of the `jwk` in a DPoP proof's header. The test IdP binds the token to
/// it without checking the proof further; the engine is what tests check proofs with.
fn proof_jkt(proof: &str) -> Option<String> {
    use base64::Engine;
    let header = proof.split('.').next()?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    let header: Value = serde_json::from_slice(&bytes).ok()?;
    header.get("jwk").map(jwk_thumbprint)
}

/// The faulted answer for discovery/JWKS, if a fault is on.
async fn faulted(state: &Shared, path: &str) -> Option<Response> {
    let fault = lock(state).fault;
    match fault.mode {
        FaultMode::None | FaultMode::WrongContentType => None,
        FaultMode::Delay => {
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
            None
        }
        FaultMode::Down => Some((StatusCode::SERVICE_UNAVAILABLE, "down").into_response()),
        FaultMode::Status500 => Some((StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()),
        FaultMode::Garbage => Some(
            (
                [(header::CONTENT_TYPE, "application/json")],
                "{\"keys\": [ not json",
            )
                .into_response(),
        ),
        FaultMode::Oversize => {
            let body = format!(
                "{{\"keys\":[],\"pad\":\"{}\"}}",
                "x".repeat(2 * 1024 * 1024)
            );
            Some(([(header::CONTENT_TYPE, "application/json")], body).into_response())
        }
        FaultMode::RedirectLoop => {
            Some((StatusCode::FOUND, [(header::LOCATION, path.to_owned())]).into_response())
        }
    }
}

fn json_response(state: &Shared, body: Value, cache: Option<(&CachePolicy, &str)>) -> Response {
    let content_type = if lock(state).fault.mode == FaultMode::WrongContentType {
        "text/html"
    } else {
        "application/json"
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        content_type.parse().expect("static header"),
    );
    if let Some((policy, etag)) = cache {
        if let Some(age) = policy.max_age {
            headers.insert(
                header::CACHE_CONTROL,
                format!("max-age={age}").parse().expect("number"),
            );
        }
        if policy.etag {
            headers.insert(header::ETAG, etag.parse().expect("quoted hex"));
        }
    }
    (headers, body.to_string()).into_response()
}

async fn discovery(State(state): State<Shared>) -> Response {
    lock(&state).stats.discovery_requests += 1;
    if let Some(r) = faulted(&state, "/.well-known/openid-configuration").await {
        return r;
    }
    let base = lock(&state).base.clone();
    let doc = json!({
        "issuer": base,
        "jwks_uri": format!("{base}/jwks"),
        "token_endpoint": format!("{base}/token"),
        "introspection_endpoint": format!("{base}/introspect"),
        "grant_types_supported": ["client_credentials"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256", "EdDSA"],
    });
    json_response(&state, doc, None)
}

async fn jwks(State(state): State<Shared>, headers: HeaderMap) -> Response {
    lock(&state).stats.jwks_requests += 1;
    if let Some(r) = faulted(&state, "/jwks").await {
        return r;
    }
    let (doc, cache) = {
        let idp = lock(&state);
        (idp.jwks(), idp.cache.clone())
    };
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, doc.to_string().as_bytes());
    let etag = format!("\"{}\"", b64u(&digest.as_ref()[..12]));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str());
    if cache.etag && matches {
        lock(&state).stats.jwks_not_modified += 1;
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    json_response(&state, doc, Some((&cache, &etag)))
}

/// Client authentication: HTTP Basic, or client_id/client_secret in the body.
fn client_of(headers: &HeaderMap, form: &Map<String, Value>) -> Option<String> {
    use base64::Engine;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let (id, secret) = match basic {
        // RFC 6749 §2.3.1: each part was form-urlencoded before the two were joined.
        Some(pair) => {
            let (id, secret) = pair.split_once(':')?;
            (form_decode(id)?, form_decode(secret)?)
        }
        None => (
            form.get("client_id")?.as_str()?.to_owned(),
            form.get("client_secret")?.as_str()?.to_owned(),
        ),
    };
    let known = [
        (CLIENT_ID, CLIENT_SECRET),
        (ODD_CLIENT_ID, ODD_CLIENT_SECRET),
    ];
    known
        .contains(&(id.as_str(), secret.as_str()))
        .then_some(id)
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte;
/// a raw `&` or `=` (which an encoder never leaves) makes it invalid.
fn form_decode(text: &str) -> Option<String> {
    if text.contains(['&', '=']) {
        return None;
    }
    let mut pairs = url::form_urlencoded::parse(text.as_bytes());
    let (value, _) = pairs.next()?;
    Some(value.into_owned())
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// The body of a POST as a JSON object: JSON, or a form whose `claims` member is JSON text.
fn body_object(headers: &HeaderMap, body: &[u8]) -> Option<Map<String, Value>> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return serde_json::from_slice(body).ok();
    }
    let pairs: Vec<(String, String)> = serde_urlencoded_pairs(body)?;
    let mut map = Map::new();
    for (k, v) in pairs {
        let value = if k == "claims" {
            serde_json::from_str(&v).ok()?
        } else {
            Value::String(v)
        };
        map.insert(k, value);
    }
    Some(map)
}

/// application/x-www-form-urlencoded decoding (percent-escapes and `+`).
fn serde_urlencoded_pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = std::str::from_utf8(body).ok()?;
    let decode = |s: &str| -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    out.push(
                        u8::from_str_radix(std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?, 16)
                            .ok()?,
                    );
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    lock(&state).stats.token_requests += 1;
    let Some(form) = body_object(&headers, &body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unreadable body",
        );
    };
    let Some(client) = client_of(&headers, &form) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    };
    if form.get("grant_type").and_then(Value::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only client_credentials",
        );
    }
    let s = |k: &str| form.get(k).and_then(Value::as_str).map(str::to_owned);
    let req = TokenRequest {
        alg: s("alg"),
        kid: s("kid"),
        audience: s("audience"),
        scope: s("scope"),
        lifetime: s("lifetime")
            .and_then(|l| l.parse().ok())
            .or_else(|| form.get("lifetime").and_then(Value::as_i64)),
        claims: form
            .get("claims")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
        opaque: s("format").as_deref() == Some("opaque"),
        dpop_jkt: s("dpop_jkt"),
    };
    let mut req = req;
    let dpop = headers.get("dpop").and_then(|v| v.to_str().ok());
    if let Some(proof) = dpop {
        match proof_jkt(proof) {
            Some(jkt) => req.dpop_jkt = Some(jkt),
            None => {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_dpop_proof",
                    "the DPoP header holds no readable jwk",
                )
            }
        }
    }
    let token_type = if req.dpop_jkt.is_some() {
        "DPoP"
    } else {
        "Bearer"
    };
    let lifetime = req.lifetime.unwrap_or(300);
    match lock(&state).mint(&req, &client) {
        Ok(token) => {
            Json(json!({"access_token": token, "token_type": token_type, "expires_in": lifetime}))
                .into_response()
        }
        Err(e) => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e),
    }
}

/// `POST /dpop/proof`: a proof signed by the test client's DPoP key, and that key's
/// thumbprint (what `dpop_jkt` binds a token to).
async fn make_proof(State(state): State<Shared>, Json(req): Json<ProofRequest>) -> Response {
    let idp = lock(&state);
    Json(json!({"proof": idp.proof(&req), "jkt": idp.client_jkt()})).into_response()
}

async fn introspect(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    lock(&state).stats.introspection_requests += 1;
    if let Some(r) = faulted(&state, "/introspect").await {
        return r;
    }
    let Some(form) = body_object(&headers, &body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unreadable body",
        );
    };
    if client_of(&headers, &form).is_none() {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    }
    let Some(token) = form.get("token").and_then(Value::as_str) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "no token");
    };
    let jwt = lock(&state).opaque.get(token).cloned();
    let token = jwt.as_deref().unwrap_or(token);
    let claims = token
        .split('.')
        .nth(1)
        .and_then(|p| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok());
    let idp = lock(&state);
    let active = claims.as_ref().is_some_and(|c| {
        let jti = c.get("jti").and_then(Value::as_str).unwrap_or("");
        idp.issued.contains(jti)
            && !idp.revoked.contains(jti)
            && c.get("exp")
                .and_then(Value::as_i64)
                .is_some_and(|e| e > now())
    });
    if !active {
        return Json(json!({"active": false})).into_response();
    }
    let mut body = claims.unwrap_or_default();
    body.insert("active".into(), true.into());
    Json(Value::Object(body)).into_response()
}

#[derive(Deserialize)]
struct NewKey {
    alg: String,
}

async fn add_key(State(state): State<Shared>, Json(req): Json<NewKey>) -> Response {
    match lock(&state).add_key(&req.alg) {
        Ok(kid) => Json(json!({"kid": kid})).into_response(),
        Err(e) => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &e),
    }
}

async fn retire_key(State(state): State<Shared>, Path(kid): Path<String>) -> Response {
    let mut idp = lock(&state);
    let before = idp.keys.len();
    idp.keys.retain(|k| k.kid != kid);
    if idp.keys.len() == before {
        return oauth_error(StatusCode::NOT_FOUND, "not_found", "no such kid");
    }
    StatusCode::NO_CONTENT.into_response()
}

async fn set_fault(State(state): State<Shared>, Json(fault): Json<Fault>) -> StatusCode {
    lock(&state).fault = fault;
    StatusCode::NO_CONTENT
}

async fn set_cache(State(state): State<Shared>, Json(cache): Json<CachePolicy>) -> StatusCode {
    lock(&state).cache = cache;
    StatusCode::NO_CONTENT
}

async fn stats(State(state): State<Shared>) -> Json<Stats> {
    Json(lock(&state).stats)
}

async fn reset(State(state): State<Shared>) -> StatusCode {
    let mut idp = lock(&state);
    idp.fault = Fault::default();
    idp.cache = CachePolicy::default();
    idp.stats = Stats::default();
    StatusCode::NO_CONTENT
}

async fn revoke(State(state): State<Shared>, Json(req): Json<Map<String, Value>>) -> StatusCode {
    if let Some(jti) = req.get("jti").and_then(Value::as_str) {
        lock(&state).revoked.insert(jti.to_owned());
    }
    StatusCode::NO_CONTENT
}

fn router(state: Shared) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .route("/introspect", post(introspect))
        .route("/dpop/proof", post(make_proof))
        .route("/admin/keys", post(add_key))
        .route("/admin/keys/{kid}", delete(retire_key))
        .route("/admin/fault", post(set_fault))
        .route("/admin/cache", post(set_cache))
        .route("/admin/stats", get(stats))
        .route("/admin/reset", post(reset))
        .route("/admin/revoke", post(revoke))
        .with_state(state)
}

/// Serves the IdP on `listener` until `shutdown` fires.
async fn serve(
    listener: tokio::net::TcpListener,
    state: Shared,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// A running test IdP, owned by the test that started it.
pub struct TestIdp {
    runtime: tokio::runtime::Runtime,
    addr: SocketAddr,
    state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestIdp {
    /// Starts on 127.0.0.1 with a free port and one RS256, ES256 and EdDSA key each.
    pub fn start() -> TestIdp {
        TestIdp::start_on("127.0.0.1:0").expect("the test IdP starts on loopback")
    }

    /// Starts on `addr` (port 0 picks a free one).
    pub fn start_on(addr: &str) -> std::io::Result<TestIdp> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
        let addr = listener.local_addr()?;
        let idp = Idp::new(format!("http://{addr}")).map_err(std::io::Error::other)?;
        let mut me = TestIdp {
            runtime,
            addr,
            state: Arc::new(Mutex::new(idp)),
            stop: None,
            task: None,
        };
        me.serve_on(listener);
        Ok(me)
    }

    fn serve_on(&mut self, listener: tokio::net::TcpListener) {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = self.state.clone();
        self.task = Some(self.runtime.spawn(async move {
            let _ = serve(listener, state, async {
                let _ = rx.await;
            })
            .await;
        }));
        self.stop = Some(tx);
    }

    /// The base URL, which is also the issuer (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn jwks_uri(&self) -> String {
        format!("{}/jwks", self.url())
    }

    /// A token signed with the newest key of the requested algorithm.
    pub fn token(&self, req: &TokenRequest) -> String {
        lock(&self.state)
            .mint(req, CLIENT_ID)
            .expect("the IdP has a key for the algorithm")
    }

    /// A DPoP proof signed by the test client's key.
    pub fn dpop_proof(&self, req: &ProofRequest) -> String {
        lock(&self.state).proof(req)
    }

    /// The thumbprint of the test client's DPoP key (for [`TokenRequest::dpop_jkt`]).
    pub fn dpop_jkt(&self) -> String {
        lock(&self.state).client_jkt()
    }

    /// A token bound to the test client's DPoP key, otherwise with the defaults.
    pub fn dpop_bound_token(&self) -> String {
        self.token(&TokenRequest {
            dpop_jkt: Some(self.dpop_jkt()),
            ..Default::default()
        })
    }

    /// A fresh proof (new `jti`) for `htm htu` with `token`, by the test client's key.
    pub fn dpop_proof_for(&self, htm: &str, htu: &str, token: &str) -> String {
        self.dpop_proof(&ProofRequest {
            htm: htm.into(),
            htu: htu.into(),
            access_token: Some(token.into()),
            ..Default::default()
        })
    }

    /// Adds a key (published in the JWKS from now on) and returns its kid.
    pub fn rotate(&self, alg: &str) -> String {
        lock(&self.state)
            .add_key(alg)
            .expect("a supported algorithm")
    }

    /// Removes a key from the JWKS.
    pub fn retire(&self, kid: &str) {
        lock(&self.state).keys.retain(|k| k.kid != kid);
    }

    /// The kids currently published.
    pub fn kids(&self) -> Vec<String> {
        lock(&self.state)
            .keys
            .iter()
            .map(|k| k.kid.clone())
            .collect()
    }

    /// Makes introspection call the token with this `jti` inactive from now on.
    pub fn revoke(&self, jti: &str) {
        lock(&self.state).revoked.insert(jti.to_owned());
    }

    /// The `jti` behind a token this IdP issued (JWT or opaque).
    pub fn jti_of(&self, token: &str) -> Option<String> {
        use base64::Engine;
        let jwt = lock(&self.state)
            .opaque
            .get(token)
            .cloned()
            .unwrap_or_else(|| token.to_owned());
        let payload = jwt.split('.').nth(1)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .ok()?;
        let claims: Map<String, Value> = serde_json::from_slice(&bytes).ok()?;
        claims.get("jti")?.as_str().map(str::to_owned)
    }

    pub fn set_fault(&self, fault: Fault) {
        lock(&self.state).fault = fault;
    }

    pub fn set_cache(&self, cache: CachePolicy) {
        lock(&self.state).cache = cache;
    }

    pub fn stats(&self) -> Stats {
        lock(&self.state).stats
    }

    /// Stops listening: connections are refused until [`TestIdp::restart`].
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = self.runtime.block_on(task);
        }
    }

    /// Listens again on the same port, with the same keys and state.
    pub fn restart(&mut self) {
        self.stop();
        let addr = self.addr;
        let listener = self.runtime.block_on(async {
            for _ in 0..50 {
                if let Ok(l) = tokio::net::TcpListener::bind(addr).await {
                    return l;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("port {addr} did not come back");
        });
        self.serve_on(listener);
    }
}

impl Drop for TestIdp {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs the IdP on `listener` (the binary's entry point) until Ctrl-C.
pub async fn run_binary(listener: tokio::net::TcpListener, base: String) -> Result<(), String> {
    let state = Arc::new(Mutex::new(Idp::new(base)?));
    serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}
