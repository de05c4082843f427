//! The token in and the verified token out, converted with fewer passes than napi-rs's
//! `String` conversions. Those measure the UTF-8 length of a string first (a scan), then
//! allocate a zeroed buffer and copy; and a returned `String` is one more allocation. For
//! a 247-byte HS256 token in and its claims out that came to ~0.8 µs per call, close to
//! the engine's own time.

use crate::layout::{append_shape, LayoutOut};
use napi::bindgen_prelude::*;
use std::cell::RefCell;
use std::ptr;

/// A string argument as UTF-8, read no further than `MOST` bytes (whole characters).
pub struct Text<const MOST: usize = { usize::MAX }>(pub String);

/// The token argument: read no further than [`veritoken::LARGEST_MAX_TOKEN_SIZE`] and a
/// few bytes. No verifier accepts a longer token, so the engine still refuses a longer
/// string as too large, but a 100 MB string is no longer copied (into a 300 MB buffer)
/// before that. V8 writes whole characters only, so a cut may fall up to three bytes
/// short of its buffer: four bytes past the limit still leave a string over it.
pub type Token = Text<{ veritoken::LARGEST_MAX_TOKEN_SIZE + 4 }>;

impl<const MOST: usize> TypeName for Text<MOST> {
    fn type_name() -> &'static str {
        "String"
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl<const MOST: usize> ValidateNapiValue for Text<MOST> {}

impl<const MOST: usize> FromNapiValue for Text<MOST> {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        // SAFETY: as the caller's.
        unsafe { read_utf8(env, value, MOST) }.map(Text)
    }
}

/// `value` as UTF-8, at most `most` bytes of it (whole characters).
///
/// # Safety
/// `env` and `value` must be napi's, for the running call.
unsafe fn read_utf8(env: sys::napi_env, value: sys::napi_value, most: usize) -> Result<String> {
    let not_a_string = || Error::new(Status::StringExpected, "expected a string");
    let mut units = 0usize;
    // SAFETY: `env` and `value` come from napi for this call. With no buffer, the UTF-16
    // call only reports the length in code units, which V8 keeps.
    let status =
        unsafe { sys::napi_get_value_string_utf16(env, value, ptr::null_mut(), 0, &mut units) };
    if status != sys::Status::napi_ok {
        return Err(not_a_string());
    }
    // A code unit is at most three UTF-8 bytes (a surrogate pair, two units, is four), so
    // this never truncates below `most`; one more byte for the terminating NUL napi writes.
    let capacity = units.saturating_mul(3).min(most).saturating_add(1);
    let mut bytes = Vec::<u8>::with_capacity(capacity);
    let mut written = 0usize;
    // SAFETY: napi writes at most `capacity` bytes into the spare capacity and reports how
    // many, NUL excluded; only those are then taken as initialized.
    unsafe {
        if sys::napi_get_value_string_utf8(
            env,
            value,
            bytes.as_mut_ptr().cast(),
            capacity,
            &mut written,
        ) != sys::Status::napi_ok
        {
            return Err(not_a_string());
        }
        bytes.set_len(written.min(capacity - 1));
    }
    // V8 replaces unpaired surrogates, so this holds; checked all the same.
    veritoken::utf8_string(bytes)
        .map_err(|_| Error::new(Status::StringExpected, "the string is not valid UTF-8"))
}

thread_local! {
    /// The answer is assembled here, then copied once into the JS string.
    static ANSWER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A verified token as one JS string: its header JSON, U+0001, then its claims JSON. One
/// string crosses into JS faster than an array of two, and JS parses each half only when
/// it is read. U+0001 cannot occur in either text (JSON escapes control characters).
pub struct Answer(pub veritoken::VerifiedToken);

impl TypeName for Answer {
    fn type_name() -> &'static str {
        "String"
    }

    fn value_type() -> ValueType {
        ValueType::String
    }
}

impl ToNapiValue for Answer {
    unsafe fn to_napi_value(env: sys::napi_env, answer: Self) -> Result<sys::napi_value> {
        // SAFETY: `env` is the running call's.
        unsafe { answer_string(env, &answer.0, None) }
    }
}

/// `token`'s answer string: header JSON, U+0001, claims JSON, and, given a `layout`, the
/// claims' shape (see `layout.rs`).
///
/// # Safety
/// `env` must be the running call's.
pub unsafe fn answer_string(
    env: sys::napi_env,
    token: &veritoken::VerifiedToken,
    layout: Option<&LayoutOut>,
) -> Result<sys::napi_value> {
    let (header, claims) = (token.header_json(), token.claims_json());
    ANSWER.with(|buffer| {
        // Nothing here calls back into JS, so the buffer is never borrowed twice.
        let mut text = buffer.borrow_mut();
        text.clear();
        text.extend_from_slice(header.as_bytes());
        text.push(1);
        text.extend_from_slice(claims.as_bytes());
        let ascii = text.is_ascii();
        if let (true, Some(layout)) = (ascii, layout) {
            // SAFETY: `env` is the running call's, the one the layout was bound in.
            let layout = unsafe { layout.view(env)? };
            append_shape(&mut text, token, header.len() + 1, &layout);
        }
        let mut out = ptr::null_mut();
        // Lossless: no Rust allocation exceeds isize::MAX bytes.
        let len = text.len() as isize;
        // SAFETY: `text` is live for the call; V8 copies it. ASCII (the usual claims)
        // is handed over as Latin-1, a plain copy; anything else as UTF-8.
        let status = unsafe {
            if ascii {
                sys::napi_create_string_latin1(env, text.as_ptr().cast(), len, &mut out)
            } else {
                sys::napi_create_string_utf8(env, text.as_ptr().cast(), len, &mut out)
            }
        };
        if text.capacity() > 64 * 1024 {
            *text = Vec::new(); // an outsized answer does not pin its buffer
        }
        match status {
            sys::Status::napi_ok => Ok(out),
            other => Err(Error::new(
                Status::from(other),
                "could not create the answer string",
            )),
        }
    })
}
