# Shared by scripts/dist/*.sh (sourced from the repository root).
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
DIST=${DIST_DIR:-$PWD/dist}
GO_MODULE=github.com/veritoken/veritoken/bindings-c/go
DIST_VENV=$PWD/build/dist-venv

die() { echo "error: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }
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
