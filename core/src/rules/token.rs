//! What a successful verification returns, with the authorization helpers (scopes and
//! permissions) that every middleware uses.

use crate::format::algorithm::Algorithm;
use crate::format::json_scanner;
pub use crate::format::json_scanner::{ClaimMember, ClaimValue};
use crate::format::members_memo;
use crate::keys::jws::Header;
use crate::rules::claim_accessors::{self, Member};
use crate::support::error::{Error, ErrorCode};
use crate::support::untrusted_text::checked_utf8;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};

/// How a list of required scopes is matched against the granted ones.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeMatch {
    /// Every required scope must be granted (the default).
    #[default]
    All,
    /// At least one required scope must be granted.
    Any,
}

impl ScopeMatch {
    pub fn from_name(name: &str) -> Option<ScopeMatch> {
        match name {
            "all" => Some(ScopeMatch::All),
            "any" => Some(ScopeMatch::Any),
            _ => None,
        }
    }
}

/// A verified JWT. The header and claims are kept as the validated JSON text and turned
/// into maps only when first asked for, so verifying costs no map building; bindings can
/// hand [`VerifiedToken::claims_json`] straight to their own JSON parser, or build their
/// object from [`VerifiedToken::claim_members`] without parsing the text again.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    /// Whether the claims hold a `cnf` member (a possible DPoP binding to look at).
    has_cnf: bool,
    /// Whether this is a verified-token cache hit's copy (its claims text then likely the
    /// same as this thread's last: see [`VerifiedToken::claim_members`]).
    cached: bool,
    /// The memoized protected header, shared (moved here, not copied); `None` for an
    /// opaque token accepted by introspection.
    protected: Option<Arc<Header>>,
    claims_json: String,
    header: OnceLock<Map<String, Value>>,
    claims: OnceLock<Map<String, Value>>,
}

fn object(text: &str) -> Map<String, Value> {
    serde_json::from_str(text).unwrap_or_default()
}

impl VerifiedToken {
    pub(crate) fn new(protected: Arc<Header>, claims_json: Vec<u8>, has_cnf: bool) -> Self {
        VerifiedToken {
            has_cnf,
            cached: false,
            protected: Some(protected),
            claims_json: checked_utf8(claims_json),
            header: OnceLock::new(),
            claims: OnceLock::new(),
        }
    }

    /// A cache hit's copy holding `protected` (the same header, from another owner), so
    /// that threads answering one token do not share one reference count.
    pub(crate) fn cache_hit(&self, protected: Arc<Header>) -> Self {
        VerifiedToken {
            has_cnf: self.has_cnf,
            cached: true,
            protected: Some(protected),
            claims_json: self.claims_json.clone(),
            header: OnceLock::new(),
            claims: OnceLock::new(),
        }
    }

    /// The memoized header this token holds (`None` for an introspected token).
    pub(crate) fn protected(&self) -> Option<&Arc<Header>> {
        self.protected.as_ref()
    }

    /// The protected header, every member.
    pub fn header(&self) -> &Map<String, Value> {
        self.header.get_or_init(|| object(self.header_json()))
    }

    /// The protected header as the JSON text the token carried (validated, no duplicates;
    /// a raw CR or LF between tokens is a space here).
    pub fn header_json(&self) -> &str {
        self.protected.as_ref().map_or("{}", |h| &h.json)
    }

    /// The algorithm that verified the signature; `None` for a token the introspection
    /// endpoint vouched for (its header is then `{}` and its claims are the answer's).
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.protected.as_ref().map(|h| h.alg())
    }

    pub(crate) fn introspected(claims_json: Vec<u8>, has_cnf: bool) -> Self {
        VerifiedToken {
            has_cnf,
            cached: false,
            protected: None,
            claims_json: checked_utf8(claims_json),
            header: OnceLock::new(),
            claims: OnceLock::new(),
        }
    }

    pub(crate) fn has_cnf(&self) -> bool {
        self.has_cnf
    }

    /// The RFC 7638 thumbprint of the key this token is bound to (`cnf.jkt`, RFC 9449).
    pub fn dpop_jkt(&self) -> Option<&str> {
        claim_accessors::dpop_jkt(self.claims())
    }

    pub fn kid(&self) -> Option<&str> {
        self.header().get("kid").and_then(Value::as_str)
    }

    /// Every claim of the payload.
    pub fn claims(&self) -> &Map<String, Value> {
        self.claims.get_or_init(|| object(&self.claims_json))
    }

    /// The payload as the JSON text the token carried (validated, no duplicates; a raw CR
    /// or LF between tokens, JSON whitespace, is a space here).
    pub fn claims_json(&self) -> &str {
        &self.claims_json
    }

    /// The top-level claims located in [`VerifiedToken::claims_json`] (byte ranges of that
    /// text), into `out` (cleared first), in the order the token has them: for a binding
    /// that builds its own language's object without a second JSON parse of the whole
    /// text. False when a claim name is not plain printable ASCII (escapes or other
    /// bytes): parse [`VerifiedToken::claims_json`] then. A cache hit's members come
    /// from this thread's memo of the last claims text when it is the same text.
    pub fn claim_members(&self, out: &mut Vec<ClaimMember>) -> bool {
        let text = self.claims_json.as_bytes();
        match self.cached {
            true => members_memo::members(text, out),
            false => json_scanner::members(text, out),
        }
    }

    pub fn into_claims(self) -> Map<String, Value> {
        match self.claims.into_inner() {
            Some(map) => map,
            None => object(&self.claims_json),
        }
    }

    /// `iss`, checked equal to a configured issuer ("" when an introspection answer has
    /// none). Every accessor follows the rule of [`claim_accessors`].
    pub fn issuer(&self) -> &str {
        claim_accessors::issuer(self.claims())
    }

    pub fn subject(&self) -> Option<&str> {
        claim_accessors::string_claim(self.claims(), "sub")
    }

    pub fn jwt_id(&self) -> Option<&str> {
        claim_accessors::string_claim(self.claims(), "jti")
    }

    /// `aud` as a list (a single string becomes one element; non-string entries are left out).
    pub fn audiences(&self) -> Vec<&str> {
        claim_accessors::audiences(self.claims())
    }

    /// `exp` in seconds since the epoch (fraction dropped, clamped to
    /// ±[`claim_accessors::MAX_NUMERIC_DATE`]).
    pub fn expires_at(&self) -> Option<i64> {
        claim_accessors::numeric_date(self.claims(), "exp")
    }

    pub fn not_before(&self) -> Option<i64> {
        claim_accessors::numeric_date(self.claims(), "nbf")
    }

    pub fn issued_at(&self) -> Option<i64> {
        claim_accessors::numeric_date(self.claims(), "iat")
    }

    /// Every accessor's value at once (what the Go and Node bindings take).
    pub fn accessors(&self) -> ClaimAccessors<'_> {
        match self.claims.get() {
            Some(all) => ClaimAccessors::of(all),
            None => ClaimAccessors::scanned(&self.claims_json)
                .unwrap_or_else(|| ClaimAccessors::of(self.claims())),
        }
    }

    /// Everything granted: the space-delimited `scope` (or the strings of an array
    /// `scope`, whose objects are role policies), `scp` (array or space-delimited string)
    /// and the `permissions` array, in that order. A claim of the wrong shape is
    /// `claim_invalid`.
    pub fn granted_scopes(&self) -> Result<Vec<&str>, Error> {
        granted_scopes(self.claims())
    }

    /// Whether the token grants the required scopes; `false` also when a scope claim is malformed.
    pub fn has_scopes<S: AsRef<str>>(&self, required: &[S], mode: ScopeMatch) -> bool {
        self.require_scopes(required, mode).is_ok()
    }

    /// `scope_insufficient` unless the token grants `required` (all or any of them). An
    /// empty requirement is always met.
    pub fn require_scopes<S: AsRef<str>>(
        &self,
        required: &[S],
        mode: ScopeMatch,
    ) -> Result<(), Error> {
        require_scopes(self.claims(), required, mode)
    }
}

/// Every accessor's value for one claims set, as the bindings that hold the claims as text
/// (Go, Node) take them in one call; serialized with the field names of the shared vectors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClaimAccessors<'a> {
    pub issuer: &'a str,
    pub subject: Option<&'a str>,
    pub jwt_id: Option<&'a str>,
    pub audiences: Vec<&'a str>,
    pub expires_at: Option<i64>,
    pub not_before: Option<i64>,
    pub issued_at: Option<i64>,
    pub dpop_jkt: Option<&'a str>,
    /// [`granted_scopes`]: `None` when a scope claim is malformed (`scopes_error` says why).
    pub scopes: Option<Vec<&'a str>>,
    /// The code [`granted_scopes`] fails with (`claim_invalid`), else `None`.
    pub scopes_error: Option<&'static str>,
}

impl<'a> ClaimAccessors<'a> {
    pub fn of(claims: &'a Map<String, Value>) -> Self {
        Self::read(|name| Member::of(claims, name))
    }

    /// [`ClaimAccessors::of`] the claims text without parsing it, when the scanner can
    /// tell every member they read ([`claim_accessors::scanned`]); `None` otherwise.
    pub fn scanned(claims_json: &'a str) -> Option<Self> {
        claim_accessors::scanned(claims_json).map(Self::read)
    }

    fn read(claim: impl Fn(&str) -> Member<'a>) -> Self {
        let scopes = claim_accessors::scopes(&claim);
        ClaimAccessors {
            issuer: claim_accessors::string(claim("iss")).unwrap_or_default(),
            subject: claim_accessors::string(claim("sub")),
            jwt_id: claim_accessors::string(claim("jti")),
            audiences: claim_accessors::audience_list(claim("aud")),
            expires_at: claim_accessors::date(claim("exp")),
            not_before: claim_accessors::date(claim("nbf")),
            issued_at: claim_accessors::date(claim("iat")),
            dpop_jkt: claim_accessors::jkt(claim("cnf")),
            scopes_error: scopes.as_ref().err().map(|e| e.code().as_str()),
            scopes: scopes.ok(),
        }
    }
}

/// A claims set given as JSON text (what a verified token's `claims_json` is), for the
/// bindings that hold claims as text; `token_malformed` when it is not a JSON object.
pub fn claims_object(claims_json: &str) -> Result<Map<String, Value>, Error> {
    serde_json::from_str(claims_json)
        .map_err(|_| Error::malformed("the claims are not a JSON object"))
}

/// [`ClaimAccessors`] of a claims set given as JSON text (what a verified token's
/// `claims_json` is), as JSON text; `token_malformed` when the text is not a JSON object.
pub fn claim_accessors_json(claims_json: &str) -> Result<String, Error> {
    let parsed;
    let accessors = match ClaimAccessors::scanned(claims_json) {
        Some(accessors) => accessors,
        None => {
            parsed = claims_object(claims_json)?;
            ClaimAccessors::of(&parsed)
        }
    };
    serde_json::to_string(&accessors).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))
}

/// The scopes granted by a claims set (see [`VerifiedToken::granted_scopes`]); for
/// bindings that hold the claims rather than the token.
pub fn granted_scopes(claims: &Map<String, Value>) -> Result<Vec<&str>, Error> {
    claim_accessors::scopes(|name| Member::of(claims, name))
}

/// `scope_insufficient` unless the token grants `required` (all or any of them). An
/// empty requirement is always met.
pub fn require_scopes<S: AsRef<str>>(
    claims: &Map<String, Value>,
    required: &[S],
    mode: ScopeMatch,
) -> Result<(), Error> {
    if required.is_empty() {
        return Ok(());
    }
    let granted = granted_scopes(claims)?;
    let has = |s: &S| granted.contains(&s.as_ref());
    let ok = match mode {
        ScopeMatch::All => required.iter().all(has),
        ScopeMatch::Any => required.iter().any(has),
    };
    if ok {
        return Ok(());
    }
    let names: Vec<&str> = required
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| !granted.contains(s))
        .collect();
    let message = match mode {
        ScopeMatch::All => format!("missing required scope(s): {}", names.join(" ")),
        ScopeMatch::Any => format!("needs one of the scopes: {}", names.join(" ")),
    };
    Err(Error::new(ErrorCode::ScopeInsufficient, message))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Claims hold the nearest double to each decimal number, as `str::parse`, Python's
    /// `json.loads` and JavaScript's `JSON.parse` read it (serde_json's default fast path
    /// was one step off for about a third of random floats; `float_roundtrip` is on).
    #[test]
    fn float_claims_are_correctly_rounded() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut texts = vec![
            "991958774.3934609".to_owned(),
            "0.1".into(),
            "5e-324".into(),
        ];
        for _ in 0..2000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if x.is_finite() {
                texts.push(format!("{x:e}"));
                texts.push(format!("{x}"));
            }
        }
        for text in texts {
            let token =
                VerifiedToken::introspected(format!(r#"{{"n":{text}}}"#).into_bytes(), false);
            let got = token.claims()["n"].as_f64().unwrap();
            let want: f64 = text.parse().unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{text}");
        }
    }

    /// JSON whitespace CR and LF become spaces in the text handed out (C promises no raw
    /// CR or LF in it); the claims are the same, and so is the length.
    #[test]
    fn json_text_holds_no_raw_line_breaks() {
        let payload = "{\"iss\":\"https://idp\",\r\n\"aud\":\"api\",\n\"note\":\"a\\r\\nb\"}\r\n";
        let token = VerifiedToken::introspected(payload.as_bytes().to_vec(), false);
        let text = token.claims_json();
        assert!(!text.contains(['\r', '\n']), "{text:?}");
        assert_eq!(text.len(), payload.len());
        let original: Map<String, Value> = serde_json::from_str(payload).unwrap();
        assert_eq!(token.claims(), &original);
        assert_eq!(token.claims()["note"], "a\r\nb", "escapes are left alone");
    }

    #[test]
    fn text_that_is_not_an_object_is_malformed() {
        let e = claim_accessors_json("[1]").unwrap_err();
        assert_eq!(e.code(), ErrorCode::TokenMalformed);
        let json = claim_accessors_json(r#"{"scope": 5}"#).unwrap();
        assert!(
            json.contains(r#""scopes":null,"scopes_error":"claim_invalid""#),
            "{json}"
        );
    }
}
