//! The ground floor: errors, untrusted text in messages, time, logging, per-process state, the I/O runtime and metrics. Imports nothing else from the crate.

pub mod clock;
pub mod error;
pub mod io_runtime;
pub mod log;
pub mod metrics;
pub mod process;
pub mod untrusted_text;
