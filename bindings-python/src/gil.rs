//! Releasing the GIL without dying at interpreter exit.
//!
//! CPython before 3.14 ends a thread that takes the GIL back once finalization has begun
//! with `pthread_exit`. In a daemon thread coming back from `Python::detach`, that forced
//! unwind runs into pyo3's `catch_unwind` and the process aborts (exit 134), for a program
//! that only returned from `main` while a daemon thread was verifying.
//!
//! So an `atexit` hook (which runs before finalization begins) sets [`EXITING`] and waits,
//! with the GIL released, for threads already on their way back to take it; from then on
//! a thread coming back from its work parks instead of taking the GIL (the process is
//! about to end), and new calls keep the GIL for their work. The two atomics are read and
//! written in sequentially consistent order, so a thread on its way back either sees
//! `EXITING` or is seen by the hook's wait.

use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// Set by [`_exiting`], the interpreter's `atexit` hook.
static EXITING: AtomicBool = AtomicBool::new(false);
/// Threads between finishing their work and holding the GIL again.
static RETURNING: AtomicUsize = AtomicUsize::new(0);

/// How long the hook waits for returning threads: each needs only the GIL, which the hook
/// gives up while it waits, so this bounds a pathological case, not the usual one.
const RETURN_WAIT: Duration = Duration::from_secs(2);

/// `work` with the GIL released, as `py.detach(work)`, except once the interpreter is
/// exiting: then `work` runs with the GIL held.
pub fn detach<T: Send>(py: Python<'_>, work: impl Send + FnOnce() -> T) -> T {
    if EXITING.load(SeqCst) {
        return work();
    }
    let out = py.detach(|| {
        let out = work();
        RETURNING.fetch_add(1, SeqCst);
        if EXITING.load(SeqCst) {
            RETURNING.fetch_sub(1, SeqCst);
            // Taking the GIL now would end this thread inside pyo3 (see the module's
            // doc); the process is ending, and nothing of this call is awaited.
            loop {
                std::thread::park();
            }
        }
        out
    });
    RETURNING.fetch_sub(1, SeqCst);
    out
}

/// The `atexit` hook (registered when the module is imported).
#[pyfunction]
pub fn _exiting(py: Python<'_>) {
    EXITING.store(true, SeqCst);
    let deadline = Instant::now() + RETURN_WAIT;
    py.detach(|| {
        while RETURNING.load(SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Registers [`_exiting`] with `atexit`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(_exiting, m)?;
    m.py().import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}
