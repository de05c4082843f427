//! Finding the token in an HTTP request, shared by every middleware and the sidecar: an
//! `Authorization` scheme, a custom header with a prefix, a cookie, or a query parameter,
//! tried in the configured order.

pub use crate::config::token_source::TokenSource;
use crate::config::token_source::AUTHORIZATION;
use crate::format::percent;
use crate::support::error::{Error, ErrorCode};

// The headers extraction reads besides the configured ones, named once so that
// `credential_header_names` lists exactly what the extraction reads (lowercase; headers
// are compared case-insensitively).
const DPOP: &str = "dpop";
const COOKIE: &str = "cookie";

/// The parts of an HTTP request that token extraction reads.
pub trait RequestView {
    /// Every value of header `name` (compared ASCII case-insensitively), in order.
    fn header_values(&self, name: &str) -> Vec<&str>;
    /// The raw query string, without the leading `?`.
    fn query(&self) -> Option<&str>;
    /// The request method (`GET`, ...): needed only to check a DPoP proof's `htm`.
    fn method(&self) -> Option<&str> {
        None
    }
    /// The absolute URL the client called (`https://host/path`): needed only to check a
    /// DPoP proof's `htu`. Behind a proxy, the public URL, not the internal one.
    fn url(&self) -> Option<&str> {
        None
    }
}

/// A request given as header pairs and a query string (what bindings pass in).
#[derive(Clone, Debug, Default)]
pub struct SimpleRequest {
    pub headers: Vec<(String, String)>,
    pub query: Option<String>,
    /// For DPoP only (see [`RequestView::method`]).
    pub method: Option<String>,
    /// For DPoP only (see [`RequestView::url`]).
    pub url: Option<String>,
}

impl RequestView for SimpleRequest {
    fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }
    fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }
    fn url(&self) -> Option<&str> {
        self.url.as_deref()
    }
}

/// A token and, when it was sent with the DPoP scheme, the request's DPoP proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub token: String,
    /// The `DPoP` header (`None`: a bearer token).
    pub proof: Option<String>,
}

impl Credential {
    /// The DPoP proof with `request`'s method and URL, which the integration must have
    /// passed (`internal` otherwise); `None` for a bearer token.
    pub fn dpop_proof<'a>(
        &'a self,
        request: &'a impl RequestView,
    ) -> Result<Option<crate::DpopProof<'a>>, Error> {
        let Some(proof) = self.proof.as_deref() else {
            return Ok(None);
        };
        match (request.method(), request.url()) {
            (Some(method), Some(url)) => Ok(Some(crate::DpopProof { proof, method, url })),
            _ => Err(Error::new(
                ErrorCode::Internal,
                "a DPoP proof came without the request's method and URL; the integration must pass them",
            )),
        }
    }
}

/// `Authorization: DPoP <token>` and the one `DPoP` header that must come with it, or
/// `None` when the request does not use the DPoP scheme.
pub(crate) fn dpop_credential(req: &impl RequestView) -> Result<Option<Credential>, Error> {
    let Some(token) = from_header(req, AUTHORIZATION, Some("DPoP"), None)? else {
        return Ok(None);
    };
    let proofs = req.header_values(DPOP);
    let proof = match proofs.as_slice() {
        [one] if !one.trim().is_empty() => one.trim(),
        [] | [_] => {
            return Err(crate::rules::dpop::invalid(
                None,
                "the request uses the DPoP scheme but has no DPoP proof header",
            ))
        }
        _ => {
            return Err(crate::rules::dpop::invalid(
                None,
                format!("the request has {} DPoP headers", proofs.len()),
            ))
        }
    };
    Ok(Some(Credential {
        token,
        proof: Some(proof.to_owned()),
    }))
}

fn malformed(why: String) -> Error {
    Error::new(ErrorCode::TokenMalformed, why)
}

/// A token candidate must be one visible-ASCII word.
fn checked(token: &str, source: &str) -> Result<Option<String>, Error> {
    let token = token.trim_matches(|c| c == ' ' || c == '\t');
    if token.is_empty() {
        return Ok(None);
    }
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(malformed(format!(
            "the token in {source} contains spaces or control characters"
        )));
    }
    Ok(Some(token.to_owned()))
}

fn from_header(
    req: &impl RequestView,
    name: &str,
    scheme: Option<&str>,
    prefix: Option<&str>,
) -> Result<Option<String>, Error> {
    let values = req.header_values(name);
    let value = match values.as_slice() {
        [] => return Ok(None),
        [one] => *one,
        _ => {
            return Err(malformed(format!(
                "the request has {} {name} headers",
                values.len()
            )))
        }
    };
    let rest = match (scheme, prefix) {
        (Some(scheme), _) => {
            // A bare scheme ("Bearer") carries no token: absent, like another scheme.
            let Some((word, rest)) = value.trim_start().split_once(' ') else {
                return Ok(None);
            };
            if !word.eq_ignore_ascii_case(scheme) {
                return Ok(None);
            }
            rest
        }
        (None, Some(prefix)) => match value.strip_prefix(prefix) {
            Some(rest) => rest,
            None => return Ok(None),
        },
        (None, None) => value,
    };
    checked(rest, name)
}

fn from_cookie(req: &impl RequestView, name: &str) -> Result<Option<String>, Error> {
    let mut found = None;
    for header in req.header_values(COOKIE) {
        for pair in header.split(';') {
            let Some((k, v)) = pair.trim().split_once('=') else {
                continue;
            };
            if k == name {
                if found.is_some() {
                    return Err(malformed(format!(
                        "the cookie {name} is sent more than once"
                    )));
                }
                found = Some(v.trim_matches('"'));
            }
        }
    }
    found.map_or(Ok(None), |v| checked(v, "the cookie"))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(percent::hex_pair(bytes.get(i + 1..i + 3)?)?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn from_query(req: &impl RequestView, name: &str) -> Result<Option<String>, Error> {
    let Some(query) = req.query() else {
        return Ok(None);
    };
    let mut found = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(k).as_deref() == Some(name) {
            if found.is_some() {
                return Err(malformed(format!(
                    "the query parameter {name} is given more than once"
                )));
            }
            found = Some(percent_decode(v).ok_or_else(|| {
                malformed(format!("the query parameter {name} is badly encoded"))
            })?);
        }
    }
    found.map_or(Ok(None), |v| checked(&v, "the query"))
}

/// The headers [`extract_token`] reads for `sources`, lowercase, each once. With `dpop`
/// (DPoP allowed or required) also `authorization` and `dpop`, which the DPoP scheme reads.
/// A binding that must copy a request's headers across a language boundary copies only
/// these: every other header leaves the verdict unchanged.
pub fn credential_header_names(sources: &[TokenSource], dpop: bool) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        let name = name.to_ascii_lowercase();
        if !names.contains(&name) {
            names.push(name);
        }
    };
    if dpop {
        add(AUTHORIZATION);
        add(DPOP);
    }
    for source in sources {
        match source {
            TokenSource::Header { name, .. } => add(name),
            TokenSource::Cookie { .. } => add(COOKIE),
            TokenSource::Query { .. } => {}
        }
    }
    names
}

/// The token of `req`, from the first source in `sources` that has one; `token_missing` if
/// none does, `token_malformed` when a source is ambiguous (a header or cookie sent twice).
pub fn extract_token(sources: &[TokenSource], req: &impl RequestView) -> Result<String, Error> {
    for source in sources {
        let found = match source {
            TokenSource::Header {
                name,
                scheme,
                prefix,
            } => from_header(req, name, scheme.as_deref(), prefix.as_deref())?,
            TokenSource::Cookie { name } => from_cookie(req, name)?,
            TokenSource::Query { name } => from_query(req, name)?,
        };
        if let Some(token) = found {
            return Ok(token);
        }
    }
    Err(Error::new(
        ErrorCode::TokenMissing,
        "no token in the request",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], query: Option<&str>) -> SimpleRequest {
        SimpleRequest {
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            query: query.map(str::to_owned),
            ..SimpleRequest::default()
        }
    }

    fn all_sources() -> Vec<TokenSource> {
        vec![
            TokenSource::bearer(),
            TokenSource::Header {
                name: "x-api-token".into(),
                scheme: None,
                prefix: Some("Token ".into()),
            },
            TokenSource::Cookie { name: "at".into() },
            TokenSource::Query {
                name: "access_token".into(),
            },
        ]
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let s = [TokenSource::bearer()];
        assert_eq!(
            extract_token(&s, &req(&[("Authorization", "bearer abc.def.ghi")], None)).unwrap(),
            "abc.def.ghi"
        );
        assert_eq!(
            extract_token(&s, &req(&[("AUTHORIZATION", "Bearer   abc ")], None)).unwrap(),
            "abc"
        );
    }

    #[test]
    fn other_schemes_and_empty_values_count_as_missing() {
        let s = [TokenSource::bearer()];
        for value in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", ""] {
            let err = extract_token(&s, &req(&[("authorization", value)], None)).unwrap_err();
            assert_eq!(err.code(), ErrorCode::TokenMissing, "{value:?}");
        }
        assert_eq!(
            extract_token(&s, &req(&[], None)).unwrap_err().code(),
            ErrorCode::TokenMissing
        );
    }

    #[test]
    fn ambiguity_is_malformed() {
        let s = all_sources();
        let two = req(
            &[("authorization", "Bearer a"), ("authorization", "Bearer b")],
            None,
        );
        assert_eq!(
            extract_token(&s, &two).unwrap_err().code(),
            ErrorCode::TokenMalformed
        );
        let cookies = req(&[("cookie", "at=a; x=1"), ("cookie", "at=b")], None);
        assert_eq!(
            extract_token(&s, &cookies).unwrap_err().code(),
            ErrorCode::TokenMalformed
        );
        let query = req(&[], Some("access_token=a&access_token=b"));
        assert_eq!(
            extract_token(&s, &query).unwrap_err().code(),
            ErrorCode::TokenMalformed
        );
        let spaced = req(&[("authorization", "Bearer a b")], None);
        assert_eq!(
            extract_token(&s, &spaced).unwrap_err().code(),
            ErrorCode::TokenMalformed
        );
    }

    #[test]
    fn sources_are_tried_in_order() {
        let s = all_sources();
        assert_eq!(
            extract_token(
                &s,
                &req(&[("x-api-token", "Token t1"), ("cookie", "at=t2")], None)
            )
            .unwrap(),
            "t1"
        );
        assert_eq!(
            extract_token(
                &s,
                &req(&[("x-api-token", "t1"), ("cookie", "a=b; at=t2")], None)
            )
            .unwrap(),
            "t2"
        );
        assert_eq!(
            extract_token(&s, &req(&[], Some("x=1&access_token=t%2E3"))).unwrap(),
            "t.3"
        );
        assert_eq!(
            extract_token(
                &s,
                &req(&[("authorization", "Bearer t0")], Some("access_token=t3"))
            )
            .unwrap(),
            "t0"
        );
    }

    #[test]
    fn source_validation() {
        assert!(TokenSource::bearer().validate().is_ok());
        let bad = TokenSource::Header {
            name: "a b".into(),
            scheme: None,
            prefix: None,
        };
        assert!(bad.validate().is_err());
        let both = TokenSource::Header {
            name: "x".into(),
            scheme: Some("Bearer".into()),
            prefix: Some("x".into()),
        };
        assert!(both.validate().is_err());
        assert!(TokenSource::Cookie {
            name: String::new()
        }
        .validate()
        .is_err());
    }
}
