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

.PHONY: help up down status setup devstack demo test bench build lint

help:
	@echo "make up      start the local stack, write $(ENV_FILE), create tables/bucket, migrate, seed"
	@echo "make down    stop what make up started"
	@echo "make status  show which services answer"
	@echo "make test    make up, then fmt check, clippy and the whole test suite"

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

# Placeholders the lead fills in.
demo:
	@echo "make demo: not written yet" >&2

build:
	$(CARGO) build --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

bench:
	@echo "make bench: not written yet" >&2

test: up
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace

# Other parts of the project add their targets in make/*.mk.
-include make/*.mk
