//! DPoP (RFC 9449): a token bound to a client key (`cnf.jkt`) is accepted only with a proof,
//! a small JWT signed by that key for this request (`htm`, `htu`), this token (`ath`) and
//! this moment (`iat`, `jti`, optional server `nonce`). Every check of §4.3 and §7 lives here.

use crate::config::{Config, DpopConfig, DpopMode};
use crate::format::algorithm::{Algorithm, AlgorithmSet, KeyFamily};
use crate::keys::key_set::client_jwk_key;
use crate::remote::redis_store::RedisStore;
use crate::rules::claims::normalize_typ;
use crate::rules::token::VerifiedToken;
use crate::support::error::{Error, ErrorCode};
use crate::support::process::PerProcess;
use crate::support::untrusted_text::clip;
use crate::{format::b64, format::percent, format::strict_json, keys::jws};
use aws_lc_rs::{constant_time, digest, hmac};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A DPoP proof (the `DPoP` request header) and the request it came with: its method and
/// the absolute URL the client called (query and fragment are ignored).
#[derive(Clone, Copy, Debug)]
pub struct DpopProof<'a> {
    pub proof: &'a str,
    pub method: &'a str,
    pub url: &'a str,
}

/// A [`DpopProof`] that owns its text, for a verification that outlives the caller's
/// borrow ([`crate::Verifier::verify_in_background`]).
#[derive(Clone, Debug)]
pub struct OwnedDpopProof {
    pub proof: String,
    pub method: String,
    pub url: String,
}

impl OwnedDpopProof {
    pub fn as_proof(&self) -> DpopProof<'_> {
        DpopProof {
            proof: &self.proof,
            method: &self.method,
            url: &self.url,
        }
    }
}

/// Longest `jti` accepted in a proof.
const MAX_JTI: usize = 256;
/// Shortest nonce secret accepted.
const MIN_NONCE_SECRET: usize = 32;

pub(crate) fn invalid(claim: Option<&str>, message: impl Into<String>) -> Error {
    match claim {
        Some(claim) => Error::for_claim(ErrorCode::DpopInvalid, claim, message),
        None => Error::new(ErrorCode::DpopInvalid, message),
    }
}

/// The resolved DPoP policy of one verifier.
pub(crate) struct Dpop {
    mode: DpopMode,
    algorithms: AlgorithmSet,
    /// The `algs` of a DPoP challenge, space-separated.
    algs: String,
    max_age: u64,
    leeway: u64,
    max_size: usize,
    replay: Replays,
    nonces: Option<Nonces>,
}

/// Where proof ids are remembered: this process's memory, or a shared Redis.
enum Replays {
    Memory(ReplayCache),
    Redis(Arc<RedisStore>),
}

/// A proof that passed every check but the replay check: what must be recorded, atomically,
/// before it is accepted ([`Dpop::record`] or [`Dpop::record_async`]).
#[must_use]
pub(crate) struct Replay {
    key: [u8; 16],
    expires: i64,
}

impl Dpop {
    /// `store`: the Redis store of `[dpop.replay]`, when it names one.
    pub fn from_config(config: &Config, store: Option<Arc<RedisStore>>) -> Result<Dpop, Error> {
        let c: &DpopConfig = &config.dpop;
        let bad = |why: String| Error::config(format!("dpop: {why}"));
        if c.algorithms.is_empty() {
            return Err(bad("algorithms: at least one algorithm is required".into()));
        }
        if let Some(alg) = c.algorithms.iter().find(|a| a.family() == KeyFamily::Oct) {
            return Err(bad(format!(
                "algorithms: {alg} is symmetric; a DPoP proof is signed with the client's private key"
            )));
        }
        if !(1..=3600).contains(&c.max_age) {
            return Err(bad(format!("max_age: {} is outside 1..=3600", c.max_age)));
        }
        if !(1..=10_000_000).contains(&c.replay_cache_size) {
            return Err(bad(format!(
                "replay_cache_size: {} is outside 1..=10000000",
                c.replay_cache_size
            )));
        }
        let nonces = if c.nonce {
            if !(1..=86_400).contains(&c.nonce_lifetime) {
                return Err(bad(format!(
                    "nonce_lifetime: {} is outside 1..=86400",
                    c.nonce_lifetime
                )));
            }
            Some(Nonces::new(nonce_secret(c)?, c.nonce_lifetime)?)
        } else if c.nonce_secret.is_some() || c.nonce_secret_env.is_some() {
            return Err(bad("nonce_secret is set but nonce is false".into()));
        } else {
            None
        };
        let algorithms: AlgorithmSet = c.algorithms.iter().copied().collect();
        Ok(Dpop {
            mode: c.mode,
            algs: algorithms
                .iter()
                .map(Algorithm::name)
                .collect::<Vec<_>>()
                .join(" "),
            algorithms,
            max_age: c.max_age,
            leeway: config.leeway,
            max_size: config.max_token_size,
            replay: match store {
                Some(store) => Replays::Redis(store),
                None => Replays::Memory(ReplayCache::new(c.replay_cache_size)),
            },
            nonces,
        })
    }

    pub fn mode(&self) -> DpopMode {
        self.mode
    }

    /// The algorithms a proof may use, for the `algs` challenge parameter.
    pub fn algs(&self) -> &str {
        &self.algs
    }

    /// The nonce clients must put in their proofs now (`None` unless nonces are on).
    pub fn nonce(&self, now: i64) -> Option<String> {
        self.nonces.as_ref().map(|n| n.issue(now))
    }

    /// Whether recording a proof needs a network round trip (a Redis store).
    pub fn shared_store(&self) -> bool {
        matches!(self.replay, Replays::Redis(_))
    }

    /// The Redis store, when proofs are recorded there.
    pub fn redis(&self) -> Option<&Arc<RedisStore>> {
        match &self.replay {
            Replays::Redis(store) => Some(store),
            Replays::Memory(_) => None,
        }
    }

    /// Records a checked proof's id, waiting (bounded by the store's timeout) for Redis.
    pub fn record(&self, replay: Replay, now: i64) -> Result<(), Error> {
        match &self.replay {
            Replays::Memory(cache) => cache.record(replay.key, replay.expires, now),
            Replays::Redis(store) => {
                first_use(store.record_once_blocking(&replay.key, ttl_ms(&replay, now))?)
            }
        }
    }

    /// [`Dpop::record`] for async callers: Redis is awaited, never blocking the thread.
    pub async fn record_async(&self, replay: Replay, now: i64) -> Result<(), Error> {
        match &self.replay {
            Replays::Memory(cache) => cache.record(replay.key, replay.expires, now),
            Replays::Redis(store) => {
                first_use(store.record_once(&replay.key, ttl_ms(&replay, now)).await?)
            }
        }
    }

    /// How a verified token was presented, judged: `bound` is its `cnf.jkt`, `proof` the
    /// DPoP proof it came with (`None`: presented as a bearer token). A proof that passes
    /// returns its id, which the caller must record ([`Dpop::record`]) before accepting.
    pub fn check(
        &self,
        token: &str,
        bound: Option<&str>,
        proof: Option<&DpopProof>,
        now: i64,
    ) -> Result<Option<Replay>, Error> {
        match (proof, bound) {
            (None, None) if self.mode == DpopMode::Required => Err(invalid(
                None,
                "a DPoP proof is required: send the token as Authorization: DPoP with a DPoP header",
            )),
            (None, None) => Ok(None),
            (None, Some(_)) => Err(invalid(
                Some("cnf"),
                "the token is DPoP-bound: it must be sent with the DPoP scheme and a proof",
            )),
            (Some(_), _) if self.mode == DpopMode::Disabled => {
                Err(invalid(None, "DPoP is not enabled for this verifier"))
            }
            (Some(_), None) => Err(invalid(
                Some("cnf"),
                "the token is not DPoP-bound (it has no cnf.jkt)",
            )),
            (Some(proof), Some(jkt)) => {
                let checked = self.check_proof(proof, token, now)?;
                if constant_time::verify_slices_are_equal(checked.jkt.as_bytes(), jkt.as_bytes())
                    .is_err()
                {
                    return Err(invalid(
                        Some("cnf"),
                        "the DPoP proof is signed by another key than the one the token is bound to",
                    ));
                }
                Ok(Some(Replay {
                    key: checked.replay_key,
                    expires: checked.expires,
                }))
            }
        }
    }

    /// Every check of RFC 9449 §4.3 on the proof itself (the key binding is the caller's).
    fn check_proof(&self, p: &DpopProof, token: &str, now: i64) -> Result<Checked, Error> {
        let mut buf = jws::signature_buf();
        let decoded = jws::decode(p.proof, self.max_size, &mut buf)
            .map_err(|e| invalid(None, format!("DPoP proof: {}", e.message())))?;
        let header = strict_json::parse_object(&decoded.header)
            .map_err(|e| invalid(None, format!("DPoP proof header {e}")))?;
        match header.get("typ").and_then(Value::as_str) {
            Some(typ) if normalize_typ(typ) == "dpop+jwt" => {}
            _ => {
                return Err(invalid(
                    Some("typ"),
                    "DPoP proof header typ is not dpop+jwt",
                ))
            }
        }
        if header.contains_key("crit") {
            return Err(invalid(
                Some("crit"),
                "DPoP proof header crit names extensions that are not understood",
            ));
        }
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(Algorithm::from_name)
            .filter(|a| self.algorithms.contains(*a))
            .ok_or_else(|| {
                invalid(
                    Some("alg"),
                    format!("DPoP proof alg is not one of the allowed ({})", self.algs),
                )
            })?;
        let jwk = header
            .get("jwk")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid(Some("jwk"), "DPoP proof header has no jwk object"))?;
        let key = client_jwk_key(jwk, AlgorithmSet::from_iter([alg]))
            .map_err(|why| invalid(Some("jwk"), format!("DPoP proof jwk {why}")))?;
        if !key.supports(alg) {
            return Err(invalid(
                Some("alg"),
                format!("DPoP proof alg {alg} does not match its jwk"),
            ));
        }
        if !key.verify(alg, decoded.signing_input.as_bytes(), &decoded.signature) {
            return Err(invalid(None, "DPoP proof signature does not verify"));
        }
        let jkt = thumbprint(jwk).map_err(|why| invalid(Some("jwk"), why))?;
        let claims = strict_json::parse_object(&decoded.payload)
            .map_err(|e| invalid(None, format!("DPoP proof payload {e}")))?;
        let string = |name: &str| match claims.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
            Some(_) => Err(invalid(
                Some(name),
                format!("DPoP proof \"{name}\" is not a non-empty string"),
            )),
            None => Err(invalid(Some(name), format!("DPoP proof has no \"{name}\""))),
        };
        let jti = string("jti")?;
        if jti.len() > MAX_JTI {
            return Err(invalid(
                Some("jti"),
                format!("DPoP proof jti is longer than {MAX_JTI} bytes"),
            ));
        }
        if string("htm")? != p.method {
            return Err(invalid(
                Some("htm"),
                format!(
                    "DPoP proof htm is not the request method {}",
                    clip(p.method, 16)
                ),
            ));
        }
        // The request URL comes from the client's Host or the proxy's headers: one that
        // does not parse is named by no proof (RFC 9449 §4.3 step 9), not a server fault.
        let expected = normalize_url(p.url).ok_or_else(|| {
            invalid(
                Some("htu"),
                "the request URL is not an absolute http(s) URL: no proof names it",
            )
        })?;
        if normalize_url(string("htu")?).as_deref() != Some(expected.as_str()) {
            return Err(invalid(
                Some("htu"),
                "DPoP proof htu is not the URL of this request",
            ));
        }
        let iat = match claims.get("iat") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            Some(_) => return Err(invalid(Some("iat"), "DPoP proof iat is not a number")),
            None => return Err(invalid(Some("iat"), "DPoP proof has no \"iat\"")),
        };
        let (nowf, leeway) = (now as f64, self.leeway as f64);
        if !iat.is_finite() || iat > nowf + leeway {
            return Err(invalid(Some("iat"), "DPoP proof was issued in the future"));
        }
        if nowf - iat > (self.max_age as f64) + leeway {
            return Err(invalid(
                Some("iat"),
                format!("DPoP proof is older than {} s", self.max_age),
            ));
        }
        let ath = b64::encode(digest::digest(&digest::SHA256, token.as_bytes()));
        if string("ath")? != ath {
            return Err(invalid(
                Some("ath"),
                "DPoP proof ath is not the hash of this access token",
            ));
        }
        if let Some(nonces) = &self.nonces {
            match claims.get("nonce") {
                None => {
                    return Err(invalid(
                        Some("nonce"),
                        "a DPoP nonce is required: retry with the DPoP-Nonce the server sent",
                    ))
                }
                Some(Value::String(n)) if nonces.accepts(n, now) => {}
                Some(_) => {
                    return Err(invalid(
                        Some("nonce"),
                        "the DPoP nonce is not valid or has expired",
                    ))
                }
            }
        }
        let mut id = digest::Context::new(&digest::SHA256);
        id.update(jkt.as_bytes());
        id.update(b"\0");
        id.update(jti.as_bytes());
        let mut replay_key = [0u8; 16];
        replay_key.copy_from_slice(&id.finish().as_ref()[..16]);
        Ok(Checked {
            jkt,
            replay_key,
            expires: (iat as i64)
                .saturating_add(self.max_age as i64)
                .saturating_add(self.leeway as i64)
                .saturating_add(1),
        })
    }
}

/// How long a proof id is kept in Redis: until its proof would be refused as too old
/// anyway (`iat + max_age + leeway`, plus one second), at least one second.
fn ttl_ms(replay: &Replay, now: i64) -> u64 {
    (replay.expires.saturating_sub(now).max(1) as u64).saturating_mul(1000)
}

/// The store answers true when the proof id was new (or held this very write), false when
/// another write had recorded it: a replay.
fn first_use(new: bool) -> Result<(), Error> {
    match new {
        true => Ok(()),
        false => Err(replayed()),
    }
}

fn replayed() -> Error {
    invalid(Some("jti"), "the DPoP proof was already used (replay)")
}

/// What a proof that passed [`Dpop::check_proof`] is remembered by.
struct Checked {
    jkt: String,
    replay_key: [u8; 16],
    expires: i64,
}

/// The `cnf.jkt` a verified token is bound to, if any. Any other confirmation method
/// (RFC 8705 `x5t#S256`, RFC 7800 `jwk`, `jku`, `kid`, ...) names a key or certificate
/// this engine cannot check, so the token is refused: accepting it as a bearer token would
/// let whoever copied it use it, which is what the binding exists to prevent.
pub(crate) fn bound_key(token: &VerifiedToken) -> Result<Option<String>, Error> {
    let invalid_cnf = |why: String| Error::for_claim(ErrorCode::ClaimInvalid, "cnf", why);
    let cnf = match token.claims().get("cnf") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(cnf)) => cnf,
        Some(_) => return Err(invalid_cnf("\"cnf\" is not an object".into())),
    };
    if let Some(method) = cnf.keys().find(|k| *k != "jkt") {
        return Err(invalid_cnf(format!(
            "the token is bound by \"cnf.{}\", which veritoken cannot check (only DPoP's \"jkt\"); it is not accepted as a bearer token",
            clip(method, 40)
        )));
    }
    match cnf.get("jkt") {
        None => Err(invalid_cnf("\"cnf\" names no confirmation method".into())),
        Some(Value::String(jkt)) if !jkt.is_empty() => Ok(Some(jkt.clone())),
        Some(_) => Err(invalid_cnf("\"cnf.jkt\" is not a non-empty string".into())),
    }
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url.
pub fn thumbprint(jwk: &Map<String, Value>) -> Result<String, String> {
    let members: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
        Some("EC") => &["crv", "kty", "x", "y"],
        Some("RSA") => &["e", "kty", "n"],
        Some("OKP") => &["crv", "kty", "x"],
        _ => return Err("jwk has no thumbprint (kty must be EC, RSA or OKP)".into()),
    };
    let mut canonical = Map::new();
    for name in members {
        match jwk.get(*name) {
            Some(v @ Value::String(_)) => canonical.insert((*name).to_owned(), v.clone()),
            _ => return Err(format!("jwk \"{name}\" is missing or not a string")),
        };
    }
    // serde_json's Map is sorted and prints without whitespace: the RFC 7638 form.
    let text = Value::Object(canonical).to_string();
    Ok(b64::encode(digest::digest(
        &digest::SHA256,
        text.as_bytes(),
    )))
}

/// An http(s) URL reduced for comparison (RFC 9449 §4.3 step 9, RFC 3986 §6.2.2–6.2.3):
/// scheme and host lowercased, default port dropped, dot segments removed, percent-encoding
/// normalized, query and fragment removed; userinfo kept.
pub(crate) fn normalize_url(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let host = url.host_str()?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    // Userinfo is part of the authority (RFC 3986 §3.2): kept, so that an htu naming one
    // never equals a request URL without it.
    let userinfo = match (url.username(), url.password()) {
        ("", None) => String::new(),
        (user, None) => format!("{user}@"),
        (user, Some(password)) => format!("{user}:{password}@"),
    };
    Some(format!(
        "{}://{userinfo}{host}{port}{}",
        url.scheme(),
        normalize_percent(url.path())
    ))
}

/// Decodes percent-encoded unreserved characters and upper-cases the hex of the rest.
fn normalize_percent(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|_| bytes[i] == b'%')
            .and_then(percent::hex_pair);
        match hex {
            Some(b) if b.is_ascii_alphanumeric() || b"-._~".contains(&b) => {
                out.push(b as char);
                i += 3;
            }
            Some(b) => {
                out.push_str(&format!("%{b:02X}"));
                i += 3;
            }
            None => {
                out.push(bytes[i] as char);
                i += 1;
            }
        }
    }
    out
}

/// Proof ids seen recently (until their proof would be too old anyway), bounded. Per
/// process: a child forked while another thread held the lock starts its own, empty.
struct ReplayCache {
    max: usize,
    state: PerProcess<Mutex<ReplayState>>,
}

struct ReplayState {
    seen: HashMap<[u8; 16], i64>,
    /// Expired entries are swept at most once a second when the cache is full.
    next_sweep: i64,
}

impl ReplayCache {
    fn new(max: usize) -> Self {
        ReplayCache {
            max,
            state: PerProcess::new(),
        }
    }

    fn record(&self, key: [u8; 16], expires: i64, now: i64) -> Result<(), Error> {
        let cell = self.state.get_or_init(|| {
            Mutex::new(ReplayState {
                seen: HashMap::new(),
                next_sweep: i64::MIN,
            })
        });
        let mut s = cell.lock().unwrap_or_else(PoisonError::into_inner);
        if s.seen.get(&key).is_some_and(|until| *until > now) {
            return Err(replayed());
        }
        if s.seen.len() >= self.max && now >= s.next_sweep {
            s.seen.retain(|_, until| *until > now);
            s.next_sweep = now.saturating_add(1);
        }
        if s.seen.len() >= self.max && !s.seen.contains_key(&key) {
            // Logged without the lock: a sink may wait for a lock of its own (Python's
            // takes the GIL) held by a thread waiting for this one.
            drop(s);
            tracing::warn!(
                entries = self.max,
                "DPoP replay cache is full; refusing proofs"
            );
            return Err(invalid(
                None,
                "too many DPoP proofs in flight; retry shortly",
            ));
        }
        s.seen.insert(key, expires);
        Ok(())
    }
}

/// Stateless server nonces: the time slot and an HMAC of it, so any process holding the
/// secret accepts them; one is valid in its slot and the next.
struct Nonces {
    key: hmac::Key,
    lifetime: u64,
}

fn nonce_secret(c: &DpopConfig) -> Result<Vec<u8>, Error> {
    let text = match (&c.nonce_secret, &c.nonce_secret_env) {
        (Some(_), Some(_)) => {
            return Err(Error::config(
                "dpop: give at most one of nonce_secret and nonce_secret_env",
            ))
        }
        (Some(v), None) => v.clone(),
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            Error::config(format!(
                "dpop: environment variable {} is not set",
                clip(var, 64)
            ))
        })?,
        (None, None) => {
            let mut random = [0u8; 32];
            aws_lc_rs::rand::fill(&mut random)
                .map_err(|_| Error::config("dpop: no randomness for the nonce secret"))?;
            return Ok(random.to_vec());
        }
    };
    if text.len() < MIN_NONCE_SECRET {
        return Err(Error::config(format!(
            "dpop: nonce_secret must be at least {MIN_NONCE_SECRET} bytes"
        )));
    }
    Ok(text.into_bytes())
}

impl Nonces {
    fn new(secret: Vec<u8>, lifetime: u64) -> Result<Self, Error> {
        Ok(Nonces {
            key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
            lifetime,
        })
    }

    fn slot(&self, now: i64) -> u64 {
        now.max(0) as u64 / self.lifetime
    }

    fn make(&self, slot: u64) -> String {
        let tag = hmac::sign(&self.key, &slot.to_be_bytes());
        let mut raw = [0u8; 24];
        raw[..8].copy_from_slice(&slot.to_be_bytes());
        raw[8..].copy_from_slice(&tag.as_ref()[..16]);
        b64::encode(raw)
    }

    fn issue(&self, now: i64) -> String {
        self.make(self.slot(now))
    }

    fn accepts(&self, nonce: &str, now: i64) -> bool {
        let Ok(raw) = b64::decode(nonce) else {
            return false;
        };
        if raw.len() != 24 {
            return false;
        }
        let slot = u64::from_be_bytes(raw[..8].try_into().unwrap_or_default());
        let current = self.slot(now);
        (slot == current || slot.saturating_add(1) == current)
            && constant_time::verify_slices_are_equal(self.make(slot).as_bytes(), nonce.as_bytes())
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1.
        let jwk = serde_json::json!({"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        let oct = serde_json::json!({"kty": "oct", "k": "AAAA"});
        assert!(thumbprint(oct.as_object().unwrap()).is_err());
    }

    /// The challenge's `algs` names exactly the proof algorithms allowed, RFC 9864's among
    /// them by default, so a client signing with `Ed25519` (panva's dpop) can recover.
    #[test]
    fn challenge_names_fully_specified_algorithms() {
        let dpop = |extra: Value| {
            let mut cfg = serde_json::json!({"issuers": [], "dpop": {"mode": "allowed"}});
            for (k, v) in extra.as_object().unwrap() {
                cfg["dpop"][k] = v.clone();
            }
            Config::from_value(cfg).and_then(|c| Dpop::from_config(&c, None))
        };
        assert_eq!(
            dpop(serde_json::json!({})).unwrap().algs(),
            "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA ESP256 ESP384 ESP512 Ed25519"
        );
        let only = dpop(serde_json::json!({"algorithms": ["Ed25519", "ESP384"]})).unwrap();
        assert_eq!(only.algs(), "ESP384 Ed25519");
        let err = dpop(serde_json::json!({"algorithms": ["ed25519"]}))
            .err()
            .unwrap();
        assert!(
            err.message().contains("ESP512, Ed25519)"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn urls_compare_after_normalization() {
        let n = |u: &str| normalize_url(u);
        assert_eq!(
            n("HTTPS://API.Example.COM:443/a/./b/../c?q=1#f").as_deref(),
            Some("https://api.example.com/a/c")
        );
        assert_eq!(n("http://h:80").as_deref(), Some("http://h/"));
        assert_eq!(n("http://h:8080/x").as_deref(), Some("http://h:8080/x"));
        assert_eq!(
            n("https://h/%7euser/%2f").as_deref(),
            Some("https://h/~user/%2F")
        );
        assert_ne!(n("https://h/a"), n("http://h/a"));
        assert_ne!(n("https://h/a"), n("https://h/a/"));
        assert_ne!(
            n("https://attacker@h/a"),
            n("https://h/a"),
            "userinfo counts"
        );
        assert_ne!(n("https://u:p@h/a"), n("https://u@h/a"));
        assert_eq!(n("https://u@H/a").as_deref(), Some("https://u@h/a"));
        assert_eq!(n("ftp://h/a"), None);
        assert_eq!(n("/relative"), None);
    }

    #[test]
    fn nonces_live_two_slots_and_are_keyed() {
        let a = Nonces::new(vec![7; 32], 100).unwrap();
        let b = Nonces::new(vec![8; 32], 100).unwrap();
        let n = a.issue(1_000);
        assert!(a.accepts(&n, 1_000) && a.accepts(&n, 1_199));
        assert!(!a.accepts(&n, 1_200), "two slots later");
        assert!(!a.accepts(&n, 999), "a nonce from the future slot");
        assert!(!b.accepts(&n, 1_000), "another secret");
        assert!(!a.accepts("garbage", 1_000));
        let mut forged = b64::decode(&n).unwrap();
        forged[7] ^= 1;
        assert!(!a.accepts(&b64::encode(forged), 1_000));
    }

    #[test]
    fn replay_cache_refuses_reuse_and_fails_closed_when_full() {
        let cache = ReplayCache::new(2);
        assert!(cache.record([1; 16], 110, 100).is_ok());
        assert_eq!(
            cache.record([1; 16], 110, 105).unwrap_err().claim(),
            Some("jti")
        );
        assert!(cache.record([2; 16], 150, 100).is_ok());
        assert_eq!(
            cache.record([3; 16], 150, 101).unwrap_err().code(),
            ErrorCode::DpopInvalid,
            "full of live entries"
        );
        // Once the first entry expired, a sweep makes room.
        assert!(cache.record([3; 16], 150, 111).is_ok());
        assert!(
            cache.record([1; 16], 200, 160).is_ok(),
            "expired ids may come back"
        );
    }
}
