package veritoken

// #include "veritoken.h"
import "C"

// Version is the version of the veritoken engine linked in (the C library's vt_version),
// e.g. "0.1.0": the same for every veritoken package of a release.
func Version() string { return C.GoString(C.vt_version()) }
