//go:build linux && arm64 && !musl && !veritoken_pkgconfig

package veritoken

// The prebuilt static library for linux/arm64 (glibc >= 2.17; see cgo.go).

// #cgo LDFLAGS: ${SRCDIR}/lib/linux_arm64/libveritoken.a -lpthread -ldl -lm
import "C"

// The folders of the library and the header, imported so that `go mod vendor` keeps them:
// it copies only folders that hold a Go package.
import (
	_ "github.com/veritoken/veritoken/bindings-c/go/include"
	_ "github.com/veritoken/veritoken/bindings-c/go/lib/linux_arm64"
)
