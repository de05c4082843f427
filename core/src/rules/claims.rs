//! The claim rules of docs/design.md §3, applied after the signature verified, in a fixed order
//! (typ, aud, exp, nbf, iat, maximum lifetime, max_age, required claims) so that every
//! language reports the same code for a token that breaks several.

use crate::format::json_scanner::{scan_object_into, Lite, Names, Presence, Scanned};
use crate::support::error::{Error, ErrorCode};
use crate::support::untrusted_text::clip;

/// The registered claims the rules read, in the order [`scan_claims`] captures them.
const CLAIM_NAMES: [&str; 5] = ["iss", "aud", "exp", "nbf", "iat"];
const CLAIMS: Names<5> = Names::new(CLAIM_NAMES);

/// A captured claim, numbered as its slot in [`CLAIM_NAMES`] (a lookup is an index, not a
/// search by name).
#[derive(Clone, Copy)]
enum Claim {
    Iss,
    Aud,
    Exp,
    Nbf,
    Iat,
}

impl Claim {
    const fn name(self) -> &'static str {
        CLAIM_NAMES[self as usize]
    }
}

/// A payload that passed the JSON rules, with the registered claims captured.
pub(crate) struct PayloadClaims<'a>(Scanned<'a, 5>);

/// A token's numeric dates, owned: what the time rules read.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub(crate) struct Times {
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
}

/// Validates the payload (a JSON object, no duplicates at any depth) and captures the
/// registered claims plus the presence of each name in `presence`, into `claims` (fresh
/// from [`PayloadClaims::new`]; written in place rather than returned, as it is large).
pub(crate) fn scan_claims<'a>(
    payload: &'a [u8],
    presence: &Presence,
    claims: &mut PayloadClaims<'a>,
) -> Result<(), Error> {
    scan_object_into(payload, &CLAIMS, presence, &mut claims.0)
        .map_err(|e| Error::malformed(format!("payload {e}")))
}

impl PayloadClaims<'_> {
    pub fn new() -> Self {
        PayloadClaims(Scanned::new())
    }

    fn get(&self, claim: Claim) -> Option<&Lite<'_>> {
        self.0.members[claim as usize].as_ref()
    }

    /// Whether presence name number `bit` is present with a non-null value.
    pub fn has(&self, bit: u32) -> bool {
        self.0.present & (1 << bit) != 0
    }

    /// `iss`: present and a string (which issuer it names is the caller's question).
    pub fn issuer(&self) -> Result<&str, Error> {
        match self.get(Claim::Iss) {
            Some(Lite::Str(s)) => Ok(s),
            Some(_) => Err(Error::for_claim(
                ErrorCode::ClaimInvalid,
                "iss",
                "\"iss\" is not a string",
            )),
            None => Err(Error::for_claim(
                ErrorCode::ClaimMissing,
                "iss",
                "token has no \"iss\"",
            )),
        }
    }

    /// A NumericDate claim: absent, or a JSON number (never a string, boolean or null).
    #[inline]
    /// `exp`, `nbf` and `iat`, each a number when present (else `claim_invalid`).
    pub fn times(&self) -> Result<Times, Error> {
        Ok(Times {
            exp: self.numeric_date(Claim::Exp)?,
            nbf: self.numeric_date(Claim::Nbf)?,
            iat: self.numeric_date(Claim::Iat)?,
        })
    }

    fn numeric_date(&self, claim: Claim) -> Result<Option<f64>, Error> {
        match self.get(claim) {
            None => Ok(None),
            Some(Lite::Number(n)) => Ok(Some(*n)),
            Some(_) => Err(not_a_number(claim)),
        }
    }
}

/// Out of line: the error is the rare case, and building it inline would bloat each check.
#[cold]
fn not_a_number(claim: Claim) -> Error {
    let name = claim.name();
    Error::for_claim(
        ErrorCode::ClaimInvalid,
        name,
        format!("\"{name}\" is not a number"),
    )
}

pub(crate) fn unknown_issuer(iss: &str) -> Error {
    Error::for_claim(
        ErrorCode::IssuerInvalid,
        "iss",
        format!("issuer {:?} is not accepted", clip(iss, 100)),
    )
}

/// The claim rules of one issuer, resolved from its configuration.
#[derive(Clone, Debug)]
pub(crate) struct ClaimRules {
    pub audiences: Vec<String>,
    pub require_exp: bool,
    /// Required claim names, each with its bit in the verifier's presence list.
    pub required_claims: Vec<(String, u32)>,
    pub max_age: Option<u64>,
    pub max_lifetime: Option<u64>,
    /// Normalized expected `typ` (see [`normalize_typ`]).
    pub typ: Option<String>,
    pub leeway: u64,
}

/// `typ` compares case-insensitively and with the `application/` prefix optional
/// (RFC 7515 §4.1.9), so `at+jwt` equals `application/at+JWT`.
pub(crate) fn normalize_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) if !rest.contains('/') => rest.to_owned(),
        _ => lower,
    }
}

fn typ_matches(typ: &str, expected: &str) -> bool {
    // Bytes first: `typ` is the token's text, and byte 12 of a non-ASCII one may fall
    // inside a character. When the first 12 bytes are `application/`, byte 12 starts one.
    let prefixed = typ
        .as_bytes()
        .get(..12)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"application/"));
    let typ = match prefixed {
        true if !typ[12..].contains('/') && typ.len() > 12 => &typ[12..],
        _ => typ,
    };
    typ.eq_ignore_ascii_case(expected)
}

impl ClaimRules {
    pub fn check(
        &self,
        header_typ: Option<&str>,
        claims: &PayloadClaims,
        now: i64,
    ) -> Result<(), Error> {
        self.check_typ(header_typ)?;
        self.check_claims(claims, now)
    }

    /// Every rule but `typ` (a header rule): for claims from an introspection answer.
    pub fn check_claims(&self, claims: &PayloadClaims, now: i64) -> Result<(), Error> {
        self.check_audience(claims)?;
        self.check_times(&claims.times()?, now)?;
        for (name, bit) in &self.required_claims {
            if claims.0.present & (1 << bit) == 0 {
                return Err(Error::for_claim(
                    ErrorCode::ClaimMissing,
                    name,
                    format!("token has no \"{}\"", clip(name, 40)),
                ));
            }
        }
        Ok(())
    }

    fn check_typ(&self, header_typ: Option<&str>) -> Result<(), Error> {
        let Some(expected) = &self.typ else {
            return Ok(());
        };
        match header_typ {
            Some(typ) if typ_matches(typ, expected) => Ok(()),
            Some(typ) => Err(Error::new(
                ErrorCode::TypeInvalid,
                format!("typ {:?} is not the expected {expected:?}", clip(typ, 40)),
            )),
            None => Err(Error::new(
                ErrorCode::TypeInvalid,
                format!("header has no \"typ\"; expected {expected:?}"),
            )),
        }
    }

    fn check_audience(&self, claims: &PayloadClaims) -> Result<(), Error> {
        let invalid = |why: &str| {
            Err(Error::for_claim(
                ErrorCode::ClaimInvalid,
                "aud",
                why.to_owned(),
            ))
        };
        let matches = |aud: &str| self.audiences.iter().any(|a| a == aud);
        let found = match claims.get(Claim::Aud) {
            None => {
                return Err(Error::for_claim(
                    ErrorCode::ClaimMissing,
                    "aud",
                    "token has no \"aud\"",
                ))
            }
            Some(Lite::Str(aud)) => matches(aud),
            Some(Lite::Array(list)) if list.is_empty() => {
                return invalid("\"aud\" is an empty array")
            }
            Some(Lite::Array(list)) => {
                let mut found = false;
                for item in list {
                    match item {
                        Lite::Str(aud) => found |= matches(aud),
                        _ => return invalid("\"aud\" holds a value that is not a string"),
                    }
                }
                found
            }
            Some(_) => return invalid("\"aud\" is neither a string nor an array of strings"),
        };
        if found {
            Ok(())
        } else {
            Err(Error::for_claim(
                ErrorCode::AudienceInvalid,
                "aud",
                "token is not meant for this audience",
            ))
        }
    }

    /// The rules that depend on the time: the only ones a cached token is judged by again
    /// (the others cannot change their verdict on the same token).
    pub fn check_times(&self, times: &Times, now: i64) -> Result<(), Error> {
        let now = now as f64;
        let leeway = self.leeway as f64;
        let Times { exp, nbf, iat } = *times;
        match exp {
            None if self.require_exp => {
                return Err(Error::for_claim(
                    ErrorCode::ClaimMissing,
                    "exp",
                    "token has no \"exp\"",
                ));
            }
            Some(exp) if now >= exp + leeway => {
                return Err(Error::for_claim(
                    ErrorCode::TokenExpired,
                    "exp",
                    "token has expired",
                ));
            }
            _ => {}
        }
        if let Some(nbf) = nbf {
            if now + leeway < nbf {
                return Err(Error::for_claim(
                    ErrorCode::TokenNotYetValid,
                    "nbf",
                    "token is not valid yet (nbf)",
                ));
            }
        }
        if let Some(iat) = iat {
            if iat > now + leeway {
                return Err(Error::for_claim(
                    ErrorCode::TokenIssuedInFuture,
                    "iat",
                    "token was issued in the future (iat)",
                ));
            }
        }
        let require_iat = |rule: &str| {
            iat.ok_or_else(|| {
                Error::for_claim(
                    ErrorCode::ClaimMissing,
                    "iat",
                    format!("token has no \"iat\", needed for {rule}"),
                )
            })
        };
        if let Some(max) = self.max_lifetime {
            let iat = require_iat("the maximum lifetime")?;
            if let Some(exp) = exp {
                if exp - iat > max as f64 {
                    return Err(Error::for_claim(
                        ErrorCode::TokenTooOld,
                        "exp",
                        format!("token lifetime exceeds the maximum of {max} s"),
                    ));
                }
            }
        }
        if let Some(max) = self.max_age {
            let iat = require_iat("max_age")?;
            if now - iat > max as f64 + leeway {
                return Err(Error::for_claim(
                    ErrorCode::TokenTooOld,
                    "iat",
                    format!("token is older than max_age {max} s"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn rules() -> ClaimRules {
        ClaimRules {
            audiences: vec!["api".into()],
            require_exp: true,
            required_claims: vec![],
            max_age: None,
            max_lifetime: None,
            typ: None,
            leeway: 0,
        }
    }

    fn check_typ(
        rules: &ClaimRules,
        typ: Option<&str>,
        claims: &Value,
        now: i64,
    ) -> Result<(), Error> {
        let names: Vec<String> = rules
            .required_claims
            .iter()
            .map(|(n, _)| n.clone())
            .collect();
        let bytes = claims.to_string().into_bytes();
        let mut scanned = PayloadClaims::new();
        scan_claims(&bytes, &Presence::new(names), &mut scanned)?;
        rules.check(typ, &scanned, now)
    }

    fn check(
        rules: &ClaimRules,
        claims: Value,
        now: i64,
    ) -> Result<(), (ErrorCode, Option<String>)> {
        check_typ(rules, None, &claims, now).map_err(|e| (e.code(), e.claim().map(str::to_owned)))
    }

    #[test]
    fn expiry_boundaries() {
        let r = rules();
        assert!(check(&r, json!({"aud": "api", "exp": 101}), 100).is_ok());
        assert_eq!(
            check(&r, json!({"aud": "api", "exp": 100}), 100)
                .unwrap_err()
                .0,
            ErrorCode::TokenExpired
        );
        assert!(check(&r, json!({"aud": "api", "exp": 100.5}), 100).is_ok());
        let lenient = ClaimRules {
            leeway: 5,
            ..rules()
        };
        assert!(check(&lenient, json!({"aud": "api", "exp": 100}), 104).is_ok());
        assert_eq!(
            check(&lenient, json!({"aud": "api", "exp": 100}), 105)
                .unwrap_err()
                .0,
            ErrorCode::TokenExpired
        );
    }

    #[test]
    fn numeric_dates_must_be_numbers() {
        let r = rules();
        for claim in ["exp", "nbf", "iat"] {
            let mut c = json!({"aud": "api", "exp": 200});
            c[claim] = json!("150");
            assert_eq!(
                check(&r, c, 100).unwrap_err(),
                (ErrorCode::ClaimInvalid, Some(claim.to_owned()))
            );
        }
        assert_eq!(
            check(&r, json!({"aud": "api", "exp": true}), 100)
                .unwrap_err()
                .0,
            ErrorCode::ClaimInvalid
        );
    }

    #[test]
    fn audience_shapes() {
        let r = rules();
        assert!(check(&r, json!({"aud": ["x", "api"], "exp": 200}), 100).is_ok());
        assert_eq!(
            check(&r, json!({"aud": [], "exp": 200}), 100)
                .unwrap_err()
                .0,
            ErrorCode::ClaimInvalid
        );
        assert_eq!(
            check(&r, json!({"aud": ["api", 1], "exp": 200}), 100)
                .unwrap_err()
                .0,
            ErrorCode::ClaimInvalid
        );
        assert_eq!(
            check(&r, json!({"aud": {"a": 1}, "exp": 200}), 100)
                .unwrap_err()
                .0,
            ErrorCode::ClaimInvalid
        );
        assert_eq!(
            check(&r, json!({"aud": "other", "exp": 200}), 100)
                .unwrap_err()
                .0,
            ErrorCode::AudienceInvalid
        );
        assert_eq!(
            check(&r, json!({"exp": 200}), 100).unwrap_err().0,
            ErrorCode::ClaimMissing
        );
    }

    #[test]
    fn typ_normalization() {
        assert_eq!(normalize_typ("application/AT+JWT"), "at+jwt");
        assert_eq!(normalize_typ("at+jwt"), "at+jwt");
        let r = ClaimRules {
            typ: Some("at+jwt".into()),
            ..rules()
        };
        let claims = json!({"aud": "api", "exp": 200});
        assert!(check_typ(&r, Some("application/at+jwt"), &claims, 100).is_ok());
        assert!(check_typ(&r, Some("AT+JWT"), &claims, 100).is_ok());
        for bad in [Some("JWT"), Some("application/x/at+jwt"), None] {
            let err = check_typ(&r, bad, &claims, 100).unwrap_err();
            assert_eq!(err.code(), ErrorCode::TypeInvalid, "{bad:?}");
        }
    }

    #[test]
    fn age_and_lifetime() {
        let r = ClaimRules {
            max_age: Some(60),
            max_lifetime: Some(3600),
            ..rules()
        };
        assert!(check(&r, json!({"aud": "api", "exp": 1000, "iat": 90}), 100).is_ok());
        assert_eq!(
            check(&r, json!({"aud": "api", "exp": 1000, "iat": 30}), 100)
                .unwrap_err()
                .0,
            ErrorCode::TokenTooOld
        );
        assert_eq!(
            check(&r, json!({"aud": "api", "exp": 9000, "iat": 90}), 100)
                .unwrap_err()
                .0,
            ErrorCode::TokenTooOld
        );
        assert_eq!(
            check(&r, json!({"aud": "api", "exp": 1000}), 100).unwrap_err(),
            (ErrorCode::ClaimMissing, Some("iat".to_owned()))
        );
    }
}
