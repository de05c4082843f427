//! The one place engine errors become Python exceptions: a base `VeritokenError` with
//! `code`, `message`, `claim` and `status`, and one subclass per family of codes.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use veritoken::{Error, ErrorCode};

/// Set by `_panic_for_tests(True)`: the next guarded call panics, so the tests can see
/// that its panic becomes InternalError.
static PANIC_NEXT: AtomicBool = AtomicBool::new(false);

/// Runs one entry point's `body`; a panic in it (or in the engine under it) becomes
/// InternalError (code `internal`) instead of pyo3's PanicException, a BaseException
/// that `except Exception` would miss.
pub fn guard<T>(body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    catch_unwind(AssertUnwindSafe(|| {
        if PANIC_NEXT.load(Ordering::Relaxed) && PANIC_NEXT.swap(false, Ordering::Relaxed) {
            panic!("a panic for the tests");
        }
        body()
    }))
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(to_py(Error::new(
            ErrorCode::Internal,
            format!("internal error (a bug; please report it): panic: {what}"),
        )))
    })
}

/// Test hook: `True` makes the next guarded call panic; `False` panics right here, inside
/// a guard.
#[pyfunction]
pub fn _panic_for_tests(next_call: bool) -> PyResult<()> {
    if next_call {
        PANIC_NEXT.store(true, Ordering::Relaxed);
        return Ok(());
    }
    guard(|| panic!("a panic for the tests"))
}

create_exception!(
    veritoken,
    VeritokenError,
    PyException,
    "Base of every veritoken error."
);
create_exception!(
    veritoken,
    TokenMissing,
    VeritokenError,
    "No token in the request (401)."
);
create_exception!(
    veritoken,
    InvalidToken,
    VeritokenError,
    "The token was refused (401)."
);
create_exception!(
    veritoken,
    TokenMalformed,
    InvalidToken,
    "token_malformed, token_unsupported."
);
create_exception!(
    veritoken,
    SignatureInvalid,
    InvalidToken,
    "signature_invalid, algorithm_not_allowed."
);
create_exception!(
    veritoken,
    KeyNotFound,
    InvalidToken,
    "No key for the token's kid."
);
create_exception!(veritoken, TokenExpired, InvalidToken, "exp is past.");
create_exception!(
    veritoken,
    ClaimsInvalid,
    InvalidToken,
    "Time, issuer, audience, type or other claim rules."
);
create_exception!(
    veritoken,
    TokenInactive,
    InvalidToken,
    "Introspection says inactive."
);
create_exception!(
    veritoken,
    DPoPInvalid,
    InvalidToken,
    "The DPoP proof was refused."
);
create_exception!(
    veritoken,
    ScopeInsufficient,
    VeritokenError,
    "A required scope is missing (403)."
);
create_exception!(
    veritoken,
    Unavailable,
    VeritokenError,
    "Keys, introspection or the replay store unavailable (503)."
);
create_exception!(
    veritoken,
    JwksUnavailable,
    Unavailable,
    "The key set cannot be fetched."
);
create_exception!(
    veritoken,
    IntrospectionUnavailable,
    Unavailable,
    "The introspection endpoint cannot be reached."
);
create_exception!(
    veritoken,
    ReplayStoreUnavailable,
    Unavailable,
    "The shared DPoP replay store (Redis) cannot be reached: the proof was refused."
);
create_exception!(
    veritoken,
    ConfigInvalid,
    VeritokenError,
    "The configuration was refused."
);
create_exception!(
    veritoken,
    InternalError,
    VeritokenError,
    "A bug: please report it."
);

/// The exception for an engine error, with its attributes set.
pub fn to_py(e: Error) -> PyErr {
    use ErrorCode::*;
    let message = e.message().to_owned();
    let err = match e.code() {
        TokenMissing => self::TokenMissing::new_err(message),
        TokenMalformed | TokenUnsupported => self::TokenMalformed::new_err(message),
        SignatureInvalid | AlgorithmNotAllowed => self::SignatureInvalid::new_err(message),
        KeyNotFound => self::KeyNotFound::new_err(message),
        TokenExpired => self::TokenExpired::new_err(message),
        TokenNotYetValid | TokenIssuedInFuture | TokenTooOld | IssuerInvalid | AudienceInvalid
        | ClaimMissing | ClaimInvalid | TypeInvalid => ClaimsInvalid::new_err(message),
        TokenInactive => self::TokenInactive::new_err(message),
        DpopInvalid => DPoPInvalid::new_err(message),
        ScopeInsufficient => self::ScopeInsufficient::new_err(message),
        JwksUnavailable => self::JwksUnavailable::new_err(message),
        IntrospectionUnavailable => self::IntrospectionUnavailable::new_err(message),
        ConfigInvalid => self::ConfigInvalid::new_err(message),
        Internal => InternalError::new_err(message),
        ReplayStoreUnavailable => self::ReplayStoreUnavailable::new_err(message),
    };
    Python::attach(|py| {
        let value = err.value(py);
        let status = e.code().http_status().unwrap_or(500);
        // Setting attributes on a fresh exception instance cannot fail in practice; if it
        // did, the exception still carries its class and message.
        let _ = value.setattr("code", e.code().as_str());
        let _ = value.setattr("message", e.message());
        let _ = value.setattr("claim", e.claim());
        let _ = value.setattr("status", status);
    });
    err
}

/// The engine error an exception stands for (what `error_response` answers with).
pub fn from_py(err: &Bound<'_, PyAny>) -> Error {
    let text = |name: &str| -> Option<String> { err.getattr(name).ok()?.extract().ok() };
    let code = text("code")
        .and_then(|c| ErrorCode::from_name(&c))
        .unwrap_or(ErrorCode::Internal);
    let message = text("message").unwrap_or_default();
    match text("claim") {
        Some(claim) => Error::for_claim(code, &claim, message),
        None => Error::new(code, message),
    }
}

/// Test hook: the exception the binding raises for the engine code `code` (with
/// `message`), so the tests can check every code's class, `code` and `status` against the
/// engine's table (tests/vectors/error_codes.json).
#[pyfunction]
pub fn _error_for_code(code: &str, message: &str) -> PyResult<Py<PyAny>> {
    let code = ErrorCode::from_name(code).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!("no error code {code:?}"))
    })?;
    Python::attach(|py| Ok(to_py(Error::new(code, message)).into_value(py).into_any()))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let codes: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    m.add("ERROR_CODES", pyo3::types::PyTuple::new(py, codes)?)?;
    m.add_function(wrap_pyfunction!(_error_for_code, m)?)?;
    m.add("VeritokenError", py.get_type::<VeritokenError>())?;
    m.add("TokenMissing", py.get_type::<TokenMissing>())?;
    m.add("InvalidToken", py.get_type::<InvalidToken>())?;
    m.add("TokenMalformed", py.get_type::<TokenMalformed>())?;
    m.add("SignatureInvalid", py.get_type::<SignatureInvalid>())?;
    m.add("KeyNotFound", py.get_type::<KeyNotFound>())?;
    m.add("TokenExpired", py.get_type::<TokenExpired>())?;
    m.add("ClaimsInvalid", py.get_type::<ClaimsInvalid>())?;
    m.add("TokenInactive", py.get_type::<TokenInactive>())?;
    m.add("DPoPInvalid", py.get_type::<DPoPInvalid>())?;
    m.add("ScopeInsufficient", py.get_type::<ScopeInsufficient>())?;
    m.add("Unavailable", py.get_type::<Unavailable>())?;
    m.add("JwksUnavailable", py.get_type::<JwksUnavailable>())?;
    m.add(
        "IntrospectionUnavailable",
        py.get_type::<IntrospectionUnavailable>(),
    )?;
    m.add(
        "ReplayStoreUnavailable",
        py.get_type::<ReplayStoreUnavailable>(),
    )?;
    m.add("ConfigInvalid", py.get_type::<ConfigInvalid>())?;
    m.add("InternalError", py.get_type::<InternalError>())?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
