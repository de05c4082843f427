//! One small tokio runtime per process, for key and discovery fetches only. Started on
//! first use and started afresh in a child after `fork()` (gunicorn, uwsgi, Node cluster):
//! the parent's runtime threads do not exist there.

use crate::error::{Error, ErrorCode};
use std::sync::{Mutex, PoisonError};
use tokio::runtime::{Builder, Handle, Runtime};

static RUNTIME: Mutex<Option<(u32, Runtime)>> = Mutex::new(None);

/// A handle to this process's I/O runtime.
pub(crate) fn handle() -> Result<Handle, Error> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, runtime)) = slot.as_ref() {
        if *owner == pid {
            return Ok(runtime.handle().clone());
        }
    }
    if let Some((_, inherited)) = slot.take() {
        // Inherited through fork(): its worker threads are gone, so dropping it would wait
        // for threads that will never answer. Leak it instead (once per fork).
        std::mem::forget(inherited);
    }
    let runtime = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("veritoken-io")
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("cannot start the I/O runtime: {e}"),
            )
        })?;
    let handle = runtime.handle().clone();
    *slot = Some((pid, runtime));
    Ok(handle)
}
