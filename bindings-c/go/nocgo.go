//go:build !cgo

package veritoken

// veritoken calls the engine through cgo. Without it (CGO_ENABLED=0, or a golang:alpine
// image with no C compiler, where Go turns cgo off) the build stops here with the name
// below, instead of "undefined: veritoken.Token" in the caller's code.
var _ = veritoken_needs_cgo_set_CGO_ENABLED_1_and_install_a_C_compiler
