//! veritoken: one strict JWT/JWKS verification engine for every language.
//!
//! All policy lives in this crate; the Python, Node, C/Go bindings and the sidecar only
//! convert types and map errors. See `docs/design.md` for the rules and `README.md` for use.
//!
//! ```no_run
//! use veritoken::{Config, Verifier};
//! let verifier = Verifier::from_file("veritoken.toml")?;
//! let token = verifier.verify("eyJ...")?;
//! println!("{}", token.subject().unwrap_or("-"));
//! # Ok::<(), veritoken::Error>(())
//! ```

// The layers, bottom up; each imports only from the ones before it (core/tests/layers.rs).
pub mod config;
mod format;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod keys;
mod remote;
mod rules;
mod support;
mod surface;

pub use config::claim_rule::{ClaimPath, ClaimRule, Scalar};
pub use config::{
    Config, DpopConfig, DpopMode, Format, IssuerConfig, JwksCacheConfig, KeySource, PemKey,
    ReplayConfig, ReplayStore, SecretEncoding, SecretKey,
};
pub use format::algorithm::{Algorithm, AlgorithmSet, Curve};
pub use keys::jws::{
    decode_unverified, verify_jws, Unverified, VerifiedJws, DEFAULT_MAX_TOKEN_SIZE,
    LARGEST_MAX_TOKEN_SIZE,
};
pub use keys::key_set::{parse_jwks, KeySet, Origin};
/// One rule per claim accessor, shared by every language.
pub use rules::claim_accessors;
pub use rules::dpop::{thumbprint, DpopProof, OwnedDpopProof};
pub use rules::requirement::{scope_tokens, Requirement};
pub use rules::roles::{granted_roles, RolePolicy, RoleRequirement};
pub use rules::token::{
    claim_accessors_json, claims_object, granted_scopes, require_scopes, ClaimAccessors,
    ClaimMember, ClaimValue, ScopeMatch, VerifiedToken,
};
pub use support::clock::unix_now;
pub use support::error::{Error, ErrorCode};
pub use support::log::{set_log_sink, LogLevel, LogRecord, LogSink};
pub use support::metrics::{
    MetricFamily, MetricKind, MetricsSnapshot, CLIENT_LABEL, ENGINE_FAMILIES, SIDECAR_FAMILIES,
};
#[doc(hidden)]
pub use support::untrusted_text::{utf8_str, utf8_string};
pub use surface::extract::{Credential, RequestView, SimpleRequest, TokenSource};
/// HTTP answers for a refusal (status, `WWW-Authenticate`, JSON body): used by the sidecar
/// and every middleware.
pub use surface::http;
pub use surface::verifier::{optional, Verifier};
