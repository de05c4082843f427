//! One small tokio runtime per process, for key, discovery and introspection fetches only.
//! Started on first use, and started afresh in a child after `fork()` (gunicorn, uwsgi):
//! the parent's runtime threads do not exist there, so its runtime is left alone (leaked).

use crate::support::error::{Error, ErrorCode};
use crate::support::process::PerProcess;
use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

/// A runtime is built once per process (the `OnceLock`), so no racing thread has to drop a
/// spare one, which tokio forbids inside an async context such as the sidecar's.
static RUNTIME: PerProcess<OnceLock<Result<Runtime, String>>> = PerProcess::new();

/// A handle to this process's I/O runtime.
pub(crate) fn handle() -> Result<Handle, Error> {
    let cell = RUNTIME.get_or_init(OnceLock::new);
    let built = cell.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("veritoken-io")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match built {
        Ok(runtime) => Ok(runtime.handle().clone()),
        Err(why) => Err(Error::new(
            ErrorCode::Internal,
            format!("cannot start the I/O runtime: {why}"),
        )),
    }
}
