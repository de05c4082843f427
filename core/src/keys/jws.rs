//! Strict compact-JWS parsing (RFC 7515 §7.1) and the signature check: the signature-level
//! entry point, independent of JWT claims (the Wycheproof vectors run through here).

use crate::format::algorithm::{Algorithm, AlgorithmSet};
use crate::keys::key_set::KeySet;
use crate::support::error::{Error, ErrorCode};
// The header type lives below both this module and the memo that keeps it.
pub(crate) use crate::format::jose_header::{check_header, Header, HeaderFields};
use crate::{format::b64, format::header_memo, format::strict_json};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::mem::MaybeUninit;
use std::sync::Arc;

/// The default cap on a token's length, checked before anything is decoded.
pub const DEFAULT_MAX_TOKEN_SIZE: usize = 16 * 1024;

/// The largest `max_token_size` a configuration may set. No verifier accepts a longer
/// token, so a binding may stop reading one past this many bytes.
pub const LARGEST_MAX_TOKEN_SIZE: usize = 1024 * 1024;

/// Signatures up to this size (RSA-4096) are decoded into the caller's stack buffer.
pub(crate) const STACK_SIGNATURE: usize = 512;

/// A stack buffer for a decoded signature, left uninitialized (nothing reads it before
/// the decoder writes it).
pub(crate) type SignatureBuf = [MaybeUninit<u8>; STACK_SIGNATURE];

pub(crate) const fn signature_buf() -> SignatureBuf {
    [MaybeUninit::uninit(); STACK_SIGNATURE]
}

/// The three segments of a compact JWS, not yet decoded.
pub(crate) struct Segments<'t> {
    pub signing_input: &'t str,
    header: &'t str,
    payload: &'t str,
    signature: &'t str,
}

/// Size cap, then the first two dots, the header segment non-empty. A third dot (a JWE
/// has five segments) can only fall in the signature segment, which base64url then
/// refuses, so it is looked for only on failure: see [`counted`].
pub(crate) fn split(token: &str, max_size: usize) -> Result<Segments<'_>, Error> {
    if token.len() > max_size {
        return Err(Error::malformed(format!(
            "token is {} bytes, over the {max_size}-byte limit",
            token.len()
        )));
    }
    if token.is_empty() {
        return Err(Error::malformed("token is empty"));
    }
    let bytes = token.as_bytes();
    let Some(first) = memchr::memchr(b'.', bytes) else {
        return Err(segment_count_error(token));
    };
    let Some(second) = memchr::memchr(b'.', &bytes[first + 1..]).map(|at| first + 1 + at) else {
        return Err(segment_count_error(token));
    };
    if first == 0 {
        return Err(match token[second + 1..].contains('.') {
            true => segment_count_error(token),
            false => Error::malformed("header segment is empty"),
        });
    }
    Ok(Segments {
        signing_input: &token[..second],
        header: &token[..first],
        payload: &token[first + 1..second],
        signature: &token[second + 1..],
    })
}

/// `result` of decoding `seg`, with any failure replaced by the segment count's when the
/// signature segment holds another dot, so that such a token is refused as if its
/// segments had been counted first. A decoding that succeeded saw no dot (none is
/// base64url).
fn counted<T>(token: &str, seg: &Segments<'_>, result: Result<T, Error>) -> Result<T, Error> {
    match result {
        Err(_) if seg.signature.contains('.') => Err(segment_count_error(token)),
        result => result,
    }
}

fn segment_count_error(token: &str) -> Error {
    match token.bytes().filter(|b| *b == b'.').count() {
        4 => Error::new(
            ErrorCode::TokenUnsupported,
            "token is a JWE (5 segments); only JWS is accepted",
        ),
        count => Error::malformed(format!(
            "token has {} segments; a compact JWS has 3",
            count + 1
        )),
    }
}

fn not_base64(what: &str) -> Error {
    Error::malformed(format!("{what} segment is not canonical base64url"))
}

/// The decoded parts of a compact JWS, in the order every caller checks them. `H` is the
/// header: its bytes from [`decode`], or a checked [`Header`] from [`decode_checked`].
pub(crate) struct Decoded<'t, 'b, H = Vec<u8>> {
    pub signing_input: &'t str,
    pub header: H,
    pub payload: Vec<u8>,
    /// In the caller's buffer unless unusually long.
    pub signature: Cow<'b, [u8]>,
}

/// [`split`], then canonical base64url for header, payload and signature (the signature
/// into `buf`, so that nothing large is moved around).
pub(crate) fn decode<'t, 'b>(
    token: &'t str,
    max_size: usize,
    buf: &'b mut SignatureBuf,
) -> Result<Decoded<'t, 'b>, Error> {
    let seg = split(token, max_size)?;
    let decoded = b64::decode(seg.header)
        .map_err(|_| not_base64("header"))
        .and_then(|header| decode_rest(&seg, header, buf));
    counted(token, &seg, decoded)
}

/// [`decode`] and then [`check_header`], with the header taken from this thread's memo
/// when its segment was seen before (an issuer signs every token with the same few
/// headers). Errors come in the same order as from [`decode`] then [`check_header`].
pub(crate) fn decode_checked<'t, 'b>(
    token: &'t str,
    max_size: usize,
    buf: &'b mut SignatureBuf,
) -> Result<Decoded<'t, 'b, Arc<Header>>, Error> {
    let seg = split(token, max_size)?;
    counted(token, &seg, decode_checked_segments(&seg, buf))
}

/// [`decode_checked`] of segments already split.
fn decode_checked_segments<'t, 'b>(
    seg: &Segments<'t>,
    buf: &'b mut SignatureBuf,
) -> Result<Decoded<'t, 'b, Arc<Header>>, Error> {
    let header = match header_memo::get(seg.header) {
        Some(header) => Ok(header),
        None => Err(b64::decode(seg.header).map_err(|_| not_base64("header"))?),
    };
    let decoded = decode_rest(seg, header, buf)?;
    let header = match decoded.header {
        Ok(header) => header,
        Err(bytes) => header_memo::put(seg.header, Header::check(bytes)?),
    };
    Ok(Decoded {
        signing_input: decoded.signing_input,
        header,
        payload: decoded.payload,
        signature: decoded.signature,
    })
}

/// Payload and signature of [`decode`], after its header.
fn decode_rest<'t, 'b, H>(
    seg: &Segments<'t>,
    header: H,
    buf: &'b mut SignatureBuf,
) -> Result<Decoded<'t, 'b, H>, Error> {
    let payload = b64::decode(seg.payload).map_err(|_| not_base64("payload"))?;
    let signature = match b64::decode_into(seg.signature, buf) {
        Ok(bytes) => Cow::Borrowed(bytes),
        Err(b64::IntoError::TooLong) => {
            Cow::Owned(b64::decode(seg.signature).map_err(|_| not_base64("signature"))?)
        }
        Err(b64::IntoError::Invalid) => return Err(not_base64("signature")),
    };
    Ok(Decoded {
        signing_input: seg.signing_input,
        header,
        payload,
        signature,
    })
}

/// The signature check: `alg` allowed, exactly one key for `kid` and `alg`, and the
/// signature verifies under it.
pub(crate) fn verify_signature(
    keys: &KeySet,
    allowed: AlgorithmSet,
    header: &HeaderFields,
    signing_input: &str,
    signature: &[u8],
) -> Result<(), Error> {
    let alg = header.alg;
    if !allowed.contains(alg) {
        return Err(Error::new(
            ErrorCode::AlgorithmNotAllowed,
            format!("alg {alg} is not allowed"),
        ));
    }
    let key = keys.find(header.kid.as_deref(), alg)?;
    if key.verify(alg, signing_input.as_bytes(), signature) {
        Ok(())
    } else {
        Err(Error::new(
            ErrorCode::SignatureInvalid,
            "signature does not verify",
        ))
    }
}

/// The outcome of [`verify_jws`]: a header and a payload whose signature verified.
#[derive(Debug)]
pub struct VerifiedJws {
    pub algorithm: Algorithm,
    pub header: Map<String, Value>,
    pub payload: Vec<u8>,
}

/// Signature-level verification of a compact JWS, without any JWT claim rules (the payload
/// need not be JSON).
pub fn verify_jws(
    token: &str,
    keys: &KeySet,
    allowed: AlgorithmSet,
    max_size: usize,
) -> Result<VerifiedJws, Error> {
    let mut buf = signature_buf();
    let decoded = decode(token, max_size, &mut buf)?;
    let fields = check_header(&decoded.header)?;
    verify_signature(
        keys,
        allowed,
        &fields,
        decoded.signing_input,
        &decoded.signature,
    )?;
    let algorithm = fields.alg;
    let header = serde_json::from_slice(&decoded.header).unwrap_or_default();
    Ok(VerifiedJws {
        algorithm,
        header,
        payload: decoded.payload,
    })
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
    let header = strict_json::parse_object(&decode(parts[0], "header")?)
        .map_err(|e| Error::malformed(format!("header {e}")))?;
    let payload = decode(parts[1], "payload")?;
    let signature = decode(parts[2], "signature")?;
    Ok(Unverified {
        header,
        claims: strict_json::parse_object(&payload).ok(),
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

    fn parse(t: &str, max: usize) -> Result<Algorithm, Error> {
        let mut buf = signature_buf();
        let d = decode(t, max, &mut buf)?;
        check_header(&d.header).map(|h| h.alg)
    }

    fn code(t: &str) -> ErrorCode {
        parse(t, DEFAULT_MAX_TOKEN_SIZE).unwrap_err().code()
    }

    #[test]
    fn structure() {
        assert_eq!(code(""), ErrorCode::TokenMalformed);
        assert_eq!(code("a.b"), ErrorCode::TokenMalformed);
        assert_eq!(code("a.b.c.d"), ErrorCode::TokenMalformed);
        assert_eq!(code("a.b.c.d.e"), ErrorCode::TokenUnsupported);
        assert_eq!(code(".e30.c2ln"), ErrorCode::TokenMalformed);
        let ok = token(r#"{"alg":"HS256"}"#, "{}");
        assert_eq!(
            parse(&ok, DEFAULT_MAX_TOKEN_SIZE).unwrap(),
            Algorithm::HS256
        );
        assert_eq!(code(&format!("{ok}=")), ErrorCode::TokenMalformed);
        assert_eq!(code(&format!(" {ok}")), ErrorCode::TokenMalformed);
        let big = token(r#"{"alg":"HS256"}"#, &"x".repeat(20_000));
        let err = parse(&big, DEFAULT_MAX_TOKEN_SIZE).unwrap_err();
        assert!(err.message().contains("limit"));
    }

    /// Extra dots are found only when decoding fails; the answer is still the one of
    /// counting the segments first, for any mix of good and bad segments, with and
    /// without the header memo.
    #[test]
    fn segments_are_counted_before_anything_else() {
        let header = b64::encode(r#"{"alg":"HS256"}"#);
        let parts = ["", "e30", "c2ln", "Zm9v", "!!", "Z", header.as_str()];
        let mut tokens = Vec::new();
        for n in 1..=6 {
            let mut at = vec![0usize; n];
            for shape in 0.. {
                // Every shape of up to four segments, a sample of the longer ones.
                if n <= 4 || shape % 7 == 0 {
                    tokens.push(at.iter().map(|&i| parts[i]).collect::<Vec<_>>().join("."));
                }
                let Some(k) = (0..n).rev().find(|&k| at[k] + 1 < parts.len()) else {
                    break;
                };
                at[k] += 1;
                at[k + 1..].iter_mut().for_each(|i| *i = 0);
            }
        }
        tokens.retain(|t| !t.is_empty()); // "token is empty" comes first (see `structure`)
        let (mut counted, mut three) = (0, 0);
        for t in &tokens {
            let dots = t.matches('.').count();
            let mut buf = signature_buf();
            let plain = decode(t, DEFAULT_MAX_TOKEN_SIZE, &mut buf).map(|_| ());
            for _ in 0..2 {
                // The second round finds the header in this thread's memo.
                let mut buf = signature_buf();
                let checked = decode_checked(t, DEFAULT_MAX_TOKEN_SIZE, &mut buf).map(|_| ());
                if dots == 2 {
                    three += 1;
                    if let (Err(a), Err(b)) = (&plain, &checked) {
                        assert!(!a.message().contains("segments"), "{t}");
                        assert!(!b.message().contains("segments"), "{t}");
                    }
                } else {
                    counted += 1;
                    let want = segment_count_error(t);
                    for got in [&plain, &checked] {
                        let got = got.as_ref().unwrap_err();
                        assert_eq!(
                            (got.code(), got.message()),
                            (want.code(), want.message()),
                            "{t}"
                        );
                    }
                }
            }
        }
        assert!(counted > 1000 && three > 300, "{counted} {three}");
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
        use ErrorCode::{
            AlgorithmNotAllowed as Alg, TokenMalformed as Bad, TokenUnsupported as Unsup,
        };
        let cases = [
            ("[]", Bad),
            ("{}", Bad),
            (r#"{"alg":1}"#, Bad),
            (r#"{"alg":"HS256","alg":"none"}"#, Bad),
            (r#"{"alg":"none"}"#, Alg),
            (r#"{"alg":"NoNe"}"#, Alg),
            (r#"{"alg":"HS999"}"#, Alg),
            (r#"{"alg":"HS256","crit":["exp"],"exp":1}"#, Unsup),
            (r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#, Unsup),
            (r#"{"alg":"HS256","b64":true}"#, Unsup),
            (r#"{"alg":"HS256","enc":"A128GCM"}"#, Unsup),
            (r#"{"alg":"HS256","cty":"jwt"}"#, Unsup),
            (r#"{"alg":"HS256","kid":7}"#, Bad),
            (r#"{"alg":"HS256","typ":["JWT"]}"#, Bad),
        ];
        for (header, expected) in cases {
            assert_eq!(code(&token(header, "{}")), expected, "{header}");
        }
    }
}
