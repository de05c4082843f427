//! Strict compact-JWS parsing (RFC 7515 §7.1) and the signature check: the signature-level
//! entry point, independent of JWT claims (the Wycheproof vectors run through here).

use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::error::{Error, ErrorCode};
use crate::key::KeySet;
use crate::text::clip;
use crate::{b64, json};
use serde_json::{Map, Value};

/// The default cap on a token's length, checked before anything is decoded.
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 16 * 1024;

/// A protected header that passed the structural rules.
#[derive(Clone, Debug)]
pub struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    pub(crate) members: Map<String, Value>,
}

impl Header {
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }
    /// Every member of the header as decoded.
    pub fn members(&self) -> &Map<String, Value> {
        &self.members
    }
}

/// A parsed, not yet verified, compact JWS.
#[derive(Debug)]
pub struct CompactJws<'t> {
    signing_input: &'t str,
    header: Header,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'t> CompactJws<'t> {
    /// Parses `token`: size cap, exactly three canonical base64url segments, a header that is
    /// a JSON object without duplicate members, a known `alg` (never `none`), and no `crit`,
    /// `b64`, JWE or nested-JWT markers.
    pub fn parse(token: &'t str, max_size: usize) -> Result<Self, Error> {
        if token.len() > max_size {
            return Err(Error::malformed(format!(
                "token is {} bytes, over the {max_size}-byte limit",
                token.len()
            )));
        }
        if token.is_empty() {
            return Err(Error::malformed("token is empty"));
        }
        let dots = token.bytes().filter(|b| *b == b'.').count();
        if dots == 4 {
            return Err(Error::new(
                ErrorCode::TokenUnsupported,
                "token is a JWE (5 segments); only JWS is accepted",
            ));
        }
        if dots != 2 {
            return Err(Error::malformed(format!(
                "token has {} segments; a compact JWS has 3",
                dots + 1
            )));
        }
        let mut parts = token.splitn(3, '.');
        let (h, p, s) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        if h.is_empty() {
            return Err(Error::malformed("header segment is empty"));
        }
        let decode = |seg: &str, what: &str| {
            b64::decode(seg)
                .map_err(|_| Error::malformed(format!("{what} segment is not canonical base64url")))
        };
        let header_bytes = decode(h, "header")?;
        let payload = decode(p, "payload")?;
        let signature = decode(s, "signature")?;
        let members = json::parse_object(&header_bytes)
            .map_err(|e| Error::malformed(format!("header {e}")))?;
        let header = check_header(members)?;
        Ok(CompactJws {
            signing_input: &token[..h.len() + 1 + p.len()],
            header,
            payload,
            signature,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    pub(crate) fn into_parts(self) -> (Header, Vec<u8>) {
        (self.header, self.payload)
    }

    /// Checks the signature: `alg` must be allowed, exactly one key must match the `kid` and
    /// the `alg`, and the signature must verify under it.
    pub fn verify_signature(&self, keys: &KeySet, allowed: AlgorithmSet) -> Result<(), Error> {
        let alg = self.header.alg;
        if !allowed.contains(alg) {
            return Err(Error::new(
                ErrorCode::AlgorithmNotAllowed,
                format!("alg {alg} is not allowed"),
            ));
        }
        let key = keys.find(self.header.kid(), alg)?;
        if key.verify(alg, self.signing_input.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::SignatureInvalid,
                "signature does not verify",
            ))
        }
    }
}

fn header_str(members: &Map<String, Value>, name: &str) -> Result<Option<String>, Error> {
    match members.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::malformed(format!(
            "header \"{name}\" is not a string"
        ))),
    }
}

fn check_header(members: Map<String, Value>) -> Result<Header, Error> {
    let alg_name = match members.get("alg") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(Error::malformed("header \"alg\" is not a string")),
        None => return Err(Error::malformed("header has no \"alg\"")),
    };
    let unsupported = |why: &str| Err(Error::new(ErrorCode::TokenUnsupported, why.to_owned()));
    if members.contains_key("crit") {
        return unsupported("header \"crit\" names extensions that are not understood");
    }
    if members.contains_key("b64") {
        return unsupported("header \"b64\" (RFC 7797 unencoded payload) is not supported");
    }
    if members.contains_key("enc") {
        return unsupported("header \"enc\" marks a JWE; only JWS is accepted");
    }
    if members
        .get("cty")
        .and_then(Value::as_str)
        .is_some_and(|c| c.eq_ignore_ascii_case("JWT"))
    {
        return unsupported("nested JWTs (cty JWT) are not supported");
    }
    let alg = match Algorithm::from_name(alg_name) {
        Some(alg) => alg,
        None if alg_name.eq_ignore_ascii_case("none") => {
            return Err(Error::new(
                ErrorCode::AlgorithmNotAllowed,
                "alg none is never accepted",
            ));
        }
        None => {
            return Err(Error::new(
                ErrorCode::AlgorithmNotAllowed,
                format!("alg {:?} is not supported", clip(alg_name, 20)),
            ));
        }
    };
    let kid = header_str(&members, "kid")?;
    let typ = header_str(&members, "typ")?;
    Ok(Header {
        alg,
        kid,
        typ,
        members,
    })
}

/// The outcome of [`verify_jws`]: a header and a payload whose signature verified.
#[derive(Debug)]
pub struct VerifiedJws {
    pub header: Header,
    pub payload: Vec<u8>,
}

/// Signature-level verification of a compact JWS, without any JWT claim rules.
pub fn verify_jws(
    token: &str,
    keys: &KeySet,
    allowed: AlgorithmSet,
    max_size: usize,
) -> Result<VerifiedJws, Error> {
    let jws = CompactJws::parse(token, max_size)?;
    jws.verify_signature(keys, allowed)?;
    let (header, payload) = jws.into_parts();
    Ok(VerifiedJws { header, payload })
}

/// A token decoded WITHOUT any verification, for inspection tools only.
#[derive(Debug)]
pub struct Unverified {
    pub header: Map<String, Value>,
    /// The payload as JSON when it is a JSON object, else `None`.
    pub claims: Option<Map<String, Value>>,
    pub payload_len: usize,
    pub signature_len: usize,
}

/// Decodes a compact JWS without checking its signature, algorithm or claims. Structure,
/// base64url and header JSON must still be sound: there is nothing to show otherwise.
pub fn decode_unverified(token: &str) -> Result<Unverified, Error> {
    let parts: Vec<&str> = token.split('.').collect();
    match parts.len() {
        3 => {}
        5 => {
            return Err(Error::new(
                ErrorCode::TokenUnsupported,
                "token is a JWE (5 segments); it cannot be inspected",
            ))
        }
        n => {
            return Err(Error::malformed(format!(
                "token has {n} segments; a compact JWS has 3"
            )))
        }
    }
    let decode = |seg: &str, what: &str| {
        b64::decode(seg)
            .map_err(|_| Error::malformed(format!("{what} segment is not canonical base64url")))
    };
    let header = json::parse_object(&decode(parts[0], "header")?)
        .map_err(|e| Error::malformed(format!("header {e}")))?;
    let payload = decode(parts[1], "payload")?;
    let signature = decode(parts[2], "signature")?;
    Ok(Unverified {
        header,
        claims: json::parse_object(&payload).ok(),
        payload_len: payload.len(),
        signature_len: signature.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64::encode(header), b64::encode(payload))
    }

    fn code(t: &str) -> ErrorCode {
        CompactJws::parse(t, DEFAULT_MAX_TOKEN_SIZE)
            .unwrap_err()
            .code()
    }

    #[test]
    fn structure() {
        assert_eq!(code(""), ErrorCode::TokenMalformed);
        assert_eq!(code("a.b"), ErrorCode::TokenMalformed);
        assert_eq!(code("a.b.c.d"), ErrorCode::TokenMalformed);
        assert_eq!(code("a.b.c.d.e"), ErrorCode::TokenUnsupported);
        assert_eq!(code(".e30.c2ln"), ErrorCode::TokenMalformed);
        let ok = token(r#"{"alg":"HS256"}"#, "{}");
        assert!(CompactJws::parse(&ok, DEFAULT_MAX_TOKEN_SIZE).is_ok());
        assert_eq!(code(&format!("{ok}=")), ErrorCode::TokenMalformed);
        assert_eq!(code(&format!(" {ok}")), ErrorCode::TokenMalformed);
        let big = token(r#"{"alg":"HS256"}"#, &"x".repeat(20_000));
        let err = CompactJws::parse(&big, DEFAULT_MAX_TOKEN_SIZE).unwrap_err();
        assert!(err.message().contains("limit"));
    }

    #[test]
    fn unverified_decoding_shows_what_is_there() {
        let t = token(r#"{"alg":"XYZ","kid":"k"}"#, r#"{"sub":"a"}"#);
        let u = decode_unverified(&t).unwrap();
        assert_eq!(u.header["alg"], "XYZ");
        assert_eq!(u.claims.unwrap()["sub"], "a");
        assert!(decode_unverified(&token(r#"{"alg":"HS256"}"#, "foo"))
            .unwrap()
            .claims
            .is_none());
        assert_eq!(
            decode_unverified("a.b").unwrap_err().code(),
            ErrorCode::TokenMalformed
        );
        assert_eq!(
            decode_unverified("a.b.c.d.e").unwrap_err().code(),
            ErrorCode::TokenUnsupported
        );
    }

    #[test]
    fn header_rules() {
        assert_eq!(code(&token("[]", "{}")), ErrorCode::TokenMalformed);
        assert_eq!(code(&token("{}", "{}")), ErrorCode::TokenMalformed);
        assert_eq!(
            code(&token(r#"{"alg":1}"#, "{}")),
            ErrorCode::TokenMalformed
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS256","alg":"none"}"#, "{}")),
            ErrorCode::TokenMalformed
        );
        assert_eq!(
            code(&token(r#"{"alg":"none"}"#, "{}")),
            ErrorCode::AlgorithmNotAllowed
        );
        assert_eq!(
            code(&token(r#"{"alg":"NoNe"}"#, "{}")),
            ErrorCode::AlgorithmNotAllowed
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS999"}"#, "{}")),
            ErrorCode::AlgorithmNotAllowed
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS256","crit":["exp"],"exp":1}"#, "{}")),
            ErrorCode::TokenUnsupported
        );
        assert_eq!(
            code(&token(
                r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#,
                "{}"
            )),
            ErrorCode::TokenUnsupported
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS256","b64":true}"#, "{}")),
            ErrorCode::TokenUnsupported
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS256","enc":"A128GCM"}"#, "{}")),
            ErrorCode::TokenUnsupported
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS256","cty":"jwt"}"#, "{}")),
            ErrorCode::TokenUnsupported
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS256","kid":7}"#, "{}")),
            ErrorCode::TokenMalformed
        );
        assert_eq!(
            code(&token(r#"{"alg":"HS256","typ":["JWT"]}"#, "{}")),
            ErrorCode::TokenMalformed
        );
    }
}
