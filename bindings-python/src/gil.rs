//! Taking the GIL back without dying at interpreter exit.
//!
//! CPython before 3.14 ends a thread that takes the GIL once finalization has begun with
//! `pthread_exit`. Out of `Python::detach` (or `Python::try_attach` on the engine's I/O
//! thread), that forced unwind runs into pyo3's `catch_unwind` and the process aborts
//! ("FATAL: exception not rethrown", exit 134) for a program that only returned from its
//! main while a daemon thread was verifying.
//!
//! The protocol: an `atexit` hook (hooks run before finalization begins) sets [`EXITING`]
//! and waits, with the GIL released, for threads already on their way to take it. From
//! then on a thread other than the exiting one:
//! - coming back from a released-GIL call parks instead of taking the GIL, until the
//!   interpreter is no longer initialized (finalization began: it parks for good, as
//!   CPython would have ended it) or [`PARK_LIMIT`] passes with the interpreter still
//!   there (an exit hook that runs long, or `atexit._run_exitfuncs()` called by hand): then
//!   the exit is taken back: [`EXITING`] is cleared and the hook registered again, threads
//!   take the GIL as before, and a lock a parked thread holds delays a later hook by
//!   [`PARK_LIMIT`] at most;
//! - calling back into Python from a thread of the engine skips the call (a log record or
//!   an asyncio result nobody will read).
//!
//! The flag and the count of threads on their way are sequentially consistent, so such a
//! thread either sees [`EXITING`] or is waited for by the hook.

use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::OnceLock;
use std::thread::{self, ThreadId};
use std::time::{Duration, Instant};

/// Set by [`_exiting`], the interpreter's `atexit` hook; cleared when the module is
/// initialized again (an embedding host that finalizes and starts a new interpreter).
static EXITING: AtomicBool = AtomicBool::new(false);
/// Threads between finishing their work and holding the GIL again.
static RETURNING: AtomicUsize = AtomicUsize::new(0);
/// The thread that ran the hook: the one finalizing, which CPython never ends.
static EXITING_THREAD: OnceLock<ThreadId> = OnceLock::new();
/// The hook, to register again when an exit is taken back ([`REREGISTER`]).
static HOOK: OnceLock<Py<PyAny>> = OnceLock::new();
/// Set when a parked thread found the interpreter still there: the next thread to hold the
/// GIL in [`detach`] registers the hook again (`atexit` ran it, and may have dropped it).
static REREGISTER: AtomicBool = AtomicBool::new(false);

/// How long the hook waits for threads on their way back: each needs only the GIL, which
/// the hook gives up while it waits, so this bounds a pathological case.
const RETURN_WAIT: Duration = Duration::from_secs(2);
/// How long a thread coming back after the hook parks while the interpreter stays
/// initialized; finalization begins within milliseconds of the last hook in a normal exit.
const PARK_LIMIT: Duration = Duration::from_secs(5);

/// `work` with the GIL released, as `py.detach(work)`, but safe to come back from while
/// the interpreter exits.
pub fn detach<T: Send>(py: Python<'_>, work: impl Send + FnOnce() -> T) -> T {
    if EXITING.load(SeqCst) && is_exiting_thread() {
        return py.detach(work);
    }
    let out = py.detach(|| {
        let out = work();
        if !on_the_way_back() {
            park_while_finalizing();
            RETURNING.fetch_add(1, SeqCst);
        }
        out
    });
    RETURNING.fetch_sub(1, SeqCst);
    if REREGISTER.swap(false, SeqCst) {
        if let Some(hook) = HOOK.get() {
            // Failing, the exit would not be watched again; nothing to report it to.
            let _ = register_hook(py, hook.bind(py));
        }
    }
    out
}

/// `Python::try_attach` for a thread of the engine (its I/O thread, or a logger call):
/// `None`, without touching Python, once the interpreter is exiting.
pub fn try_attach<R>(call: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    if !on_the_way_back() {
        return None;
    }
    let out = Python::try_attach(call);
    RETURNING.fetch_sub(1, SeqCst);
    out
}

/// Counts this thread as on its way to take the GIL: `false` (and not counted) once the
/// hook has run. Every `true` must be followed by a decrement once the GIL is held.
fn on_the_way_back() -> bool {
    RETURNING.fetch_add(1, SeqCst);
    if EXITING.load(SeqCst) {
        RETURNING.fetch_sub(1, SeqCst);
        return false;
    }
    true
}

fn is_exiting_thread() -> bool {
    EXITING_THREAD.get() == Some(&thread::current().id())
}

/// Parks this thread while the interpreter exits: for good once finalization began (the
/// process is ending, and CPython would end this thread), else for [`PARK_LIMIT`].
fn park_while_finalizing() {
    let since = Instant::now();
    loop {
        // SAFETY: reads the runtime's flag; callable without the GIL, as pyo3's own
        // `try_attach` does.
        let initialized = unsafe { pyo3::ffi::Py_IsInitialized() } != 0;
        if initialized && since.elapsed() >= PARK_LIMIT {
            // Still there: this was no exit (or one that runs hooks for long).
            EXITING.store(false, SeqCst);
            REREGISTER.store(true, SeqCst);
            return;
        }
        thread::park_timeout(Duration::from_millis(if initialized { 10 } else { 1000 }));
    }
}

/// The `atexit` hook (registered when the module is imported).
#[pyfunction]
fn _exiting(py: Python<'_>) {
    let _ = EXITING_THREAD.set(thread::current().id());
    EXITING.store(true, SeqCst);
    let deadline = Instant::now() + RETURN_WAIT;
    py.detach(|| {
        while RETURNING.load(SeqCst) > 0 && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(1));
        }
    });
}

/// Registers [`_exiting`] with `atexit` (not as a module attribute).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    EXITING.store(false, SeqCst);
    let hook = wrap_pyfunction!(_exiting, m)?.into_any();
    let _ = HOOK.set(hook.clone().unbind());
    register_hook(m.py(), &hook)
}

fn register_hook(py: Python<'_>, hook: &Bound<'_, PyAny>) -> PyResult<()> {
    py.import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}
