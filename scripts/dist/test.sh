#!/usr/bin/env bash
# `make dist-test`: installs every artifact of dist/ in a clean temporary place, the way a user
# would, with NO Rust toolchain reachable (PATH without cargo/rustc, no CARGO_HOME or
# RUSTUP_HOME, HOME a fresh directory), and runs the shared vectors through each:
#   Python  fresh venv, pip install --no-index --find-links dist/python; vectors; FastAPI example
#   Node    fresh project, npm install of the tarballs (offline); vectors from CJS and ESM;
#           tsc --strict on a file importing the installed types
#   Go      a module outside the repository, go get through dist/goproxy; vectors; go vet;
#           the Prometheus collector module, scraped
#   C       the SDK tarball; the documented pkg-config lines (static and shared); vectors
#   musl    (x86_64) the Go module with -tags musl and the musl C SDK, each linked by a musl
#           C compiler (zig's, from build/dist-venv) into a static program that runs here
#   CLI     the static binary on a fresh copy of tests/vectors
# Only the examples' dependencies (FastAPI, TypeScript, client_golang checked against
# sum.golang.org) come from the registries, separately.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
. scripts/dist/common.sh
[ -f "$DIST/SHA256SUMS" ] || die "no $DIST/SHA256SUMS: run \`make dist\` first"
(cd "$DIST" && sha256sum --quiet -c SHA256SUMS) || die "dist/ does not match its SHA256SUMS"

ARCH=$(uname -m)
T=$(mktemp -d /tmp/veritoken-dist-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/home" "$T/tmp" "$T/vectors"
cp tests/vectors/*.json "$T/vectors/"
PY=$(python3 -c 'import sys; print(sys.executable)')
GOCACHE_REAL=$(go env GOCACHE)
NPM_CACHE_REAL=$(npm config get cache)
ZIG_CACHE_REAL=${ZIG_GLOBAL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zig}
PIP_CACHE_REAL=$(python3 -m pip cache dir 2>/dev/null || echo "$T/pip-cache")
# Only the tools' own directories: node/npm, go, python, cc, pkg-config, coreutils.
CLEAN_PATH=$(dirname "$(command -v node)"):$(dirname "$(command -v go)"):$(dirname "$PY"):/usr/bin:/bin
clean() { env -i HOME="$T/home" TMPDIR="$T/tmp" LANG=C.UTF-8 PATH="$CLEAN_PATH" npm_config_update_notifier=false "$@"; }
if clean sh -c 'command -v cargo || command -v rustc || command -v rustup'; then
  die "a Rust toolchain is reachable on the clean PATH ($CLEAN_PATH)"
fi
START=$SECONDS
# notices FILE CRATE...: FILE is a THIRD_PARTY_LICENSES listing each CRATE (the artifact's own
# binding crate among them) with aws-lc's OpenSSL and SSLeay notices, which its binary needs.
notices() {
  local file=$1 crate; shift
  [ -s "$file" ] || die "no THIRD_PARTY_LICENSES at $file"
  for crate in aws-lc-sys "$@"; do
    grep -Eq "^$crate [0-9]" "$file" || die "$file does not list $crate"
  done
  grep -q 'The OpenSSL Project' "$file" && grep -q 'Eric Young' "$file" ||
    die "$file lacks aws-lc's OpenSSL and SSLeay notices"
  echo "THIRD_PARTY_LICENSES: $(awk '/^====/ {exit} /^[a-z0-9_-]+ [0-9]/ {n++} END {print n}' "$file") crates, $(wc -c < "$file") bytes: $file"
}

step "Python: pip install --no-index --find-links dist/python veritoken"
clean "$PY" -m venv "$T/venv"
t0=$SECONDS
clean "$T/venv/bin/pip" install -q --disable-pip-version-check --no-index --find-links "$DIST/python" veritoken
echo "wheel installed in $((SECONDS - t0)) s: $(ls "$T"/venv/lib/python3*/site-packages/veritoken-*.dist-info/WHEEL) says $(grep ^Tag: "$T"/venv/lib/python3*/site-packages/veritoken-*.dist-info/WHEEL | tr '\n' ' ')"
clean "$T/venv/bin/python" -c 'import importlib.metadata as m, veritoken; assert veritoken.__version__ == m.version("veritoken") == "'"$VERSION"'"'
clean "$T/venv/bin/python" -c 'import importlib.metadata as m; assert any("LICENSE" in str(f) for f in m.files("veritoken"))'
notices "$(clean "$T/venv/bin/python" -c 'import importlib.metadata as m; print(next(f.locate() for f in m.files("veritoken") if f.name == "THIRD_PARTY_LICENSES"))')" pyo3
(cd "$T" && clean "$T/venv/bin/python" "$ROOT/scripts/dist/test/vectors.py" "$T/vectors")
step "Python: the FastAPI example (FastAPI and httpx from PyPI, pinned by requirements-dev.txt)"
sed 's/\[.*\]//' bindings-python/requirements-dev.txt > "$T/constraints.txt"
clean env PIP_CACHE_DIR="$PIP_CACHE_REAL" "$T/venv/bin/pip" install -q --disable-pip-version-check \
  -c "$T/constraints.txt" fastapi httpx
(cd "$T" && clean "$T/venv/bin/python" "$ROOT/scripts/dist/test/fastapi_app.py")

step "Node: npm install of the tarballs into a fresh project"
napi=$(napi_arch "$ARCH")
mkdir -p "$T/node"
echo '{"name": "user", "private": true}' > "$T/node/package.json"
t0=$SECONDS
(cd "$T/node" && clean env npm_config_cache="$T/npm-cache" npm install --offline --no-audit --no-fund --loglevel=error \
  "$DIST/npm/veritoken-node-$VERSION.tgz" "$DIST/npm/veritoken-node-linux-$napi-gnu-$VERSION.tgz")
echo "npm packages installed in $((SECONDS - t0)) s"
[ ! -L "$T/node/node_modules/@veritoken/node" ] || die "node_modules/@veritoken/node is a symlink"
[ -f "$T/node/node_modules/@veritoken/node/LICENSE" ] || die "@veritoken/node has no LICENSE"
notices "$T/node/node_modules/@veritoken/node-linux-$napi-gnu/THIRD_PARTY_LICENSES" napi
cp scripts/dist/test/vectors.cjs scripts/dist/test/vectors.mjs scripts/dist/test/check.ts scripts/dist/test/tsconfig.json "$T/node/"
(cd "$T/node" && clean node vectors.cjs "$T/vectors" && clean node vectors.mjs "$T/vectors")
# The loader names the platform and the supported ones when no platform package fits.
mv "$T/node/node_modules/@veritoken/node-linux-$napi-gnu" "$T/node/hidden"
msg=$(cd "$T/node" && clean node -e "require('@veritoken/node')" 2>&1 || true)
mv "$T/node/hidden" "$T/node/node_modules/@veritoken/node-linux-$napi-gnu"
grep -q "linux-$napi-gnu.*Prebuilt platforms: linux-x64-gnu" <<<"$msg" || die "unclear loader error: $msg"
echo "without its platform package: $(grep -m1 "^Error" <<<"$msg")"
step "Node: tsc --strict on the installed types (TypeScript from npm, pinned)"
(cd "$T/node" && clean env npm_config_cache="$NPM_CACHE_REAL" npm install --no-audit --no-fund --loglevel=error --no-save \
  typescript@5.9.3 @types/node@20.19.25 && clean node_modules/.bin/tsc -p tsconfig.json && echo "tsc --strict: ok")

step "Go: go get $GO_MODULE@v$VERSION through file://$DIST/goproxy"
mkdir -p "$T/gouser"
cp scripts/dist/test/go/main.go "$T/gouser/"
printf 'module example.com/veritoken-user\n\ngo 1.22\n' > "$T/gouser/go.mod"
goenv=(GOPROXY="file://$DIST/goproxy" GOSUMDB=off GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=1
  GOPATH="$T/gopath" GOMODCACHE="$T/gopath/pkg/mod" GOCACHE="$GOCACHE_REAL")
t0=$SECONDS
(cd "$T/gouser" && clean env "${goenv[@]}" go get "$GO_MODULE@v$VERSION")
echo "go get in $((SECONDS - t0)) s"
t0=$SECONDS
(cd "$T/gouser" && clean env "${goenv[@]}" go build -o veritoken-user . && clean env "${goenv[@]}" go vet ./...)
echo "go build + vet in $((SECONDS - t0)) s"
(cd "$T/gouser" && clean ./veritoken-user "$T/vectors")
# Vendored, as many builds are: go mod vendor keeps only folders with a Go package, so the
# header's and the library's folders carry one each.
(cd "$T/gouser" && clean env "${goenv[@]}" go mod vendor &&
  clean env "${goenv[@]}" GOFLAGS=-mod=vendor go build -o veritoken-user-vendored . &&
  clean ./veritoken-user-vendored "$T/vectors" >/dev/null && echo "go mod vendor + go build -mod=vendor: ok")
output_lacks 'NEEDED.*veritoken' readelf -d "$T/gouser/veritoken-user" || die "the Go binary needs libveritoken at run time"
notices "$T/gopath/pkg/mod/$GO_MODULE@v$VERSION/THIRD_PARTY_LICENSES"
# A musl C compiler, as on Alpine (zig's musl, linked statically, so its programs run here);
# zig's cache is the one `make dist` filled, so musl's libc is not compiled again.
MUSL_CC="env ZIG_GLOBAL_CACHE_DIR=$ZIG_CACHE_REAL $DIST_VENV/bin/python -m ziglang cc -target $ARCH-linux-musl"
if [ "$ARCH" = x86_64 ]; then
  step "Go on musl: go build -tags musl with a musl C compiler"
  (cd "$T/gouser" && clean env "${goenv[@]}" CC="$MUSL_CC" go build -tags musl -o veritoken-user-musl . &&
    clean ./veritoken-user-musl "$T/vectors")
  output_lacks NEEDED readelf -d "$T/gouser/veritoken-user-musl" || die "the musl Go binary is not static"
fi

step "Go: go get $GO_MODULE/prometheus@v$VERSION (client_golang from the public proxy)"
mkdir -p "$T/goprom"
cp scripts/dist/test/goprom/main.go "$T/goprom/"
printf 'module example.com/veritoken-prom-user\n\ngo 1.22\n' > "$T/goprom/go.mod"
promenv=("${goenv[@]}" GOPROXY="file://$DIST/goproxy,$(go env GOPROXY)"
  GOSUMDB=sum.golang.org GONOSUMDB=github.com/veritoken/veritoken)
(cd "$T/goprom" && clean env "${promenv[@]}" go get "$GO_MODULE/prometheus@v$VERSION" &&
  clean env "${promenv[@]}" go build -o veritoken-prom-user . && clean env "${promenv[@]}" go vet ./... &&
  clean ./veritoken-prom-user)

step "C: the SDK tarball and the documented pkg-config lines"
tar -C "$T" -xzf "$DIST/c/libveritoken-$VERSION-linux-$ARCH.tar.gz"
sdk=$T/libveritoken-$VERSION-linux-$ARCH
cp "$sdk/share/doc/veritoken/examples/verify.c" bindings-c/tests/c/vectors.c "$T/"
(cd "$T" && clean env PKG_CONFIG_PATH="$sdk/lib/pkgconfig" sh -c '
  set -e
  cc verify.c $(pkg-config --cflags --libs veritoken) -o verify-static
  cc verify.c $(pkg-config --cflags --libs veritoken-shared) -o verify-shared
  cc vectors.c $(pkg-config --cflags --libs veritoken) -lcjson -o c-vectors')
output_has SONAME readelf -d "$sdk/lib/libveritoken.so.$VERSION" || die "libveritoken.so has no SONAME"
notices "$sdk/share/doc/veritoken/THIRD_PARTY_LICENSES"
printf '{"issuers": [{"issuer": "https://idp.example.com/", "audiences": ["api://default"], "algorithms": ["HS256"], "keys": [{"jwks": {"keys": [{"kty": "oct", "kid": "k", "k": "ZGlzdC10ZXN0LXNlY3JldC1vZi1hdC1sZWFzdC0zMi1ieXRlcyE"}]}}]}]}\n' > "$T/c.json"
# The same two programs through CMake (pkg_check_modules ... IMPORTED_TARGET).
mkdir -p "$T/cmake" && cp scripts/dist/test/cmake/CMakeLists.txt "$T/verify.c" "$T/cmake/"
clean env PKG_CONFIG_PATH="$sdk/lib/pkgconfig" cmake -S "$T/cmake" -B "$T/cmake/build" >/dev/null
clean cmake --build "$T/cmake/build" >/dev/null
for exe in verify-static verify-shared cmake/build/verify-static cmake/build/verify-shared; do
  out=$(cd "$T" && clean ./$exe c.json not.a.token || true)
  grep -q token_malformed <<<"$out" || die "$exe: $out"
  echo "$exe runs (no LD_LIBRARY_PATH): ${out:0:80}"
done
for exe in verify-static cmake/build/verify-static; do
  output_lacks 'NEEDED.*veritoken' readelf -d "$T/$exe" || die "$exe needs libveritoken.so"
done
(cd "$T" && clean ./c-vectors "$T"/vectors/*.json | tail -n 2)

if [ "$ARCH" = x86_64 ]; then
  step "C on musl: the musl SDK tarball and its static pkg-config line"
  tar -C "$T" -xzf "$DIST/c/libveritoken-$VERSION-linux-$ARCH-musl.tar.gz"
  msdk=$T/libveritoken-$VERSION-linux-$ARCH-musl
  (cd "$T" && clean env PKG_CONFIG_PATH="$msdk/lib/pkgconfig" MUSL_CC="$MUSL_CC" sh -c '
    $MUSL_CC verify.c $(pkg-config --cflags --libs veritoken) -o verify-musl')
  output_lacks NEEDED readelf -d "$T/verify-musl" || die "verify-musl is not static"
  out=$(cd "$T" && clean ./verify-musl c.json not.a.token || true)
  grep -q token_malformed <<<"$out" || die "verify-musl: $out"
  echo "verify-musl runs: ${out:0:80}"
  notices "$msdk/share/doc/veritoken/THIRD_PARTY_LICENSES"
fi

step "CLI: the static veritoken on a fresh copy of tests/vectors"
tar -C "$T" -xzf "$DIST/cli/veritoken-$VERSION-linux-$ARCH.tar.gz"
cli=$T/veritoken-$VERSION-linux-$ARCH/veritoken
output_lacks NEEDED readelf -d "$cli" || die "$cli is not static"
notices "$(dirname "$cli")/THIRD_PARTY_LICENSES" axum tokio
(cd "$(dirname "$cli")" && clean ./veritoken serve --check --config examples/sidecar/veritoken-serve.toml) ||
  die "the tarball's sidecar example does not pass serve --check"
[ "$(clean "$cli" --version)" = "veritoken $VERSION" ] || die "veritoken --version: $(clean "$cli" --version)"
clean "$cli" inspect "$(python3 -c 'import json; print(json.load(open("tests/vectors/claims.json"))["cases"][0]["token"])')" >/dev/null
(cd "$T" && clean "$PY" "$ROOT/scripts/dist/test/cli_vectors.py" "$cli" "$T/vectors")

echo
echo "make dist-test: every artifact installed and verified in $((SECONDS - START)) s"
