//! A whole HTTP request (vt_request): credential extraction, DPoP, optional authentication.

use crate::*;

/// An HTTP request as a middleware sees it, for `vt_extract_token` and
/// `vt_verify_request_at`. `method` and `url` are needed only for DPoP (NULL otherwise).
#[repr(C)]
pub struct vt_request {
    /// `header_count` header names and, at the same index, their values.
    pub header_names: *const *const c_char,
    pub header_values: *const *const c_char,
    pub header_count: usize,
    /// The raw query string without `?`, or NULL.
    pub query: *const c_char,
    /// The request method ("GET", ...), or NULL.
    pub method: *const c_char,
    /// The absolute URL the client called ("https://api.example.com/orders"), or NULL.
    pub url: *const c_char,
}

/// The engine's view of a C request.
pub(crate) unsafe fn simple_request(request: *const vt_request) -> Result<SimpleRequest, Fail> {
    // SAFETY: NULL or a valid vt_request, per the contract.
    let r = unsafe { request.as_ref() }.ok_or(Fail::Argument("request is NULL"))?;
    // SAFETY: the caller's array and string contracts.
    unsafe {
        let names = strings(
            r.header_names,
            r.header_count,
            "a header name is NULL or not UTF-8",
        )?;
        let values = strings(
            r.header_values,
            r.header_count,
            "a header value is NULL or not UTF-8",
        )?;
        let owned = |s: Option<&str>| s.map(str::to_owned);
        Ok(SimpleRequest {
            headers: names
                .into_iter()
                .zip(values)
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            query: owned(optional_text(r.query, "query is not UTF-8")?),
            method: owned(optional_text(r.method, "method is not UTF-8")?),
            url: owned(optional_text(r.url, "url is not UTF-8")?),
        })
    }
}

/// The shared body of `vt_verify_request_at` and `vt_verify_request_optional_at`.
pub(crate) unsafe fn verify_request(
    verifier: *const vt_verifier,
    request: *const vt_request,
    now_unix: i64,
    may_wait: i32,
    out: *mut *mut vt_token,
    optional: bool,
) -> Result<(), Fail> {
    // SAFETY: the caller's pointer contracts.
    let (verifier, request) =
        unsafe { (verifier_and_out(verifier, out)?, simple_request(request)?) };
    let extracted = verifier.extract_credential(&request);
    let credential = match optional {
        false => extracted?,
        true => match veritoken::optional(extracted)? {
            Some(credential) => credential,
            None => {
                // SAFETY: `out` checked non-null above.
                unsafe { *out = std::ptr::null_mut() };
                return Ok(());
            }
        },
    };
    let proof = credential.dpop_proof(&request)?;
    let verified =
        Wait::new(now_unix, may_wait).verify(verifier, &credential.token, proof.as_ref())?;
    // SAFETY: `out` checked non-null above.
    unsafe { hand_out(verified, out) };
    Ok(())
}

/// `vt_verify_request_at` for a route that also serves anonymous callers: a request
/// without a token gives VT_OK with `*out` set to NULL (anonymous); a token that fails is
/// its error as usual, and a valid one gives VT_OK with `*out` owning the token.
#[no_mangle]
pub unsafe extern "C" fn vt_verify_request_optional_at(
    verifier: *const vt_verifier,
    request: *const vt_request,
    now_unix: i64,
    may_wait: i32,
    out: *mut *mut vt_token,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: forwarded caller contract.
        unsafe { verify_request(verifier, request, now_unix, may_wait, out, true) }
    })
}

/// Everything a middleware does for one request: finds the token per `token_sources` (or,
/// with DPoP enabled, `Authorization: DPoP` plus the `DPoP` proof header), then verifies it
/// as `vt_verify_at` / `vt_verify_dpop_at` would. Missing-token and extraction errors are
/// verdicts like any other. `may_wait` 0: VT_WOULD_BLOCK instead of waiting for keys.
#[no_mangle]
pub unsafe extern "C" fn vt_verify_request_at(
    verifier: *const vt_verifier,
    request: *const vt_request,
    now_unix: i64,
    may_wait: i32,
    out: *mut *mut vt_token,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: forwarded caller contract.
        unsafe { verify_request(verifier, request, now_unix, may_wait, out, false) }
    })
}

/// Finds the token in a request per the verifier's `token_sources`: `n` header name/value
/// pairs and the raw query string (NULL when none). On VT_OK the token is copied,
/// NUL-terminated, into `out` (`out_len` bytes; max_token_size + 1 always suffices).
#[no_mangle]
pub unsafe extern "C" fn vt_extract_token(
    verifier: *const vt_verifier,
    header_names: *const *const c_char,
    header_values: *const *const c_char,
    n: usize,
    query: *const c_char,
    out: *mut c_char,
    out_len: usize,
    err: *mut c_char,
    err_len: usize,
) -> vt_result {
    guard(err, err_len, || {
        // SAFETY: NULL or a verifier made by vt_verifier_new.
        let verifier = unsafe { verifier.as_ref() }.ok_or(Fail::Argument("verifier is NULL"))?;
        // SAFETY: the caller's array contract.
        let (names, values) = unsafe {
            (
                strings(header_names, n, "a header name is NULL or not UTF-8")?,
                strings(header_values, n, "a header value is NULL or not UTF-8")?,
            )
        };
        let headers = names
            .into_iter()
            .zip(values)
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let mut request = SimpleRequest {
            headers,
            ..SimpleRequest::default()
        };
        if !query.is_null() {
            // SAFETY: non-null NUL-terminated string, per the contract.
            request.query = Some(unsafe { text(query, "query is not UTF-8") }?.to_owned());
        }
        let token = verifier.0.extract_token(&request)?;
        // SAFETY: the caller's buffer contract.
        unsafe { copy_out(&token, out, out_len) }
    })
}
