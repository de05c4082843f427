//! The one result enum with fixed numbers, and what C can ask of a number (name, HTTP status).

use crate::*;

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
pub(crate) fn code_of(result: i32) -> Option<ErrorCode> {
    ErrorCode::ALL
        .iter()
        .copied()
        .find(|c| i64::from(c.as_int()) == i64::from(result))
}

/// The snake_case name of a result ("ok", "token_expired", "invalid_argument", ...);
/// "unknown" for a number that is no result. A static string, never NULL.
#[no_mangle]
pub extern "C" fn vt_result_name(result: i32) -> *const c_char {
    const OK: i32 = vt_result::VT_OK as i32;
    const INVALID_ARGUMENT: i32 = vt_result::VT_INVALID_ARGUMENT as i32;
    const BUFFER_TOO_SMALL: i32 = vt_result::VT_BUFFER_TOO_SMALL as i32;
    const WOULD_BLOCK: i32 = vt_result::VT_WOULD_BLOCK as i32;
    // The panic boundary every export has (the table lookup cannot fail for a known code).
    let name = std::panic::catch_unwind(|| -> &'static CStr {
        match result {
            OK => c"ok",
            INVALID_ARGUMENT => c"invalid_argument",
            BUFFER_TOO_SMALL => c"buffer_too_small",
            WOULD_BLOCK => c"would_block",
            other => match code_of(other) {
                Some(code) => code_names()[code.as_int() as usize - 1].as_c_str(),
                None => c"unknown",
            },
        }
    });
    name.unwrap_or(c"unknown").as_ptr()
}

/// The engine's code names, NUL-terminated, in code order (made once from `ErrorCode::ALL`).
pub(crate) fn code_names() -> &'static [CString] {
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
