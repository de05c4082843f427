//! The JWS protected header: its rules ([`check_header`]) and its checked, owned form
//! ([`Header`]). Below both `jws` (which decodes tokens) and `header_memo` (which keeps
//! checked headers per thread), so that neither imports the other for it.

use crate::format::algorithm::Algorithm;
use crate::format::json_scanner::{scan_object, Lite, Names, Presence};
use crate::support::error::{Error, ErrorCode};
use crate::support::untrusted_text::clip;
use std::borrow::Cow;
use std::sync::Arc;

/// A protected header that passed [`check_header`], owned so that it can be memoized.
#[derive(Clone, Debug)]
pub(crate) struct Header {
    /// The header's JSON text (checked: UTF-8, an object, no duplicates).
    pub json: Arc<str>,
    alg: Algorithm,
    kid: Option<Box<str>>,
    typ: Option<Box<str>>,
}

impl Header {
    pub(crate) fn check(bytes: Vec<u8>) -> Result<Header, Error> {
        let fields = check_header(&bytes)?;
        let (alg, kid, typ) = (
            fields.alg,
            fields.kid.map(|k| k.into()),
            fields.typ.map(|t| t.into()),
        );
        Ok(Header {
            json: Arc::from(crate::support::untrusted_text::checked_utf8(bytes)),
            alg,
            kid,
            typ,
        })
    }

    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The members the rules look at.
    pub fn fields(&self) -> HeaderFields<'_> {
        HeaderFields {
            alg: self.alg,
            kid: self.kid.as_deref().map(Cow::Borrowed),
            typ: self.typ.as_deref().map(Cow::Borrowed),
        }
    }
}

/// The header members the rules look at, borrowed from the decoded header.
#[derive(Debug)]
pub(crate) struct HeaderFields<'h> {
    pub alg: Algorithm,
    pub kid: Option<Cow<'h, str>>,
    pub typ: Option<Cow<'h, str>>,
}

const HEADER_NAMES: Names<7> = Names::new(["alg", "kid", "typ", "cty", "crit", "b64", "enc"]);

fn header_string<'h>(member: Option<Lite<'h>>, name: &str) -> Result<Option<Cow<'h, str>>, Error> {
    match member {
        None => Ok(None),
        Some(Lite::Str(s)) => Ok(Some(s)),
        Some(_) => Err(Error::malformed(format!(
            "header \"{name}\" is not a string"
        ))),
    }
}

/// The header rules: a JSON object without duplicates, a string `alg` naming a known
/// algorithm (never `none`), no `crit`, `b64`, `enc` or `cty: JWT`, and string `kid`/`typ`.
pub(crate) fn check_header(bytes: &[u8]) -> Result<HeaderFields<'_>, Error> {
    let scanned = scan_object(bytes, &HEADER_NAMES, &Presence::default())
        .map_err(|e| Error::malformed(format!("header {e}")))?;
    let [alg, kid, typ, cty, crit, b64, enc] = scanned.into_members();
    let alg_name = match &alg {
        Some(Lite::Str(s)) => s.as_ref(),
        Some(_) => return Err(Error::malformed("header \"alg\" is not a string")),
        None => return Err(Error::malformed("header has no \"alg\"")),
    };
    let unsupported = |why: &str| Err(Error::new(ErrorCode::TokenUnsupported, why.to_owned()));
    if crit.is_some() {
        return unsupported("header \"crit\" names extensions that are not understood");
    }
    if b64.is_some() {
        return unsupported("header \"b64\" (RFC 7797 unencoded payload) is not supported");
    }
    if enc.is_some() {
        return unsupported("header \"enc\" marks a JWE; only JWS is accepted");
    }
    if cty
        .as_ref()
        .and_then(Lite::as_str)
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
    Ok(HeaderFields {
        alg,
        kid: header_string(kid, "kid")?,
        typ: header_string(typ, "typ")?,
    })
}
