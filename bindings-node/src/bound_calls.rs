//! `verifySync`, `tryVerify` and `extractCredential`, the calls every request makes, as
//! plain napi callbacks bound to one verifier. napi-rs 3.16's glue for a `#[napi]`
//! function with arguments opens a borrow-tracking scope on every call (an `Arc<Mutex<_>>`
//! allocated, locked and freed, and two thread-local stacks pushed and popped), whether or
//! not anything is borrowed: ~1,400 instructions and a malloc/free pair of an HS256 call,
//! measured with callgrind. Taking the verifier as an argument costs too: napi-rs proves
//! an external is its own by a lookup in a global locked, SipHashed registry. So
//! [`verify_calls`] makes, once per verifier, three functions whose napi `data` is a
//! [`Bound`]: a strong count of the verifier and, for the two that verify, the layout
//! array of `layout.rs` (released by a finalizer when the function is collected). A call
//! only reads it back.
//!
//! The callbacks convert their arguments with napi-rs's conversions (strings with
//! `string_io.rs`'s, `now` with [`Seconds`]) and throw the errors every export throws. Like
//! every export, they catch panics, which they throw as the engine's `internal` error.
//! `extractCredential` on a bearer header measured ~3.8 µs per call as a class method,
//! ~2.4 µs bound.

use crate::{
    extract_credential,
    layout::LayoutOut,
    panic_error,
    string_io::{answer_string, Text, Token},
    try_verify, verify_sync, DpopArgs, Seconds,
};
use napi::bindgen_prelude::*;
use std::ffi::{c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use veritoken::{VerifiedToken, Verifier};

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// `verify_sync` or `try_verify`: token, now, dpop in; the verified token (`None`: keys
/// must be fetched first) out.
type VerifyFn =
    fn(&Verifier, &str, Option<Seconds>, Option<DpopArgs>) -> Result<Option<VerifiedToken>>;

/// What a bound function holds: its verifier, and where the two that verify write the
/// claims layout.
struct Bound {
    verifier: Arc<Verifier>,
    layout: Option<LayoutOut>,
}

/// `{ verifySync, tryVerify, extractCredential }` bound to `verifier`: the first two take
/// `(token, now?, dpop?)` and write claims layouts to `layout` (a `Float64Array`), the
/// third takes `(names, values, query?, method?, url?)`.
pub(crate) fn verify_calls(
    env: &Env,
    verifier: &Arc<Verifier>,
    layout: &Unknown<'_>,
) -> Result<Object<'static>> {
    let calls = Object::new(env)?;
    let bound: [(&CStr, Callback, bool); 3] = [
        (c"verifySync", verify_sync_callback, true),
        (c"tryVerify", try_verify_callback, true),
        (c"extractCredential", extract_credential_callback, false),
    ];
    for (name, callback, writes_layout) in bound {
        let layout = match writes_layout {
            // SAFETY: `env` and `layout` are the running call's.
            true => Some(unsafe { LayoutOut::new(env.raw(), layout)? }),
            false => None,
        };
        let data = Bound {
            verifier: Arc::clone(verifier),
            layout,
        };
        // SAFETY: `env` is the running call's; `name` is NUL-terminated and napi copies it.
        let function = unsafe { bound_function(env.raw(), name, callback, data)? };
        // SAFETY: `calls` and `function` are live values of this call.
        unsafe {
            check_status!(sys::napi_set_named_property(
                env.raw(),
                calls.raw(),
                name.as_ptr(),
                function,
            ))?;
        }
    }
    Ok(calls)
}

/// A JS function running `callback` with `bound` as its data.
///
/// # Safety
/// `env` must be the running call's.
unsafe fn bound_function(
    env: sys::napi_env,
    name: &CStr,
    callback: Callback,
    bound: Bound,
) -> Result<sys::napi_value> {
    let data = Box::into_raw(Box::new(bound)).cast::<c_void>();
    let mut function = ptr::null_mut();
    // SAFETY: as above; `data` stays valid until `release` runs, which napi calls once,
    // when the function is collected (or the environment torn down).
    let status = unsafe {
        let created = sys::napi_create_function(
            env,
            name.as_ptr(),
            name.count_bytes() as isize,
            Some(callback),
            data,
            &mut function,
        );
        if created == sys::Status::napi_ok {
            sys::napi_add_finalizer(
                env,
                function,
                data,
                Some(release),
                ptr::null_mut(),
                ptr::null_mut(),
            )
        } else {
            created
        }
    };
    if status != sys::Status::napi_ok {
        // SAFETY: no finalizer owns `data`, so it is released here, once.
        unsafe { release(env, data, ptr::null_mut()) };
        return Err(Error::new(
            Status::from(status),
            "could not create a verify function",
        ));
    }
    Ok(function)
}

/// Frees what a bound function held: its count of the verifier and its layout reference.
unsafe extern "C" fn release(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` came from `Box::into_raw` in `bound_function`; this runs once for it.
    let bound = unsafe { Box::from_raw(data.cast::<Bound>()) };
    if let Some(layout) = bound.layout {
        // SAFETY: the reference was made in this environment.
        unsafe { layout.release(env) };
    }
}

/// What a bound function holds, and its three arguments: token, now, dpop.
struct Args {
    bound: &'static Bound,
    token: Token,
    now: Option<Seconds>,
    dpop: Option<DpopArgs>,
}

/// What a bound function holds, how many arguments were passed, and the first `N`
/// (missing ones `undefined`).
///
/// # Safety
/// `env` and `info` must be those napi passed to a running bound function. The reference
/// is only used during that call, while the function (owning the [`Bound`]) is live.
unsafe fn call_info<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Result<(&'static Bound, usize, [sys::napi_value; N])> {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    let mut data = ptr::null_mut();
    // SAFETY: napi writes at most `argc` values, pads missing ones with `undefined`, and
    // sets `argc` to the number passed; `data` is what `bound_function` gave napi.
    unsafe {
        check_status!(sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            &mut data,
        ))?;
        Ok((&*data.cast::<Bound>(), argc, argv))
    }
}

/// # Safety
/// As for [`call_info`].
unsafe fn args(env: sys::napi_env, info: sys::napi_callback_info) -> Result<Args> {
    // SAFETY: as above; each value is this call's argument.
    unsafe {
        let (bound, argc, argv) = call_info::<3>(env, info)?;
        Ok(Args {
            bound,
            token: Token::from_napi_value(env, argv[0])?,
            // An argument left out (the usual call passes only the token) is `None` without
            // asking napi its type, which costs ~0.05 µs; `undefined` or `null` is `None` too.
            now: optional(env, argc > 1, argv[1])?,
            dpop: optional(env, argc > 2, argv[2])?,
        })
    }
}

/// # Safety
/// As for [`args`]; `value` is one of its arguments.
unsafe fn optional<T: FromNapiValue>(
    env: sys::napi_env,
    passed: bool,
    value: sys::napi_value,
) -> Result<Option<T>> {
    if passed {
        // SAFETY: `value` is this call's argument.
        unsafe { Option::<T>::from_napi_value(env, value) }
    } else {
        Ok(None)
    }
}

/// Set by `panicForTests(true)`: the next bound call panics, so the tests can see that
/// its panic is caught too.
static PANIC_NEXT: AtomicBool = AtomicBool::new(false);

pub(crate) fn panic_next(on: bool) {
    PANIC_NEXT.store(on, Ordering::Relaxed);
}

/// `body`'s result, or its panic as the engine's `internal` error. For every entry napi-rs
/// does not guard itself (these callbacks).
pub(crate) fn caught<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| Err(panic_error(panic)))
}

/// One bound call: runs `body`, and hands its value to napi, or throws its error or panic
/// as a JS exception (napi's convention: a callback that threw returns NULL).
///
/// # Safety
/// `env` must be the running callback's.
unsafe fn respond(
    env: sys::napi_env,
    body: impl FnOnce() -> Result<sys::napi_value>,
) -> sys::napi_value {
    let result = caught(|| {
        if PANIC_NEXT.load(Ordering::Relaxed) && PANIC_NEXT.swap(false, Ordering::Relaxed) {
            panic!("a panic for the tests");
        }
        body()
    });
    result.unwrap_or_else(|e| {
        // SAFETY: `env` is the running callback's.
        unsafe { JsError::from(e).throw_into(env) };
        ptr::null_mut()
    })
}

/// `verify_sync` or `try_verify` with the running call's arguments; its verified token
/// as an answer string with the claims layout (`null` for no token).
///
/// # Safety
/// `env` and `info` must be those napi passed to the running callback.
unsafe fn bound_call(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    verify: VerifyFn,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are the running callback's.
    unsafe {
        respond(env, || {
            let a = args(env, info)?;
            let verifier = &a.bound.verifier;
            match verify(verifier, &a.token.0, a.now, a.dpop)? {
                Some(token) => answer_string(env, &token, a.bound.layout.as_ref()),
                None => Null::to_napi_value(env, Null),
            }
        })
    }
}

unsafe extern "C" fn verify_sync_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are this callback's.
    unsafe { bound_call(env, info, verify_sync) }
}

unsafe extern "C" fn try_verify_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are this callback's.
    unsafe { bound_call(env, info, try_verify) }
}

unsafe extern "C" fn extract_credential_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are this callback's; each value is one of its arguments.
    unsafe {
        respond(env, || {
            let (bound, argc, argv) = call_info::<5>(env, info)?;
            let credential = extract_credential(
                &bound.verifier,
                Vec::<Text>::from_napi_value(env, argv[0])?,
                Vec::<Text>::from_napi_value(env, argv[1])?,
                optional(env, argc > 2, argv[2])?,
                optional(env, argc > 3, argv[3])?,
                optional(env, argc > 4, argv[4])?,
            )?;
            ToNapiValue::to_napi_value(env, credential)
        })
    }
}
