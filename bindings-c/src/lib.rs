//! libveritoken: the veritoken engine behind a C API (see `include/veritoken.h` for the
//! conventions). This crate converts types and maps errors; every rule lives in `veritoken`.
//!
//! Entry points never unwind into C: each runs under `catch_unwind` and reports a panic as
//! `VT_INTERNAL`.

#![allow(non_camel_case_types)]
// The C caller owns the pointers; each function documents what it requires.
#![allow(clippy::missing_safety_doc)]

mod logging;
mod metric_families;
pub use logging::*;
pub use metric_families::*;

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;
use veritoken::{
    Config, DpopProof, Error, ErrorCode, Format, Requirement, ScopeMatch, SimpleRequest,
    VerifiedToken, Verifier,
};

/// Every outcome of a libveritoken call. 1 to 23 are the veritoken error codes (identical
/// in every language); 100 and up are C API misuse.
#[repr(C)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum vt_result {
    VT_OK = 0,
    VT_TOKEN_MISSING = 1,
    VT_TOKEN_MALFORMED = 2,
    VT_TOKEN_UNSUPPORTED = 3,
    VT_ALGORITHM_NOT_ALLOWED = 4,
    VT_KEY_NOT_FOUND = 5,
    VT_SIGNATURE_INVALID = 6,
    VT_TOKEN_EXPIRED = 7,
    VT_TOKEN_NOT_YET_VALID = 8,
    VT_TOKEN_ISSUED_IN_FUTURE = 9,
    VT_TOKEN_TOO_OLD = 10,
    VT_ISSUER_INVALID = 11,
    VT_AUDIENCE_INVALID = 12,
    VT_CLAIM_MISSING = 13,
    VT_CLAIM_INVALID = 14,
    VT_TYPE_INVALID = 15,
    VT_SCOPE_INSUFFICIENT = 16,
    VT_TOKEN_INACTIVE = 17,
    VT_DPOP_INVALID = 18,
    VT_JWKS_UNAVAILABLE = 19,
    VT_INTROSPECTION_UNAVAILABLE = 20,
    VT_CONFIG_INVALID = 21,
    VT_INTERNAL = 22,
    /// The shared DPoP replay store (Redis) could not be reached in time: proof refused.
    VT_REPLAY_STORE_UNAVAILABLE = 23,
    /// A required pointer was NULL, or a string was not valid UTF-8.
    VT_INVALID_ARGUMENT = 100,
    /// An output buffer was too small; nothing was written to it.
    VT_BUFFER_TOO_SMALL = 101,
    /// A non-waiting call (`vt_try_verify_at`, `may_wait` 0): keys must be fetched first
    /// (the fetch has started); call again allowing the wait. Not an error, not a verdict.
    VT_WOULD_BLOCK = 102,
}

impl From<ErrorCode> for vt_result {
    fn from(code: ErrorCode) -> Self {
        // The discriminants are the engine's numbers (tested below against ErrorCode::ALL).
        match code.as_int() {
            1 => vt_result::VT_TOKEN_MISSING,
            2 => vt_result::VT_TOKEN_MALFORMED,
            3 => vt_result::VT_TOKEN_UNSUPPORTED,
            4 => vt_result::VT_ALGORITHM_NOT_ALLOWED,
            5 => vt_result::VT_KEY_NOT_FOUND,
            6 => vt_result::VT_SIGNATURE_INVALID,
            7 => vt_result::VT_TOKEN_EXPIRED,
            8 => vt_result::VT_TOKEN_NOT_YET_VALID,
            9 => vt_result::VT_TOKEN_ISSUED_IN_FUTURE,
            10 => vt_result::VT_TOKEN_TOO_OLD,
            11 => vt_result::VT_ISSUER_INVALID,
            12 => vt_result::VT_AUDIENCE_INVALID,
            13 => vt_result::VT_CLAIM_MISSING,
            14 => vt_result::VT_CLAIM_INVALID,
            15 => vt_result::VT_TYPE_INVALID,
            16 => vt_result::VT_SCOPE_INSUFFICIENT,
            17 => vt_result::VT_TOKEN_INACTIVE,
            18 => vt_result::VT_DPOP_INVALID,
            19 => vt_result::VT_JWKS_UNAVAILABLE,
            20 => vt_result::VT_INTROSPECTION_UNAVAILABLE,
            21 => vt_result::VT_CONFIG_INVALID,
            23 => vt_result::VT_REPLAY_STORE_UNAVAILABLE,
            _ => vt_result::VT_INTERNAL,
        }
    }
}

/// The engine code numbered `result` (1 to 23), if any. Entry points take results as plain
/// integers: a value outside the C enum must be answered, not be undefined behaviour.
fn code_of(result: i32) -> Option<ErrorCode> {
    ErrorCode::ALL
        .iter()
        .copied()
        .find(|c| i64::from(c.as_int()) == i64::from(result))
}

/// A verifier: built once, used from any thread.
pub struct vt_verifier(Verifier);

/// A verified token. Its strings stay valid until `vt_token_free`.
pub struct vt_token {
    token: VerifiedToken,
    claims_json: CString,
    header_json: CString,
    /// The accessors' values as C strings, made on the first accessor call.
    accessors: OnceLock<Accessors>,
}

/// What the `vt_token_*` accessors hand out: the engine's values (`ClaimAccessors`), kept
/// so that their strings live as long as the token.
struct Accessors {
    issuer: CString,
    subject: Option<CString>,
    jwt_id: Option<CString>,
    dpop_jkt: Option<CString>,
    audiences: Vec<CString>,
    expires_at: Option<i64>,
    not_before: Option<i64>,
    issued_at: Option<i64>,
    /// `None`: a scope claim is malformed (`claim_invalid`).
    scopes: Option<Vec<CString>>,
}

impl Accessors {
    fn of(token: &VerifiedToken) -> Self {
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
            scopes: a.scopes.as_deref().map(list),
        }
    }
}

/// Why an entry point failed.
enum Fail {
    Engine(Error),
    Argument(&'static str),
    TooSmall,
    WouldBlock,
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Engine(e)
    }
}

/// Copies `message` into the caller's buffer, NUL-terminated, truncated on a UTF-8 boundary.
unsafe fn write_message(err: *mut c_char, err_len: usize, message: &str) {
    if err.is_null() || err_len == 0 {
        return;
    }
    let mut n = message.len().min(err_len - 1);
    while !message.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: the caller promises `err` points to `err_len` writable bytes; n < err_len.
    unsafe {
        std::ptr::copy_nonoverlapping(message.as_ptr(), err.cast::<u8>(), n);
        *err.add(n) = 0;
    }
}

/// Runs one entry point: catches panics, maps failures to a result and a message.
fn guard(err: *mut c_char, err_len: usize, body: impl FnOnce() -> Result<(), Fail>) -> vt_result {
    guard_claim(err, err_len, std::ptr::null_mut(), 0, body)
}

/// `guard` that also writes the claim a rejection names ("" when none) into `claim`.
fn guard_claim(
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
    body: impl FnOnce() -> Result<(), Fail>,
) -> vt_result {
    let (result, message, claim_name) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return vt_result::VT_OK,
        Ok(Err(Fail::Engine(e))) => (
            vt_result::from(e.code()),
            e.message().to_owned(),
            e.claim().unwrap_or_default().to_owned(),
        ),
        Ok(Err(Fail::Argument(what))) => (
            vt_result::VT_INVALID_ARGUMENT,
            what.to_owned(),
            String::new(),
        ),
        Ok(Err(Fail::WouldBlock)) => (
            vt_result::VT_WOULD_BLOCK,
            "keys are being fetched; call vt_verify_at to wait".to_owned(),
            String::new(),
        ),
        Ok(Err(Fail::TooSmall)) => (
            vt_result::VT_BUFFER_TOO_SMALL,
            "the output buffer is too small".to_owned(),
            String::new(),
        ),
        Err(_) => (
            vt_result::VT_INTERNAL,
            "internal error: a panic was caught".to_owned(),
            String::new(),
        ),
    };
    // SAFETY: the buffer contract is the caller's, as documented on every function.
    unsafe {
        write_message(err, err_len, &message);
        write_message(claim, claim_len, &claim_name);
    }
    result
}

/// A required NUL-terminated UTF-8 string argument.
unsafe fn text<'a>(p: *const c_char, what: &'static str) -> Result<&'a str, Fail> {
    if p.is_null() {
        return Err(Fail::Argument(what));
    }
    // SAFETY: non-null, and the caller promises a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Fail::Argument(what))
}

/// `n` required strings from a C array (`ptrs` may be NULL only when `n` is 0).
unsafe fn strings<'a>(
    ptrs: *const *const c_char,
    n: usize,
    what: &'static str,
) -> Result<Vec<&'a str>, Fail> {
    if n > 0 && ptrs.is_null() {
        return Err(Fail::Argument(what));
    }
    // SAFETY: the caller promises `n` readable pointers, each a NUL-terminated string.
    (0..n)
        .map(|i| unsafe { text(*ptrs.add(i), what) })
        .collect()
}

/// Copies `value` and a NUL into `out` (`out_len` bytes), or fails without writing.
unsafe fn copy_out(value: &str, out: *mut c_char, out_len: usize) -> Result<(), Fail> {
    if out.is_null() {
        return Err(Fail::Argument("out is NULL"));
    }
    if value.len() + 1 > out_len {
        return Err(Fail::TooSmall);
    }
    // SAFETY: `out` has `out_len` writable bytes and value.len() < out_len.
    unsafe {
        std::ptr::copy_nonoverlapping(value.as_ptr(), out.cast::<u8>(), value.len());
        *out.add(value.len()) = 0;
    }
    Ok(())
}

/// Hands `value` to the caller through `out` (checked non-null by the caller).
unsafe fn give<T>(out: *mut *mut T, value: T) {
    // SAFETY: `out` is non-null and points to writable storage for one pointer.
    unsafe { *out = Box::into_raw(Box::new(value)) };
}

/// Frees what `give` handed out; NULL is a no-op and a panic in a destructor stays here.
unsafe fn free_boxed<T>(p: *mut T) {
    if !p.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: made by `give` and freed once, per the API contract.
            drop(unsafe { Box::from_raw(p) });
        }));
    }
}

fn c_string(text: &str) -> CString {
    CString::new(text).unwrap_or_else(|_| CString::new(text.replace('\0', " ")).unwrap_or_default())
}

/// The body both constructors share: one string argument in, one verifier out.
unsafe fn build_verifier(
    arg: *const c_char,
    what: &'static str,
    out: *mut *mut vt_verifier,
    build: impl FnOnce(&str) -> Result<Verifier, Error>,
) -> Result<(), Fail> {
    // SAFETY: caller's string contract.
    let arg = unsafe { text(arg, what) }?;
    if out.is_null() {
        return Err(Fail::Argument("out is NULL"));
    }
    let verifier = build(arg)?;
    // SAFETY: checked non-null above.
    unsafe { give(out, vt_verifier(verifier)) };
    Ok(())
}

/// Builds a verifier from the configuration as JSON text (the schema every veritoken
/// language shares). On VT_OK `*out` owns a verifier; free it with `vt_verifier_free`.
#[no_mangle]
pub unsafe extern "C" fn vt_verifier_new(
    config_json: *const c_char,
    out: *mut *mut vt_verifier,
    err: *mut c_char,
    err_len: usize,
) -> vt_result {
    guard(err, err_len, || {
        let parse = |json: &str| Verifier::new(Config::parse(json, Format::Json)?);
        // SAFETY: forwarded caller contract.
        unsafe { build_verifier(config_json, "config_json is NULL or not UTF-8", out, parse) }
    })
}

/// Builds a verifier from a configuration file (.json, .toml, .yaml).
#[no_mangle]
pub unsafe extern "C" fn vt_verifier_from_file(
    path: *const c_char,
    out: *mut *mut vt_verifier,
    err: *mut c_char,
    err_len: usize,
) -> vt_result {
    // SAFETY: forwarded caller contract.
    guard(err, err_len, || unsafe {
        build_verifier(path, "path is NULL or not UTF-8", out, |p: &str| {
            Verifier::from_file(p)
        })
    })
}

/// Frees a verifier. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn vt_verifier_free(verifier: *mut vt_verifier) {
    // SAFETY: NULL or a verifier from vt_verifier_new / _from_file, freed once.
    unsafe { free_boxed(verifier) }
}

/// How a verification may treat a key fetch.
#[derive(Copy, Clone)]
enum Wait {
    /// Wait for it (at most the fetch timeout), now or at a given time.
    Now,
    At(i64),
    /// Never wait: VT_WOULD_BLOCK instead.
    Never(i64),
}

impl Wait {
    fn new(now: i64, may_wait: i32) -> Wait {
        if may_wait != 0 {
            Wait::At(now)
        } else {
            Wait::Never(now)
        }
    }

    /// Verifies `token` (with `proof` when it came with the DPoP scheme) as this allows.
    fn verify(
        self,
        verifier: &Verifier,
        token: &str,
        proof: Option<&DpopProof>,
    ) -> Result<VerifiedToken, Fail> {
        let now = match self {
            Wait::Now => veritoken::unix_now(),
            Wait::At(now) | Wait::Never(now) => now,
        };
        Ok(match self {
            Wait::Never(_) => verifier
                .try_verify_at(token, proof, now)
                .ok_or(Fail::WouldBlock)??,
            Wait::Now | Wait::At(_) => verifier.verify_presented_at(token, proof, now)?,
        })
    }
}

/// The verifier and output pointer every verify entry point takes, checked non-null.
unsafe fn verifier_and_out<'a>(
    verifier: *const vt_verifier,
    out: *mut *mut vt_token,
) -> Result<&'a Verifier, Fail> {
    if verifier.is_null() || out.is_null() {
        return Err(Fail::Argument("verifier or out is NULL"));
    }
    // SAFETY: non-null and made by vt_verifier_new.
    Ok(unsafe { &(*verifier).0 })
}

unsafe fn verify_with(
    verifier: *const vt_verifier,
    token: *const c_char,
    wait: Wait,
    out: *mut *mut vt_token,
) -> Result<(), Fail> {
    // SAFETY: the caller's pointer and string contracts.
    let (verifier, token) = unsafe {
        (
            verifier_and_out(verifier, out)?,
            text(token, "token is NULL or not UTF-8")?,
        )
    };
    let verified = wait.verify(verifier, token, None)?;
    // SAFETY: `out` checked non-null above.
    unsafe { hand_out(verified, out) };
    Ok(())
}

/// Gives the caller a token handle for `verified` through `out` (non-null).
unsafe fn hand_out(verified: VerifiedToken, out: *mut *mut vt_token) {
    let handle = vt_token {
        claims_json: c_string(verified.claims_json()),
        header_json: c_string(verified.header_json()),
        token: verified,
        accessors: OnceLock::new(),
    };
    // SAFETY: the caller checked `out`.
    unsafe { give(out, handle) };
}

/// Verifies `token` now. On VT_OK `*out` owns the verified token (free with
/// `vt_token_free`); otherwise the result is the rejection's code, the message goes to
/// `err` and the claim it names (e.g. "exp"; "" when none) to `claim` (NULL/0 to skip).
/// Blocks at most the key fetch timeout when keys must be fetched.
#[no_mangle]
pub unsafe extern "C" fn vt_verify(
    verifier: *const vt_verifier,
    token: *const c_char,
    out: *mut *mut vt_token,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    // SAFETY: forwarded caller contract.
    guard_claim(err, err_len, claim, claim_len, || unsafe {
        verify_with(verifier, token, Wait::Now, out)
    })
}

/// `vt_verify` as if the time were `now_unix` (seconds since the epoch).
#[no_mangle]
pub unsafe extern "C" fn vt_verify_at(
    verifier: *const vt_verifier,
    token: *const c_char,
    now_unix: i64,
    out: *mut *mut vt_token,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    // SAFETY: forwarded caller contract.
    guard_claim(err, err_len, claim, claim_len, || unsafe {
        verify_with(verifier, token, Wait::At(now_unix), out)
    })
}

/// `vt_verify_at` that never waits: VT_WOULD_BLOCK when keys must be fetched first (the
/// fetch has started). Lets a caller answer at once from cached keys and move only the rare
/// waiting call elsewhere (the Go package does so to honour context cancellation).
#[no_mangle]
pub unsafe extern "C" fn vt_try_verify_at(
    verifier: *const vt_verifier,
    token: *const c_char,
    now_unix: i64,
    out: *mut *mut vt_token,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    // SAFETY: forwarded caller contract.
    guard_claim(err, err_len, claim, claim_len, || unsafe {
        verify_with(verifier, token, Wait::Never(now_unix), out)
    })
}

/// `vt_verify_at` without a token handle, for callers that want the JSON text at once (one
/// call instead of four; the Go package's `Verify` uses it). `token` is `token_len` bytes,
/// no NUL needed (NULL only with `token_len` 0). On VT_OK the claims JSON and then the
/// header JSON are written back to back into `out` (`out_len` bytes, no NULs), and their
/// lengths into `*claims_len` and `*header_len`. The two texts of a signed token are
/// shorter than the token itself (base64url is longer than what it encodes), so `out_len >=
/// token_len` always fits; an introspected token's claims may not: VT_BUFFER_TOO_SMALL
/// (nothing written; `vt_verify_at` and its handle serve any size). With `may_wait` 0 it
/// never waits for a key fetch (VT_WOULD_BLOCK).
#[no_mangle]
pub unsafe extern "C" fn vt_verify_into(
    verifier: *const vt_verifier,
    token: *const c_char,
    token_len: usize,
    now_unix: i64,
    may_wait: i32,
    out: *mut c_char,
    out_len: usize,
    claims_len: *mut usize,
    header_len: *mut usize,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        if verifier.is_null() || claims_len.is_null() || header_len.is_null() {
            return Err(Fail::Argument("verifier, claims_len or header_len is NULL"));
        }
        if out.is_null() && out_len > 0 {
            return Err(Fail::Argument("out is NULL"));
        }
        // SAFETY: non-null and made by vt_verifier_new.
        let verifier = unsafe { &(*verifier).0 };
        // SAFETY: the caller promises `token_len` readable bytes at `token`.
        let token = unsafe { text_of_len(token, token_len, "token is NULL or not UTF-8") }?;
        let verified = Wait::new(now_unix, may_wait).verify(verifier, token, None)?;
        let (claims, header) = (verified.claims_json(), verified.header_json());
        if claims.len() + header.len() > out_len {
            return Err(Fail::TooSmall);
        }
        // SAFETY: `out` has `out_len` writable bytes, enough for both texts; both length
        // pointers were checked non-null above.
        unsafe {
            let out = out.cast::<u8>();
            std::ptr::copy_nonoverlapping(claims.as_ptr(), out, claims.len());
            std::ptr::copy_nonoverlapping(header.as_ptr(), out.add(claims.len()), header.len());
            *claims_len = claims.len();
            *header_len = header.len();
        }
        Ok(())
    })
}

/// [`text`] given by its length instead of a NUL: `len` bytes of UTF-8 (`p` may be NULL
/// only when `len` is 0).
unsafe fn text_of_len<'a>(
    p: *const c_char,
    len: usize,
    what: &'static str,
) -> Result<&'a str, Fail> {
    let bytes = match (p.is_null(), len) {
        (true, 0) => &[][..],
        (true, _) => return Err(Fail::Argument(what)),
        // SAFETY: non-null, and the caller promises `len` readable bytes.
        (false, _) => unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) },
    };
    veritoken::utf8_str(bytes).map_err(|_| Fail::Argument(what))
}

/// A token sent with the DPoP scheme and its proof (RFC 9449): `proof` is the request's
/// `DPoP` header, `method` its method and `url` the absolute URL the client called (query
/// and fragment are ignored). Otherwise like `vt_verify_at`; with `may_wait` 0 it never
/// waits for a key fetch (VT_WOULD_BLOCK, like `vt_try_verify_at`).
#[no_mangle]
pub unsafe extern "C" fn vt_verify_dpop_at(
    verifier: *const vt_verifier,
    token: *const c_char,
    proof: *const c_char,
    method: *const c_char,
    url: *const c_char,
    now_unix: i64,
    may_wait: i32,
    out: *mut *mut vt_token,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: the caller's pointer and string contracts.
        let (verifier, token, proof) = unsafe {
            (
                verifier_and_out(verifier, out)?,
                text(token, "token is NULL or not UTF-8")?,
                DpopProof {
                    proof: text(proof, "proof is NULL or not UTF-8")?,
                    method: text(method, "method is NULL or not UTF-8")?,
                    url: text(url, "url is NULL or not UTF-8")?,
                },
            )
        };
        let verified = Wait::new(now_unix, may_wait).verify(verifier, token, Some(&proof))?;
        // SAFETY: `out` checked non-null above.
        unsafe { hand_out(verified, out) };
        Ok(())
    })
}

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

/// An optional NUL-terminated UTF-8 string argument (NULL is `None`).
unsafe fn optional_text<'a>(p: *const c_char, what: &'static str) -> Result<Option<&'a str>, Fail> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: non-null; the caller's string contract.
        unsafe { text(p, what) }.map(Some)
    }
}

/// The engine's view of a C request.
unsafe fn simple_request(request: *const vt_request) -> Result<SimpleRequest, Fail> {
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
unsafe fn verify_request(
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

/// A route requirement (scopes, role policies, claim rules): built once per route.
pub struct vt_requirement(Requirement);

/// Builds a route requirement from JSON text, e.g.
/// `{"scopes": ["read"], "roles": ["my_service:admin"], "rules": [{"claim": "tenant",
/// "equals": "t-1"}]}` (fields: scopes, scope_match, roles, role_match, role_claim, rules;
/// roles are "rn:role" or "rn:role@tenant"). VT_CONFIG_INVALID names the bad field. On
/// VT_OK `*out` owns it; free it with `vt_requirement_free`. Usable from any thread.
#[no_mangle]
pub unsafe extern "C" fn vt_requirement_new(
    requirement_json: *const c_char,
    out: *mut *mut vt_requirement,
    err: *mut c_char,
    err_len: usize,
) -> vt_result {
    guard(err, err_len, || {
        // SAFETY: the caller's string contract.
        let json = unsafe { text(requirement_json, "requirement_json is NULL or not UTF-8") }?;
        if out.is_null() {
            return Err(Fail::Argument("out is NULL"));
        }
        let requirement = Requirement::parse(json, Format::Json)?;
        // SAFETY: checked non-null above.
        unsafe { give(out, vt_requirement(requirement)) };
        Ok(())
    })
}

/// Frees a requirement. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn vt_requirement_free(requirement: *mut vt_requirement) {
    // SAFETY: NULL or a requirement from vt_requirement_new, freed once.
    unsafe { free_boxed(requirement) }
}

/// VT_OK when the token meets the requirement; VT_SCOPE_INSUFFICIENT (a failing claim
/// rule names its claim in `claim`) or VT_CLAIM_INVALID (a scope or role claim of the
/// wrong shape) otherwise, with the message in `err`.
#[no_mangle]
pub unsafe extern "C" fn vt_token_check(
    token: *const vt_token,
    requirement: *const vt_requirement,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: NULL or handles made by this library.
        let (token, requirement) = unsafe { (token.as_ref(), requirement.as_ref()) };
        let (Some(token), Some(requirement)) = (token, requirement) else {
            return Err(Fail::Argument("token or requirement is NULL"));
        };
        requirement.0.check(&token.token)?;
        Ok(())
    })
}

/// `vt_token_check` for a claims set held as JSON text (what `vt_token_claims_json` gave).
#[no_mangle]
pub unsafe extern "C" fn vt_claims_check(
    claims_json: *const c_char,
    requirement: *const vt_requirement,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: the caller's string contract; NULL or a requirement made here.
        let (json, requirement) = unsafe {
            (
                text(claims_json, "claims_json is NULL or not UTF-8")?,
                requirement.as_ref(),
            )
        };
        let requirement = requirement.ok_or(Fail::Argument("requirement is NULL"))?;
        let claims: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|_| Fail::Argument("claims_json is not a JSON object"))?;
        requirement.0.check_claims(&claims)?;
        Ok(())
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

/// The body of every `vt_token_*` accessor: `read` of the token's accessors, written to
/// `*out` only on VT_OK. NULL `token` or `out`: VT_INVALID_ARGUMENT.
///
/// # Safety
/// `token` is NULL or made by a verify call and not freed; `out` is NULL or writable.
unsafe fn accessor<T>(
    token: *const vt_token,
    out: *mut T,
    read: impl FnOnce(&Accessors) -> Result<T, Fail>,
) -> vt_result {
    guard(std::ptr::null_mut(), 0, || {
        // SAFETY: NULL or a token made by a verify call.
        let token = unsafe { token.as_ref() }.ok_or(Fail::Argument("token is NULL"))?;
        if out.is_null() {
            return Err(Fail::Argument("out is NULL"));
        }
        let value = read(token.accessors.get_or_init(|| Accessors::of(&token.token)))?;
        // SAFETY: checked non-null; the caller's storage for one `T`.
        unsafe { out.write(value) };
        Ok(())
    })
}

/// VT_CLAIM_MISSING for an accessor whose claim is absent (or of another type).
fn present<T>(value: Option<T>, claim: &'static str) -> Result<T, Fail> {
    value.ok_or_else(|| {
        Fail::Engine(Error::for_claim(
            ErrorCode::ClaimMissing,
            claim,
            format!("the token has no {claim}"),
        ))
    })
}

fn c_ptr(s: &CString) -> *const c_char {
    s.as_ptr()
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

/// The scopes malformed: what `vt_token_scope_count` and `vt_token_scope` answer.
fn scopes_of(a: &Accessors) -> Result<&[CString], Fail> {
    a.scopes.as_deref().ok_or_else(|| {
        Fail::Engine(Error::new(
            ErrorCode::ClaimInvalid,
            "a scope claim has the wrong type",
        ))
    })
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
/// The Go package reads its `Token` accessors through this. VT_TOKEN_MALFORMED when
/// `claims_json` is not a JSON object.
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
        let text =
            unsafe { text_of_len(claims_json, claims_len, "claims_json is NULL or not UTF-8") }?;
        let json = veritoken::claim_accessors_json(text)?;
        // SAFETY: the caller's buffer contract.
        unsafe { copy_out(&json, out, out_len) }
    })
}

/// VT_OK when the token grants the `n` scopes in `scopes` (all of them, or any one when
/// `match_any` is non-zero); VT_SCOPE_INSUFFICIENT or VT_CLAIM_INVALID otherwise, with the
/// message in `err` and the claim named in `claim` as for `vt_verify`.
#[no_mangle]
pub unsafe extern "C" fn vt_token_require_scopes(
    token: *const vt_token,
    scopes: *const *const c_char,
    n: usize,
    match_any: i32,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: NULL or a token made by vt_verify.
        let token = unsafe { token.as_ref() }.ok_or(Fail::Argument("token is NULL"))?;
        // SAFETY: the caller's array contract.
        let required = unsafe { strings(scopes, n, "a scope is NULL or not UTF-8") }?;
        token
            .token
            .require_scopes(&required, scope_match(match_any))?;
        Ok(())
    })
}

/// `vt_token_require_scopes` for a claims set held as JSON text (what `vt_token_claims_json`
/// gave), for callers that keep the claims rather than the token handle.
#[no_mangle]
pub unsafe extern "C" fn vt_claims_require_scopes(
    claims_json: *const c_char,
    scopes: *const *const c_char,
    n: usize,
    match_any: i32,
    err: *mut c_char,
    err_len: usize,
    claim: *mut c_char,
    claim_len: usize,
) -> vt_result {
    guard_claim(err, err_len, claim, claim_len, || {
        // SAFETY: the caller's string and array contracts.
        let (json, required) = unsafe {
            (
                text(claims_json, "claims_json is NULL or not UTF-8")?,
                strings(scopes, n, "a scope is NULL or not UTF-8")?,
            )
        };
        let claims: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json)
            .map_err(|_| Fail::Argument("claims_json is not a JSON object"))?;
        veritoken::require_scopes(&claims, &required, scope_match(match_any))?;
        Ok(())
    })
}

fn scope_match(match_any: i32) -> ScopeMatch {
    if match_any != 0 {
        ScopeMatch::Any
    } else {
        ScopeMatch::All
    }
}

/// Frees a verified token. NULL is accepted.
#[no_mangle]
pub unsafe extern "C" fn vt_token_free(token: *mut vt_token) {
    // SAFETY: NULL or a token from vt_verify, freed once.
    unsafe { free_boxed(token) }
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

/// The request headers the verifier's token extraction reads: its `token_sources`, plus
/// `authorization` and `dpop` with DPoP enabled. Lowercase, separated by `\n` (none after
/// the last; "" when only the query is read), copied NUL-terminated into `out`. A caller
/// that copies a request's headers for `vt_extract_token` or `vt_verify_request_at` may
/// pass only those (compared ASCII case-insensitively): no other header changes the result.
/// 256 bytes suffice unless the configuration names long custom headers.
#[no_mangle]
pub unsafe extern "C" fn vt_verifier_credential_header_names(
    verifier: *const vt_verifier,
    out: *mut c_char,
    out_len: usize,
    err: *mut c_char,
    err_len: usize,
) -> vt_result {
    // SAFETY: the caller's verifier and buffer contracts.
    unsafe {
        verifier_text(verifier, out, out_len, err, err_len, |v| {
            Ok(v.credential_header_names().join("\n"))
        })
    }
}

/// The verifier's counters as JSON (see the README), copied NUL-terminated into `out`.
#[no_mangle]
pub unsafe extern "C" fn vt_verifier_metrics_json(
    verifier: *const vt_verifier,
    out: *mut c_char,
    out_len: usize,
    err: *mut c_char,
    err_len: usize,
) -> vt_result {
    // SAFETY: the caller's verifier and buffer contracts.
    unsafe {
        verifier_text(verifier, out, out_len, err, err_len, |v| {
            serde_json::to_string(&v.metrics())
                .map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))
        })
    }
}

/// The body of the entry points that answer with a text about a verifier: `text` of it,
/// copied NUL-terminated into `out` (`out_len` bytes), or the failure into `err`.
///
/// # Safety
/// `verifier` is NULL or made by vt_verifier_new; `out` holds `out_len` writable bytes.
unsafe fn verifier_text(
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
unsafe fn rebuild_error(
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

/// The snake_case name of a result ("ok", "token_expired", "invalid_argument", ...);
/// "unknown" for a number that is no result. A static string, never NULL.
#[no_mangle]
pub extern "C" fn vt_result_name(result: i32) -> *const c_char {
    const OK: i32 = vt_result::VT_OK as i32;
    const INVALID_ARGUMENT: i32 = vt_result::VT_INVALID_ARGUMENT as i32;
    const BUFFER_TOO_SMALL: i32 = vt_result::VT_BUFFER_TOO_SMALL as i32;
    const WOULD_BLOCK: i32 = vt_result::VT_WOULD_BLOCK as i32;
    let name: &'static CStr = match result {
        OK => c"ok",
        INVALID_ARGUMENT => c"invalid_argument",
        BUFFER_TOO_SMALL => c"buffer_too_small",
        WOULD_BLOCK => c"would_block",
        other => match code_of(other) {
            Some(code) => code_names()[code.as_int() as usize - 1].as_c_str(),
            None => c"unknown",
        },
    };
    name.as_ptr()
}

/// The engine's code names, NUL-terminated, in code order (made once from `ErrorCode::ALL`).
fn code_names() -> &'static [CString] {
    static NAMES: std::sync::OnceLock<Vec<CString>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        ErrorCode::ALL
            .iter()
            .map(|c| CString::new(c.as_str()).expect("code names hold no NUL"))
            .collect()
    })
}

/// The HTTP status a middleware answers with for a result: 0 for VT_OK, for
/// config_invalid, for API misuse and for a number that is no result.
#[no_mangle]
pub extern "C" fn vt_result_http_status(result: i32) -> u16 {
    code_of(result).and_then(|c| c.http_status()).unwrap_or(0)
}

/// The library's version, e.g. "0.1.0": the workspace version every veritoken package
/// carries (Python `__version__`, Node `version`, Go `Version()`, `veritoken --version`);
/// a static string, never NULL.
#[no_mangle]
pub extern "C" fn vt_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(version) => version,
            Err(_) => panic!("the package version contains a NUL byte"),
        };
    catch_unwind(|| VERSION.as_ptr()).unwrap_or(c"unknown".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_match_the_engine_codes() {
        for code in ErrorCode::ALL {
            let r = vt_result::from(*code);
            assert_eq!(r as u32, code.as_int());
            assert_eq!(code_of(r as i32), Some(*code));
            // SAFETY: static NUL-terminated strings.
            let name = unsafe { CStr::from_ptr(vt_result_name(r as i32)) }
                .to_str()
                .unwrap();
            assert_eq!(name, code.as_str());
        }
        assert_eq!(
            vt_result_http_status(vt_result::VT_SCOPE_INSUFFICIENT as i32),
            403
        );
        assert_eq!(vt_result_http_status(vt_result::VT_OK as i32), 0);
        assert_eq!(
            vt_result_http_status(vt_result::VT_REPLAY_STORE_UNAVAILABLE as i32),
            503
        );
    }

    #[test]
    fn numbers_outside_the_enum_are_answered() {
        for n in [-1, 24, 99, 103, i32::MIN, i32::MAX] {
            // SAFETY: a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(vt_result_name(n)) };
            assert_eq!(name.to_str().unwrap(), "unknown", "{n}");
            assert_eq!(vt_result_http_status(n), 0, "{n}");
        }
    }

    #[test]
    fn messages_truncate_on_char_boundaries() {
        let mut buf = [0x55 as c_char; 6];
        // SAFETY: a 6-byte buffer.
        unsafe { write_message(buf.as_mut_ptr(), 6, "zoë is here") };
        // SAFETY: NUL-terminated by write_message.
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) };
        assert_eq!(text.to_str().unwrap(), "zoë ");
    }

    #[test]
    fn header_is_up_to_date() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let config = cbindgen::Config::from_file(format!("{dir}/cbindgen.toml")).unwrap();
        let mut generated = Vec::new();
        cbindgen::Builder::new()
            .with_crate(dir)
            .with_config(config)
            .generate()
            .unwrap()
            .write(&mut generated);
        let path = format!("{dir}/include/veritoken.h");
        if std::env::var_os("VERITOKEN_WRITE_HEADER").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read(&path).unwrap_or_default();
        assert!(
            generated == committed,
            "include/veritoken.h is out of date: run `make header` and commit it"
        );
    }
}
