//! The stable error vocabulary (docs/design.md §5): one code per rejection, identical in every
//! language and in the sidecar. Codes are append-only; the integers are fixed for C.

use std::fmt;

macro_rules! error_codes {
    ($( $variant:ident = $num:literal, $name:literal, $status:expr, $doc:literal; )*) => {
        /// Why a token (or a configuration) was refused.
        ///
        /// The string form ([`ErrorCode::as_str`]) and the integer form
        /// ([`ErrorCode::as_int`]) are part of the public contract and never change.
        #[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[repr(u32)]
        pub enum ErrorCode {
            $( #[doc = $doc] $variant = $num, )*
        }

        impl ErrorCode {
            /// Every code, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The snake_case name used by every binding (`err.code`).
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// The HTTP status a middleware answers with; `None` for `config_invalid`,
            /// which is raised while building a verifier, never while serving.
            pub const fn http_status(self) -> Option<u16> {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// The fixed integer of this code (the C result enum; 0 is success there).
            pub const fn as_int(self) -> u32 {
                self as u32
            }

            /// Looks a code up by its snake_case name.
            pub fn from_name(name: &str) -> Option<ErrorCode> {
                match name { $($name => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    TokenMissing = 1, "token_missing", Some(401), "No token in the request.";
    TokenMalformed = 2, "token_malformed", Some(401), "Not a compact JWS, bad base64url or JSON, duplicate members, or too large.";
    TokenUnsupported = 3, "token_unsupported", Some(401), "`crit`, `b64`, JWE or a nested JWT.";
    AlgorithmNotAllowed = 4, "algorithm_not_allowed", Some(401), "`none`, outside the allow-list, or not matching the key.";
    KeyNotFound = 5, "key_not_found", Some(401), "No usable key for the `kid` after the refresh policy.";
    SignatureInvalid = 6, "signature_invalid", Some(401), "The signature does not verify.";
    TokenExpired = 7, "token_expired", Some(401), "`exp` is in the past (beyond the leeway).";
    TokenNotYetValid = 8, "token_not_yet_valid", Some(401), "`nbf` is in the future (beyond the leeway).";
    TokenIssuedInFuture = 9, "token_issued_in_future", Some(401), "`iat` is in the future beyond the leeway.";
    TokenTooOld = 10, "token_too_old", Some(401), "`max_age` or the maximum lifetime is exceeded.";
    IssuerInvalid = 11, "issuer_invalid", Some(401), "`iss` is not a configured issuer.";
    AudienceInvalid = 12, "audience_invalid", Some(401), "`aud` holds none of the configured audiences.";
    ClaimMissing = 13, "claim_missing", Some(401), "A required claim is absent; carries the claim name.";
    ClaimInvalid = 14, "claim_invalid", Some(401), "A claim has the wrong type or value; carries the claim name.";
    TypeInvalid = 15, "type_invalid", Some(401), "The `typ` header does not match.";
    ScopeInsufficient = 16, "scope_insufficient", Some(403), "Authorization failed (scopes, permissions).";
    TokenInactive = 17, "token_inactive", Some(401), "Introspection said `active: false`.";
    DpopInvalid = 18, "dpop_invalid", Some(401), "DPoP proof missing, malformed, mismatched or replayed.";
    JwksUnavailable = 19, "jwks_unavailable", Some(503), "No usable keys and the key source cannot be reached.";
    IntrospectionUnavailable = 20, "introspection_unavailable", Some(503), "The introspection endpoint cannot be reached.";
    ConfigInvalid = 21, "config_invalid", None, "Raised when building a verifier from a bad configuration.";
    Internal = 22, "internal", Some(500), "A caught panic or a bug.";
    ReplayStoreUnavailable = 23, "replay_store_unavailable", Some(503), "The shared DPoP replay store (Redis) cannot be reached or answered too late: the proof is refused.";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejection: a stable [`ErrorCode`], a human message, and the claim concerned where
/// relevant. Messages never contain a token, a secret or key material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
    claim: Option<String>,
}

impl Error {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            claim: None,
        }
    }

    /// An error about one claim (`claim_missing`, `claim_invalid`, and others that name one).
    pub fn for_claim(code: ErrorCode, claim: &str, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            claim: Some(claim.to_owned()),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::ConfigInvalid, message)
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::TokenMalformed, message)
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn claim(&self) -> Option<&str> {
        self.claim.as_deref()
    }

    /// Prefixes the message with context (for example the config file it came from).
    pub fn context(mut self, prefix: impl fmt::Display) -> Self {
        self.message = format!("{prefix}: {}", self.message);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_fixed_and_round_trip() {
        // The integers are an ABI: changing one breaks every C and Go caller.
        let expected = [
            "token_missing",
            "token_malformed",
            "token_unsupported",
            "algorithm_not_allowed",
            "key_not_found",
            "signature_invalid",
            "token_expired",
            "token_not_yet_valid",
            "token_issued_in_future",
            "token_too_old",
            "issuer_invalid",
            "audience_invalid",
            "claim_missing",
            "claim_invalid",
            "type_invalid",
            "scope_insufficient",
            "token_inactive",
            "dpop_invalid",
            "jwks_unavailable",
            "introspection_unavailable",
            "config_invalid",
            "internal",
            "replay_store_unavailable",
        ];
        assert_eq!(ErrorCode::ALL.len(), expected.len());
        for (i, (code, name)) in ErrorCode::ALL.iter().zip(expected).enumerate() {
            assert_eq!(code.as_int() as usize, i + 1);
            assert_eq!(code.as_str(), name);
            assert_eq!(ErrorCode::from_name(name), Some(*code));
        }
        assert_eq!(ErrorCode::from_name("nope"), None);
    }

    #[test]
    fn statuses_follow_the_design_table() {
        assert_eq!(ErrorCode::ScopeInsufficient.http_status(), Some(403));
        assert_eq!(ErrorCode::JwksUnavailable.http_status(), Some(503));
        assert_eq!(ErrorCode::IntrospectionUnavailable.http_status(), Some(503));
        assert_eq!(ErrorCode::Internal.http_status(), Some(500));
        assert_eq!(ErrorCode::ReplayStoreUnavailable.http_status(), Some(503));
        assert_eq!(ErrorCode::ConfigInvalid.http_status(), None);
        assert_eq!(ErrorCode::TokenExpired.http_status(), Some(401));
    }
}
