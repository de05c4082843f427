//! The HTTP face of an error, shared by every middleware and the sidecar: RFC 6750
//! `WWW-Authenticate` challenges and the JSON body `{"error": {"code", "message"}}`.

use crate::config::DpopMode;
use crate::support::error::{Error, ErrorCode};

/// The status to answer with (`config_invalid` never reaches a request; 500 if it did).
pub fn status(error: &Error) -> u16 {
    error.code().http_status().unwrap_or(500)
}

/// Characters RFC 6750 §3 allows in a quoted attribute; everything else becomes `?`.
fn quoted(text: &str) -> String {
    text.chars()
        .map(|c| {
            if matches!(c, ' ' | '!' | '#'..='[' | ']'..='~') {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// The `WWW-Authenticate` value for an error, or `None` where no challenge applies (5xx).
/// A `dpop_invalid` error gets a DPoP challenge (RFC 9449 §7.1), any other a Bearer one
/// (RFC 6750 §3); [`crate::Verifier::error_headers`] also knows the verifier's DPoP mode.
pub fn www_authenticate(error: &Error, realm: Option<&str>) -> Option<String> {
    challenge(error, realm, DpopMode::Disabled, None)
}

/// The RFC 6750 / RFC 9449 `error` attribute for a refusal (`None`: no token was sent).
fn error_attribute(error: &Error) -> Option<&'static str> {
    Some(match error.code() {
        ErrorCode::TokenMissing => return None,
        ErrorCode::ScopeInsufficient => "insufficient_scope",
        ErrorCode::DpopInvalid if error.claim() == Some("nonce") => "use_dpop_nonce",
        ErrorCode::DpopInvalid => "invalid_dpop_proof",
        _ => "invalid_token",
    })
}

/// The challenge for `error` from a verifier whose DPoP mode is `mode`; `algs` lists the
/// proof algorithms it accepts. DPoP required: every challenge is DPoP. DPoP allowed: every
/// refusal but a proof's offers both schemes.
pub(crate) fn challenge(
    error: &Error,
    realm: Option<&str>,
    mode: DpopMode,
    algs: Option<&str>,
) -> Option<String> {
    if !matches!(error.code().http_status(), Some(401 | 403)) {
        return None;
    }
    let one = |scheme: &str, with_error: bool, with_algs: bool| {
        let mut attrs = Vec::new();
        if let Some(realm) = realm {
            attrs.push(format!("realm=\"{}\"", quoted(realm)));
        }
        if let Some(attr) = error_attribute(error).filter(|_| with_error) {
            attrs.push(format!("error=\"{attr}\""));
            attrs.push(format!("error_description=\"{}\"", quoted(error.message())));
        }
        if let Some(algs) = algs.filter(|_| with_algs) {
            attrs.push(format!("algs=\"{}\"", quoted(algs)));
        }
        if attrs.is_empty() {
            scheme.to_owned()
        } else {
            format!("{scheme} {}", attrs.join(", "))
        }
    };
    let value = match (error.code(), mode) {
        (ErrorCode::DpopInvalid, _) | (_, DpopMode::Required) => one("DPoP", true, true),
        // The token may have come under either scheme, and the client reads the challenge
        // of its own (RFC 9449 §7.1 and §7.2): both carry the error (none without a token).
        (_, DpopMode::Allowed) => format!(
            "{}, {}",
            one("Bearer", true, false),
            one("DPoP", true, true)
        ),
        (_, DpopMode::Disabled) => one("Bearer", true, false),
    };
    Some(value)
}

/// A claim as an HTTP header value: strings as they are, arrays of strings joined by spaces
/// (`aud`, `scp`), other values as compact JSON; control characters (CR, LF, NUL, ...) are
/// replaced by spaces so a claim can never split or smuggle a header.
pub fn header_value(claim: &serde_json::Value) -> String {
    use serde_json::Value;
    let text = match claim {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The headers of a refusal: JSON, not to be cached, and the challenge where one applies.
/// Middlewares holding a verifier use [`crate::Verifier::error_headers`], which adds what
/// its DPoP policy needs (the DPoP challenge, a `DPoP-Nonce`).
pub fn error_headers(error: &Error, realm: Option<&str>) -> Vec<(&'static str, String)> {
    headers_with(www_authenticate(error, realm))
}

/// The refusal headers around a given challenge.
pub(crate) fn headers_with(challenge: Option<String>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("cache-control", "no-store".to_owned()),
    ];
    if let Some(challenge) = challenge {
        headers.push(("www-authenticate", challenge));
    }
    headers
}

/// `{"error": {"code": "...", "message": "...", "claim": "..."}}` (`claim` only when set).
/// Fields keep this order (code first) so the body reads well in logs.
pub fn error_body(error: &Error) -> String {
    #[derive(serde::Serialize)]
    struct Body<'a> {
        error: Inner<'a>,
    }
    #[derive(serde::Serialize)]
    struct Inner<'a> {
        code: &'a str,
        message: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        claim: Option<&'a str>,
    }
    let body = Body {
        error: Inner {
            code: error.code().as_str(),
            message: error.message(),
            claim: error.claim(),
        },
    };
    serde_json::to_string(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let missing = Error::new(ErrorCode::TokenMissing, "no token");
        assert_eq!(
            www_authenticate(&missing, Some("api")).unwrap(),
            "Bearer realm=\"api\""
        );
        assert_eq!(www_authenticate(&missing, None).unwrap(), "Bearer");
        let expired = Error::new(ErrorCode::TokenExpired, "token has \"expired\"\r\n");
        assert_eq!(
            www_authenticate(&expired, None).unwrap(),
            "Bearer error=\"invalid_token\", error_description=\"token has ?expired???\""
        );
        let scope = Error::new(
            ErrorCode::ScopeInsufficient,
            "missing required scope(s): write",
        );
        assert!(www_authenticate(&scope, None)
            .unwrap()
            .contains("insufficient_scope"));
        assert_eq!(
            www_authenticate(&Error::new(ErrorCode::JwksUnavailable, "down"), None),
            None
        );
        assert_eq!(status(&scope), 403);
    }

    #[test]
    fn header_values_are_safe() {
        use serde_json::json;
        assert_eq!(header_value(&json!("alice")), "alice");
        assert_eq!(
            header_value(&json!("a\r\nSet-Cookie: x\0")),
            "a  Set-Cookie: x "
        );
        assert_eq!(
            header_value(&json!(["api://a", "api://b"])),
            "api://a api://b"
        );
        assert_eq!(header_value(&json!(42)), "42");
        assert_eq!(header_value(&json!({"k": "v\n"})), r#"{"k":"v\n"}"#);
        assert_eq!(header_value(&json!("Zoë")), "Zoë");
    }

    #[test]
    fn dpop_challenges() {
        let proof = Error::for_claim(ErrorCode::DpopInvalid, "htm", "wrong method");
        assert_eq!(
            www_authenticate(&proof, None).unwrap(),
            "DPoP error=\"invalid_dpop_proof\", error_description=\"wrong method\""
        );
        let nonce = Error::for_claim(ErrorCode::DpopInvalid, "nonce", "need a nonce");
        assert!(
            challenge(&nonce, Some("api"), DpopMode::Allowed, Some("ES256"))
                .unwrap()
                .starts_with("DPoP realm=\"api\", error=\"use_dpop_nonce\"")
        );
        let missing = Error::new(ErrorCode::TokenMissing, "no token");
        assert_eq!(
            challenge(
                &missing,
                Some("api"),
                DpopMode::Allowed,
                Some("ES256 EdDSA")
            )
            .unwrap(),
            "Bearer realm=\"api\", DPoP realm=\"api\", algs=\"ES256 EdDSA\""
        );
        let expired = Error::new(ErrorCode::TokenExpired, "expired");
        assert_eq!(
            challenge(&expired, None, DpopMode::Required, Some("ES256")).unwrap(),
            "DPoP error=\"invalid_token\", error_description=\"expired\", algs=\"ES256\""
        );
        assert_eq!(
            challenge(&expired, None, DpopMode::Allowed, Some("ES256")).unwrap(),
            "Bearer error=\"invalid_token\", error_description=\"expired\", \
             DPoP error=\"invalid_token\", error_description=\"expired\", algs=\"ES256\""
        );
        let scope = Error::new(ErrorCode::ScopeInsufficient, "needs orders:write");
        assert_eq!(
            challenge(&scope, None, DpopMode::Disabled, Some("ES256")).unwrap(),
            "Bearer error=\"insufficient_scope\", error_description=\"needs orders:write\""
        );
    }

    #[test]
    fn headers() {
        let expired = Error::new(ErrorCode::TokenExpired, "expired");
        let h = error_headers(&expired, Some("api"));
        assert_eq!(h[0], ("content-type", "application/json".to_owned()));
        assert_eq!(h[1], ("cache-control", "no-store".to_owned()));
        assert_eq!(h[2].0, "www-authenticate");
        assert!(h[2]
            .1
            .starts_with("Bearer realm=\"api\", error=\"invalid_token\""));
        let down = Error::new(ErrorCode::JwksUnavailable, "down");
        assert_eq!(error_headers(&down, None).len(), 2, "no challenge on a 503");
    }

    #[test]
    fn body() {
        let e = Error::for_claim(ErrorCode::ClaimMissing, "sub", "token has no \"sub\"");
        let v: serde_json::Value = serde_json::from_str(&error_body(&e)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"error": {"code": "claim_missing", "message": "token has no \"sub\"", "claim": "sub"}})
        );
    }
}
