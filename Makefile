# veritoken: `make demo` runs the main job end to end; `make test` runs every test.
# Both install what they need. The Rust workspace is built once (dev profile) and reused.

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: all build demo test test-rust lint bench vectors deps fmt clean

all: build

APT_INSTALL = DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends

## Tools this Makefile needs beyond the machine's Rust toolchain (Debian packages).
deps:
	@command -v openssl >/dev/null && command -v curl >/dev/null && command -v nginx >/dev/null \
	  || (apt-get update -qq && $(APT_INSTALL) openssl curl nginx-light)
	@rustup component list --installed 2>/dev/null | grep -q clippy || rustup component add clippy rustfmt

build:
	$(CARGO) build --workspace --locked

demo: deps build
	./scripts/demo.sh

## Every test: formatting, lints, unit tests, shared vectors, Wycheproof, CLI.
test: deps lint test-rust

# The sidecar test drives a real nginx: here it must not be skipped.
test-rust:
	VERITOKEN_REQUIRE_NGINX=1 $(CARGO) test --workspace --locked

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## Regenerate tests/vectors/*.json from the committed test keys.
vectors:
	$(CARGO) run -p veritoken-vectorgen --locked

## Benchmarks (never part of `make test`): full verify next to the bare aws-lc-rs check.
bench: deps
	@command -v wrk >/dev/null || (apt-get update -qq && $(APT_INSTALL) wrk)
	$(CARGO) bench -p veritoken --bench verify --locked
	python3 scripts/bench_ratios.py target/criterion
	$(CARGO) build --release --locked -p veritoken-cli -p veritoken-testidp
	./scripts/bench_sidecar.sh

clean:
	$(CARGO) clean
