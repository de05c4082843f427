//go:build (!(linux && (amd64 || arm64)) && !veritoken_pkgconfig) || (linux && arm64 && musl && !veritoken_pkgconfig)

package veritoken

// There is no prebuilt libveritoken for this GOOS/GOARCH (nor for linux/arm64 on musl): the
// build stops here with the name below. Build the C library from a checkout (`make c`),
// install it, and build with `-tags veritoken_pkgconfig`; see README.md.
var _ = veritoken_has_no_prebuilt_library_for_this_platform_build_with_tag_veritoken_pkgconfig
