//! RFC 7662 token introspection for one issuer's opaque tokens (or all its tokens): the
//! endpoint from the configuration or OIDC discovery, client authentication, an answer cache
//! keyed by the token's SHA-256 (the token itself is never stored or logged), and one
//! request in flight per token however many callers ask at once. With `cache = "redis"`,
//! answers are also shared through the Redis of `[dpop.replay]`: a process that has none in
//! memory reads the others' there before asking the endpoint, and falls back to the
//! endpoint when Redis fails (an answer is never made up).

use crate::config::{
    ClientAuth, IntrospectedTokens, IntrospectionCache, IntrospectionConfig, IssuerConfig,
    MAX_DURATION_SECONDS,
};
use crate::remote::fetch;
use crate::remote::redis_store::RedisStore;
use crate::support::clock::{unix_now, unix_now_ms};
use crate::support::error::{Error, ErrorCode};
use crate::support::io_runtime;
use crate::support::metrics::{Counter, Metrics};
use crate::support::process::{Owned, PerProcess};
use reqwest::{header, Client, Url};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Largest introspection or discovery answer read.
const MAX_ANSWER: usize = 256 * 1024;

/// The key kind of answers in the shared store: `<key_prefix>:introspection:<hex sha256>`.
const STORE_KIND: &str = "introspection";

type Key = [u8; 32];

/// The one request in flight for a token; every caller awaits the same result.
type InFlight = Arc<OnceCell<Result<Answer, Error>>>;

/// Removes a token's in-flight entry once its caller is done, or dropped: a caller whose
/// request timed out (the sidecar's `request_timeout_ms`) must not leave it behind, one
/// entry per token for good.
struct Forget<'a> {
    inflight: &'a Mutex<HashMap<Key, InFlight>>,
    key: Key,
    cell: &'a InFlight,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        let mut inflight = lock(self.inflight);
        if inflight
            .get(&self.key)
            .is_some_and(|c| Arc::ptr_eq(c, self.cell))
        {
            inflight.remove(&self.key);
        }
    }
}

/// What the endpoint said.
#[derive(Clone, Debug)]
pub(crate) enum Answer {
    Active(Arc<ActiveClaims>),
    Inactive,
}

/// An active answer, prepared once when it arrives so that every cache hit only checks it.
#[derive(Debug)]
pub(crate) struct ActiveClaims {
    /// The answer's members but `active`, with `iss` set to the issuer when it had none, as
    /// JSON text (what the verifier scans and checks like a JWT's payload).
    pub json: Vec<u8>,
    /// `exp`, which bounds how long the answer is cached.
    exp: Option<i64>,
}

struct Cached {
    answer: Answer,
    until: Instant,
}

enum Endpoint {
    Fixed(Url),
    /// Read from the discovery document on first use.
    Discovered {
        discovery: Url,
        url: OnceLock<Url>,
    },
}

/// Credentials as the configuration resolved them.
enum Credentials {
    Basic { id: String, secret: String },
    Post { id: String, secret: String },
    Bearer(String),
}

pub(crate) struct Introspector {
    issuer: String,
    endpoint: Endpoint,
    tokens: IntrospectedTokens,
    credentials: Credentials,
    /// Per process, like the cache and the requests in flight: after fork() the child
    /// never touches a lock or a request of its parent (see `support/process.rs`).
    client: PerProcess<Client>,
    allow_http: bool,
    cache_ttl: u64,
    negative_ttl: u64,
    max_entries: usize,
    timeout: Duration,
    cache: PerProcess<Mutex<HashMap<Key, Cached>>>,
    inflight: PerProcess<Mutex<HashMap<Key, InFlight>>>,
    /// The Redis that shares answers across processes (`cache = "redis"`).
    shared: Option<Arc<RedisStore>>,
    metrics: Arc<Metrics>,
}

fn unavailable(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::IntrospectionUnavailable, message)
}

fn key(token: &str) -> Key {
    super::sha256(token.as_bytes())
}

/// `application/x-www-form-urlencoded` encoding of one value (a space becomes `+`).
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// An answer as the shared store keeps it: `A <until_ms> <claims JSON>` or `I <until_ms>`,
/// `until_ms` being the Unix time (ms) past which no process may use it, so that an answer
/// read from Redis is reused no longer than where it was first received.
fn encode(answer: &Answer, until_ms: i64) -> Vec<u8> {
    match answer {
        Answer::Inactive => format!("I {until_ms}").into_bytes(),
        Answer::Active(claims) => {
            let mut out = format!("A {until_ms} ").into_bytes();
            out.extend_from_slice(&claims.json);
            out
        }
    }
}

/// [`encode`] undone, with how long the answer may still be used; `None` when it is
/// garbled or already past its time.
fn decode(value: &[u8], now_ms: i64) -> Option<(Answer, Duration)> {
    let (kind, rest) = value.split_first()?;
    let rest = rest.strip_prefix(b" ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let until_ms: i64 = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    let left = until_ms.checked_sub(now_ms).filter(|ms| *ms > 0)?;
    let rest = &rest[digits..];
    let answer = match (kind, rest) {
        (b'I', []) => Answer::Inactive,
        (b'A', [b' ', json @ ..]) => {
            let Ok(Value::Object(map)) = crate::format::strict_json::parse(json) else {
                return None;
            };
            let exp = map.get("exp").and_then(Value::as_f64).map(|e| e as i64);
            Answer::Active(Arc::new(ActiveClaims {
                json: json.to_vec(),
                exp,
            }))
        }
        _ => return None,
    };
    Some((answer, Duration::from_millis(left as u64)))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An endpoint's answer (a JSON object) as an [`Answer`]: `active` decides, the rest is
/// kept as the claims the verifier judges, with `iss` set to `issuer` when it has none.
pub(crate) fn answer_from(issuer: &str, mut answer: Map<String, Value>) -> Result<Answer, Error> {
    match answer.remove("active") {
        Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Ok(Answer::Inactive),
        _ => {
            return Err(unavailable(
                "the introspection answer has no boolean \"active\"",
            ))
        }
    }
    answer
        .entry("iss")
        .or_insert_with(|| Value::String(issuer.to_owned()));
    let exp = answer.get("exp").and_then(Value::as_f64).map(|e| e as i64);
    let json =
        serde_json::to_vec(&answer).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
    Ok(Answer::Active(Arc::new(ActiveClaims { json, exp })))
}

/// A JWT has exactly three dot-separated parts; anything else is opaque.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.bytes().filter(|b| *b == b'.').count() == 2
}

fn secret(c: &IntrospectionConfig) -> Result<String, Error> {
    match (&c.client_secret, &c.client_secret_env) {
        (Some(value), None) if value.is_empty() => Err(Error::config(
            "introspection.client_secret: empty (the endpoint would get no password)",
        )),
        (Some(value), None) => Ok(value.clone()),
        (None, Some(var)) => match std::env::var(var) {
            Ok(value) if !value.is_empty() => Ok(value),
            Ok(_) => Err(Error::config(format!(
                "introspection.client_secret_env: {var} is empty"
            ))),
            Err(_) => Err(Error::config(format!(
                "introspection.client_secret_env: {var} is not set (or not UTF-8)"
            ))),
        },
        (None, None) => Err(Error::config(
            "introspection: client_secret or client_secret_env is required",
        )),
        (Some(_), Some(_)) => Err(Error::config(
            "introspection: give client_secret or client_secret_env, not both",
        )),
    }
}

impl Introspector {
    /// `store`: the Redis of `[dpop.replay]`, when it names one (for `cache = "redis"`).
    pub fn from_config(
        ic: &IssuerConfig,
        store: Option<&Arc<RedisStore>>,
        metrics: &Arc<Metrics>,
    ) -> Result<Option<Arc<Introspector>>, Error> {
        let Some(c) = &ic.introspection else {
            return Ok(None);
        };
        let context = |e: String| Error::config(format!("introspection: {e}"));
        let endpoint = match (&c.endpoint, ic.discovery) {
            (Some(url), _) => {
                Endpoint::Fixed(fetch::parse_url(url, c.allow_http).map_err(context)?)
            }
            (None, true) => Endpoint::Discovered {
                discovery: fetch::discovery_url(&ic.issuer, c.allow_http).map_err(context)?,
                url: OnceLock::new(),
            },
            (None, false) => {
                return Err(Error::config(
                    "introspection.endpoint: required unless the issuer uses discovery",
                ))
            }
        };
        let id = || {
            c.client_id
                .clone()
                .filter(|id| !id.is_empty())
                .ok_or_else(|| Error::config("introspection.client_id: required for this auth"))
        };
        let credentials = match c.auth {
            ClientAuth::Basic => Credentials::Basic {
                id: id()?,
                secret: secret(c)?,
            },
            ClientAuth::ClientSecretPost => Credentials::Post {
                id: id()?,
                secret: secret(c)?,
            },
            ClientAuth::Bearer => Credentials::Bearer(secret(c)?),
        };
        if c.timeout_ms == 0 || c.max_entries == 0 {
            return Err(Error::config(
                "introspection: timeout_ms and max_entries must be positive",
            ));
        }
        let shared =
            match (c.cache, store) {
                (IntrospectionCache::Memory, _) => None,
                (IntrospectionCache::Redis, Some(store)) => Some(store.clone()),
                (IntrospectionCache::Redis, None) => return Err(Error::config(
                    "introspection.cache: \"redis\" needs [dpop.replay] store = \"redis\" with \
                     its url (the server, key_prefix and timeout_ms it names are shared)",
                )),
            };
        if [c.cache_ttl, c.negative_ttl, c.timeout_ms / 1000]
            .iter()
            .any(|&s| s > MAX_DURATION_SECONDS)
        {
            return Err(Error::config(
                "introspection: cache_ttl, negative_ttl and timeout_ms must be at most ten years",
            ));
        }
        let timeout = Duration::from_millis(c.timeout_ms);
        let introspector = Introspector {
            issuer: ic.issuer.clone(),
            endpoint,
            tokens: c.tokens,
            credentials,
            client: PerProcess::new(),
            allow_http: c.allow_http,
            cache_ttl: c.cache_ttl,
            negative_ttl: c.negative_ttl,
            max_entries: c.max_entries,
            timeout,
            cache: PerProcess::new(),
            inflight: PerProcess::new(),
            shared,
            metrics: metrics.clone(),
        };
        // Built now, on the caller's thread, so that a fork after this never lands in it.
        introspector.client().map_err(|e| {
            Error::config(format!("introspection: cannot build the HTTP client: {e}"))
        })?;
        Ok(Some(Arc::new(introspector)))
    }

    /// This process's HTTP client.
    fn client(&self) -> Result<Client, reqwest::Error> {
        self.client
            .get_or_try_init(|| {
                Client::builder()
                    .timeout(self.timeout)
                    .connect_timeout(self.timeout)
                    .redirect(reqwest::redirect::Policy::none())
                    .user_agent(concat!("veritoken/", env!("CARGO_PKG_VERSION")))
                    .build()
            })
            .map(|c| Client::clone(&c))
    }

    /// This process's answer cache.
    fn cache(&self) -> Arc<Owned<Mutex<HashMap<Key, Cached>>>> {
        self.cache.get_or_init(|| Mutex::new(HashMap::new()))
    }

    /// This process's requests in flight.
    fn inflight(&self) -> Arc<Owned<Mutex<HashMap<Key, InFlight>>>> {
        self.inflight.get_or_init(|| Mutex::new(HashMap::new()))
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether this token goes to the endpoint rather than through local verification.
    pub fn wants(&self, token: &str) -> bool {
        self.tokens == IntrospectedTokens::All || !looks_like_jwt(token)
    }

    /// A cached answer, without asking the endpoint.
    pub fn cached(&self, token: &str) -> Option<Answer> {
        self.cached_key(&key(token))
    }

    fn cached_key(&self, key: &Key) -> Option<Answer> {
        let cells = self.cache();
        let cache = lock(&cells);
        let entry = cache.get(key)?;
        if entry.until <= Instant::now() {
            return None;
        }
        self.metrics.add(Counter::IntrospectionCacheHits);
        Some(entry.answer.clone())
    }

    /// How long a fresh answer may be reused: `negative_ttl` for an inactive one,
    /// `cache_ttl` for an active one but never past its `exp`.
    fn ttl(&self, answer: &Answer) -> Duration {
        let seconds = match answer {
            Answer::Inactive => self.negative_ttl,
            Answer::Active(claims) => {
                // Saturating: `exp` is the endpoint's number, any i64.
                let left = claims
                    .exp
                    .map_or(i64::MAX, |exp| exp.saturating_sub(unix_now()));
                self.cache_ttl.min(left.max(0) as u64)
            }
        };
        Duration::from_secs(seconds)
    }

    /// Keeps `answer` in this process's cache for `ttl`.
    fn store(&self, key: Key, answer: &Answer, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let cells = self.cache();
        let mut cache = lock(&cells);
        if cache.len() >= self.max_entries {
            cache.retain(|_, e| e.until > now);
            if cache.len() >= self.max_entries {
                return; // full of live answers: serve this one uncached
            }
        }
        let Some(until) = now.checked_add(ttl) else {
            return;
        };
        cache.insert(
            key,
            Cached {
                answer: answer.clone(),
                until,
            },
        );
    }

    /// The answer for `token`: from the cache, from the request another caller already has
    /// in flight, or from a new request.
    pub async fn introspect(self: Arc<Self>, token: String) -> Result<Answer, Error> {
        let key = key(&token);
        if let Some(answer) = self.cached_key(&key) {
            return Ok(answer);
        }
        let inflight = self.inflight();
        let cell = lock(&inflight)
            .entry(key)
            .or_insert_with(|| Arc::new(OnceCell::new()))
            .clone();
        let _done = Forget {
            inflight: &inflight,
            key,
            cell: &cell,
        };
        let result = cell
            .get_or_init(|| async {
                let shared = match &self.shared {
                    Some(store) => match self.shared_answer(store, &key).await {
                        Ok(Some(answer)) => return Ok(answer),
                        Ok(None) => Some(store),
                        // Counted and logged by the store: ask the endpoint, and do not
                        // wait on Redis a second time for this answer.
                        Err(_) => None,
                    },
                    None => None,
                };
                let result = self.request(&token).await;
                match &result {
                    Ok(answer) => {
                        let ttl = self.ttl(answer);
                        self.store(key, answer, ttl);
                        if let Some(store) = shared {
                            self.share(store, &key, answer, ttl).await;
                        }
                    }
                    Err(_) => self.metrics.add(Counter::IntrospectionFailures),
                }
                result
            })
            .await
            .clone();
        result
    }

    /// Another process's answer from the shared store, kept in this process's cache for
    /// what is left of its time. `Ok(None)`: none there (or unreadable, then replaced).
    async fn shared_answer(
        &self,
        store: &Arc<RedisStore>,
        key: &Key,
    ) -> Result<Option<Answer>, Error> {
        let value = store
            .query::<Option<Vec<u8>>>(store.get_cmd(STORE_KIND, key))
            .await?;
        let Some(value) = value else {
            return Ok(None);
        };
        match decode(&value, unix_now_ms()) {
            Some((answer, left)) => {
                let left = left.min(self.ttl(&answer));
                self.store(*key, &answer, left);
                self.metrics.add(Counter::IntrospectionStoreHits);
                Ok(Some(answer))
            }
            None => {
                tracing::warn!(
                    "unreadable introspection answer in the redis store; asking the endpoint"
                );
                Ok(None)
            }
        }
    }

    /// Writes a fresh answer to the shared store for `ttl` (nothing when it is not to be
    /// cached). A failure is counted and logged by the store, and otherwise ignored.
    async fn share(&self, store: &Arc<RedisStore>, key: &Key, answer: &Answer, ttl: Duration) {
        let ttl_ms = ttl.as_millis() as u64;
        if ttl_ms == 0 {
            return;
        }
        let value = encode(answer, unix_now_ms().saturating_add(ttl_ms as i64));
        let _ = store
            .query::<()>(store.set_px_cmd(STORE_KIND, key, &value, ttl_ms))
            .await;
    }

    /// [`Introspector::introspect`] for a thread outside the runtime: it waits at most the
    /// request timeout (plus a margin for discovery), and the shared store's timeout twice.
    pub fn introspect_blocking(self: &Arc<Self>, token: &str) -> Result<Answer, Error> {
        let handle = io_runtime::handle()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let task = self.clone().introspect(token.to_owned());
        handle.spawn(async move {
            let _ = tx.send(task.await);
        });
        let store_wait = self
            .shared
            .as_ref()
            .map_or(Duration::ZERO, |s| s.timeout() * 2);
        rx.recv_timeout(self.timeout * 2 + store_wait + Duration::from_millis(500))
            .unwrap_or_else(|_| {
                Err(unavailable(
                    "the introspection endpoint did not answer in time",
                ))
            })
    }

    async fn endpoint(&self) -> Result<Url, Error> {
        match &self.endpoint {
            Endpoint::Fixed(url) => Ok(url.clone()),
            Endpoint::Discovered { discovery, url } => {
                if let Some(url) = url.get() {
                    return Ok(url.clone());
                }
                let client = self.client().map_err(|e| unavailable(e.to_string()))?;
                let found = fetch::discover(
                    &client,
                    discovery,
                    &self.issuer,
                    "introspection_endpoint",
                    MAX_ANSWER,
                    self.allow_http,
                )
                .await
                .map_err(unavailable)?;
                Ok(url.get_or_init(|| found).clone())
            }
        }
    }

    async fn request(&self, token: &str) -> Result<Answer, Error> {
        let endpoint = self.endpoint().await?;
        self.metrics.add(Counter::IntrospectionRequests);
        let mut form = vec![("token", token), ("token_type_hint", "access_token")];
        let client = self.client().map_err(|e| unavailable(e.to_string()))?;
        let mut request = client.post(endpoint);
        match &self.credentials {
            // RFC 6749 §2.3.1: both are form-urlencoded before they are joined and encoded.
            Credentials::Basic { id, secret } => {
                request = request.basic_auth(form_encode(id), Some(form_encode(secret)))
            }
            Credentials::Post { id, secret } => {
                form.push(("client_id", id));
                form.push(("client_secret", secret));
            }
            Credentials::Bearer(token) => request = request.bearer_auth(token),
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let request = request
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        let answer = self.post_json(request).await?;
        answer_from(&self.issuer, answer)
    }

    /// Sends the introspection `request` and reads a JSON object of at most [`MAX_ANSWER`]
    /// bytes.
    async fn post_json(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<Map<String, Value>, Error> {
        let mut response = request
            .header(header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| {
                let why = if e.is_timeout() {
                    "timed out"
                } else {
                    "request failed"
                };
                unavailable(format!("introspection endpoint: {why}"))
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(format!(
                "introspection endpoint answered {status}"
            )));
        }
        let body = fetch::read_body(&mut response, "introspection endpoint", MAX_ANSWER)
            .await
            .map_err(unavailable)?;
        match crate::format::strict_json::parse(&body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(unavailable(
                "introspection endpoint: the answer is not a JSON object",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(json: &str) -> Answer {
        let map = match serde_json::from_str(json).unwrap() {
            Value::Object(map) => map,
            _ => unreachable!(),
        };
        answer_from("https://idp", map).unwrap()
    }

    /// An endpoint that takes connections and never answers.
    fn silent_endpoint() -> (std::net::TcpListener, Arc<Introspector>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}/introspect", listener.local_addr().unwrap());
        let config = crate::Config::from_value(serde_json::json!({"issuers": [{
            "issuer": "https://idp", "audiences": ["a"], "algorithms": ["RS256"],
            "jwks_uri": "https://idp/jwks",
            "introspection": {"endpoint": endpoint, "allow_http": true, "timeout_ms": 10000,
                "client_id": "c", "client_secret": "s"}}]}))
        .unwrap();
        let metrics = Arc::new(Metrics::new());
        let intro = Introspector::from_config(&config.issuers[0], None, &metrics)
            .unwrap()
            .unwrap();
        (listener, intro)
    }

    /// A caller dropped while its request is in flight (the sidecar's request timeout)
    /// leaves no entry behind.
    #[test]
    fn a_dropped_caller_leaves_no_request_in_flight() {
        let (_listener, intro) = silent_endpoint();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        for token in ["opaque-1", "opaque-2"] {
            let call = intro.clone().introspect(token.into());
            let waited = runtime
                .block_on(async { tokio::time::timeout(Duration::from_millis(100), call).await });
            assert!(waited.is_err(), "the endpoint never answers");
        }
        assert!(lock(&intro.inflight()).is_empty());
    }

    /// An empty secret (inline, or an environment variable set to "") and cache times
    /// past ten years are configuration errors: the endpoint would get no password; a
    /// time added to the clock would overflow on the I/O thread.
    #[test]
    fn empty_secrets_and_absurd_times_are_refused() {
        std::env::set_var("VT_TEST_EMPTY_SECRET", "");
        let build = |extra: Value| {
            let mut introspection = serde_json::json!({"endpoint": "http://127.0.0.1:9/i",
                "allow_http": true, "client_id": "c", "client_secret": "s"});
            for (k, v) in extra.as_object().unwrap() {
                if v.is_null() {
                    introspection.as_object_mut().unwrap().remove(k);
                } else {
                    introspection[k] = v.clone();
                }
            }
            let config = crate::Config::from_value(serde_json::json!({"issuers": [{
                "issuer": "https://idp", "audiences": ["a"], "algorithms": ["RS256"],
                "jwks_uri": "https://idp/jwks", "introspection": introspection}]}))
            .unwrap();
            Introspector::from_config(&config.issuers[0], None, &Arc::new(Metrics::new()))
        };
        for extra in [
            serde_json::json!({"client_secret": ""}),
            serde_json::json!({"client_secret": null, "client_secret_env": "VT_TEST_EMPTY_SECRET"}),
            serde_json::json!({"cache_ttl": u64::MAX}),
            serde_json::json!({"negative_ttl": u64::MAX}),
        ] {
            let err = build(extra.clone()).err().expect("refused");
            assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{extra}: {err}");
        }
        assert!(build(serde_json::json!({})).unwrap().is_some());
    }

    /// An endpoint's `exp` far in the past neither overflows nor gives a cache time.
    #[test]
    fn an_absurd_exp_gives_no_cache_time() {
        let (_listener, intro) = silent_endpoint();
        for exp in ["-1e19", "-9223372036854775808", "1e300"] {
            let answer = active(&format!(r#"{{"active": true, "exp": {exp}}}"#));
            let ttl = intro.ttl(&answer);
            assert!(
                ttl <= Duration::from_secs(intro.cache_ttl),
                "{exp}: {ttl:?}"
            );
        }
        let past = active(r#"{"active": true, "exp": -1e19}"#);
        assert_eq!(intro.ttl(&past), Duration::ZERO);
    }

    #[test]
    fn stored_answers_round_trip_and_expire() {
        let now = 1_700_000_000_000;
        let answer = active(r#"{"active": true, "sub": "u", "exp": 1700000100}"#);
        let value = encode(&answer, now + 5_000);
        let Some((Answer::Active(claims), left)) = decode(&value, now) else {
            panic!("not decoded");
        };
        assert_eq!(left, Duration::from_secs(5));
        assert_eq!(claims.exp, Some(1_700_000_100));
        assert_eq!(
            std::str::from_utf8(&claims.json).unwrap(),
            r#"{"exp":1700000100,"iss":"https://idp","sub":"u"}"#
        );
        let inactive = encode(&Answer::Inactive, now + 1);
        assert_eq!(inactive, b"I 1700000000001");
        assert!(matches!(
            decode(&inactive, now),
            Some((Answer::Inactive, _))
        ));
        // Past its time, or garbled: not an answer.
        assert!(decode(&value, now + 5_000).is_none());
        for garbled in [
            &b""[..],
            b"I",
            b"I 12x",
            b"X 9999999999999",
            b"A 9999999999999",
            b"A 9999999999999 [1]",
            b"A 9999999999999 {\"a\":",
            b"I 9999999999999 {}",
            b"I -5",
        ] {
            assert!(decode(garbled, now).is_none(), "{garbled:?}");
        }
    }
}
