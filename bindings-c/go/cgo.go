package veritoken

// How the C library is found. By default the static library that `make go` (or `make c`)
// places in build/lib of this repository is linked in, so a checkout needs no install
// step and the Go binary has no runtime dependency. Build with `-tags veritoken_pkgconfig`
// to link whatever `pkg-config veritoken` names instead (an installed libveritoken).

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#cgo !veritoken_pkgconfig LDFLAGS: ${SRCDIR}/../../build/lib/libveritoken.a -lpthread -ldl -lm
#cgo veritoken_pkgconfig pkg-config: veritoken
#include <stdlib.h>
#include "veritoken.h"
*/
import "C"
