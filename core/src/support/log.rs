//! The engine's `tracing` events, forwarded to one sink per process: each binding plugs in
//! the logging system of its language (Python `logging`, a Node callback, Go `log/slog`, a C
//! callback). The level mapping and the field formatting live here, once, so every language
//! shows the same record.
//!
//! No event carries a token, a key or a secret: the engine logs issuers, redacted URLs
//! (no credentials, no query), counts and error descriptions only.
//!
//! A Rust application that installs its own `tracing` subscriber (the CLI does) never calls
//! [`set_log_sink`]; the bindings are separate libraries, each with its own copy of `tracing`.

use crate::support::error::Error;
use arc_swap::ArcSwapOption;
use std::cell::Cell;
use std::fmt::{self, Write as _};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use tracing::field::{Field, Visit};
use tracing::subscriber::Interest;
use tracing::{span, Event, Level, Metadata, Subscriber};

/// A record's severity, most severe first (the C API's integers).
#[repr(i32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
    Trace = 5,
}

impl LogLevel {
    /// Every level, most severe first.
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }

    pub fn as_int(self) -> i32 {
        self as i32
    }

    /// The level for a C integer (1 error … 5 trace).
    pub fn from_int(n: i32) -> Option<LogLevel> {
        LogLevel::ALL.into_iter().find(|l| l.as_int() == n)
    }

    fn from_tracing(level: &Level) -> LogLevel {
        match *level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

/// One engine event, ready for a logging system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    pub level: LogLevel,
    /// The Rust module that emitted it (`veritoken::remote`).
    pub target: String,
    /// The event's message alone ("key fetch failed; keeping the last good keys").
    pub message: String,
    /// Its fields in order, values rendered as text (`issuer`, `error`, `retry_ms`...).
    pub fields: Vec<(&'static str, String)>,
}

impl LogRecord {
    /// The message followed by its fields as `key=value` (logfmt: values with spaces,
    /// quotes or `=` quoted): one line for loggers that take text only.
    pub fn line(&self) -> String {
        let mut out = self.message.clone();
        for (key, value) in &self.fields {
            let plain = !value.is_empty()
                && !value
                    .chars()
                    .any(|c| c.is_whitespace() || c == '"' || c == '=' || c.is_control());
            if plain {
                let _ = write!(out, " {key}={value}");
            } else {
                let _ = write!(out, " {key}={value:?}");
            }
        }
        out
    }
}

/// Where a binding wants the engine's records. Called from any thread: the caller's and
/// the engine's background I/O thread, also in a child after `fork()`.
pub trait LogSink: Send + Sync + 'static {
    /// Whether a record of `level` would be kept: asked before the record is formatted.
    fn enabled(&self, level: LogLevel) -> bool;
    /// Delivers one record. A panic here is caught and the record dropped.
    fn log(&self, record: &LogRecord);
}

struct Installed(Box<dyn LogSink>);

static SINK: ArcSwapOption<Installed> = ArcSwapOption::const_empty();
/// The least severe level worth asking the sink about; 0 when no sink is set.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(0);
static SUBSCRIBED: OnceLock<bool> = OnceLock::new();

thread_local! {
    /// Set while a sink runs, so that an event the sink causes is not forwarded again.
    static IN_SINK: Cell<bool> = const { Cell::new(false) };
}

/// Sends the engine's events at `max_level` and more severe to `sink` (`None`: to nowhere,
/// the default). Replaces the sink set before; the first call installs this library's
/// `tracing` subscriber, and fails with `config_invalid` if the process already has another.
pub fn set_log_sink(sink: Option<Box<dyn LogSink>>, max_level: LogLevel) -> Result<(), Error> {
    let subscribed =
        *SUBSCRIBED.get_or_init(|| tracing::subscriber::set_global_default(Forwarder).is_ok());
    if !subscribed {
        return Err(Error::config(
            "logging: this process already has a tracing subscriber; it receives the events",
        ));
    }
    let level = match &sink {
        Some(_) => max_level.as_int() as u8,
        None => 0,
    };
    SINK.store(sink.map(|s| Arc::new(Installed(s))));
    MAX_LEVEL.store(level, Relaxed);
    Ok(())
}

/// The `tracing` subscriber: events only (the engine opens no spans).
struct Forwarder;

impl Forwarder {
    fn wanted(level: LogLevel) -> bool {
        (level.as_int() as u8) <= MAX_LEVEL.load(Relaxed) && !IN_SINK.with(Cell::get)
    }
}

impl Subscriber for Forwarder {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // The sink changes at run time: ask on each event (one atomic load).
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // The engine's own events only: those of its dependencies (HTTP, TLS, Redis clients)
        // are theirs to word, and could show what the engine's fields never do.
        metadata.is_event()
            && metadata.target().starts_with("veritoken")
            && Forwarder::wanted(LogLevel::from_tracing(metadata.level()))
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let level = LogLevel::from_tracing(metadata.level());
        let Some(installed) = SINK.load_full() else {
            return;
        };
        IN_SINK.with(|f| f.set(true));
        let _ = catch_unwind(AssertUnwindSafe(|| {
            if !installed.0.enabled(level) {
                return;
            }
            let mut fields = Fields::default();
            event.record(&mut fields);
            installed.0.log(&LogRecord {
                level,
                target: metadata.target().to_owned(),
                message: fields.message,
                fields: fields.pairs,
            });
        }));
        IN_SINK.with(|f| f.set(false));
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

#[derive(Default)]
struct Fields {
    message: String,
    pairs: Vec<(&'static str, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        // `%value` fields and the message arrive here already in Display form.
        self.put(field, format!("{value:?}"));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        if field.name() == "message" {
            self.message = value;
        } else {
            self.pairs.push((field.name(), value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    struct Collect(Arc<Mutex<Vec<LogRecord>>>, LogLevel);

    impl LogSink for Collect {
        fn enabled(&self, level: LogLevel) -> bool {
            level <= self.1
        }
        fn log(&self, record: &LogRecord) {
            self.0.lock().unwrap().push(record.clone());
        }
    }

    struct Panics;

    impl LogSink for Panics {
        fn enabled(&self, _: LogLevel) -> bool {
            true
        }
        fn log(&self, _: &LogRecord) {
            panic!("a sink that fails");
        }
    }

    // One test: the sink is process-wide.
    #[test]
    fn forwards_levels_fields_and_survives_a_panicking_sink() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        set_log_sink(
            Some(Box::new(Collect(seen.clone(), LogLevel::Info))),
            LogLevel::Debug,
        )
        .unwrap();
        tracing::warn!(issuer = %"https://idp.example", failures = 2u32, error = %"x cannot be reached", "key fetch failed");
        tracing::debug!("below the sink's level");
        tracing::error!(target: "hyper::proto", "a dependency's event");
        // Other tests log on their own threads meanwhile: keep this test's records.
        let mine = |v: &Vec<LogRecord>| -> Vec<LogRecord> {
            v.iter()
                .filter(|r| r.target == "veritoken::support::log::tests")
                .cloned()
                .collect()
        };
        let got = mine(&seen.lock().unwrap());
        assert!(seen
            .lock()
            .unwrap()
            .iter()
            .all(|r| r.target.starts_with("veritoken")));
        assert_eq!(got.len(), 1, "{got:?}");
        let r = &got[0];
        assert_eq!(r.level, LogLevel::Warn);
        assert_eq!(r.message, "key fetch failed");
        assert_eq!(r.target, "veritoken::support::log::tests");
        assert_eq!(
            r.line(),
            r#"key fetch failed issuer=https://idp.example failures=2 error="x cannot be reached""#
        );

        set_log_sink(Some(Box::new(Panics)), LogLevel::Trace).unwrap();
        tracing::error!("caught");
        set_log_sink(None, LogLevel::Trace).unwrap();
        tracing::error!("dropped");
        assert_eq!(mine(&seen.lock().unwrap()).len(), 1);
        assert_eq!(LogLevel::from_int(2), Some(LogLevel::Warn));
        assert_eq!(LogLevel::from_int(9), None);
    }
}
