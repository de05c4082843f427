//! The one configuration schema (docs/design.md §7) shared by every language and the sidecar.
//! JSON, TOML or YAML; unknown keys are `config_invalid`. Every default is documented here.
//! A layer of its own, above `keys` (it names algorithms and the token size limit) and
//! below everything that is configured.

pub mod claim_rule;
pub mod token_source;

use crate::format::algorithm::Algorithm;
use crate::keys::jws::DEFAULT_MAX_TOKEN_SIZE;
use crate::support::error::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};
use token_source::TokenSource;

/// Largest config, JWKS or PEM file read from disk.
pub(crate) const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// A verifier's configuration.
///
/// ```json
/// {
///   "issuers": [{
///     "issuer": "https://idp.example.com/",
///     "audiences": ["api://orders"],
///     "algorithms": ["RS256"],
///     "keys": [{"jwks_file": "jwks.json"}]
///   }],
///   "leeway": 30
/// }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The trusted issuers; a token is checked against the one its `iss` names. At least one.
    pub issuers: Vec<IssuerConfig>,
    /// Clock skew tolerated on `exp`, `nbf`, `iat` and `max_age`, in seconds. Default 0, at
    /// most 86400 (one day; more is `config_invalid`).
    #[serde(default)]
    pub leeway: u64,
    /// Longest token accepted, in bytes, checked before decoding. Default 16384.
    #[serde(default = "default_max_token_size")]
    pub max_token_size: usize,
    /// Where middlewares look for the token, in order. Default: `Authorization: Bearer`.
    #[serde(default = "default_token_sources")]
    pub token_sources: Vec<TokenSource>,
    /// DPoP (RFC 9449) sender-constrained tokens. Default: disabled (a DPoP-bound token
    /// presented as a bearer token is still refused).
    #[serde(default)]
    pub dpop: DpopConfig,
    /// The verified-token cache. Default: off.
    #[serde(default)]
    pub cache: CacheConfig,
}

/// The opt-in verified-token cache: a token seen again skips the signature check (see
/// `rules/token_cache.rs` for what a hit still checks).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Verified tokens kept at most (the table is this rounded up to a power of two, at
    /// most 2^20; a new token may replace an older one). 0, the default: no cache.
    pub max_entries: usize,
}

/// Whether requests may, or must, prove possession of the token's key with a DPoP proof.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DpopMode {
    /// Only bearer tokens are accepted; `Authorization: DPoP` counts as no token.
    #[default]
    Disabled,
    /// Bearer tokens and DPoP-bound tokens with their proofs are both accepted.
    Allowed,
    /// Every token must be DPoP-bound and come with a valid proof.
    Required,
}

/// How DPoP proofs are checked (RFC 9449 §4.3). Durations are in seconds.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DpopConfig {
    /// Default `disabled`.
    pub mode: DpopMode,
    /// Algorithms a proof may be signed with; asymmetric only. Default every asymmetric
    /// one: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA, and the
    /// RFC 9864 names ESP256, ESP384, ESP512, Ed25519. The DPoP challenge's `algs` lists
    /// them in that order.
    pub algorithms: Vec<Algorithm>,
    /// A proof whose `iat` is older than this (plus `leeway`) is refused, and its `jti`
    /// is remembered this long. Default 300.
    pub max_age: u64,
    /// Most proof `jti`s remembered for replay detection; when full of live entries, new
    /// proofs are refused (fail closed). Default 100000.
    pub replay_cache_size: usize,
    /// Require a server nonce (`DPoP-Nonce`, error `use_dpop_nonce`). Default false.
    pub nonce: bool,
    /// How long one nonce is issued; it is accepted for twice this. Default 300.
    pub nonce_lifetime: u64,
    /// Key for the stateless nonces (at least 32 bytes), inline or from the environment,
    /// so that several processes accept each other's nonces. Default: random per verifier.
    pub nonce_secret: Option<String>,
    pub nonce_secret_env: Option<String>,
    /// Where proof `jti`s are remembered (`[dpop.replay]`). Default: in this process's
    /// memory; `store = "redis"` shares them across processes and hosts.
    pub replay: ReplayConfig,
}

/// Where DPoP proof ids are remembered for replay detection.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayStore {
    /// In this process only, bounded by `dpop.replay_cache_size` (the default).
    #[default]
    Memory,
    /// In a Redis (or Valkey) server shared by every process and host that uses it: one
    /// `SET <key_prefix>:jti:<hash> <write id> NX PX <ms>` per proof (and a `GET` when the
    /// key is taken, which knows a resent write as its own). When the server cannot be
    /// reached within `timeout_ms`, proofs are refused with `replay_store_unavailable`.
    Redis,
}

/// The replay store (`[dpop.replay]`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplayConfig {
    /// Default `memory`.
    pub store: ReplayStore,
    /// The server: `redis://[user:password@]host[:port][/db]`, `rediss://...` (TLS) or
    /// `unix:///path/to/redis.sock`. Inline, or the name of an environment variable holding
    /// it (`url_env`), since it may hold a password. Required with `store = "redis"`.
    pub url: Option<String>,
    pub url_env: Option<String>,
    /// Prefix of every key written, before `:jti:`. Default `veritoken`.
    pub key_prefix: String,
    /// Longest one Redis command may take, connecting included, in milliseconds; past it the
    /// proof is refused. Default 100.
    pub timeout_ms: u64,
    /// Connections per process (each multiplexes any number of requests). Default 1.
    pub pool_size: usize,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            store: ReplayStore::Memory,
            url: None,
            url_env: None,
            key_prefix: "veritoken".to_owned(),
            timeout_ms: 100,
            pool_size: 1,
        }
    }
}

impl fmt::Debug for ReplayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplayConfig")
            .field("store", &self.store)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("url_env", &self.url_env)
            .field("key_prefix", &self.key_prefix)
            .field("timeout_ms", &self.timeout_ms)
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

impl Default for DpopConfig {
    fn default() -> Self {
        DpopConfig {
            mode: DpopMode::Disabled,
            algorithms: Algorithm::ALL
                .into_iter()
                .filter(|a| a.family() != crate::format::algorithm::KeyFamily::Oct)
                .collect(),
            max_age: 300,
            replay_cache_size: 100_000,
            nonce: false,
            nonce_lifetime: 300,
            nonce_secret: None,
            nonce_secret_env: None,
            replay: ReplayConfig::default(),
        }
    }
}

impl fmt::Debug for DpopConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopConfig")
            .field("mode", &self.mode)
            .field("algorithms", &self.algorithms)
            .field("max_age", &self.max_age)
            .field("replay_cache_size", &self.replay_cache_size)
            .field("nonce", &self.nonce)
            .field("nonce_lifetime", &self.nonce_lifetime)
            .field(
                "nonce_secret",
                &self.nonce_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("nonce_secret_env", &self.nonce_secret_env)
            .field("replay", &self.replay)
            .finish()
    }
}

/// One trusted issuer: its keys and the rules its tokens must meet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// Exact value `iss` must have.
    pub issuer: String,
    /// `aud` must hold at least one of these. At least one.
    pub audiences: Vec<String>,
    /// The algorithm allow-list. At least one; `none` does not exist. RFC 9864's
    /// fully-specified names are distinct entries: allow `Ed25519` for tokens whose header
    /// says `Ed25519`, `EdDSA` for those that say `EdDSA` (and likewise `ESP256` / `ES256`).
    pub algorithms: Vec<Algorithm>,
    /// Static key sources, all merged into one key set.
    #[serde(default)]
    pub keys: Vec<KeySource>,
    /// A remote JWKS to fetch and cache (https; plain http only for loopback or with
    /// `jwks_cache.allow_http`). Excludes `keys` and `discovery`.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Find `jwks_uri` through OIDC discovery (`{issuer}/.well-known/openid-configuration`);
    /// the document's `issuer` must equal `issuer` exactly. Excludes `keys` and `jwks_uri`.
    #[serde(default)]
    pub discovery: bool,
    /// How a remote key set is fetched and cached. Defaults suit most IdPs.
    #[serde(default)]
    pub jwks_cache: JwksCacheConfig,
    /// Whether `exp` must be present. Default true.
    #[serde(default = "yes")]
    pub require_exp: bool,
    /// Claims that must be present (and not null). Default none.
    #[serde(default)]
    pub required_claims: Vec<String>,
    /// Refuse tokens whose `iat` is older than this many seconds. Default off.
    #[serde(default)]
    pub max_age: Option<u64>,
    /// Refuse tokens whose `exp - iat` exceeds this many seconds. Default off.
    #[serde(default)]
    pub max_lifetime: Option<u64>,
    /// Required `typ` header, such as `at+jwt` (RFC 9068). Default: not checked.
    #[serde(default)]
    pub typ: Option<String>,
    /// Claim rules every token of this issuer must meet ("is this token for us at all",
    /// e.g. `azp` equals our client id), checked after the time rules and the required
    /// claims, on introspection answers too. A failure is `claim_invalid` naming the
    /// claim. Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<claim_rule::ClaimRule>,
    /// RFC 7662 introspection for this issuer's opaque tokens. At most one issuer.
    #[serde(default)]
    pub introspection: Option<IntrospectionConfig>,
}

/// How the introspection endpoint is called and its answers cached.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionConfig {
    /// The endpoint. Default: `introspection_endpoint` from OIDC discovery (the issuer must
    /// then have `discovery: true`).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Which tokens are introspected. Default `opaque`.
    #[serde(default)]
    pub tokens: IntrospectedTokens,
    /// How veritoken authenticates to the endpoint. Default `basic`.
    #[serde(default)]
    pub auth: ClientAuth,
    /// The client id (`basic`, `client_secret_post`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// The client secret, or for `bearer` the token sent; inline or from the environment.
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Longest an active answer is reused, in seconds; never past the token's `exp`.
    /// Default 60.
    #[serde(default = "default_introspection_ttl")]
    pub cache_ttl: u64,
    /// How long an inactive answer is reused, in seconds. Default 10.
    #[serde(default = "default_negative_ttl")]
    pub negative_ttl: u64,
    /// Most answers kept. Default 10000.
    #[serde(default = "default_cache_entries")]
    pub max_entries: usize,
    /// Whole-request timeout. Default 2000.
    #[serde(default = "default_introspection_timeout")]
    pub timeout_ms: u64,
    /// Allow plain http to hosts other than loopback. Default false.
    #[serde(default)]
    pub allow_http: bool,
    /// Where answers are kept: `memory` (this process, the default) or `redis`, the server
    /// of `[dpop.replay]`, shared by every process and host that uses it.
    #[serde(default)]
    pub cache: IntrospectionCache,
}

/// Where introspection answers are cached.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntrospectionCache {
    /// In this process only, at most `max_entries` answers (the default).
    #[default]
    Memory,
    /// Also in the Redis server of `[dpop.replay]` (which must say `store = "redis"`), as
    /// `<key_prefix>:introspection:<hex SHA-256 of the token>`, so that one process's answer
    /// serves the others. Each process still keeps its own answers in memory. Redis
    /// unreachable or slow past its `timeout_ms`: the endpoint is asked, as without it.
    Redis,
}

impl fmt::Debug for IntrospectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntrospectionConfig")
            .field("endpoint", &self.endpoint)
            .field("tokens", &self.tokens)
            .field("auth", &self.auth)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_secret_env", &self.client_secret_env)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// Which tokens go to the introspection endpoint.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntrospectedTokens {
    /// Opaque tokens are introspected; JWTs are verified locally.
    #[default]
    Opaque,
    /// Every token is introspected, JWTs too (for revocation checks).
    All,
}

/// Client authentication at the introspection endpoint.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuth {
    /// HTTP Basic with `client_id` and `client_secret`, each form-urlencoded first (RFC 6749
    /// §2.3.1). Also accepted as `client_secret_basic`, its RFC 7591 name.
    #[default]
    #[serde(alias = "client_secret_basic")]
    Basic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// `Authorization: Bearer <client_secret>`.
    Bearer,
}

fn default_introspection_ttl() -> u64 {
    60
}

fn default_negative_ttl() -> u64 {
    10
}

fn default_cache_entries() -> usize {
    10_000
}

fn default_introspection_timeout() -> u64 {
    2_000
}

/// The remote key set policy (docs/design.md §4). Durations are in seconds unless named `_ms`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwksCacheConfig {
    /// Keys are fresh this long after a fetch when the response has no usable
    /// `Cache-Control: max-age`. Default 300.
    pub ttl: u64,
    /// `max-age` is raised to at least this. Default 60.
    pub min_ttl: u64,
    /// `max-age` is lowered to at most this. Default 86400.
    pub max_ttl: u64,
    /// Refresh in the background this long before the keys stop being fresh (at most half
    /// the TTL). Default 30.
    pub refresh_ahead: u64,
    /// After a refresh caused by an unknown `kid`, further unknown kids fail fast with
    /// `key_not_found` for this long, without fetching. Default 10.
    pub cooldown: u64,
    /// A `kid` still unknown after a refresh is refused without fetching for this long.
    /// Default 60.
    pub missing_kid_ttl: u64,
    /// When fetches fail, keep using the last good keys until this long after they were
    /// fetched; then `jwks_unavailable`. Default 86400.
    pub max_stale: u64,
    /// TCP + TLS connect timeout. Default 2000.
    pub connect_timeout_ms: u64,
    /// Whole-request timeout, and the longest a verification waits for keys. Default 5000.
    pub timeout_ms: u64,
    /// Largest JWKS or discovery response accepted, in bytes. Default 1048576.
    pub max_response_size: usize,
    /// Redirects followed (each must stay https). Default 3.
    pub max_redirects: usize,
    /// Allow plain http to hosts other than loopback. Default false.
    pub allow_http: bool,
    /// Make building the verifier fail unless the first fetch succeeds. Default false:
    /// start without the IdP and fetch in the background.
    pub wait_at_startup: bool,
}

impl Default for JwksCacheConfig {
    fn default() -> Self {
        JwksCacheConfig {
            ttl: 300,
            min_ttl: 60,
            max_ttl: 86_400,
            refresh_ahead: 30,
            cooldown: 10,
            missing_kid_ttl: 60,
            max_stale: 86_400,
            connect_timeout_ms: 2_000,
            timeout_ms: 5_000,
            max_response_size: 1024 * 1024,
            max_redirects: 3,
            allow_http: false,
            wait_at_startup: false,
        }
    }
}

/// The longest duration a cache or timeout setting may name (ten years): added to the
/// clock, a longer one could overflow (a panic on the I/O thread).
pub(crate) const MAX_DURATION_SECONDS: u64 = 10 * 365 * 24 * 3600;

/// A static key source.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// A JWKS document inline (an object, or a string holding its JSON).
    Jwks(Value),
    /// A JWKS document in a file (relative paths are relative to the config file).
    JwksFile(PathBuf),
    /// A PEM public key (SPKI `PUBLIC KEY` or PKCS#1 `RSA PUBLIC KEY`).
    Pem(PemKey),
    /// An HMAC secret.
    Secret(SecretKey),
}

/// An inline JWKS is shown by its size only: it may hold HMAC secrets (`"k"`).
impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Jwks(doc) => {
                let keys = doc.get("keys").and_then(Value::as_array).map(Vec::len);
                f.debug_tuple("Jwks")
                    .field(&format_args!("<{} key(s), redacted>", keys.unwrap_or(0)))
                    .finish()
            }
            KeySource::JwksFile(path) => f.debug_tuple("JwksFile").field(path).finish(),
            KeySource::Pem(pem) => f.debug_tuple("Pem").field(pem).finish(),
            KeySource::Secret(secret) => f.debug_tuple("Secret").field(secret).finish(),
        }
    }
}

/// A PEM public key, inline (`key`) or in a file (`path`): exactly one of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PemKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// The `kid` tokens name this key by. Without it the key matches any `kid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Restrict the key to one algorithm. Default: every allowed one its type supports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<Algorithm>,
}

/// How an HMAC secret's text is turned into bytes.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretEncoding {
    /// The UTF-8 bytes of the text (the default).
    #[default]
    Utf8,
    /// Standard base64 (padding optional).
    Base64,
    /// base64url without padding.
    Base64url,
}

/// An HMAC secret given inline (`value`) or by environment variable (`env`): exactly one.
/// It must be at least as long as the hash output of `alg` (32, 48 or 64 bytes).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    #[serde(default)]
    pub encoding: SecretEncoding,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The one HMAC algorithm this secret verifies.
    pub alg: Algorithm,
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKey")
            .field("value", &self.value.as_ref().map(|_| "<redacted>"))
            .field("env", &self.env)
            .field("encoding", &self.encoding)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

fn default_max_token_size() -> usize {
    DEFAULT_MAX_TOKEN_SIZE
}

fn default_token_sources() -> Vec<TokenSource> {
    vec![TokenSource::bearer()]
}

fn yes() -> bool {
    true
}

/// A configuration file's syntax.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Toml,
    Yaml,
}

impl Format {
    /// The format a file name's extension stands for.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Format::Json),
            "toml" => Some(Format::Toml),
            "yaml" | "yml" => Some(Format::Yaml),
            _ => None,
        }
    }
}

/// Reads a file of at most [`MAX_FILE_SIZE`] bytes.
pub(crate) fn read_small_file(path: &Path) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| Error::config(format!("cannot open {shown}: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::config(format!("cannot read {shown}: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(Error::config(format!(
            "{shown} is larger than {MAX_FILE_SIZE} bytes"
        )));
    }
    Ok(bytes)
}

/// Reads any configuration document type of this schema family (the verifier's, the
/// sidecar's) from a JSON-like value, with the path of a bad member in the error.
pub fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, Error> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = without_values(&e.into_inner().to_string());
        if path == "." {
            Error::config(inner)
        } else {
            Error::config(format!("{path}: {inner}"))
        }
    })
}

/// `message` with every value serde quotes in it left out: strings (`string "…"`, as in
/// `invalid type: string "…", expected struct SecretKey`) and numbers (``integer `…` ``,
/// ``floating point `…` ``): the value may be a secret given where the schema wants
/// something else (`secret = "…"` for `[secret] value = "…"`, an unquoted numeric secret).
fn without_values(message: &str) -> String {
    let mut out = without_strings(message);
    for (quoted, said) in [
        ("integer `", "an integer"),
        ("floating point `", "a number"),
        ("character `", "a character"),
    ] {
        while let Some(at) = out.find(quoted) {
            let value = at + quoted.len();
            let end = out[value..].find('`').map_or(out.len(), |i| value + i + 1);
            out.replace_range(at..end, said);
        }
    }
    out
}

fn without_strings(message: &str) -> String {
    const QUOTED: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(QUOTED) {
        out.push_str(&rest[..at]);
        out.push_str("a string");
        let mut chars = rest[at + QUOTED.len()..].char_indices();
        let mut end = rest.len() - at - QUOTED.len();
        // The closing quote: serde writes the value with Rust's escapes (`\"`, `\\`).
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &rest[at + QUOTED.len() + end..];
    }
    out.push_str(rest);
    out
}

/// Parses configuration text in `format` into `T`. Duplicate keys are refused in every
/// format, unknown keys wherever `T` denies them.
pub fn parse_document<T: serde::de::DeserializeOwned>(
    text: &str,
    format: Format,
) -> Result<T, Error> {
    let value: Value = match format {
        Format::Json => crate::format::strict_json::parse(text.as_bytes())
            .map_err(|e| Error::config(format!("invalid JSON: {e}")))?,
        Format::Toml => toml::from_str::<toml::Value>(text)
            .map_err(|e| {
                // Where, as line and column (not the toml crate's excerpt: it would echo the
                // text, which may hold a secret).
                let at = e.span().map(|span| {
                    let before = &text.as_bytes()[..span.start.min(text.len())];
                    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
                    let start = before
                        .iter()
                        .rposition(|b| *b == b'\n')
                        .map_or(0, |i| i + 1);
                    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
                    format!(" at line {line}, column {column}")
                });
                Error::config(format!(
                    "invalid TOML{}: {}",
                    at.unwrap_or_default(),
                    without_values(e.message().trim_end())
                ))
            })
            .and_then(|v| {
                // JSON has no NaN or infinity: converted, one would become null, which an
                // optional setting reads as "not set" (`max_age = nan` turned the check off).
                let at = non_finite(
                    &v,
                    &|v| match v {
                        toml::Value::Float(f) => Some(f.is_finite()),
                        _ => None,
                    },
                    &|v| match v {
                        toml::Value::Array(items) => indexed(items.iter()),
                        toml::Value::Table(t) => {
                            named(t.iter().map(|(k, v)| (Some(k.as_str()), v)))
                        }
                        _ => Vec::new(),
                    },
                );
                if let Some(at) = at {
                    return Err(Error::config(format!(
                        "invalid TOML: {}: nan and inf are not numbers here",
                        place(&at)
                    )));
                }
                serde_json::to_value(v).map_err(|e| Error::config(format!("invalid TOML: {e}")))
            })?,
        // Through YAML's own value type: it refuses duplicate keys, which a direct
        // conversion into a JSON map would silently resolve as "last wins". Flow nesting
        // is bounded first: the parser takes time quadratic in its depth.
        Format::Yaml => yaml_depth_ok(text)
            .and_then(|()| {
                serde_norway::from_str::<serde_norway::Value>(text).map_err(|e| {
                    Error::config(format!("invalid YAML: {}", without_values(&e.to_string())))
                })
            })
            .and_then(|v| {
                let at = non_finite(
                    &v,
                    &|v| match v {
                        serde_norway::Value::Number(n) => {
                            Some(n.as_f64().is_none_or(f64::is_finite))
                        }
                        _ => None,
                    },
                    &|v| match v {
                        serde_norway::Value::Sequence(items) => indexed(items.iter()),
                        serde_norway::Value::Mapping(m) => {
                            named(m.iter().map(|(k, v)| (k.as_str(), v)))
                        }
                        serde_norway::Value::Tagged(t) => vec![(String::new(), &t.value)],
                        _ => Vec::new(),
                    },
                );
                if let Some(at) = at {
                    return Err(Error::config(format!(
                        "invalid YAML: {}: .nan and .inf are not numbers here",
                        place(&at)
                    )));
                }
                serde_json::to_value(v).map_err(|e| Error::config(format!("invalid YAML: {e}")))
            })?,
    };
    from_value(value)
}

/// Where in `value` the first number that is not finite is (`.key` and `[index]` steps),
/// if there is one: `is_finite` says so for a number (`None` for anything else),
/// `children` lists an array's or a table's values with their steps.
fn non_finite<'v, V>(
    value: &'v V,
    is_finite: &dyn Fn(&V) -> Option<bool>,
    children: &dyn Fn(&'v V) -> Vec<(String, &'v V)>,
) -> Option<String> {
    if is_finite(value) == Some(false) {
        return Some(String::new());
    }
    children(value)
        .into_iter()
        .find_map(|(step, child)| non_finite(child, is_finite, children).map(|rest| step + &rest))
}

/// An array's items with their `[index]` steps.
fn indexed<'v, V: 'v>(items: impl Iterator<Item = &'v V>) -> Vec<(String, &'v V)> {
    items
        .enumerate()
        .map(|(i, v)| (format!("[{i}]"), v))
        .collect()
}

/// A table's values with their `.key` steps (`.?` for a key that is not text).
fn named<'v, V: 'v>(
    members: impl Iterator<Item = (Option<&'v str>, &'v V)>,
) -> Vec<(String, &'v V)> {
    members
        .map(|(k, v)| (format!(".{}", k.unwrap_or("?")), v))
        .collect()
}

/// A path from [`non_finite`] as the configuration's places are named (`issuers[0].max_age`).
fn place(path: &str) -> &str {
    match path.strip_prefix('.') {
        Some(rest) => rest,
        None if path.is_empty() => "the document",
        None => path,
    }
}

/// The deepest `[`/`{` nesting a YAML document may have (JSON's parser stops at 128 too).
const MAX_YAML_NESTING: usize = 128;

/// Refuses YAML whose flow collections nest deeper than [`MAX_YAML_NESTING`], before the
/// parser, whose time grows with the square of the depth (a 600 KB `[[[…]]]` ran minutes).
/// Brackets inside quoted scalars and comments are not counted.
fn yaml_depth_ok(text: &str) -> Result<(), Error> {
    let (mut depth, mut quote, mut comment, mut previous) = (0usize, None, false, b'\n');
    for &b in text.as_bytes() {
        match (quote, b) {
            (_, b'\n') => comment = false,
            _ if comment => {}
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'#') if previous.is_ascii_whitespace() => comment = true,
            (None, b'[' | b'{') => {
                depth += 1;
                if depth > MAX_YAML_NESTING {
                    return Err(Error::config(format!(
                        "invalid YAML: nested deeper than {MAX_YAML_NESTING} levels"
                    )));
                }
            }
            (None, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = b;
    }
    Ok(())
}

/// Reads a `.json`, `.toml`, `.yaml` or `.yml` file into `T`.
pub fn load_document<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let format = Format::from_path(path).ok_or_else(|| {
        Error::config(format!(
            "{}: unknown config format (use .json, .toml, .yaml or .yml)",
            path.display()
        ))
    })?;
    let bytes = read_small_file(path)?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::config(format!("{} is not UTF-8", path.display())))?;
    parse_document(text, format).map_err(|e| e.context(path.display()))
}

impl Config {
    /// A configuration from a JSON-like value (what bindings pass from dicts and objects).
    pub fn from_value(value: Value) -> Result<Config, Error> {
        from_value(value)
    }

    /// Parses configuration text. JSON duplicate keys are refused, as in tokens.
    pub fn parse(text: &str, format: Format) -> Result<Config, Error> {
        parse_document(text, format)
    }

    /// Reads a `.json`, `.toml`, `.yaml` or `.yml` file; relative key paths in it are taken
    /// relative to the file's folder.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, Error> {
        let path = path.as_ref();
        let mut config: Config = load_document(path)?;
        config.resolve_paths(path.parent().unwrap_or(Path::new(".")));
        Ok(config)
    }

    /// Makes relative key file paths relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        for issuer in &mut self.issuers {
            for source in &mut issuer.keys {
                let path = match source {
                    KeySource::JwksFile(p) => p,
                    KeySource::Pem(PemKey { path: Some(p), .. }) => p,
                    _ => continue,
                };
                if path.is_relative() {
                    *path = base.join(&*path);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::support::error::ErrorCode;
    use serde_json::json;

    fn minimal() -> Value {
        json!({"issuers": [{"issuer": "https://i", "audiences": ["a"], "algorithms": ["HS256"],
            "keys": [{"secret": {"value": "0123456789abcdef0123456789abcdef", "alg": "HS256"}}]}]})
    }

    #[test]
    fn defaults() {
        let c = Config::from_value(minimal()).unwrap();
        assert_eq!(c.leeway, 0);
        assert_eq!(c.max_token_size, 16384);
        assert_eq!(c.token_sources, vec![TokenSource::bearer()]);
        assert!(c.issuers[0].require_exp);
        assert_eq!(c.issuers[0].max_age, None);
    }

    #[test]
    fn unknown_keys_are_errors_with_a_path() {
        let mut v = minimal();
        v["issuers"][0]["audience"] = json!("a");
        let err = Config::from_value(v).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ConfigInvalid);
        assert!(
            err.message().contains("issuers[0]")
                && err.message().contains("unknown field `audience`"),
            "{err}"
        );
        let mut v = minimal();
        v["issuers"][0]["keys"][0]["secret"]["valeu"] = json!("x");
        assert!(Config::from_value(v)
            .unwrap_err()
            .message()
            .contains("valeu"));
        let mut v = minimal();
        v["issuers"][0]["algorithms"] = json!(["none"]);
        assert!(Config::from_value(v)
            .unwrap_err()
            .message()
            .contains("unsupported algorithm"));
    }

    #[test]
    fn three_formats_agree() {
        let json = r#"{"issuers":[{"issuer":"https://i","audiences":["a"],"algorithms":["RS256"],"keys":[{"jwks_file":"k.json"}]}],"leeway":5}"#;
        let toml = "leeway = 5\n[[issuers]]\nissuer = \"https://i\"\naudiences = [\"a\"]\nalgorithms = [\"RS256\"]\nkeys = [{jwks_file = \"k.json\"}]\n";
        let yaml = "leeway: 5\nissuers:\n  - issuer: https://i\n    audiences: [a]\n    algorithms: [RS256]\n    keys:\n      - jwks_file: k.json\n";
        let a = Config::parse(json, Format::Json).unwrap();
        assert_eq!(a, Config::parse(toml, Format::Toml).unwrap());
        assert_eq!(a, Config::parse(yaml, Format::Yaml).unwrap());
    }

    #[test]
    fn duplicate_keys_are_refused_in_every_format() {
        assert!(Config::parse(r#"{"leeway":1,"leeway":2,"issuers":[]}"#, Format::Json).is_err());
        assert!(Config::parse("leeway = 1\nleeway = 2\n", Format::Toml).is_err());
        let err = Config::parse("leeway = 1\nissuers = [\n  { issuer = }\n]\n", Format::Toml)
            .unwrap_err();
        assert!(
            err.message().contains("invalid TOML at line 3, column 14"),
            "{}",
            err.message()
        );
        assert!(Config::parse("leeway: 1\nleeway: 2\nissuers: []\n", Format::Yaml).is_err());
    }

    #[test]
    fn a_string_where_an_object_belongs_is_not_echoed() {
        let issuer = |keys: Value| {
            serde_json::json!({"issuers": [{"issuer": "https://i", "audiences": ["a"],
                "algorithms": ["HS256"], "keys": keys}]})
        };
        let cases = [
            (
                issuer(serde_json::json!([{"secret": "hunter2-\\\"x\\\"-tail"}])),
                "issuers[0].keys[0].secret: invalid type: a string, expected",
            ),
            (
                issuer(serde_json::json!("hunter2")),
                "issuers[0].keys: invalid type: a string, expected a sequence",
            ),
        ];
        for (value, want) in cases {
            let e = Config::from_value(value).unwrap_err();
            assert_eq!(e.code(), ErrorCode::ConfigInvalid);
            assert!(e.message().starts_with(want), "{}", e.message());
            assert!(!e.message().contains("hunter2"), "{}", e.message());
            assert!(!e.message().contains("tail"), "{}", e.message());
        }
        assert_eq!(
            without_strings(r#"x string "a\"b" y string "c""#),
            "x a string y a string"
        );
        assert_eq!(
            without_strings(r#"cut string "never closed"#),
            "cut a string"
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let c = Config::from_value(minimal()).unwrap();
        let text = format!("{c:?}");
        assert!(!text.contains("0123456789abcdef"), "{text}");
        assert!(text.contains("<redacted>"));
        // An inline JWKS may hold an HMAC secret ("k").
        let mut v = minimal();
        v["issuers"][0]["keys"] =
            json!([{"jwks": {"keys": [{"kty": "oct", "k": "TOPSECRETK", "alg": "HS256"}]}}]);
        let text = format!("{:?}", Config::from_value(v).unwrap());
        assert!(!text.contains("TOPSECRETK"), "{text}");
        assert!(text.contains("<1 key(s), redacted>"), "{text}");
    }

    /// JSON has no NaN or infinity: converted from TOML or YAML one became null, which an
    /// optional setting reads as "not set" (`max_age = nan` turned the check off).
    #[test]
    fn nan_and_infinity_are_refused_not_dropped() {
        let toml = |value: &str| {
            format!("[[issuers]]\nissuer = \"https://i\"\naudiences = [\"a\"]\nalgorithms = [\"RS256\"]\nkeys = [{{jwks_file = \"k.json\"}}]\nmax_age = {value}\n")
        };
        let yaml = |value: &str| {
            format!("issuers:\n  - issuer: https://i\n    audiences: [a]\n    algorithms: [RS256]\n    keys: [{{jwks_file: k.json}}]\n    max_age: {value}\n")
        };
        for (text, format) in [
            (toml("nan"), Format::Toml),
            (toml("inf"), Format::Toml),
            (toml("-inf"), Format::Toml),
            (yaml(".nan"), Format::Yaml),
            (yaml(".inf"), Format::Yaml),
            (yaml("-.inf"), Format::Yaml),
        ] {
            let err = Config::parse(&text, format).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ConfigInvalid, "{text}");
            assert!(err.message().contains("not numbers"), "{err}");
            assert!(err.message().contains(": issuers[0].max_age: "), "{err}");
        }
        // Deeper, in an array of tables inside an issuer: the place names every step.
        let rule = toml("1").replace(
            "max_age = 1\n",
            "max_age = 1\n[[issuers.rules]]\nclaim = \"n\"\nat_least = -inf\n",
        );
        let err = Config::parse(&rule, Format::Toml).unwrap_err();
        assert!(
            err.message()
                .starts_with("invalid TOML: issuers[0].rules[0].at_least: nan and inf"),
            "{err}"
        );
        assert_eq!(
            Config::parse(&toml("100"), Format::Toml).unwrap().issuers[0].max_age,
            Some(100)
        );
        assert_eq!(
            Config::parse(&yaml("100"), Format::Yaml).unwrap().issuers[0].max_age,
            Some(100)
        );
    }

    /// A numeric value in the wrong place (an unquoted secret) is not echoed either.
    #[test]
    fn a_number_where_a_string_belongs_is_not_echoed() {
        let secret = "1234567890123456789";
        let yaml = format!("issuers:\n  - issuer: https://i\n    audiences: [a]\n    algorithms: [HS256]\n    keys:\n      - secret: {{value: {secret}, alg: HS256}}\n");
        let toml = format!("[[issuers]]\nissuer = \"https://i\"\naudiences = [\"a\"]\nalgorithms = [\"HS256\"]\nkeys = [{{secret = {{value = {secret}, alg = \"HS256\"}}}}]\n");
        let huge = "98765432109876543210987654321098";
        let yaml_huge = yaml.replace(secret, huge);
        for (text, format) in [
            (yaml.as_str(), Format::Yaml),
            (toml.as_str(), Format::Toml),
            (yaml_huge.as_str(), Format::Yaml),
        ] {
            let err = Config::parse(text, format).unwrap_err();
            assert_eq!(err.code(), ErrorCode::ConfigInvalid);
            assert!(
                !err.message().contains("1234567890") && !err.message().contains("98765432"),
                "{err}"
            );
        }
        let mut v = minimal();
        v["issuers"][0]["keys"][0]["secret"]["value"] = json!(1.5e300);
        let err = Config::from_value(v).unwrap_err();
        assert!(!err.message().contains("300"), "{err}");
        assert_eq!(
            without_values("invalid type: integer `42`, expected x; floating point `1.5`"),
            "invalid type: an integer, expected x; a number"
        );
    }

    /// Flow collections nested past 128 levels are refused before the YAML parser, whose
    /// time grows with the square of the depth.
    #[test]
    fn deeply_nested_yaml_is_refused_at_once() {
        let deep = format!("a: {}{}\n", "[".repeat(40_000), "]".repeat(40_000));
        let start = std::time::Instant::now();
        let err = Config::parse(&deep, Format::Yaml).unwrap_err();
        assert!(err.message().contains("nested deeper than 128"), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
        // Brackets in quotes and comments are text.
        let text = format!(
            "# {}\nleeway: 1\nissuers: []\nx: \"{}\"\n",
            "[".repeat(200),
            "{".repeat(200)
        );
        let err = Config::parse(&text, Format::Yaml).unwrap_err();
        assert!(!err.message().contains("nested"), "{err}");
    }
}
