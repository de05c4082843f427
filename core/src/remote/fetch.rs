//! Bounded HTTP GETs for JWKS and discovery documents: https only (plain http for loopback
//! or when allowed), connect and total timeouts, a redirect limit that keeps the scheme
//! rule, a response size cap enforced while reading, and the cache headers we honour.

use crate::config::JwksCacheConfig;
use crate::support::untrusted_text::clip;
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
        other => Err(format!("unsupported URL scheme {:?}", clip(other, 20))),
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

/// At most this many characters of a URL go into a message or a log line: enough for the
/// scheme, the host and the start of the path. (A discovery document or a redirect chooses
/// the URL; one of 500 KB once went whole into each WARN line and `jwks_unavailable`.)
const SHOWN_URL_CHARS: usize = 100;

/// The URL without credentials, query or fragment, clipped, for messages and logs.
pub(crate) fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    clip(shown.as_str(), SHOWN_URL_CHARS)
}

/// [`redact`] for text that is not a URL: the user and password (what precedes an `@` in
/// the authority), the query and the fragment are dropped as far as the text shows them,
/// and the rest is clipped, control characters escaped.
fn redact_text(text: &str) -> String {
    let end = text.find(['?', '#']).unwrap_or(text.len());
    let text = &text[..end];
    let (scheme, rest) = match text.find("://") {
        Some(at) => text.split_at(at + 3),
        None => ("", text),
    };
    let authority_end = rest.find(['/', '\\']).unwrap_or(rest.len());
    let rest = match rest[..authority_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    clip(&format!("{scheme}{rest}"), SHOWN_URL_CHARS)
}

/// Parses and checks a configured URL.
pub(crate) fn parse_url(text: &str, allow_http: bool) -> Result<Url, String> {
    let url =
        Url::parse(text).map_err(|e| format!("{:?} is not a valid URL: {e}", redact_text(text)))?;
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
                clip(iss, 100)
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

    /// Longest message `parse_url` may give for any input: a 500 KB `jwks_uri` once went whole
    /// into the WARN log and every `jwks_unavailable` message.
    const MESSAGE_BOUND: usize = 400;

    #[test]
    fn url_messages_are_clipped_and_redacted() {
        let long = "A".repeat(500_000);
        let bounded = |text: &str, allow_http: bool| {
            let e = parse_url(text, allow_http).unwrap_err();
            assert!(e.len() < MESSAGE_BOUND, "{} bytes: {}…", e.len(), &e[..200]);
            e
        };
        // Not a URL at all.
        let e = bounded(&format!("not a url {long}"), false);
        assert!(
            e.starts_with("\"not a url AAA") && e.contains("not a valid URL"),
            "{e}"
        );
        // A valid plain-http URL with a long path: scheme and host stay visible.
        let e = bounded(&format!("http://idp.example.com/{long}"), false);
        assert!(
            e.starts_with("http://idp.example.com/AAA") && e.contains("plain http"),
            "{e}"
        );
        // A long scheme.
        let e = bounded(&format!("{}:x", "a".repeat(500_000)), true);
        assert!(e.starts_with("unsupported URL scheme \"aaa"), "{e}");
        // Control characters are escaped, not copied.
        let e = bounded("not a url\r\nFAKE LOG LINE", false);
        assert!(
            !e.contains(['\r', '\n']) && e.contains("FAKE LOG LINE"),
            "{e}"
        );
        // Text that does not parse keeps its user, password and query out of the message.
        for text in [
            "https://user:secret@idp.example.com:99999/jwks?token=abc#frag",
            "https://user:secret@idp.example.com:99999?token=abc",
            "https://:secret@[::1/jwks",
        ] {
            let e = bounded(text, false);
            assert!(!e.contains("secret") && !e.contains("user"), "{e}");
            assert!(!e.contains("token=abc") && !e.contains("frag"), "{e}");
            assert!(e.starts_with("\"https://"), "{e}");
        }
        let e = bounded(
            "https://user:secret@idp.example.com:99999/jwks?token=abc",
            false,
        );
        assert!(e.contains("idp.example.com:99999/jwks"), "{e}");

        let url = Url::parse(&format!("https://u:p@idp.example.com/{long}?q=1")).unwrap();
        let shown = redact(&url);
        assert!(shown.len() < 200, "{} bytes", shown.len());
        assert!(shown.starts_with("https://idp.example.com/AAA") && shown.ends_with('…'));
    }

    /// The reported case end to end: a discovery document whose `jwks_uri` is 500 KB of
    /// text gives a short error.
    #[test]
    fn a_huge_jwks_uri_in_discovery_gives_a_short_error() {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let issuer = format!("http://{addr}");
        let doc = serde_json::json!({
            "issuer": issuer,
            "jwks_uri": format!("not a url {}", "A".repeat(500_000)),
        })
        .to_string();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0);
                request.extend_from_slice(&buf[..n]);
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                doc.len()
            );
            conn.write_all(head.as_bytes()).unwrap();
            conn.write_all(doc.as_bytes()).unwrap();
        });
        let policy = JwksCacheConfig::default();
        let client = client(&policy).unwrap();
        let url = discovery_url(&issuer, false).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let e = runtime
            .block_on(discover(&client, &url, &issuer, "jwks_uri", 1 << 20, false))
            .unwrap_err();
        server.join().unwrap();
        assert!(e.len() < MESSAGE_BOUND, "{} bytes", e.len());
        assert!(
            e.starts_with("\"not a url AAA") && e.contains("not a valid URL"),
            "{e}"
        );
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
