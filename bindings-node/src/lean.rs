//! `verifySync`, `tryVerify` and `extractCredential`, the calls every request makes, as
//! plain napi callbacks bound to one verifier. napi-rs 3.16's glue for a `#[napi]`
//! function with arguments opens a borrow-tracking scope on every call (an `Arc<Mutex<_>>`
//! allocated, locked and freed, and two thread-local stacks pushed and popped), whether or
//! not anything is borrowed: ~1,400 instructions and a malloc/free pair of an HS256 call,
//! measured with callgrind. Taking the verifier as an argument costs too: napi-rs proves
//! an external is its own by a lookup in a global locked, SipHashed registry. So
//! [`verify_calls`] makes, once per verifier, three functions whose napi `data` is the
//! verifier itself (a strong count, released by a finalizer when the function is
//! collected): a call only reads it back.
//!
//! The callbacks convert their arguments with napi-rs's conversions (strings with
//! `text.rs`'s) and throw the errors every export throws. Like every export, they catch
//! panics. `extractCredential` on a bearer header measured ~3.8 µs per call as a class
//! method, ~2.4 µs bound.

use crate::{extract_credential, text::Text, try_verify, verify_sync, DpopArgs};
use napi::bindgen_prelude::*;
use std::ffi::{c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use veritoken::Verifier;

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// `{ verifySync, tryVerify, extractCredential }` bound to `verifier`: the first two take
/// `(token, now?, dpop?)`, the third `(names, values, query?, method?, url?)`.
pub(crate) fn verify_calls(env: &Env, verifier: &Arc<Verifier>) -> Result<Object<'static>> {
    let calls = Object::new(env)?;
    let bound: [(&CStr, Callback); 3] = [
        (c"verifySync", verify_sync_callback),
        (c"tryVerify", try_verify_callback),
        (c"extractCredential", extract_credential_callback),
    ];
    for (name, callback) in bound {
        // SAFETY: `env` is the running call's; `name` is NUL-terminated and napi copies it.
        let function = unsafe { bound_function(env.raw(), name, callback, verifier)? };
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

/// A JS function running `callback` with a strong count of `verifier` as its data.
///
/// # Safety
/// `env` must be the running call's.
unsafe fn bound_function(
    env: sys::napi_env,
    name: &CStr,
    callback: Callback,
    verifier: &Arc<Verifier>,
) -> Result<sys::napi_value> {
    let data = Arc::into_raw(Arc::clone(verifier))
        .cast_mut()
        .cast::<c_void>();
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
        // SAFETY: no finalizer owns `data`, so its count is dropped here, once.
        drop(unsafe { Arc::from_raw(data.cast::<Verifier>()) });
        return Err(Error::new(
            Status::from(status),
            "could not create a verify function",
        ));
    }
    Ok(function)
}

/// Drops the strong count a bound function held.
unsafe extern "C" fn release(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: `data` came from `Arc::into_raw` in `bound_function`; napi calls this once.
    drop(unsafe { Arc::from_raw(data.cast::<Verifier>()) });
}

/// The verifier a bound function was made for, and its three arguments: token, now, dpop.
struct Args {
    verifier: &'static Verifier,
    token: Text,
    now: Option<i64>,
    dpop: Option<DpopArgs>,
}

/// The verifier a bound function was made for, how many arguments were passed, and the
/// first `N` (missing ones `undefined`).
///
/// # Safety
/// `env` and `info` must be those napi passed to a running bound function. The verifier
/// reference is only used during that call, while the function (holding a count) is live.
unsafe fn call_info<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> Result<(&'static Verifier, usize, [sys::napi_value; N])> {
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
        Ok((&*data.cast::<Verifier>(), argc, argv))
    }
}

/// # Safety
/// As for [`call_info`].
unsafe fn args(env: sys::napi_env, info: sys::napi_callback_info) -> Result<Args> {
    // SAFETY: as above; each value is this call's argument.
    unsafe {
        let (verifier, argc, argv) = call_info::<3>(env, info)?;
        Ok(Args {
            verifier,
            token: Text::from_napi_value(env, argv[0])?,
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

/// `body`'s result, or its panic as an error. For every entry napi-rs does not guard itself
/// (these callbacks, and work on the libuv pool).
pub(crate) fn caught<T>(body: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| Err(panic_to_error(panic)))
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

/// `verify_sync` or `try_verify` with the running call's arguments.
///
/// # Safety
/// `env` and `info` must be those napi passed to the running callback.
unsafe fn bound_call<R: ToNapiValue>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    verify: fn(&Verifier, Text, Option<i64>, Option<DpopArgs>) -> Result<R>,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are the running callback's.
    unsafe {
        respond(env, || {
            let a = args(env, info)?;
            let answer = verify(a.verifier, a.token, a.now, a.dpop)?;
            ToNapiValue::to_napi_value(env, answer)
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
            let (verifier, argc, argv) = call_info::<5>(env, info)?;
            let credential = extract_credential(
                verifier,
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
