package veritoken

// How the C library is found. The module carries its header (include/) and, on a release
// tag, a prebuilt static release library per platform (lib/<GOOS>_<GOARCH>/libveritoken.a,
// chosen by the lib_*.go files' build constraints), so `go get` needs neither a checkout nor
// a Rust toolchain, and the Go binary has no runtime dependency. In a checkout, `make go`
// puts the header and the library it builds in the same places (they are not committed on
// main). Build with `-tags veritoken_pkgconfig` to link whatever `pkg-config veritoken`
// names instead (an installed libveritoken).

/*
#cgo CFLAGS: -I${SRCDIR}/include
#cgo veritoken_pkgconfig pkg-config: veritoken
#include <stdlib.h>
#include "veritoken.h"
*/
import "C"
