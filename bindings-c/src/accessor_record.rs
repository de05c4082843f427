//! The accessor record: every claim accessor's value in one flat byte string, so that the
//! Go package reads them with a few slice operations instead of a JSON decoder (which cost
//! it ~7 µs a token). The values are the engine's (`ClaimAccessors`); this only lays them
//! out. The layout is documented on `vt_verify_into` in the header.

use crate::*;
use veritoken::ClaimAccessors;

/// Flag bits of the record's first word.
const HAS_SUBJECT: u32 = 1;
const HAS_JWT_ID: u32 = 1 << 1;
const HAS_DPOP_JKT: u32 = 1 << 2;
const HAS_EXPIRES_AT: u32 = 1 << 3;
const HAS_NOT_BEFORE: u32 = 1 << 4;
const HAS_ISSUED_AT: u32 = 1 << 5;
const SCOPES_MALFORMED: u32 = 1 << 6;

/// The record of `a`: a little-endian u32 of flags; i64 `exp`, `nbf`, `iat` (0 when
/// absent); the texts issuer, subject, jwt_id, dpop_jkt (u32 length, then UTF-8; "" when
/// absent); a u32 count of audiences and their texts; a u32 count of scopes and their texts
/// (0 when malformed).
pub(crate) fn accessor_record(a: &ClaimAccessors<'_>) -> Vec<u8> {
    let flag = |present: bool, bit: u32| if present { bit } else { 0 };
    let flags = flag(a.subject.is_some(), HAS_SUBJECT)
        | flag(a.jwt_id.is_some(), HAS_JWT_ID)
        | flag(a.dpop_jkt.is_some(), HAS_DPOP_JKT)
        | flag(a.expires_at.is_some(), HAS_EXPIRES_AT)
        | flag(a.not_before.is_some(), HAS_NOT_BEFORE)
        | flag(a.issued_at.is_some(), HAS_ISSUED_AT)
        | flag(a.scopes.is_none(), SCOPES_MALFORMED);
    let mut out = Vec::with_capacity(128);
    out.extend_from_slice(&flags.to_le_bytes());
    for date in [a.expires_at, a.not_before, a.issued_at] {
        out.extend_from_slice(&date.unwrap_or(0).to_le_bytes());
    }
    for text in [Some(a.issuer), a.subject, a.jwt_id, a.dpop_jkt] {
        put_text(&mut out, text.unwrap_or_default());
    }
    for list in [&a.audiences[..], a.scopes.as_deref().unwrap_or_default()] {
        put_len(&mut out, list.len());
        for text in list {
            put_text(&mut out, text);
        }
    }
    out
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    // Claims are bounded by the token size limit (at most 1 MiB), far below u32::MAX.
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

/// Copies a record into the caller's buffer and its length into `*written`, or fails
/// without writing either.
pub(crate) unsafe fn copy_record(
    record: &[u8],
    out: *mut c_char,
    out_len: usize,
    written: *mut usize,
) -> Result<(), Fail> {
    if out.is_null() || written.is_null() {
        return Err(Fail::Argument("out or written is NULL"));
    }
    if record.len() > out_len {
        return Err(Fail::TooSmall);
    }
    // SAFETY: `out` has `out_len` writable bytes, at least `record.len()`; `written` is
    // non-null and writable.
    unsafe {
        std::ptr::copy_nonoverlapping(record.as_ptr(), out.cast::<u8>(), record.len());
        *written = record.len();
    }
    Ok(())
}

/// The accessor record of a verified token (see `vt_verify_into` for its layout) into
/// `out`, its length into `*written`; VT_BUFFER_TOO_SMALL (nothing written) when `out_len`
/// is short. `3 * strlen(vt_token_claims_json(token)) + 64` bytes always suffice.
#[no_mangle]
pub unsafe extern "C" fn vt_token_accessor_record(
    token: *const vt_token,
    out: *mut c_char,
    out_len: usize,
    written: *mut usize,
) -> vt_result {
    guard(std::ptr::null_mut(), 0, || {
        // SAFETY: NULL or a token made by a verify call.
        let token = unsafe { token.as_ref() }.ok_or(Fail::Argument("token is NULL"))?;
        let record = accessor_record(&token.token.accessors());
        // SAFETY: the caller's buffer contract.
        unsafe { copy_record(&record, out, out_len, written) }
    })
}

/// The accessor record of a claims set given as JSON text (`claims_len` bytes), like
/// `vt_token_accessor_record`; `3 * claims_len + 64` bytes always suffice.
/// VT_TOKEN_MALFORMED when the text is not a JSON object.
#[no_mangle]
pub unsafe extern "C" fn vt_claims_accessor_record(
    claims_json: *const c_char,
    claims_len: usize,
    out: *mut c_char,
    out_len: usize,
    written: *mut usize,
    err: *mut c_char,
    err_len: usize,
) -> vt_result {
    guard(err, err_len, || {
        // SAFETY: the caller promises `claims_len` readable bytes at `claims_json`.
        let text = unsafe { claims_text(claims_json, claims_len) }?;
        let claims = veritoken::claims_object(text)?;
        let record = accessor_record(&ClaimAccessors::of(&claims));
        // SAFETY: the caller's buffer contract.
        unsafe { copy_record(&record, out, out_len, written) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest record for claims JSON of `claims_len` bytes: every text in the record is a
    /// JSON string of the claims (4 length bytes for its 2 quotes and at least 1 separator), or
    /// a word of a space-delimited `scope`/`scp` (4 length bytes for at most 2 source bytes).
    fn max_record_len(claims_len: usize) -> usize {
        3 * claims_len + 64
    }

    fn record_of(claims: &str) -> Vec<u8> {
        let claims = veritoken::claims_object(claims).unwrap();
        accessor_record(&ClaimAccessors::of(&claims))
    }

    #[test]
    fn the_layout_is_the_documented_one() {
        let r = record_of(r#"{"iss":"i","sub":"s","exp":7,"aud":["a","b"],"scope":"x y"}"#);
        let mut want = (HAS_SUBJECT | HAS_EXPIRES_AT).to_le_bytes().to_vec();
        want.extend(7i64.to_le_bytes());
        want.extend([0u8; 16]);
        for text in ["i", "s", "", ""] {
            want.extend((text.len() as u32).to_le_bytes());
            want.extend(text.as_bytes());
        }
        want.extend(2u32.to_le_bytes());
        want.extend(b"\x01\0\0\0a\x01\0\0\0b");
        want.extend(2u32.to_le_bytes());
        want.extend(b"\x01\0\0\0x\x01\0\0\0y");
        assert_eq!(r, want);
        assert_eq!(
            u32::from_le_bytes(record_of(r#"{"scope":5}"#)[..4].try_into().unwrap()),
            SCOPES_MALFORMED
        );
    }

    #[test]
    fn records_stay_within_the_documented_bound() {
        let words = format!(r#"{{"scope":"{}"}}"#, "a ".repeat(500));
        let scp = format!(r#"{{"scp":[{}"z"]}}"#, r#""","#.repeat(300));
        let aud = format!(r#"{{"aud":[{}""]}}"#, r#""","#.repeat(300));
        for claims in [
            "{}".to_owned(),
            words,
            scp,
            aud,
            r#"{"iss":"","sub":"","jti":"","cnf":{"jkt":""},"scope":"a","scp":"b","permissions":["c"]}"#
                .to_owned(),
        ] {
            let len = record_of(&claims).len();
            assert!(len <= max_record_len(claims.len()), "{len} > bound for {claims}");
        }
    }
}
