//! Bounded HTTP GETs for JWKS and discovery documents: https only (plain http for loopback
//! or when allowed), connect and total timeouts, a redirect limit that keeps the scheme
//! rule, a response size cap enforced while reading, and the cache headers we honour.

use crate::config::JwksCacheConfig;
use reqwest::{header, redirect, Client, StatusCode, Url};
use std::net::IpAddr;
use std::time::Duration;

/// Whether `url` may be fetched: https, or http to a loopback host, or http when allowed.
pub(crate) fn allowed_url(url: &Url, allow_http: bool) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if allow_http || is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "{} is plain http; use https (or allow_http for a trusted network)",
            redact(url)
        )),
        other => Err(format!("unsupported URL scheme {other:?}")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// The URL without credentials or query, for messages and logs.
pub(crate) fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.to_string()
}

/// Parses and checks a configured URL.
pub(crate) fn parse_url(text: &str, allow_http: bool) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a valid URL: {e}"))?;
    allowed_url(&url, allow_http)?;
    Ok(url)
}

/// One HTTP client per remote source, carrying its limits.
pub(crate) fn client(policy: &JwksCacheConfig) -> Result<Client, String> {
    let max = policy.max_redirects;
    let allow_http = policy.allow_http;
    let redirects = redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > max {
            attempt.error(format!("more than {max} redirects"))
        } else if let Err(why) = allowed_url(attempt.url(), allow_http) {
            attempt.error(format!("redirect refused: {why}"))
        } else {
            attempt.follow()
        }
    });
    Client::builder()
        .connect_timeout(Duration::from_millis(policy.connect_timeout_ms))
        .timeout(Duration::from_millis(policy.timeout_ms))
        .redirect(redirects)
        .user_agent(concat!("veritoken/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// A fetched document and the cache headers that came with it.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    /// `None` for `304 Not Modified`.
    pub body: Option<Vec<u8>>,
    /// `Cache-Control: max-age`, or `Some(0)` for `no-cache` / `no-store`.
    pub max_age: Option<u64>,
    pub etag: Option<String>,
}

fn max_age(headers: &header::HeaderMap) -> Option<u64> {
    let value = headers.get(header::CACHE_CONTROL)?.to_str().ok()?;
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-cache" || lower == "no-store" {
            return Some(0);
        }
        if let Some(n) = lower.strip_prefix("max-age=") {
            age = n.trim_matches('"').parse().ok();
        }
    }
    age
}

fn json_content_type(headers: &header::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return true; // absent: judge by the body
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// GETs `url`, sending `If-None-Match` when an `etag` is known.
pub(crate) async fn get(
    client: &Client,
    url: &Url,
    etag: Option<&str>,
    max_size: usize,
) -> Result<Fetched, String> {
    let shown = redact(url);
    let mut request = client
        .get(url.clone())
        .header(header::ACCEPT, "application/json, application/jwk-set+json");
    if let Some(etag) = etag {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    let mut response = request.send().await.map_err(|e| describe(&shown, &e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let cache = Fetched {
        body: None,
        max_age: max_age(&headers),
        etag: headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    if status == StatusCode::NOT_MODIFIED && etag.is_some() {
        return Ok(cache);
    }
    if status != StatusCode::OK {
        return Err(format!("{shown} answered HTTP {}", status.as_u16()));
    }
    if !json_content_type(&headers) {
        return Err(format!(
            "{shown} answered with a content type that is not JSON"
        ));
    }
    let body = read_body(&mut response, &shown, max_size).await?;
    Ok(Fetched {
        body: Some(body),
        ..cache
    })
}

/// The body of `response`, refused once it passes `max_size` bytes (declared or streamed).
pub(crate) async fn read_body(
    response: &mut reqwest::Response,
    shown: &str,
    max_size: usize,
) -> Result<Vec<u8>, String> {
    let too_large = || format!("{shown} answered more than {max_size} bytes");
    if response
        .content_length()
        .is_some_and(|n| n > max_size as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(shown, &e))? {
        if body.len() + chunk.len() > max_size {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `{issuer}/.well-known/openid-configuration`, checked like any fetched URL.
pub(crate) fn discovery_url(issuer: &str, allow_http: bool) -> Result<Url, String> {
    let base = issuer.trim_end_matches('/');
    parse_url(
        &format!("{base}/.well-known/openid-configuration"),
        allow_http,
    )
}

/// Fetches the discovery document at `url`, checks that it names `issuer` exactly, and
/// returns the URL it gives for `member` (`jwks_uri`, `introspection_endpoint`).
pub(crate) async fn discover(
    client: &Client,
    url: &Url,
    issuer: &str,
    member: &str,
    max_size: usize,
    allow_http: bool,
) -> Result<Url, String> {
    let fetched = get(client, url, None, max_size).await?;
    let body = fetched.body.unwrap_or_default();
    let doc = crate::format::strict_json::parse_object(&body)
        .map_err(|e| format!("the discovery document {e}"))?;
    match doc.get("issuer").and_then(|v| v.as_str()) {
        Some(iss) if iss == issuer => {}
        Some(iss) => {
            return Err(format!(
                "the discovery document names issuer {:?}, not the configured one",
                crate::support::untrusted_text::clip(iss, 100)
            ))
        }
        None => return Err("the discovery document has no \"issuer\"".into()),
    }
    let found = doc
        .get(member)
        .and_then(|v| v.as_str())
        .ok_or_else(|| format!("the discovery document has no \"{member}\""))?;
    parse_url(found, allow_http)
}

fn describe(shown: &str, e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot be reached"
    } else if e.is_redirect() {
        "redirected too often or to a refused URL"
    } else {
        "failed"
    };
    format!("{shown} {kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert!(parse_url("https://idp.example.com/jwks", false).is_ok());
        assert!(parse_url("http://127.0.0.1:8080/jwks", false).is_ok());
        assert!(parse_url("http://localhost/jwks", false).is_ok());
        assert!(parse_url("http://[::1]/jwks", false).is_ok());
        assert!(parse_url("http://idp.example.com/jwks", false)
            .unwrap_err()
            .contains("plain http"));
        assert!(parse_url("http://idp.example.com/jwks", true).is_ok());
        assert!(parse_url("ftp://idp.example.com/jwks", true).is_err());
        assert!(parse_url("not a url", false).is_err());
    }

    #[test]
    fn redaction_drops_credentials_and_query() {
        let url = Url::parse("https://user:pw@idp.example.com/jwks?secret=1").unwrap();
        assert_eq!(redact(&url), "https://idp.example.com/jwks");
    }

    #[test]
    fn cache_control() {
        let mut h = header::HeaderMap::new();
        assert_eq!(max_age(&h), None);
        h.insert(
            header::CACHE_CONTROL,
            "public, max-age=600".parse().unwrap(),
        );
        assert_eq!(max_age(&h), Some(600));
        h.insert(header::CACHE_CONTROL, "no-store".parse().unwrap());
        assert_eq!(max_age(&h), Some(0));
        h.insert(header::CONTENT_TYPE, "text/html".parse().unwrap());
        assert!(!json_content_type(&h));
        h.insert(
            header::CONTENT_TYPE,
            "application/jwk-set+json; charset=utf-8".parse().unwrap(),
        );
        assert!(json_content_type(&h));
    }
}
