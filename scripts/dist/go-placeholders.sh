#!/usr/bin/env bash
# Writes a Go file into the Go module's include/ and each lib/<platform>/ folder (module root
# in $1). `go mod vendor` copies only folders that hold a Go package: without these, a
# vendored build loses veritoken.h and libveritoken.a. lib_linux_<arch>.go imports them.
set -euo pipefail
mod=$1
cat > "$mod/include/include.go" <<'GO'
// Package include holds veritoken.h for the cgo directives of the veritoken package; it
// is a Go package only so that `go mod vendor` keeps this folder.
package include
GO
# Both platforms, a library or not: `go mod tidy` and `go mod vendor` resolve the imports
# of every platform's file (a build for a platform without its library still stops at link
# time, or at lib_unsupported.go in a module built without it).
for platform in linux_amd64 linux_amd64_musl linux_arm64; do
  dir=$mod/lib/$platform
  mkdir -p "$dir"
  cat > "$dir/lib.go" <<GO
// Package $platform holds the prebuilt libveritoken.a for $platform; it is a Go package
// only so that \`go mod vendor\` keeps this folder.
package $platform
GO
done
