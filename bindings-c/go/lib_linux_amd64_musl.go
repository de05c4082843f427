//go:build linux && amd64 && musl && !veritoken_pkgconfig

package veritoken

// The prebuilt static library for linux/amd64 on musl libc (Alpine: `apk add gcc musl-dev`,
// then `go build -tags musl`; see cgo.go). The glibc library does not link against musl,
// and Go cannot tell the two apart by itself, hence the tag. Rust's unwinder comes from
// libgcc_eh.a (static, as Alpine's own Rust links it), so the binary needs no libgcc_s.

// #cgo LDFLAGS: ${SRCDIR}/lib/linux_amd64_musl/libveritoken.a -lgcc_eh -lpthread -ldl -lm
import "C"

// The folders of the library and the header, imported so that `go mod vendor` keeps them:
// it copies only folders that hold a Go package.
import (
	_ "github.com/veritoken/veritoken/bindings-c/go/include"
	_ "github.com/veritoken/veritoken/bindings-c/go/lib/linux_amd64_musl"
)
