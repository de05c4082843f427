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

# One per-platform npm package: bindings-node/npm/<platform>/ with its addon and LICENSE.
NPM_PLATFORMS=() NPM_PLATFORM_DIRS=()
npm_platform() {
  local platform=$1 addon=$2 dir=$STAGE/npm/$1
  mkdir -p "$dir"
  cp "bindings-node/npm/$platform/package.json" LICENSE "$dir/"
  cp "$addon" "$dir/veritoken.$platform.node"
  NPM_PLATFORMS+=("$platform") NPM_PLATFORM_DIRS+=("$dir")
}
