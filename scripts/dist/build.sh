#!/usr/bin/env bash
# `make dist`: every installable artifact of this version into dist/, built from this checkout
# with the `dist` cargo profile (release, LTO, no debug info, stripped):
#   dist/python/   abi3 wheels (manylinux_2_17, musllinux_1_2) and the sdist
#   dist/npm/      @veritoken/node and its per-platform addon packages (npm pack tarballs)
#   dist/goproxy/  the Go module as it would be tagged, as a file-system module proxy
#   dist/c/        libveritoken-<version>-linux-<arch>[-musl].tar.gz (headers, .a, .so, .pc,
#                  example; musl for x86_64)
#   dist/cli/      veritoken-<version>-linux-<arch>.tar.gz (static musl CLI and sidecar)
#   dist/SHA256SUMS, dist/SIZES
# Each artifact carries LICENSE and its THIRD_PARTY_LICENSES (cargo-about; written first).
# Linux x86_64 always; aarch64 too when rustup can add its targets and zig can link for it
# (otherwise a SKIPPED line). DIST_ARCHES="x86_64" limits the set (what `make test` uses).
# Tools (maturin, zig, cargo-zigbuild, auditwheel) come from scripts/dist/requirements.txt,
# installed into build/dist-venv; zig links against glibc 2.17 and musl, no system toolchain.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/dist/common.sh

ARCHES=${DIST_ARCHES:-x86_64 aarch64}
TARGET_DIR=${DIST_TARGET_DIR:-$ROOT/target/dist}
STAGE=$ROOT/build/dist
START=$SECONDS

[ -f LICENSE ] || die "LICENSE is missing at the repository root (every package ships it)"
dist_tools
python3 scripts/dist/version.py --check

rm -rf "$DIST" "$STAGE"
mkdir -p "$DIST"/{python,npm,c,cli} "$STAGE"

step "THIRD_PARTY_LICENSES (cargo-about $CARGO_ABOUT_VERSION)"
t0=$SECONDS
about_tool
third_party_licenses cli cli/Cargo.toml "The veritoken CLI $VERSION"
third_party_licenses c bindings-c/Cargo.toml "libveritoken $VERSION (C library and Go module)"
third_party_licenses python bindings-python/Cargo.toml "veritoken $VERSION for Python"
third_party_licenses node bindings-node/Cargo.toml "The @veritoken/node $VERSION native addon"
cp "$LICENSES/python" bindings-python/THIRD_PARTY_LICENSES
echo "written in $((SECONDS - t0)) s:$(cd "$LICENSES" && wc -c cli c python node | awk '$2 != "total" {printf " %s %d KB", $2, $1 / 1024}')"

built=()
for arch in $ARCHES; do
  gnu=$arch-unknown-linux-gnu musl=$arch-unknown-linux-musl
  # The musl artifacts need the musl target even on this machine's own arch: a fresh
  # rustup has only the host's gnu target (seen: "can't find crate for `core`").
  if ! rustup target add "$gnu" "$musl" >/dev/null 2>&1; then
    if [ "$arch" = "$(uname -m)" ]; then
      echo "dist: \`rustup target add $gnu $musl\` failed; the musl wheel, npm package" \
        "and CLI of this machine's arch need it" >&2
      exit 1
    fi
    echo "SKIPPED $arch: \`rustup target add $gnu $musl\` failed (no such toolchain support here)"
    continue
  fi
  if [ "$arch" != "$(uname -m)" ]; then
    if ! printf 'int main(void){return 0;}\n' | python3 -m ziglang cc -target "${arch}-linux-gnu.2.17" -x c - -o "$STAGE/zig-probe" 2>/dev/null; then
      echo "SKIPPED $arch: zig cannot link for ${arch}-linux-gnu.2.17 (no cross linker)"
      continue
    fi
  fi
  napi=$(napi_arch "$arch") goarch=$(go_arch "$arch")
  t0=$SECONDS

  step "$arch: libveritoken (C, Go) and the Node addon, glibc 2.17"
  cargo zigbuild --locked --profile dist --target "$gnu.2.17" --target-dir "$TARGET_DIR" -p veritoken-c -p veritoken-node
  out=$TARGET_DIR/$gnu/dist

  step "$arch: Python wheel, manylinux2014 (glibc 2.17)"
  cp LICENSE bindings-python/LICENSE
  CARGO_TARGET_DIR=$TARGET_DIR maturin build --locked --profile dist --zig --compatibility manylinux2014 \
    --target "$gnu" -m bindings-python/Cargo.toml -o "$DIST/python"

  # musl: the cdylibs need a dynamic C runtime (as maturin sets it); the CLI gets
  # +crt-static on its own link only, so all three share one build of the dependencies.
  export CARGO_ENCODED_RUSTFLAGS=$'-C\x1ftarget-feature=-crt-static'
  step "$arch: Python wheel, musllinux_1_2"
  CARGO_TARGET_DIR=$TARGET_DIR maturin build --locked --profile dist --zig --compatibility musllinux_1_2 \
    --target "$musl" -m bindings-python/Cargo.toml -o "$DIST/python"
  if [ "$arch" = x86_64 ]; then
    step "$arch: libveritoken (C, Go) and the Node addon, musl"
    cargo zigbuild --locked --profile dist --target "$musl" --target-dir "$TARGET_DIR" -p veritoken-c -p veritoken-node
  fi
  step "$arch: the static veritoken CLI (musl)"
  cargo-zigbuild rustc --locked --profile dist --target "$musl" --target-dir "$TARGET_DIR" \
    -p veritoken-cli --bin veritoken -- -C target-feature=+crt-static
  unset CARGO_ENCODED_RUSTFLAGS
  mout=$TARGET_DIR/$musl/dist
  output_lacks NEEDED readelf -d "$mout/veritoken" || die "$mout/veritoken is not static"

  step "$arch: packaging"
  # C SDK: the install layout (scripts/dist/install-c.sh, also `make install`), tarred.
  name=libveritoken-$VERSION-linux-$arch
  scripts/dist/install-c.sh "$out" "$STAGE/c/$name" "$LICENSES/c"
  tar -C "$STAGE/c" -czf "$DIST/c/$name.tar.gz" --owner=0 --group=0 "$name"
  # Go: the stripped static library for the module's lib/<goos>_<goarch>[_musl]/.
  mkdir -p "$STAGE/go-lib/linux_$goarch"
  cp "$STAGE/c/$name/lib/libveritoken.a" "$STAGE/go-lib/linux_$goarch/"
  if [ "$arch" = x86_64 ]; then
    scripts/dist/install-c.sh "$TARGET_DIR/$musl/dist" "$STAGE/c/$name-musl" "$LICENSES/c" musl
    tar -C "$STAGE/c" -czf "$DIST/c/$name-musl.tar.gz" --owner=0 --group=0 "$name-musl"
    mkdir -p "$STAGE/go-lib/linux_${goarch}_musl"
    cp "$STAGE/c/$name-musl/lib/libveritoken.a" "$STAGE/go-lib/linux_${goarch}_musl/"
  fi
  # Node: the platform package(s).
  npm_platform "linux-$napi-gnu" "$out/libveritoken_node.so"
  [ "$arch" = x86_64 ] && npm_platform "linux-$napi-musl" "$TARGET_DIR/$musl/dist/libveritoken_node.so"
  # CLI.
  mkdir -p "$STAGE/cli/veritoken-$VERSION-linux-$arch"
  cp "$mout/veritoken" LICENSE "$STAGE/cli/veritoken-$VERSION-linux-$arch/"
  cp "$LICENSES/cli" "$STAGE/cli/veritoken-$VERSION-linux-$arch/THIRD_PARTY_LICENSES"
  # The README's `veritoken serve --config examples/sidecar/veritoken-serve.toml` and its nginx
  # config, so that the download alone runs the sidecar example.
  mkdir -p "$STAGE/cli/veritoken-$VERSION-linux-$arch/examples/sidecar"
  cp examples/sidecar/veritoken-serve.toml examples/sidecar/nginx.conf \
    "$STAGE/cli/veritoken-$VERSION-linux-$arch/examples/sidecar/"
  tar -C "$STAGE/cli" -czf "$DIST/cli/veritoken-$VERSION-linux-$arch.tar.gz" --owner=0 --group=0 "veritoken-$VERSION-linux-$arch"
  built+=("$arch")
  echo "$arch built in $((SECONDS - t0)) s"
done
[ ${#built[@]} -gt 0 ] || die "no architecture was built"

step "Python sdist"
cp LICENSE bindings-python/LICENSE
maturin sdist -m bindings-python/Cargo.toml -o "$DIST/python"
for whl in "$DIST"/python/*.whl; do
  if [[ $whl == *musllinux* ]] && ! output_has '[Mm][Uu][Ss][Ll]' sh -c 'ldd --version 2>&1; true'; then
    # auditwheel cannot analyse a musl wheel on a glibc machine (it reads the host's libc).
    unzip -o -q "$whl" 'veritoken/_veritoken*.so' -d "$STAGE/whl"
    echo "$(basename "$whl"): $(readelf -d "$STAGE"/whl/veritoken/_veritoken*.so | grep -o 'NEEDED.*' | tr '\n' ' ')"
    rm -rf "$STAGE/whl"
  else
    auditwheel show "$whl" | tr '\n' ' ' | sed 's/  */ /g; s/ The wheel references.*//'
    echo
  fi
  output_has 'dist-info/(.*/)?LICENSE$' unzip -Z1 "$whl" || die "$whl has no LICENSE"
  output_has 'dist-info/(.*/)?THIRD_PARTY_LICENSES$' unzip -Z1 "$whl" || die "$whl has no THIRD_PARTY_LICENSES"
done

step "Node: @veritoken/node"
node scripts/dist/npm-main.js "$STAGE/npm/node" "${NPM_PLATFORMS[@]}"
for dir in "$STAGE/npm/node" "${NPM_PLATFORM_DIRS[@]}"; do
  (cd "$dir" && npm pack --silent --pack-destination "$DIST/npm" >/dev/null)
done

step "Go module $GO_MODULE@v$VERSION"
gomod=$STAGE/go/module
mkdir -p "$gomod"
tar -C bindings-c/go --exclude=./examples --exclude=./bench --exclude=./include --exclude=./lib --exclude='*.test' -cf - . | tar -C "$gomod" -xf -
mkdir -p "$gomod/include" && cp bindings-c/include/veritoken.h "$gomod/include/"
cp -r "$STAGE/go-lib" "$gomod/lib"
scripts/dist/go-placeholders.sh "$gomod"
cp LICENSE "$gomod/"
cp "$LICENSES/c" "$gomod/THIRD_PARTY_LICENSES"
if [ ! -f "$gomod/lib/linux_arm64/libveritoken.a" ]; then
  # Not a release: the module says so at compile time on arm64 instead of failing to link.
  echo "note: no linux/arm64 library in this dist: the module's arm64 build stops at lib_unsupported.go"
  rm "$gomod/lib_linux_arm64.go"
  sed -i 's|^//go:build .*|//go:build !(linux \&\& amd64) \&\& !veritoken_pkgconfig|' "$gomod/lib_unsupported.go"
fi
(cd scripts/dist/goproxy && go run . -module "$GO_MODULE" -version "v$VERSION" -dir "$gomod" -out "$DIST/goproxy")

step "Go module $GO_MODULE/prometheus@v$VERSION"
# Its own module (tagged bindings-c/go/prometheus/v<version>), so the veritoken module never
# requires client_golang. As tagged, it requires the veritoken module of the same version
# instead of the checkout's replace.
prom=$STAGE/go/prometheus
mkdir -p "$prom"
tar -C bindings-c/go/prometheus --exclude='*_test.go' -cf - . | tar -C "$prom" -xf -
cp LICENSE "$prom/"
(cd "$prom" && go mod edit -dropreplace="$GO_MODULE" -require="$GO_MODULE@v$VERSION")
(cd scripts/dist/goproxy && go run . -module "$GO_MODULE/prometheus" -version "v$VERSION" -dir "$prom" -out "$DIST/goproxy")

step "SHA256SUMS and SIZES"
(cd "$DIST" && find . -type f ! -name SHA256SUMS ! -name SIZES | sed 's|^\./||' | sort > "$STAGE/files" &&
  xargs sha256sum < "$STAGE/files" > SHA256SUMS &&
  xargs du -b < "$STAGE/files" | awk '{printf "%10d  %6.1f MB  %s\n", $1, $1 / 1048576, $2}' > SIZES)
cat "$DIST/SIZES"
echo "make dist: built ${built[*]} in $((SECONDS - START)) s"
