//! The sidecar's configuration: where to listen and the protected clients, each with the
//! paths nginx calls, a verifier configuration (the one schema every language uses), the
//! scopes, roles and claim rules it requires, whether authentication is optional, and the
//! claims it returns as headers.

use axum::http::HeaderName;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use veritoken::{ClaimPath, ClaimRule, Config, Error, Requirement, RoleRequirement, ScopeMatch};

/// `veritoken serve` configuration (JSON, TOML or YAML; unknown keys are errors).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Address to listen on. Default `127.0.0.1:9090`.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The protected clients. At least one.
    pub clients: Vec<ClientConfig>,
    /// Longest a request may take, including a wait for keys. Default 10000.
    #[serde(default = "default_timeout")]
    pub request_timeout_ms: u64,
    /// Requests whose headers add up to more than this are refused with 401
    /// `token_malformed`, like a token over `max_token_size`, with the JSON body. Default:
    /// the largest client's `max_token_size` plus 8192 bytes for the other headers (24576
    /// with the defaults), so every token the engine accepts also passes here.
    #[serde(default)]
    pub max_header_bytes: Option<usize>,
    /// Requests with more header lines than this are refused (401 `token_malformed`).
    /// Default 1000: nginx forwards every client header, and 100 was too few.
    #[serde(default = "default_max_headers")]
    pub max_headers: usize,
    /// A connection that has not sent a request's complete headers this long after it
    /// started one is closed (slow-header clients cannot hold connections). Default 5000.
    #[serde(default = "default_header_read_timeout")]
    pub header_read_timeout_ms: u64,
    /// One JSON line per answered request on stderr ("auth request"). Default true; false
    /// where nginx's own access log is enough (each line costs a write per request).
    #[serde(default = "default_access_log")]
    pub access_log: bool,
    /// Whether a rejection carries its JSON body (`{"error":{"code","message"}}`). Default
    /// true. Behind nginx `auth_request`, which discards the body, false keeps nginx's
    /// connection to the sidecar open: nginx closes an auth connection whose answer has a
    /// body. The code is in `x-veritoken-code` either way.
    #[serde(default = "default_error_body")]
    pub error_body: bool,
    /// Which headers state the original request: its method and URL (for DPoP) and its
    /// query (for a token in a query parameter). Only this family is read, since the other
    /// one may come from the client untouched.
    #[serde(default)]
    pub original_request: OriginalRequest,
}

/// The header family a proxy states the original request in.
#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum OriginalRequest {
    /// `X-Original-Method`, `X-Original-URL`, `X-Original-URI` (nginx `auth_request`, as
    /// the example configuration sets them).
    #[default]
    XOriginal,
    /// `X-Forwarded-Method`, `-Proto`, `-Host`, `-Uri` (Traefik `forwardAuth`, Caddy
    /// `forward_auth`).
    XForwarded,
}

fn default_error_body() -> bool {
    true
}

fn default_access_log() -> bool {
    true
}

fn default_header_read_timeout() -> u64 {
    5_000
}

/// One protected client (an upstream service, or a group of locations).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// A name for logs and metrics.
    pub name: String,
    /// The paths nginx `auth_request` calls for this client.
    pub paths: Vec<String>,
    /// The verifier: issuers, keys (static, JWKS URL or discovery), audiences,
    /// algorithms, claim rules, and `token_sources` (header with scheme or prefix, cookie,
    /// query parameter).
    pub verifier: Config,
    /// Scopes the token must grant (403 `scope_insufficient` otherwise), each one scope.
    #[serde(default, deserialize_with = "veritoken::scope_tokens")]
    pub required_scopes: Vec<String>,
    /// `all` (default) or `any` of `required_scopes`.
    #[serde(default)]
    pub scope_match: ScopeMatch,
    /// Role policies the token must grant, `rn:role` or `rn:role@tn` (403
    /// `scope_insufficient` otherwise).
    #[serde(default)]
    pub required_roles: Vec<RoleRequirement>,
    /// `all` (default) or `any` of `required_roles`.
    #[serde(default)]
    pub role_match: ScopeMatch,
    /// The claim holding the role policies (a name or a JSON Pointer). Default `scope`.
    #[serde(default)]
    pub role_claim: Option<ClaimPath>,
    /// Claim rules this client's callers must meet (403 `scope_insufficient` naming the
    /// claim otherwise), after the verifier's own (issuer) rules.
    #[serde(default)]
    pub rules: Vec<ClaimRule>,
    /// Optional authentication: a request without a token is let through (200, no claim
    /// headers); a token that fails is still refused. Default false.
    #[serde(default)]
    pub optional: bool,
    /// Claim name or JSON Pointer (`/realm_access/roles`) -> response header, for
    /// `auth_request_set` (e.g. `sub = "X-Auth-Subject"`).
    #[serde(default)]
    pub claim_headers: BTreeMap<String, String>,
    /// The `realm` of the `WWW-Authenticate` challenge. Default: the client name.
    #[serde(default)]
    pub realm: Option<String>,
}

impl ClientConfig {
    /// What this client requires of a verified token, as one engine [`Requirement`].
    pub fn requirement(&self) -> Requirement {
        let mut requirement = Requirement {
            scopes: self.required_scopes.clone(),
            scope_match: self.scope_match,
            roles: self.required_roles.clone(),
            role_match: self.role_match,
            rules: self.rules.clone(),
            ..Requirement::default()
        };
        if let Some(claim) = &self.role_claim {
            requirement.role_claim = claim.clone();
        }
        requirement
    }
}

fn default_listen() -> String {
    "127.0.0.1:9090".into()
}

fn default_timeout() -> u64 {
    10_000
}

/// Room for the headers besides the token in the default `max_header_bytes`.
pub const HEADER_ROOM: usize = 8 * 1024;

fn default_max_headers() -> usize {
    1000
}

/// Paths the sidecar itself answers.
pub const OPS_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Headers a claim may not be returned as: they would change how the answer is read, or
/// the sidecar sets them itself (the request id, the refusal code, the DPoP nonce).
const RESERVED_HEADERS: [&str; 12] = [
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "www-authenticate",
    "set-cookie",
    "location",
    "host",
    "keep-alive",
    "x-request-id",
    "x-veritoken-code",
    "dpop-nonce",
];

impl ServeConfig {
    /// The header byte limit: as configured, or every client's token limit plus room for
    /// the other headers.
    pub fn header_limit(&self) -> usize {
        self.max_header_bytes.unwrap_or_else(|| {
            self.clients
                .iter()
                .map(|c| c.verifier.max_token_size)
                .max()
                .unwrap_or(16 * 1024)
                + HEADER_ROOM
        })
    }

    /// Reads and checks a configuration file; relative key paths are relative to its folder.
    pub fn load(path: &Path) -> Result<ServeConfig, Error> {
        let mut config: ServeConfig = veritoken::config::load_document(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for client in &mut config.clients {
            client.verifier.resolve_paths(base);
        }
        config.validate().map_err(|e| e.context(path.display()))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::new(veritoken::ErrorCode::ConfigInvalid, m));
        if self.clients.is_empty() {
            return bad("clients: at least one client is required".into());
        }
        if self.request_timeout_ms == 0
            || self.header_read_timeout_ms == 0
            || self.max_header_bytes.is_some_and(|m| m < 1024)
            || self.max_headers < 16
        {
            return bad(
                "request_timeout_ms and header_read_timeout_ms must be positive, max_header_bytes at least 1024, max_headers at least 16".into(),
            );
        }
        let mut names = HashSet::new();
        let mut paths = HashSet::new();
        for (i, c) in self.clients.iter().enumerate() {
            let at = format!("clients[{i}]");
            if c.name.is_empty() || !names.insert(c.name.as_str()) {
                return bad(format!("{at}.name: empty or used twice"));
            }
            if c.paths.is_empty() {
                return bad(format!("{at}.paths: at least one path is required"));
            }
            for p in &c.paths {
                // The router reads `{..}`, `*..` and `:..` segments as patterns.
                if !p.starts_with('/')
                    || p.contains(['?', '#', '{', '}', '*'])
                    || p.split('/').any(|segment| segment.starts_with(':'))
                {
                    return bad(format!(
                        "{at}.paths: {p:?} must be a plain path starting with / (no segment may start with :)"
                    ));
                }
                if OPS_PATHS.contains(&p.as_str()) || !paths.insert(p.as_str()) {
                    return bad(format!("{at}.paths: {p:?} is reserved or used twice"));
                }
            }
            for (claim, header) in &c.claim_headers {
                if let Err(why) = ClaimPath::parse(claim) {
                    return bad(format!("{at}.claim_headers: {claim:?}: {why}"));
                }
                let name = HeaderName::from_bytes(header.as_bytes()).map_err(|_| {
                    Error::new(
                        veritoken::ErrorCode::ConfigInvalid,
                        format!("{at}.claim_headers: {header:?} is not a header name"),
                    )
                })?;
                if RESERVED_HEADERS.contains(&name.as_str()) {
                    return bad(format!(
                        "{at}.claim_headers: {header:?} cannot carry a claim"
                    ));
                }
            }
        }
        Ok(())
    }
}
