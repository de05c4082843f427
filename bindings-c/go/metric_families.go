package veritoken

/*
#include "veritoken.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// MetricFamily is one of the engine's metric families: the names, help and type the
// sidecar's /metrics serves (labelled "client" there), from the engine's one table. The
// Prometheus collector in the veritoken/prometheus module uses them.
type MetricFamily struct {
	// Name without the "_total" that a counter's samples add.
	Name string
	Help string
	// Kind is the Prometheus type: "counter".
	Kind string
}

// MetricFamilies lists the engine's metric families, in MetricValues order.
func MetricFamilies() []MetricFamily {
	n := int(C.vt_metric_family_count())
	out := make([]MetricFamily, 0, n)
	for i := 0; i < n; i++ {
		var name, help, kind *C.char
		if C.vt_metric_family(C.size_t(i), &name, &help, &kind) != C.VT_OK {
			break
		}
		out = append(out, MetricFamily{C.GoString(name), C.GoString(help), C.GoString(kind)})
	}
	return out
}

// MetricValues reads each engine metric family's current value, in MetricFamilies order
// (nil once the verifier is closed).
func (v *Verifier) MetricValues() []uint64 {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.ptr == nil {
		return nil
	}
	out := make([]uint64, int(C.vt_metric_family_count()))
	if len(out) == 0 {
		return out
	}
	r := C.vt_verifier_metric_values(v.ptr, (*C.uint64_t)(unsafe.Pointer(&out[0])), C.size_t(len(out)))
	runtime.KeepAlive(v)
	if r != C.VT_OK {
		return nil
	}
	return out
}
