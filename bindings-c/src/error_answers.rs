//! The HTTP answer for a refusal: JSON body, challenge, headers.

use crate::*;

/// The body of the entry points that answer with a text about a verifier: `text` of it,
/// copied NUL-terminated into `out` (`out_len` bytes), or the failure into `err`.
///
/// # Safety
/// `verifier` is NULL or made by vt_verifier_new; `out` holds `out_len` writable bytes.
pub(crate) unsafe fn verifier_text(
    verifier: *const vt_verifier,
    out: *mut c_char,
    out_len: usize,
    err: *mut c_char,
    err_len: usize,
    text: impl FnOnce(&veritoken::Verifier) -> Result<String, Error>,
) -> vt_result {
    guard(err, err_len, || {
        // SAFETY: NULL or a verifier made by vt_verifier_new.
        let verifier = unsafe { verifier.as_ref() }.ok_or(Fail::Argument("verifier is NULL"))?;
        let value = text(&verifier.0)?;
        // SAFETY: the caller's buffer contract.
        unsafe { copy_out(&value, out, out_len) }
    })
}

/// The rejection as the JSON body every veritoken middleware answers with:
/// `{"error":{"code":...,"message":...,"claim":...}}` (`claim` NULL or "" to omit), copied
/// NUL-terminated into `out`. `result` must be one of the codes 1 to 23.
#[no_mangle]
pub unsafe extern "C" fn vt_error_body(
    result: i32,
    message: *const c_char,
    claim: *const c_char,
    out: *mut c_char,
    out_len: usize,
) -> vt_result {
    guard(std::ptr::null_mut(), 0, || {
        // SAFETY: the caller's string contract.
        let error = unsafe { rebuild_error(result, message, claim) }?;
        // SAFETY: the caller's buffer contract.
        unsafe { copy_out(&veritoken::http::error_body(&error), out, out_len) }
    })
}

/// The RFC 6750 `WWW-Authenticate` value for a rejection (`realm` may be NULL), copied
/// NUL-terminated into `out`; "" when no challenge applies (5xx results).
#[no_mangle]
pub unsafe extern "C" fn vt_error_challenge(
    result: i32,
    message: *const c_char,
    realm: *const c_char,
    out: *mut c_char,
    out_len: usize,
) -> vt_result {
    guard(std::ptr::null_mut(), 0, || {
        // SAFETY: the caller's string contract.
        let error = unsafe { rebuild_error(result, message, std::ptr::null()) }?;
        let realm = if realm.is_null() {
            None
        } else {
            // SAFETY: non-null NUL-terminated string, per the contract.
            Some(unsafe { text(realm, "realm is not UTF-8") }?)
        };
        let value = veritoken::http::www_authenticate(&error, realm).unwrap_or_default();
        // SAFETY: the caller's buffer contract.
        unsafe { copy_out(&value, out, out_len) }
    })
}

/// The response headers for a rejection by this verifier, as "name: value\r\n" lines
/// copied NUL-terminated into `out`: content type, `cache-control`, the challenge of the
/// verifier's DPoP mode (Bearer or DPoP) and, when the client must use one, `dpop-nonce`.
/// `claim` (NULL or "" for none) is what the failed verify reported.
#[no_mangle]
pub unsafe extern "C" fn vt_verifier_error_headers(
    verifier: *const vt_verifier,
    result: i32,
    message: *const c_char,
    claim: *const c_char,
    realm: *const c_char,
    out: *mut c_char,
    out_len: usize,
) -> vt_result {
    guard(std::ptr::null_mut(), 0, || {
        // SAFETY: NULL or a verifier made by vt_verifier_new.
        let verifier = unsafe { verifier.as_ref() }.ok_or(Fail::Argument("verifier is NULL"))?;
        // SAFETY: the caller's string contracts.
        let (error, realm) = unsafe {
            (
                rebuild_error(result, message, claim)?,
                optional_text(realm, "realm is not UTF-8")?,
            )
        };
        let lines: String = verifier
            .0
            .error_headers(&error, realm)
            .into_iter()
            .map(|(name, value)| format!("{name}: {value}\r\n"))
            .collect();
        // SAFETY: the caller's buffer contract.
        unsafe { copy_out(&lines, out, out_len) }
    })
}

/// An engine error from its C parts (what a failed vt_verify reported).
pub(crate) unsafe fn rebuild_error(
    result: i32,
    message: *const c_char,
    claim: *const c_char,
) -> Result<Error, Fail> {
    let code = code_of(result).ok_or(Fail::Argument("result is not an error code (1 to 23)"))?;
    // SAFETY: the caller's string contract.
    let message = unsafe { text(message, "message is NULL or not UTF-8") }?;
    if !claim.is_null() {
        // SAFETY: non-null NUL-terminated string, per the contract.
        let claim = unsafe { text(claim, "claim is not UTF-8") }?;
        if !claim.is_empty() {
            return Ok(Error::for_claim(code, claim, message));
        }
    }
    Ok(Error::new(code, message))
}
