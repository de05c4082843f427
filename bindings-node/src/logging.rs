//! The engine's log records, delivered to a JavaScript function on the event loop of the
//! thread that called `setLogSink` (through a thread-safe function: records come from the
//! engine's I/O thread too). The function does not keep the process alive.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use veritoken::{LogLevel, LogRecord, LogSink};

/// One engine event as the JavaScript side receives it.
#[napi(object)]
pub struct NativeLogRecord {
    /// "error", "warn", "info", "debug" or "trace".
    pub level: String,
    pub target: String,
    pub message: String,
    /// The message and its fields as one `key=value` line.
    pub line: String,
    /// The fields in order, as `[name, value]` pairs.
    pub fields: Vec<Vec<String>>,
}

type Deliver = ThreadsafeFunction<NativeLogRecord, (), NativeLogRecord, Status, false, true>;

struct JsLogger(Deliver);

impl LogSink for JsLogger {
    /// The level was chosen in `setLogSink` (JavaScript cannot be asked from another thread).
    fn enabled(&self, _: LogLevel) -> bool {
        true
    }

    fn log(&self, record: &LogRecord) {
        let record = NativeLogRecord {
            level: record.level.as_str().to_owned(),
            target: record.target.clone(),
            message: record.message.clone(),
            line: record.line(),
            fields: record
                .fields
                .iter()
                .map(|(k, v)| vec![(*k).to_owned(), v.clone()])
                .collect(),
        };
        // NonBlocking: a busy event loop never stalls the engine; the queue is unbounded.
        let _ = self.0.call(record, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// Sends the engine's records at `max_level` (1 error … 5 trace) and more severe to
/// `callback`; `null` stops them. Process-wide: the last call wins.
#[napi(catch_unwind)]
pub fn set_log_sink(callback: Option<Function<NativeLogRecord, ()>>, max_level: i32) -> Result<()> {
    let level = LogLevel::from_int(max_level)
        .ok_or_else(|| Error::new(Status::InvalidArg, format!("unknown log level {max_level}")))?;
    let sink = match callback {
        Some(f) => {
            let tsfn: Deliver = f
                .build_threadsafe_function::<NativeLogRecord>()
                .weak::<true>()
                .build()?;
            Some(Box::new(JsLogger(tsfn)) as Box<dyn LogSink>)
        }
        None => None,
    };
    veritoken::set_log_sink(sink, level).map_err(crate::js_error)
}
