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

pub mod algorithm;
mod b64;
mod claims;
mod clock;
pub mod config;
mod dpop;
pub mod error;
pub mod extract;
mod fetch;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod header_memo;
mod hmac_key;
pub mod http;
mod introspect;
mod jose_header;
mod json;
pub mod jws;
pub mod key;
mod metrics;
mod process;
mod redis_store;
mod remote;
mod runtime;
mod scan;
mod text;
pub mod token;
mod token_cache;
mod token_source;
mod verifier;

pub use algorithm::{Algorithm, AlgorithmSet, Curve};
pub use clock::unix_now;
pub use config::{
    Config, DpopConfig, DpopMode, Format, IssuerConfig, JwksCacheConfig, KeySource, PemKey,
    ReplayConfig, ReplayStore, SecretEncoding, SecretKey,
};
pub use dpop::{thumbprint, DpopProof, OwnedDpopProof};
pub use error::{Error, ErrorCode};
pub use extract::{Credential, RequestView, SimpleRequest, TokenSource};
pub use jws::{decode_unverified, verify_jws, Unverified, VerifiedJws, DEFAULT_MAX_TOKEN_SIZE};
pub use key::{parse_jwks, KeySet, Origin};
pub use metrics::MetricsSnapshot;
#[doc(hidden)]
pub use text::{utf8_str, utf8_string};
pub use token::{
    granted_scopes, require_scopes, ClaimMember, ClaimValue, ScopeMatch, VerifiedToken,
};
pub use verifier::Verifier;
