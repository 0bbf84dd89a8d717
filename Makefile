# Local development. `make up` starts PostgreSQL, DynamoDB Local and moto on
# loopback, writes .local/env and runs `devstack setup` (tables, bucket, migrations,
# seed data). Every target is idempotent.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
# CI points this at a shared directory; the default is the workspace's own.
CARGO_TARGET_DIR ?= $(CURDIR)/target
export CARGO_TARGET_DIR
DEVSTACK := $(CARGO_TARGET_DIR)/debug/devstack
ENV_FILE := .local/env

# Runs a command and prints how long it took.
timed = start=$$(date +%s%3N); $(2); end=$$(date +%s%3N); \
	printf '[make] %s took %d.%02d s\n' "$(1)" $$(((end-start)/1000)) $$((((end-start)%1000)/10)) >&2

.PHONY: help up down status setup devstack demo test unit bench build lint machete

help:
	@echo "make up      start the local stack, write $(ENV_FILE), create tables/bucket, migrate, seed"
	@echo "make down    stop what make up started"
	@echo "make status  show which services answer"
	@echo "make test    make up, then fmt check, clippy, template linters and every test"
	@echo "make unit    every test that needs no local stack (seconds, once built)"
	@echo "make demo    make up, then a tour of the pipeline and the agent tools"
	@echo "make bench   benchmarks against their baselines"
	@echo "make build   every function for Lambda, arm64 (cargo-lambda)"
	@echo "make mutants mutation testing, cargo-mutants (long; MUTANTS_PARTS=..., docs/testing.md)"

up:
	@$(call timed,stack,scripts/stack/up.sh)
	@$(call timed,build devstack,$(CARGO) build -q -p devstack --bin devstack)
	@$(call timed,devstack setup,. ./$(ENV_FILE) && "$(DEVSTACK)" setup)

down:
	@scripts/stack/down.sh

status:
	@scripts/stack/status.sh

# Re-runs only the setup (the stack must be up).
setup: devstack
	@. ./$(ENV_FILE) && "$(DEVSTACK)" setup

devstack:
	@$(CARGO) build -q -p devstack --bin devstack

# A scripted tour: clean CSV, CSV full of mistakes (and its report), re-upload, every tool.
demo: up
	@scripts/demo.sh

# Every function for Lambda (arm64, cargo-lambda): see make/infra.mk.
build: lambda-build

# Formatting, lints (warnings are errors), no unused dependency, and the template linters
# (make/infra.mk adds them).
lint: machete
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

# cargo-machete, pinned, installed once into .local/cargo-tools: fails on a dependency a
# crate declares and never uses.
MACHETE_VERSION := 0.9.2
MACHETE := .local/cargo-tools/bin/cargo-machete
$(MACHETE):
	$(CARGO) install --quiet --locked cargo-machete --version $(MACHETE_VERSION) --root .local/cargo-tools
machete: $(MACHETE)
	$(MACHETE)

# The edit-compile loop: unit tests on in-memory ports, the rules, the ESM state machine,
# the runtime shim. No local stack needed.
unit:
	$(CARGO) test --workspace --exclude e2e --lib --bins
	$(CARGO) test -p lambda-shim -p testkit --tests

# Benchmarks against their physical floors, in one run (README "Benchmarks"): writes
# target/bench/report.md, report.json and report.svg. Release optimisation (profile
# bench-release, no fat LTO); the function binaries are built too, for the cold-start
# and size measurements. `make bench BENCH_ONLY="1 4"` runs only those sections.
BENCH_PACKAGES := -p bench -p csv-parser -p stream-validator -p error-processor \
	-p upload-reconciler -p reviews-tool -p warranty-tool -p customer-profile-tool \
	-p gateway-interceptor -p vendor-api -p lambda-shim -p devstack
BENCH_ONLY ?=
bench: up
	@$(call timed,build bench,$(CARGO) build -q --profile bench-release $(BENCH_PACKAGES) --bins)
	@$(call timed,bench,. ./$(ENV_FILE) && "$(CARGO_TARGET_DIR)/bench-release/bench" $(BENCH_ONLY) > /dev/null)
	@echo "[make] target/bench/report.md, report.json, report.svg"

# The README's test command: set-up, lints, then every test (unit and end-to-end).
test: up lint
	@# The Runtime API tests run the functions' real binaries: build them fresh first.
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace

# Other parts of the project add their targets in make/*.mk.
-include make/*.mk
