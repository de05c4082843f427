//! Taking the GIL back without dying at interpreter exit.
//!
//! CPython before 3.14 ends a thread that takes the GIL once finalization has begun with
//! `pthread_exit`. Out of `Python::detach` (or `Python::try_attach` on the engine's I/O
//! thread), that forced unwind runs into pyo3's `catch_unwind` and the process aborts
//! ("FATAL: exception not rethrown", exit 134) for a program that only returned from its
//! main while a daemon thread was verifying.
//!
//! The protocol: an `atexit` hook (hooks run before finalization begins) sees whether
//! this is the interpreter's exit (`threading` has shut down) or hooks run by hand
//! (`atexit._run_exitfuncs()`). By hand, nothing changes, and the hook is registered again
//! by the next thread that holds the GIL here (`atexit` drops what it ran). At the exit,
//! it sets [`EXITING`] and waits, with the GIL released, for threads already on their way
//! to take it. From then on a thread other than the exiting one:
//! - coming back from a released-GIL call parks instead of taking the GIL: for good once
//!   the interpreter is no longer initialized (finalization began, and CPython would have
//!   ended the thread), else for at most [`PARK_LIMIT`] (an exit hook that waits for a
//!   lock such a thread holds then gets it, at the old risk of an abort);
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

/// Set by [`_exiting`] when the interpreter exits (never cleared: the process is ending).
static EXITING: AtomicBool = AtomicBool::new(false);
/// Threads between finishing their work and holding the GIL again.
static RETURNING: AtomicUsize = AtomicUsize::new(0);
/// The thread that ran the hook at the exit: the one finalizing, which CPython never ends.
static EXITING_THREAD: OnceLock<ThreadId> = OnceLock::new();
/// The hook, to register again after a run by hand ([`REREGISTER`]).
static HOOK: OnceLock<Py<PyAny>> = OnceLock::new();
/// Set when the hooks were run by hand: the next thread to hold the GIL in [`detach`] or
/// [`try_attach`] registers the hook again.
static REREGISTER: AtomicBool = AtomicBool::new(false);

/// How long the hook waits for threads on their way back: each needs only the GIL, which
/// the hook gives up while it waits, so this bounds a pathological case.
const RETURN_WAIT: Duration = Duration::from_secs(2);
/// How long a thread coming back during the exit parks while the interpreter stays
/// initialized: finalization begins within milliseconds of the last hook, unless a hook
/// waits for something, such as a lock the parked thread holds.
const PARK_LIMIT: Duration = Duration::from_secs(30);

/// `work` with the GIL released, as `py.detach(work)`, but safe to come back from while
/// the interpreter exits.
pub fn detach<T: Send>(py: Python<'_>, work: impl Send + FnOnce() -> T) -> T {
    if EXITING.load(SeqCst) && is_exiting_thread() {
        return py.detach(work);
    }
    let (out, _returning) = py.detach(|| {
        let out = work();
        let returning = Returning::count().unwrap_or_else(|| {
            park_while_finalizing();
            Returning::count_anyway()
        });
        (out, returning)
    });
    register_again_if_asked(py);
    out
}

/// `Python::try_attach` for a thread of the engine (its I/O thread, or a logger call):
/// `None`, without touching Python, once the interpreter is exiting.
pub fn try_attach<R>(call: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    let _returning = Returning::count()?;
    Python::try_attach(|py| {
        register_again_if_asked(py);
        call(py)
    })
}

/// One thread on its way to take the GIL, counted in [`RETURNING`] until dropped (once
/// the GIL is held, or on a panic).
struct Returning;

impl Returning {
    /// Counts this thread, unless the exit has begun (`None`, not counted).
    fn count() -> Option<Returning> {
        RETURNING.fetch_add(1, SeqCst);
        if EXITING.load(SeqCst) {
            RETURNING.fetch_sub(1, SeqCst);
            return None;
        }
        Some(Returning)
    }

    /// Counts this thread whatever the flag says (after parking for the limit).
    fn count_anyway() -> Returning {
        RETURNING.fetch_add(1, SeqCst);
        Returning
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        RETURNING.fetch_sub(1, SeqCst);
    }
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
        if unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
            // Latched: this thread's state is freed by finalization, so it never runs
            // Python again, even if an embedding host starts a new interpreter.
            loop {
                thread::park();
            }
        }
        if since.elapsed() >= PARK_LIMIT {
            return;
        }
        thread::park_timeout(Duration::from_millis(10));
    }
}

fn register_again_if_asked(py: Python<'_>) {
    if REREGISTER.swap(false, SeqCst) {
        if let Some(hook) = HOOK.get() {
            // Failing, the exit would not be watched; nothing to report it to.
            let _ = register_hook(py, hook.bind(py));
        }
    }
}

/// Whether the hooks run because the interpreter exits: `threading` has shut down (it
/// sets `_SHUTTING_DOWN` before the exit runs the hooks). Without `threading`, or without
/// that name, the exit is assumed.
fn is_interpreter_exit(py: Python<'_>) -> bool {
    let shut_down = || -> PyResult<bool> {
        let modules = py.import("sys")?.getattr("modules")?;
        match modules.get_item("threading") {
            Ok(threading) => threading.getattr("_SHUTTING_DOWN")?.is_truthy(),
            Err(_) => Ok(true),
        }
    };
    shut_down().unwrap_or(true)
}

/// The `atexit` hook (registered when the module is imported).
#[pyfunction]
fn _exiting(py: Python<'_>) {
    if !is_interpreter_exit(py) {
        REREGISTER.store(true, SeqCst);
        return;
    }
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
    let hook = wrap_pyfunction!(_exiting, m)?.into_any();
    let _ = HOOK.set(hook.clone().unbind());
    register_hook(m.py(), &hook)
}

fn register_hook(py: Python<'_>, hook: &Bound<'_, PyAny>) -> PyResult<()> {
    py.import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}
