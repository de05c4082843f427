//! The engine's log records, delivered to a Python `logging.Logger` (`veritoken`).
//! Records come from the caller's thread or the engine's I/O thread: each takes the GIL for
//! the logger call only. Verifications release the GIL while they wait (and every wait is
//! bounded), and the engine logs no record while holding a lock of its own, so the I/O
//! thread taking the GIL cannot deadlock with them (`core/tests/gil.rs`).
//!
//! A record that comes once the interpreter is shutting down (say, the I/O thread's key fetch
//! failing while the process exits) is dropped: `gil::try_attach` declines from the
//! interpreter's `atexit` on, and `Python::try_attach` where `Python::attach` would panic.
//! Nothing in the sink unwinds into the engine.

use crate::gil;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::panic::{catch_unwind, AssertUnwindSafe};
use veritoken::{LogLevel, LogRecord, LogSink};

/// `logging`'s number for a level (TRACE has none there: 5, below DEBUG).
fn python_level(level: LogLevel) -> i32 {
    match level {
        LogLevel::Error => 40,
        LogLevel::Warn => 30,
        LogLevel::Info => 20,
        LogLevel::Debug => 10,
        LogLevel::Trace => 5,
    }
}

struct PythonLogger(Py<PyAny>);

/// Runs one sink call; a panic in it (none is expected) drops the record instead of
/// unwinding into the engine, whose thread may be its I/O thread.
fn contained<R>(call: impl FnOnce() -> Option<R>) -> Option<R> {
    catch_unwind(AssertUnwindSafe(call)).ok().flatten()
}

impl LogSink for PythonLogger {
    /// `Logger.isEnabledFor` (cached by `logging`): nothing is formatted for a level the
    /// logger drops, nor for an interpreter that is gone.
    fn enabled(&self, level: LogLevel) -> bool {
        contained(|| {
            gil::try_attach(|py| {
                self.0
                    .call_method1(py, "isEnabledFor", (python_level(level),))
                    .and_then(|r| r.is_truthy(py))
                    .unwrap_or(false)
            })
        })
        .unwrap_or(false)
    }

    fn log(&self, record: &LogRecord) {
        contained(|| {
            gil::try_attach(|py| {
                let sent = (|| -> PyResult<()> {
                    let fields = PyDict::new(py);
                    for (key, value) in &record.fields {
                        fields.set_item(*key, value)?;
                    }
                    let extra = PyDict::new(py);
                    extra.set_item("veritoken_fields", fields)?;
                    extra.set_item("veritoken_target", &record.target)?;
                    let kwargs = PyDict::new(py);
                    kwargs.set_item("extra", extra)?;
                    // "%s": a message is never read as a format string.
                    self.0.call_method(
                        py,
                        "log",
                        (python_level(record.level), "%s", record.line()),
                        Some(&kwargs),
                    )?;
                    Ok(())
                })();
                // A failing handler is `logging`'s business (Handler.handleError); anything
                // else is dropped rather than raised on a thread with no Python caller.
                drop(sent);
            })
        });
    }
}

/// Sends the engine's records to `logger` (None: nowhere). `veritoken` calls this at import
/// with `logging.getLogger("veritoken")`, and with None at exit.
#[pyfunction]
#[pyo3(signature = (logger))]
pub fn _set_logger(logger: Option<Py<PyAny>>) -> PyResult<()> {
    let sink = logger.map(|l| Box::new(PythonLogger(l)) as Box<dyn LogSink>);
    veritoken::set_log_sink(sink, LogLevel::Trace).map_err(crate::errors::to_py)
}
