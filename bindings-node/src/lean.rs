//! `verifySync` and `tryVerify`, the calls every request makes, registered as plain napi
//! callbacks. napi-rs 3.16's glue for a `#[napi]` function with arguments opens a
//! borrow-tracking scope on every call (an `Arc<Mutex<_>>` allocated, locked and freed,
//! and two thread-local stacks pushed and popped), whether or not anything is borrowed:
//! ~1,400 instructions and a malloc/free pair of an HS256 call, measured with callgrind.
//!
//! Their `#[napi]` declarations in lib.rs stay (so napi-rs still types them in native.d.ts,
//! and they remain what these callbacks run); [`install`] replaces the two exports with
//! callbacks that convert the same arguments with the same napi-rs conversions, call the
//! same functions, and throw the same errors. Like every export, they catch panics.

use crate::{text::Text, try_verify, verify_sync, DpopArgs, Handle};
use napi::bindgen_prelude::*;
use std::ffi::CStr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Replaces the `verifySync` and `tryVerify` exports napi-rs registered.
pub(crate) fn install(env: &Env, exports: &Object) -> Result<()> {
    let lean: [(&CStr, Callback); 2] = [
        (c"verifySync", verify_sync_callback),
        (c"tryVerify", try_verify_callback),
    ];
    for (name, callback) in lean {
        let mut function = ptr::null_mut();
        // SAFETY: `env` and `exports` are live for the module's initialisation; `name` is
        // NUL-terminated and napi copies it.
        unsafe {
            check_status!(sys::napi_create_function(
                env.raw(),
                name.as_ptr(),
                name.count_bytes() as isize,
                Some(callback),
                ptr::null_mut(),
                &mut function,
            ))?;
            check_status!(sys::napi_set_named_property(
                env.raw(),
                exports.raw(),
                name.as_ptr(),
                function,
            ))?;
        }
    }
    Ok(())
}

/// The four arguments both functions take: handle, token, now, dpop.
struct Args {
    handle: &'static Handle,
    token: Text,
    now: Option<i64>,
    dpop: Option<DpopArgs>,
}

/// # Safety
/// `env` and `info` must be those napi passed to the running callback. The handle
/// reference is only used during that callback, while the argument keeps it alive.
unsafe fn args(env: sys::napi_env, info: sys::napi_callback_info) -> Result<Args> {
    let mut argc = 4;
    let mut argv = [ptr::null_mut(); 4];
    // SAFETY: napi writes at most `argc` values and pads missing ones with `undefined`.
    unsafe {
        check_status!(sys::napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        ))?;
        Ok(Args {
            // Checks that the value is an external napi-rs made for this type.
            handle: <Handle as FromNapiRef>::from_napi_ref(env, argv[0])?,
            token: Text::from_napi_value(env, argv[1])?,
            now: Option::<i64>::from_napi_value(env, argv[2])?,
            dpop: Option::<DpopArgs>::from_napi_value(env, argv[3])?,
        })
    }
}

/// Set by `panicForTests(true)`: the next lean call panics, so the tests can see that
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

/// One lean call: converts the four arguments, runs `verify` (`verify_sync` or
/// `try_verify`), and converts its answer, or throws its error or panic as a JS exception
/// (napi's convention: a callback that threw returns NULL).
///
/// # Safety
/// `env` and `info` must be those napi passed to the running callback.
unsafe fn lean_call<R: ToNapiValue>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    verify: fn(&Handle, Text, Option<i64>, Option<DpopArgs>) -> Result<R>,
) -> sys::napi_value {
    let result = caught(|| {
        if PANIC_NEXT.load(Ordering::Relaxed) && PANIC_NEXT.swap(false, Ordering::Relaxed) {
            panic!("a panic for the tests");
        }
        // SAFETY: `env` and `info` are the running callback's.
        let a = unsafe { args(env, info)? };
        let answer = verify(a.handle, a.token, a.now, a.dpop)?;
        // SAFETY: as above.
        unsafe { ToNapiValue::to_napi_value(env, answer) }
    });
    result.unwrap_or_else(|e| {
        // SAFETY: `env` is the running callback's.
        unsafe { JsError::from(e).throw_into(env) };
        ptr::null_mut()
    })
}

unsafe extern "C" fn verify_sync_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are this callback's.
    unsafe { lean_call(env, info, verify_sync) }
}

unsafe extern "C" fn try_verify_callback(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: `env` and `info` are this callback's.
    unsafe { lean_call(env, info, try_verify) }
}
