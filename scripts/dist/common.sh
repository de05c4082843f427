# Shared by scripts/dist/*.sh (sourced from the repository root).
VERSION=$(sed -n '/^version = /{s/^version = "\(.*\)"/\1/p;q;}' Cargo.toml)
DIST=${DIST_DIR:-$PWD/dist}
GO_MODULE=github.com/veritoken/veritoken/bindings-c/go
DIST_VENV=$PWD/build/dist-venv

die() { echo "error: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }
# output_has PATTERN CMD...: CMD's whole output matches the extended regex PATTERN.
# Not `CMD | grep -q`: under pipefail, grep quitting at its first match can SIGPIPE
# CMD and fail the pipeline (and a negated check then passes by accident).
output_has() { local pattern=$1 out; shift; out=$("$@") || return 2; grep -Eq -- "$pattern" <<<"$out"; }
# output_lacks PATTERN CMD...: CMD succeeds and no line of its output matches PATTERN.
output_lacks() { local pattern=$1 out; shift; out=$("$@") || return 2; ! grep -Eq -- "$pattern" <<<"$out"; }
napi_arch() { case $1 in x86_64) echo x64 ;; aarch64) echo arm64 ;; *) echo "$1" ;; esac; }
go_arch() { case $1 in x86_64) echo amd64 ;; aarch64) echo arm64 ;; *) echo "$1" ;; esac; }

# build/dist-venv with the pinned tools of scripts/dist/requirements.txt (once per change).
dist_tools() {
  if ! cmp -s scripts/dist/requirements.txt "$DIST_VENV/.requirements.txt" 2>/dev/null; then
    rm -rf "$DIST_VENV"
    python3 -m venv "$DIST_VENV"
    "$DIST_VENV/bin/pip" install -q --disable-pip-version-check -r scripts/dist/requirements.txt
    cp scripts/dist/requirements.txt "$DIST_VENV/.requirements.txt"
  fi
  export PATH=$DIST_VENV/bin:$PATH
}

# THIRD_PARTY_LICENSES, one per Rust package an artifact is built from: cargo-about (pinned,
# installed once into build/tools) lists the crates compiled in, under the policy of
# scripts/dist/about.toml; scripts/dist/licenses.py writes the file.
CARGO_ABOUT_VERSION=0.9.3
CARGO_ABOUT=$PWD/build/tools/bin/cargo-about
LICENSES=$PWD/build/dist-licenses
# Once, before third_party_licenses: the pinned cargo-about, and every platform's crates on
# disk, so that cargo-about reads only local files (--offline).
about_tool() {
  if ! output_has "^cargo-about $CARGO_ABOUT_VERSION\$" "$CARGO_ABOUT" --version 2>/dev/null; then
    cargo install --locked --quiet "cargo-about@=$CARGO_ABOUT_VERSION" --features cli --root "$PWD/build/tools"
  fi
  cargo fetch --locked --quiet
  mkdir -p "$LICENSES"
}
third_party_licenses() {  # name (cli, c, python, node) manifest artifact
  "$CARGO_ABOUT" generate --offline --locked --fail -c scripts/dist/about.toml -m "$2" \
    --format json -o "$LICENSES/$1.json" 2>"$LICENSES/$1.log" || { cat "$LICENSES/$1.log" >&2; return 1; }
  python3 scripts/dist/licenses.py "$LICENSES/$1.json" "$3" "$LICENSES/$1"
}

# One per-platform npm package: bindings-node/npm/<platform>/ with its addon, LICENSE and
# THIRD_PARTY_LICENSES.
NPM_PLATFORMS=() NPM_PLATFORM_DIRS=()
npm_platform() {
  local platform=$1 addon=$2 dir=$STAGE/npm/$1
  mkdir -p "$dir"
  cp "bindings-node/npm/$platform/package.json" LICENSE "$dir/"
  cp "$LICENSES/node" "$dir/THIRD_PARTY_LICENSES"
  cp "$addon" "$dir/veritoken.$platform.node"
  NPM_PLATFORMS+=("$platform") NPM_PLATFORM_DIRS+=("$dir")
}
