//! vt_verifier: built from a configuration, verifies tokens (with or without waiting for keys), DPoP-bound tokens, and reports its metrics.

use crate::*;

/// A verifier: built once, used from any thread.
pub struct vt_verifier(pub(crate) Verifier);

/// The body both constructors share: one string argument in, one verifier out.
pub(crate) unsafe fn build_verifier(
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
pub(crate) enum Wait {
    /// Wait for it (at most the fetch timeout), now or at a given time.
    Now,
    At(i64),
    /// Never wait: VT_WOULD_BLOCK instead.
    Never(i64),
}

impl Wait {
    pub(crate) fn new(now: i64, may_wait: i32) -> Wait {
        if may_wait != 0 {
            Wait::At(now)
        } else {
            Wait::Never(now)
        }
    }

    /// Verifies `token` (with `proof` when it came with the DPoP scheme) as this allows.
    pub(crate) fn verify(
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
pub(crate) unsafe fn verifier_and_out<'a>(
    verifier: *const vt_verifier,
    out: *mut *mut vt_token,
) -> Result<&'a Verifier, Fail> {
    if verifier.is_null() || out.is_null() {
        return Err(Fail::Argument("verifier or out is NULL"));
    }
    // SAFETY: non-null and made by vt_verifier_new.
    Ok(unsafe { &(*verifier).0 })
}

pub(crate) unsafe fn verify_with(
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
pub(crate) unsafe fn hand_out(verified: VerifiedToken, out: *mut *mut vt_token) {
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

/// `vt_verify_at` without a token handle, for callers that want the values at once (one
/// call instead of several; the Go package's `Verify` uses it). `token` is `token_len`
/// bytes, no NUL needed (NULL only with `token_len` 0). On VT_OK the claims JSON and then
/// the header JSON are written back to back into `out` (`out_len` bytes, no NULs), and
/// their lengths into `*claims_len` and `*header_len`.
///
/// When `accessors_len` is not NULL, the token's accessor record follows the header and its
/// length goes to `*accessors_len`: every `vt_token_*` accessor's value in one flat string.
/// Little-endian u32 flags (bit 0 `sub`, 1 `jti`, 2 `cnf.jkt`, 3 `exp`, 4 `nbf`, 5 `iat`
/// present; bit 6 a scope claim is malformed); i64 `exp`, `nbf`, `iat` (0 when absent);
/// the texts issuer, subject, jwt_id and dpop_jkt, each a u32 length and UTF-8 ("" when
/// absent); a u32 count of audiences and their texts; a u32 count of scopes and their texts
/// (0 when malformed). It takes at most `3 * claims_len + 64` bytes.
///
/// The two texts of a signed token are shorter than the token itself (base64url is longer
/// than what it encodes), so `out_len >= token_len` always fits them, and `out_len >= 4 *
/// token_len + 64` with the record; an introspected token's claims may not. Then, when
/// `overflow` is not NULL, the token is handed over instead: VT_OK with `*overflow` a token
/// handle (free it with `vt_token_free`) and nothing written to `out` or the lengths, so a
/// large answer is not verified twice. With `overflow` NULL: VT_BUFFER_TOO_SMALL, nothing
/// written. On every other VT_OK `*overflow` (when not NULL) is set to NULL.
/// With `may_wait` 0 it never waits for a key fetch (VT_WOULD_BLOCK).
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
    accessors_len: *mut usize,
    overflow: *mut *mut vt_token,
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
        let record = match accessors_len.is_null() {
            true => Vec::new(),
            false => accessor_record(&verified.accessors()),
        };
        let texts = claims.len() + header.len();
        if texts + record.len() > out_len {
            if overflow.is_null() {
                return Err(Fail::TooSmall);
            }
            // SAFETY: `overflow` is non-null and writable (the caller's contract).
            unsafe { hand_out(verified, overflow) };
            return Ok(());
        }
        // SAFETY: `out` has `out_len` writable bytes, enough for the three parts; both text
        // length pointers were checked non-null above, `accessors_len` just now.
        unsafe {
            let out = out.cast::<u8>();
            std::ptr::copy_nonoverlapping(claims.as_ptr(), out, claims.len());
            std::ptr::copy_nonoverlapping(header.as_ptr(), out.add(claims.len()), header.len());
            std::ptr::copy_nonoverlapping(record.as_ptr(), out.add(texts), record.len());
            *claims_len = claims.len();
            *header_len = header.len();
            if !accessors_len.is_null() {
                *accessors_len = record.len();
            }
            if !overflow.is_null() {
                *overflow = std::ptr::null_mut();
            }
        }
        Ok(())
    })
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
