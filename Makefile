# veritoken: `make demo` runs the main job end to end; `make test` runs every test.
# Both install what they need. The Rust workspace is built once (dev profile) and reused.

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all build demo test test-rust test-c test-go test-python test-node c go python node header lint bench bench-go bench-python bench-node bench-redis bench-sidecar vectors deps fmt clean \
  dist dist-test test-dist dist-sdist install version \
  fuzz fuzz-smoke fuzz-tool

# Where cargo puts its output (CARGO_TARGET_DIR is honoured).
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
C_FLAGS := -std=c11 -Wall -Wextra -Werror -g
# The cargo profile libveritoken is built with for C and Go (`make c PROFILE=release`).
PROFILE ?= debug
PROFILE_FLAG := $(if $(filter release,$(PROFILE)),--release,)
GO_DIR := bindings-c/go
# The Python virtualenv every Python step uses (tools pinned in requirements-dev.txt).
VENV := .venv
VENV_BIN := $(abspath $(VENV))/bin

all: build

APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

## Tools this Makefile needs beyond the machine's Rust toolchain (Debian packages).
deps:
	@command -v openssl >/dev/null && command -v curl >/dev/null && command -v nginx >/dev/null \
	  && command -v pkg-config >/dev/null && [ -f /usr/include/cjson/cJSON.h ] \
	  && command -v redis-server >/dev/null && command -v redis-cli >/dev/null && command -v cmake >/dev/null \
	  || (apt-get update -qq && $(APT_INSTALL) openssl curl nginx-light pkg-config libcjson-dev redis-server cmake)
	@rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt

build:
	$(CARGO) build --workspace --locked

demo: deps build go python node
	$(GO_RELINK) ./scripts/demo.sh

## Every test: formatting, lints, unit tests, shared vectors, Wycheproof, remote keys,
## CLI and sidecar (behind nginx), and the C library under AddressSanitizer.
test: deps lint test-rust test-c test-go test-python test-node test-dist fuzz-smoke

# The sidecar test drives a real nginx, and the replay store tests a real redis-server
# (each test starts its own on a free loopback port): here neither may be skipped.
test-rust:
	VERITOKEN_REQUIRE_NGINX=1 VERITOKEN_REQUIRE_REDIS=1 $(CARGO) test --workspace --locked

## libveritoken for C (and Go): build/lib/libveritoken.{a,so}, build/include/veritoken.h,
## build/veritoken.pc (PKG_CONFIG_PATH=$(CURDIR)/build), and the example program.
c:
	$(CARGO) build --locked $(PROFILE_FLAG) -p veritoken-c
	mkdir -p build/lib build/include
	cp $(TARGET_DIR)/$(PROFILE)/libveritoken.a $(TARGET_DIR)/$(PROFILE)/libveritoken.so build/lib/
	ln -sf libveritoken.a build/lib/libveritoken_static.a
	cp bindings-c/include/veritoken.h build/include/
	sed -e 's|@PREFIX@|$(CURDIR)/build|' -e 's|@VERSION@|$(VERSION)|' bindings-c/veritoken.pc.in > build/veritoken.pc
	cc $(C_FLAGS) bindings-c/examples/verify.c $$(PKG_CONFIG_PATH=$(CURDIR)/build pkg-config --cflags veritoken) \
	  build/lib/libveritoken.a -lpthread -ldl -lm -o build/verify-example

## Every shared vector and the API misuse checks through the C API, under ASan + UBSan.
test-c: deps c
	cc $(C_FLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer -Ibuild/include \
	  bindings-c/tests/c/vectors.c build/lib/libveritoken.a -lcjson -lpthread -ldl -lm -o build/c-vectors
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 ./build/c-vectors tests/vectors/*.json
	cc $(C_FLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer -Ibuild/include \
	  bindings-c/tests/c/logging.c build/lib/libveritoken.a -lpthread -ldl -lm -o build/c-logging
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1 ./build/c-logging
	cc $(C_FLAGS) -DVT_EXPECTED_VERSION='"$(VERSION)"' -Ibuild/include bindings-c/tests/c/version.c \
	  build/lib/libveritoken.a -lpthread -ldl -lm -o build/c-version && ./build/c-version

## The Go package links bindings-c/go/lib/<goos>_<goarch>/libveritoken.a with the header in
## bindings-c/go/include/: where a release tag carries them (see bindings-c/go/cgo.go).
GO_PLATFORM = $(shell go env GOOS)_$(shell go env GOARCH)
# Go caches linked test binaries by their Go inputs, not by the static library cgo links:
# after a new libveritoken.a the Go tests would run the old one. Its checksum in the link
# flags makes every new build of the library relink (an -X on an absent variable is inert).
GO_RELINK = GOFLAGS=-ldflags=-X=github.com/veritoken/veritoken/bindings-c/go.libStamp=$$(cksum < $(abspath $(GO_DIR))/lib/$(GO_PLATFORM)/libveritoken.a | cut -d' ' -f1)
go: c
	mkdir -p $(GO_DIR)/include $(GO_DIR)/lib/$(GO_PLATFORM)
	cp bindings-c/include/veritoken.h $(GO_DIR)/include/
	cp build/lib/libveritoken.a $(GO_DIR)/lib/$(GO_PLATFORM)/
	scripts/dist/go-placeholders.sh $(GO_DIR)

## The Go package under the race detector: shared vectors, middleware, the test IdP,
## finalizers; then the chi and gin examples; the bench module is only compiled.
test-go: go
	$(CARGO) build --locked -p veritoken-testidp
	cd $(GO_DIR) && go vet ./... && VERITOKEN_REQUIRE_IDP=1 \
	  VERITOKEN_TESTIDP_BIN=$(abspath $(TARGET_DIR))/debug/veritoken-testidp $(GO_RELINK) go test -race -count=1 ./...
	cd $(GO_DIR)/examples && go vet ./... && $(GO_RELINK) go test -race -count=1 ./...
	cd $(GO_DIR)/prometheus && go vet ./... && $(GO_RELINK) go test -race -count=1 ./...
	cd $(GO_DIR)/bench && go vet ./...

$(VENV)/.installed: bindings-python/requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV_BIN)/pip install -q --disable-pip-version-check -r bindings-python/requirements-dev.txt
	touch $@

## The Python package, installed into .venv the way users install it
## (`pip install ./bindings-python`), built in the shared target dir with the dev profile
## so the workspace is not compiled a second time.
python: $(VENV)/.installed build
	cp LICENSE bindings-python/LICENSE
	@# pyproject.toml lists THIRD_PARTY_LICENSES: a dev build says where the real one comes from
	@# (make dist writes it; a copy left by an earlier make dist could be stale).
	echo "A development build: make dist writes the third-party licenses (scripts/dist/licenses.py)." \
	  > bindings-python/THIRD_PARTY_LICENSES
	CARGO_TARGET_DIR=$(abspath $(TARGET_DIR)) MATURIN_PEP517_ARGS="--profile dev" \
	  $(VENV_BIN)/pip install -q --disable-pip-version-check --force-reinstall --no-deps ./bindings-python

## ruff, then pytest: every shared vector, the API, threads, fork, asyncio, the test IdP,
## the Redis replay store across worker processes (a redis-server of its own),
## FastAPI / Starlette / Flask / Django through their test clients.
test-python: python
	$(VENV_BIN)/ruff check bindings-python scripts
	$(VENV_BIN)/ruff format --check bindings-python
	# The installed package's public API: >= 95 % typed for pyright, stubs true to the module.
	mkdir -p build && cd build && PATH=$(VENV_BIN):$$PATH $(VENV_BIN)/pyright --verifytypes veritoken --ignoreexternal --outputjson > pyright-verifytypes.json; \
	  $(VENV_BIN)/python -c "import json, sys; s = json.load(open('pyright-verifytypes.json'))['typeCompleteness']['completenessScore']; \
	  print(f'pyright --verifytypes veritoken: {s:.1%}'); sys.exit(s < 0.95)"
	cd build && $(VENV_BIN)/python -m mypy.stubtest veritoken --mypy-config-file $(CURDIR)/bindings-python/pyproject.toml \
	  --allowlist $(CURDIR)/bindings-python/stubtest-allowlist.txt
	VERITOKEN_REQUIRE_IDP=1 VERITOKEN_REQUIRE_REDIS=1 VERITOKEN_TESTIDP_BIN=$(abspath $(TARGET_DIR))/debug/veritoken-testidp \
	  $(VENV_BIN)/python -m pytest -q -p no:cacheprovider bindings-python/tests

NODE_DIR := bindings-node

## The Node addon: npm ci (pinned by package-lock.json), then the addon built by the
## package's own install script from the workspace's debug build.
node: build
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	cd $(NODE_DIR) && CARGO_TARGET_DIR=$(abspath $(TARGET_DIR)) VERITOKEN_NODE_PROFILE=debug node scripts/install.js

## native.d.ts against what napi-rs generates now, tsc --noEmit on the public types, then node --test: every shared vector, the API and its
## errors, ESM + CommonJS, worker_threads, cluster, the test IdP, Express and Fastify.
test-node: node
	cd $(NODE_DIR) && CARGO_TARGET_DIR=$(abspath $(TARGET_DIR)) npm run --silent dts:check
	cd $(NODE_DIR) && npx tsc --noEmit -p tsconfig.json
	cd $(NODE_DIR) && VERITOKEN_REQUIRE_IDP=1 VERITOKEN_TESTIDP_BIN=$(abspath $(TARGET_DIR))/debug/veritoken-testidp \
	  node --test test/*.test.js
	# What a user does: `npm install ./bindings-node` in another project, then require/import it.
	rm -rf build/node-user && mkdir -p build/node-user && echo '{"name": "user", "private": true}' > build/node-user/package.json
	cd build/node-user && CARGO_TARGET_DIR=$(abspath $(TARGET_DIR)) VERITOKEN_NODE_PROFILE=debug \
	  npm install --no-audit --no-fund --loglevel=error $(abspath $(NODE_DIR)) && \
	  node -e "const {Verifier}=require('@veritoken/node'); require('@veritoken/node/express'); console.log('require ok:', typeof Verifier)" && \
	  node --input-type=module -e "import {VeritokenError} from '@veritoken/node'; console.log('import ok:', typeof VeritokenError)"

## Regenerate bindings-c/include/veritoken.h (the test suite fails when it drifts).
header:
	VERITOKEN_WRITE_HEADER=1 $(CARGO) test -p veritoken-c --lib header_is_up_to_date

lint:
	python3 scripts/dist/version.py --check
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	@test -z "$$(gofmt -l $(GO_DIR))" || (gofmt -l $(GO_DIR); echo "gofmt: the files above need formatting"; exit 1)

fmt:
	$(CARGO) fmt --all

## Regenerate tests/vectors/*.json from the committed test keys.
vectors:
	$(CARGO) run -p veritoken-vectorgen --locked

## Benchmarks (never part of `make test`): full verify next to the bare aws-lc-rs check.
bench: deps
	$(CARGO) bench -p veritoken --bench verify --locked
	python3 scripts/bench_ratios.py $(TARGET_DIR)/criterion
	$(CARGO) bench -p veritoken --bench cache_and_threads --locked
	$(MAKE) bench-sidecar
	$(MAKE) bench-redis
	$(MAKE) bench-go
	$(MAKE) bench-python
	$(MAKE) bench-node

## What the Redis replay store adds per DPoP request next to the memory store (p50, p99; budget
## p99 added <= 250 us), against a redis-server the benchmark starts on loopback.
bench-redis: deps
	VERITOKEN_REQUIRE_REDIS=1 $(CARGO) bench -p veritoken --bench redis --locked

## oauth2-proxy, pinned, built from the Go module proxy once and kept under build/.
OAUTH2_PROXY_VERSION := v7.15.6
OAUTH2_PROXY_BIN := build/oauth2-proxy-$(OAUTH2_PROXY_VERSION)/oauth2-proxy
$(OAUTH2_PROXY_BIN):
	GOBIN=$(abspath $(dir $@)) go install github.com/oauth2-proxy/oauth2-proxy/v7@$(OAUTH2_PROXY_VERSION)

## The sidecar next to oauth2-proxy (bearer-JWT mode), both behind the same nginx
## auth_request config, with the same wrk load (scripts/bench_sidecar.sh).
bench-sidecar: deps $(OAUTH2_PROXY_BIN)
	@command -v wrk >/dev/null || (apt-get update -qq && $(APT_INSTALL) wrk)
	$(CARGO) build --release --locked -p veritoken-cli -p veritoken-testidp
	OAUTH2_PROXY_BIN=$(abspath $(OAUTH2_PROXY_BIN)) OAUTH2_PROXY_VERSION=$(OAUTH2_PROXY_VERSION) ./scripts/bench_sidecar.sh

## Python next to PyJWT and joserfc, and 1 vs 2 threads, with a release build of the wheel.
bench-python: $(VENV)/.installed
	CARGO_TARGET_DIR=$(abspath $(TARGET_DIR)) $(VENV_BIN)/pip install -q --disable-pip-version-check \
	  --force-reinstall --no-deps ./bindings-python
	$(VENV_BIN)/python bindings-python/bench/bench.py

## Node next to jose, fast-jwt and jsonwebtoken, with a release build of the addon.
bench-node: node
	cd $(NODE_DIR) && CARGO_TARGET_DIR=$(abspath $(TARGET_DIR)) VERITOKEN_NODE_PROFILE=release node scripts/install.js
	cd $(NODE_DIR) && node bench/bench.mjs

## Go next to golang-jwt v5 (+ keyfunc v3), with libveritoken built in release mode.
bench-go:
	$(MAKE) go PROFILE=release
	cd $(GO_DIR)/bench && $(GO_RELINK) go test -c -o ../../../build/go-bench
	@# Five rounds of every benchmark in order: both sides of a speed-up run back to back in
	@# each round, and bench_go.py takes the ratio within the round.
	for round in 1 2 3 4 5; do build/go-bench -test.run '^$$' -test.bench . -test.benchtime 1s; done \
	  | tee build/bench-go.txt
	python3 scripts/bench_go.py build/bench-go.txt

## Every installable artifact into dist/ (scripts/dist/build.sh): abi3 wheels (manylinux_2_17,
## musllinux_1_2) + sdist, @veritoken/node + per-platform addon packages, the Go module as a
## file-system proxy, the C SDK tarball, the static CLI; SHA256SUMS and SIZES. Linux x86_64,
## and aarch64 where rustup and zig can target it (DIST_ARCHES="x86_64" for one).
dist:
	scripts/dist/build.sh

## Installs each artifact of dist/ in a clean place with no Rust toolchain and runs the shared
## vectors through it (scripts/dist/test.sh).
dist-test: deps
	scripts/dist/test.sh

## What `make test` runs: dist for this machine's architecture only (time budget), then dist-test.
test-dist: deps
	@[ "$$(uname -m)" = aarch64 ] || echo "SKIPPED aarch64: make test builds and tests $$(uname -m) only (a second architecture doubles the build time; make dist builds both)"
	DIST_ARCHES=$$(uname -m) scripts/dist/build.sh
	scripts/dist/test.sh

## The sdist builds on its own: `pip wheel` of dist/python/veritoken-<version>.tar.gz in an
## empty directory (needs cargo; a full release build, so not part of `make dist`).
dist-sdist:
	rm -rf build/sdist-check && mkdir -p build/sdist-check
	python3 -m venv build/sdist-check/venv
	cd build/sdist-check && CARGO_TARGET_DIR=$(CURDIR)/build/sdist-check/target ./venv/bin/pip wheel -q --no-deps \
	  --disable-pip-version-check -w wheels $(CURDIR)/dist/python/veritoken-$(VERSION).tar.gz
	ls -l build/sdist-check/wheels

PREFIX ?= /usr/local
## libveritoken (dist profile, this machine) into PREFIX: include/, lib/ (libveritoken.a,
## libveritoken.so with its SONAME, pkgconfig/veritoken.pc static and veritoken-shared.pc),
## share/doc/veritoken/ (LICENSE, examples/verify.c): the layout of the C SDK tarball, less
## its THIRD_PARTY_LICENSES, which only make dist writes.
install:
	$(CARGO) build --locked --profile dist --target-dir $(TARGET_DIR)/dist -p veritoken-c
	. scripts/dist/common.sh && dist_tools && scripts/dist/install-c.sh $(TARGET_DIR)/dist/dist $(PREFIX)

## `make version`: every package manifest agrees with Cargo.toml's version;
## `make version NEW=0.2.0`: sets it everywhere (Cargo.toml, Cargo.lock, the npm manifests).
version:
	$(if $(NEW),python3 scripts/dist/version.py --set $(NEW) && $(CARGO) update --workspace --offline -q,python3 scripts/dist/version.py --check)

clean:
	$(CARGO) clean

## Fuzzing (fuzz/, cargo-fuzz on the nightly toolchain). `make fuzz` runs every target for
## FUZZ_SECONDS each (one at a time) and keeps what it finds in fuzz/corpus and
## fuzz/artifacts; `make fuzz-smoke` (part of `make test`) builds them and runs each for
## FUZZ_SMOKE_SECONDS from the committed seeds. Without the nightly toolchain the smoke
## prints SKIPPED and the differential property tests of `make test-rust` are the gate.
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_TARGETS := token signed_json keys dpop introspection config
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_FLAGS := -dict=fuzz/json.dict -rss_limit_mb=2048 -timeout=10

fuzz-tool:
	@cargo-fuzz --version 2>/dev/null | grep -q ' $(CARGO_FUZZ_VERSION)$$' \
	  || cargo install cargo-fuzz --version =$(CARGO_FUZZ_VERSION) --locked

fuzz: fuzz-tool
	cargo +nightly fuzz build --fuzz-dir fuzz
	for t in $(FUZZ_TARGETS); do \
	  cargo +nightly fuzz run --fuzz-dir fuzz $$t fuzz/corpus/$$t -- $(FUZZ_FLAGS) \
	    -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
	done

fuzz-smoke:
	@if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then \
	  echo "fuzz-smoke: SKIPPED (no nightly toolchain; the property tests in test-rust are the gate)"; \
	else \
	  $(MAKE) --no-print-directory fuzz-tool && \
	  cargo +nightly fuzz build --fuzz-dir fuzz && \
	  for t in $(FUZZ_TARGETS); do \
	    mkdir -p build/fuzz-smoke/$$t && \
	    cargo +nightly fuzz run --fuzz-dir fuzz $$t build/fuzz-smoke/$$t fuzz/corpus/$$t -- \
	      $(FUZZ_FLAGS) -max_total_time=$(FUZZ_SMOKE_SECONDS) -print_final_stats=1 2>&1 \
	      | grep -E '^(stat::number_of_executed_units|==|SUMMARY|thread)' | sed "s/^/$$t: /"; \
	    test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	  done; \
	fi
