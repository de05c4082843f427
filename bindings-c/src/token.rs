//! vt_token: a verified token, its claims and header text, and the claim accessors.

use crate::*;

/// A verified token. Its strings stay valid until `vt_token_free`.
pub struct vt_token {
    pub(crate) token: VerifiedToken,
    pub(crate) claims_json: CString,
    pub(crate) header_json: CString,
    /// The accessors' values as C strings, made on the first accessor call.
    pub(crate) accessors: OnceLock<Accessors>,
}

/// What the `vt_token_*` accessors hand out: the engine's values (`ClaimAccessors`), kept
/// so that their strings live as long as the token.
pub(crate) struct Accessors {
    pub(crate) issuer: CString,
    pub(crate) subject: Option<CString>,
    pub(crate) jwt_id: Option<CString>,
    pub(crate) dpop_jkt: Option<CString>,
    pub(crate) audiences: Vec<CString>,
    pub(crate) expires_at: Option<i64>,
    pub(crate) not_before: Option<i64>,
    pub(crate) issued_at: Option<i64>,
    /// The engine's `claim_invalid` when a scope claim is malformed.
    pub(crate) scopes: Result<Vec<CString>, Error>,
}

impl Accessors {
    pub(crate) fn of(token: &VerifiedToken) -> Self {
        let a = token.accessors();
        let list = |items: &[&str]| items.iter().map(|s| c_string(s)).collect();
        Accessors {
            issuer: c_string(a.issuer),
            subject: a.subject.map(c_string),
            jwt_id: a.jwt_id.map(c_string),
            dpop_jkt: a.dpop_jkt.map(c_string),
            audiences: list(&a.audiences),
            expires_at: a.expires_at,
            not_before: a.not_before,
            issued_at: a.issued_at,
            scopes: match a.scopes.as_deref() {
                Some(scopes) => Ok(list(scopes)),
                // The scan found a malformed scope claim: the engine's error for it (its two
                // readings of the claims never disagree; if they did, an internal error).
                None => Err(token.granted_scopes().err().unwrap_or_else(|| {
                    Error::new(
                        ErrorCode::Internal,
                        "the engine read the scope claims two ways",
                    )
                })),
            },
        }
    }
}

/// The verified claims as JSON text, valid until `vt_token_free`; NULL for a NULL token.
#[no_mangle]
pub unsafe extern "C" fn vt_token_claims_json(token: *const vt_token) -> *const c_char {
    // SAFETY: NULL or a token made by vt_verify.
    unsafe { token.as_ref() }.map_or(std::ptr::null(), |t| t.claims_json.as_ptr())
}

/// The protected header as JSON text, valid until `vt_token_free`; NULL for a NULL token.
#[no_mangle]
pub unsafe extern "C" fn vt_token_header_json(token: *const vt_token) -> *const c_char {
    // SAFETY: NULL or a token made by vt_verify.
    unsafe { token.as_ref() }.map_or(std::ptr::null(), |t| t.header_json.as_ptr())
}

/// `iss` into `*out` ("" when an introspection answer has none). Strings handed out by the
/// `vt_token_*` accessors stay valid until `vt_token_free`; a U+0000 in a claim reads as a
/// space. Every accessor follows the engine's one rule (the same in every language).
#[no_mangle]
pub unsafe extern "C" fn vt_token_issuer(
    token: *const vt_token,
    out: *mut *const c_char,
) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe { accessor(token, out, |a| Ok(c_ptr(&a.issuer))) }
}

/// `sub` into `*out`; VT_CLAIM_MISSING (nothing written) when absent or not a string.
#[no_mangle]
pub unsafe extern "C" fn vt_token_subject(
    token: *const vt_token,
    out: *mut *const c_char,
) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe {
        accessor(token, out, |a| {
            present(a.subject.as_ref().map(c_ptr), "sub")
        })
    }
}

/// `jti` into `*out`; VT_CLAIM_MISSING when absent or not a string.
#[no_mangle]
pub unsafe extern "C" fn vt_token_jwt_id(
    token: *const vt_token,
    out: *mut *const c_char,
) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe { accessor(token, out, |a| present(a.jwt_id.as_ref().map(c_ptr), "jti")) }
}

/// `cnf.jkt` (the thumbprint of the key a DPoP-bound token is bound to) into `*out`;
/// VT_CLAIM_MISSING when absent or not a string.
#[no_mangle]
pub unsafe extern "C" fn vt_token_dpop_jkt(
    token: *const vt_token,
    out: *mut *const c_char,
) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe {
        accessor(token, out, |a| {
            present(a.dpop_jkt.as_ref().map(c_ptr), "cnf")
        })
    }
}

/// How many audiences `aud` holds, into `*out`: 1 for a string, the strings of an array
/// (other entries left out), 0 otherwise.
#[no_mangle]
pub unsafe extern "C" fn vt_token_audience_count(
    token: *const vt_token,
    out: *mut usize,
) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe { accessor(token, out, |a| Ok(a.audiences.len())) }
}

/// Audience `index` (below `vt_token_audience_count`) into `*out`; VT_INVALID_ARGUMENT past
/// the end.
#[no_mangle]
pub unsafe extern "C" fn vt_token_audience(
    token: *const vt_token,
    index: usize,
    out: *mut *const c_char,
) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe {
        accessor(token, out, |a| {
            a.audiences
                .get(index)
                .map(c_ptr)
                .ok_or(Fail::Argument("index is past the last audience"))
        })
    }
}

/// `exp` in whole seconds since the epoch (fraction dropped toward zero, clamped to
/// +/-8,640,000,000,000) into `*out`; VT_CLAIM_MISSING when absent or not a number.
#[no_mangle]
pub unsafe extern "C" fn vt_token_expires_at(token: *const vt_token, out: *mut i64) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe { accessor(token, out, |a| present(a.expires_at, "exp")) }
}

/// `nbf`, as `vt_token_expires_at`.
#[no_mangle]
pub unsafe extern "C" fn vt_token_not_before(token: *const vt_token, out: *mut i64) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe { accessor(token, out, |a| present(a.not_before, "nbf")) }
}

/// `iat`, as `vt_token_expires_at`.
#[no_mangle]
pub unsafe extern "C" fn vt_token_issued_at(token: *const vt_token, out: *mut i64) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe { accessor(token, out, |a| present(a.issued_at, "iat")) }
}

/// The scopes, or the engine's error for a malformed scope claim: what
/// `vt_token_scope_count` and `vt_token_scope` answer.
pub(crate) fn scopes_of(a: &Accessors) -> Result<&[CString], Fail> {
    a.scopes.as_deref().map_err(|e| Fail::Engine(e.clone()))
}

/// How many scopes the token grants (`scope`, `scp`, then `permissions`), into `*out`;
/// VT_CLAIM_INVALID when one of those claims has the wrong type.
#[no_mangle]
pub unsafe extern "C" fn vt_token_scope_count(
    token: *const vt_token,
    out: *mut usize,
) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe { accessor(token, out, |a| scopes_of(a).map(<[CString]>::len)) }
}

/// Granted scope `index` (below `vt_token_scope_count`) into `*out`; VT_INVALID_ARGUMENT past
/// the end, VT_CLAIM_INVALID as for `vt_token_scope_count`.
#[no_mangle]
pub unsafe extern "C" fn vt_token_scope(
    token: *const vt_token,
    index: usize,
    out: *mut *const c_char,
) -> vt_result {
    // SAFETY: the caller's token and out contracts.
    unsafe {
        accessor(token, out, |a| {
            scopes_of(a)?
                .get(index)
                .map(c_ptr)
                .ok_or(Fail::Argument("index is past the last scope"))
        })
    }
}

/// Every accessor's value for a claims set held as JSON text (what `vt_token_claims_json`
/// gave), as one JSON object copied NUL-terminated into `out`: `issuer`, `subject`,
/// `jwt_id`, `audiences`, `expires_at`, `not_before`, `issued_at`, `dpop_jkt`, `scopes`
/// (null when malformed) and `scopes_error` (then "claim_invalid"), absent values null.
/// For C callers holding claims text (the Go package takes the flat accessor record of
/// `vt_verify_into` instead). VT_TOKEN_MALFORMED when `claims_json` is not a JSON object.
#[no_mangle]
pub unsafe extern "C" fn vt_claims_accessors_json(
    claims_json: *const c_char,
    claims_len: usize,
    out: *mut c_char,
    out_len: usize,
    err: *mut c_char,
    err_len: usize,
) -> vt_result {
    guard(err, err_len, || {
        // SAFETY: the caller promises `claims_len` readable bytes at `claims_json`.
        let text = unsafe { claims_text(claims_json, claims_len) }?;
        let json = veritoken::claim_accessors_json(text)?;
        // SAFETY: the caller's buffer contract.
        unsafe { copy_out(&json, out, out_len) }
    })
}

/// Frees a verified token. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn vt_token_free(token: *mut vt_token) {
    // SAFETY: NULL or a token from vt_verify, freed once.
    unsafe { free_boxed(token) }
}
