//! `vt_set_log_callback`: the engine's log records, handed to a C function.

use crate::{guard, vt_result, Fail};
use std::ffi::{c_char, c_void, CString};
use veritoken::{LogLevel, LogRecord, LogSink};

/// Log levels, most severe first: `vt_log_record.level` and the `max_level` argument of
/// `vt_set_log_callback`.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum vt_log_level {
    VT_LOG_ERROR = 1,
    VT_LOG_WARN = 2,
    VT_LOG_INFO = 3,
    VT_LOG_DEBUG = 4,
    VT_LOG_TRACE = 5,
}

/// One engine event. Every pointer is valid only during the callback: copy what you keep.
/// No record carries a token, a key or a secret.
#[repr(C)]
#[allow(non_camel_case_types)]
pub struct vt_log_record {
    /// A vt_log_level value (1 error ... 5 trace).
    pub level: i32,
    /// The engine module that emitted it, e.g. "veritoken::remote".
    pub target: *const c_char,
    /// The message alone, e.g. "key fetch failed; keeping the last good keys".
    pub message: *const c_char,
    /// The message followed by its fields as key=value (logfmt): one line for text logs.
    pub line: *const c_char,
    /// The number of fields (issuer, error, failures, retry_ms...).
    pub field_count: usize,
    /// field_count names, in order.
    pub field_names: *const *const c_char,
    /// field_count values as text, in the same order.
    pub field_values: *const *const c_char,
}

/// Receives one record. Called from any thread (the caller's, or the engine's I/O thread),
/// possibly from several at once; it must not call vt_set_log_callback.
#[allow(non_camel_case_types)]
pub type vt_log_callback =
    Option<unsafe extern "C" fn(record: *const vt_log_record, user_data: *mut c_void)>;

struct CLogger {
    callback: unsafe extern "C" fn(*const vt_log_record, *mut c_void),
    user_data: *mut c_void,
}

// SAFETY: the caller of vt_set_log_callback promises that the callback and its user_data
// may be used from any thread (documented on the function).
unsafe impl Send for CLogger {}
// SAFETY: as above.
unsafe impl Sync for CLogger {}

/// Text for C: a NUL inside (never produced by the engine) is cut there rather than lost.
fn c_text(s: &str) -> CString {
    let end = s.find('\0').unwrap_or(s.len());
    CString::new(&s[..end]).unwrap_or_default()
}

impl LogSink for CLogger {
    fn enabled(&self, _: LogLevel) -> bool {
        true
    }

    fn log(&self, record: &LogRecord) {
        let target = c_text(&record.target);
        let message = c_text(&record.message);
        let line = c_text(&record.line());
        let names: Vec<CString> = record.fields.iter().map(|(k, _)| c_text(k)).collect();
        let values: Vec<CString> = record.fields.iter().map(|(_, v)| c_text(v)).collect();
        let name_ptrs: Vec<*const c_char> = names.iter().map(|s| s.as_ptr()).collect();
        let value_ptrs: Vec<*const c_char> = values.iter().map(|s| s.as_ptr()).collect();
        let c_record = vt_log_record {
            level: record.level.as_int(),
            target: target.as_ptr(),
            message: message.as_ptr(),
            line: line.as_ptr(),
            field_count: name_ptrs.len(),
            field_names: name_ptrs.as_ptr(),
            field_values: value_ptrs.as_ptr(),
        };
        // SAFETY: every pointer outlives the call; the callback's contract is the caller's.
        unsafe { (self.callback)(&c_record, self.user_data) };
    }
}

/// Sends the engine's log records at max_level (a vt_log_level) and more severe to
/// `callback`, with `user_data` passed back unchanged; a NULL callback stops them (the
/// default). Process-wide: replaces the callback set before. The callback may be called
/// from any thread, also concurrently, and must not unwind (C++ exceptions, longjmp). A
/// record already being delivered when the callback is replaced may still reach the old
/// one, so keep the old user_data alive (set the callback once at start-up).
/// VT_INVALID_ARGUMENT for a max_level outside 1..5.
#[no_mangle]
pub extern "C" fn vt_set_log_callback(
    callback: vt_log_callback,
    max_level: i32,
    user_data: *mut c_void,
    err: *mut c_char,
    err_len: usize,
) -> vt_result {
    guard(err, err_len, || {
        let level = LogLevel::from_int(max_level)
            .ok_or(Fail::Argument("max_level must be a vt_log_level (1 to 5)"))?;
        let sink = callback.map(|callback| {
            Box::new(CLogger {
                callback,
                user_data,
            }) as Box<dyn LogSink>
        });
        veritoken::set_log_sink(sink, level)?;
        Ok(())
    })
}
