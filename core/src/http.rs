//! The HTTP face of an error, shared by every middleware and the sidecar: RFC 6750
//! `WWW-Authenticate` challenges and the JSON body `{"error": {"code", "message"}}`.

use crate::error::{Error, ErrorCode};

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
pub fn www_authenticate(error: &Error, realm: Option<&str>) -> Option<String> {
    let mut value = String::from("Bearer");
    let mut attrs = Vec::new();
    if let Some(realm) = realm {
        attrs.push(format!("realm=\"{}\"", quoted(realm)));
    }
    match error.code() {
        ErrorCode::TokenMissing => {}
        ErrorCode::ScopeInsufficient => {
            attrs.push("error=\"insufficient_scope\"".into());
            attrs.push(format!("error_description=\"{}\"", quoted(error.message())));
        }
        code if code.http_status() == Some(401) => {
            attrs.push("error=\"invalid_token\"".into());
            attrs.push(format!("error_description=\"{}\"", quoted(error.message())));
        }
        _ => return None,
    }
    if !attrs.is_empty() {
        value.push(' ');
        value.push_str(&attrs.join(", "));
    }
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
pub fn error_headers(error: &Error, realm: Option<&str>) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("cache-control", "no-store".to_owned()),
    ];
    if let Some(challenge) = www_authenticate(error, realm) {
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
