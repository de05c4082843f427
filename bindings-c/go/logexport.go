package veritoken

/*
#include "veritoken.h"
*/
import "C"

import (
	"context"
	"log/slog"
	"time"
	"unsafe"
)

// veritokenGoLog receives the engine's records (vt_set_log_callback) on whatever thread
// emitted them; cgo runs it on a Go thread. The record's strings are copied before it returns.
//
//export veritokenGoLog
func veritokenGoLog(record *C.vt_log_record, userData unsafe.Pointer) {
	// A handler that panics loses its record: the panic must not unwind into the engine's
	// frames (on the engine's I/O thread it would end the process).
	defer func() { _ = recover() }()
	h := logHandler()
	level := slogLevel(int(record.level))
	ctx := context.Background()
	if !h.Enabled(ctx, level) {
		return
	}
	r := slog.NewRecord(time.Now(), level, C.GoString(record.message), 0)
	n := int(record.field_count)
	if n > 0 {
		names := unsafe.Slice(record.field_names, n)
		values := unsafe.Slice(record.field_values, n)
		for i := 0; i < n; i++ {
			r.AddAttrs(slog.String(C.GoString(names[i]), C.GoString(values[i])))
		}
	}
	r.AddAttrs(slog.String("target", C.GoString(record.target)))
	_ = h.Handle(ctx, r)
}
