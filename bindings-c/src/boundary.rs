//! The C boundary: panics caught, messages copied into the caller's buffer, pointers read and outputs written only on success.

use crate::*;

/// Why an entry point failed.
pub(crate) enum Fail {
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
pub(crate) unsafe fn write_message(err: *mut c_char, err_len: usize, message: &str) {
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
pub(crate) fn guard(
    err: *mut c_char,
    err_len: usize,
    body: impl FnOnce() -> Result<(), Fail>,
) -> vt_result {
    guard_claim(err, err_len, std::ptr::null_mut(), 0, body)
}

/// `guard` that also writes the claim a rejection names ("" when none) into `claim`.
pub(crate) fn guard_claim(
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
pub(crate) unsafe fn text<'a>(p: *const c_char, what: &'static str) -> Result<&'a str, Fail> {
    if p.is_null() {
        return Err(Fail::Argument(what));
    }
    // SAFETY: non-null, and the caller promises a NUL-terminated string.
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Fail::Argument(what))
}

/// Claims JSON text given with its length (`claims_len` bytes at `p`).
pub(crate) unsafe fn claims_text<'a>(p: *const c_char, len: usize) -> Result<&'a str, Fail> {
    // SAFETY: the caller promises `len` readable bytes at `p`.
    unsafe { text_of_len(p, len, "claims_json is NULL or not UTF-8") }
}

/// A claims set passed as NUL-terminated JSON text (what `vt_token_claims_json` gave):
/// VT_INVALID_ARGUMENT when NULL, not UTF-8 or not a JSON object.
pub(crate) unsafe fn claims_of(
    p: *const c_char,
) -> Result<serde_json::Map<String, serde_json::Value>, Fail> {
    // SAFETY: the caller's string contract.
    let json = unsafe { text(p, "claims_json is NULL or not UTF-8") }?;
    serde_json::from_str(json).map_err(|_| Fail::Argument("claims_json is not a JSON object"))
}

/// `n` required strings from a C array (`ptrs` may be NULL only when `n` is 0).
pub(crate) unsafe fn strings<'a>(
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
pub(crate) unsafe fn copy_out(value: &str, out: *mut c_char, out_len: usize) -> Result<(), Fail> {
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
pub(crate) unsafe fn give<T>(out: *mut *mut T, value: T) {
    // SAFETY: `out` is non-null and points to writable storage for one pointer.
    unsafe { *out = Box::into_raw(Box::new(value)) };
}

/// Frees what `give` handed out; NULL is a no-op and a panic in a destructor stays here.
pub(crate) unsafe fn free_boxed<T>(p: *mut T) {
    if !p.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: made by `give` and freed once, per the API contract.
            drop(unsafe { Box::from_raw(p) });
        }));
    }
}

pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text).unwrap_or_else(|_| CString::new(text.replace('\0', " ")).unwrap_or_default())
}

/// [`text`] given by its length instead of a NUL: `len` bytes of UTF-8 (`p` may be NULL
/// only when `len` is 0).
pub(crate) unsafe fn text_of_len<'a>(
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

/// An optional NUL-terminated UTF-8 string argument (NULL is `None`).
pub(crate) unsafe fn optional_text<'a>(
    p: *const c_char,
    what: &'static str,
) -> Result<Option<&'a str>, Fail> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: non-null; the caller's string contract.
        unsafe { text(p, what) }.map(Some)
    }
}

/// The body of every `vt_token_*` accessor: `read` of the token's accessors, written to
/// `*out` only on VT_OK. NULL `token` or `out`: VT_INVALID_ARGUMENT.
///
/// # Safety
/// `token` is NULL or made by a verify call and not freed; `out` is NULL or writable.
pub(crate) unsafe fn accessor<T>(
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
pub(crate) fn present<T>(value: Option<T>, claim: &'static str) -> Result<T, Fail> {
    value.ok_or_else(|| {
        Fail::Engine(Error::for_claim(
            ErrorCode::ClaimMissing,
            claim,
            format!("the token has no {claim}"),
        ))
    })
}

pub(crate) fn c_ptr(s: &CString) -> *const c_char {
    s.as_ptr()
}
