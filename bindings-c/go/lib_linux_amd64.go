//go:build linux && amd64 && !veritoken_pkgconfig

package veritoken

// The prebuilt static library for linux/amd64 (glibc >= 2.17; see cgo.go).

// #cgo LDFLAGS: ${SRCDIR}/lib/linux_amd64/libveritoken.a -lpthread -ldl -lm
import "C"
