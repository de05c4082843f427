//go:build linux && arm64 && !veritoken_pkgconfig

package veritoken

// The prebuilt static library for linux/arm64 (glibc >= 2.17; see cgo.go).

// #cgo LDFLAGS: ${SRCDIR}/lib/linux_arm64/libveritoken.a -lpthread -ldl -lm
import "C"
