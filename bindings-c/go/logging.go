package veritoken

/*
#include "veritoken.h"
void veritokenGoLog(vt_log_record *record, void *user_data);
*/
import "C"

import (
	"log/slog"
	"sync/atomic"
)

// LevelTrace is the engine's TRACE level in slog terms (below slog.LevelDebug).
const LevelTrace = slog.LevelDebug - 4

var handler atomic.Pointer[slog.Handler]

func init() {
	// Every engine event goes to logHandler(), which checks the handler's level: the
	// engine emits at most a few records per key fetch.
	C.vt_set_log_callback(C.vt_log_callback(C.veritokenGoLog), C.int32_t(C.VT_LOG_TRACE), nil, nil, 0)
}

// SetLogHandler sends the engine's log records (key fetches, fetch failures with their
// backoff, skipped keys, Redis store failures) to h. nil, the default, means
// slog.Default().Handler() at the time of each record, so slog.SetDefault applies. The
// handler is process-wide (the engine's I/O thread is shared by every Verifier) and is
// called from any goroutine. Records carry the message, the fields as string attributes
// (issuer, error, failures, retry_ms...) and "target" (the engine module); never a token
// or a secret.
func SetLogHandler(h slog.Handler) {
	if h == nil {
		handler.Store(nil)
		return
	}
	handler.Store(&h)
}

func logHandler() slog.Handler {
	if h := handler.Load(); h != nil {
		return *h
	}
	return slog.Default().Handler()
}

// slogLevel maps the engine's levels (1 error ... 5 trace) onto slog's.
func slogLevel(level int) slog.Level {
	switch level {
	case 1:
		return slog.LevelError
	case 2:
		return slog.LevelWarn
	case 3:
		return slog.LevelInfo
	case 4:
		return slog.LevelDebug
	default:
		return LevelTrace
	}
}
