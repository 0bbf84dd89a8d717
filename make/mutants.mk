# Mutation testing (cargo-mutants): which planted bugs the fast tests catch. Not part of
# `make test` (it takes long); see docs/testing.md, "Mutation testing".
#
#   make mutants                         every part (hours on 2 cores)
#   make mutants MUTANTS_PARTS="rules interceptor"   the rules the issue names, ~1 h here
#   make mutants MUTANTS_SHARD=1/4       a quarter of each part
#
# Reports: $(CARGO_TARGET_DIR)/mutants/<part>/mutants.out, score per crate in
# $(CARGO_TARGET_DIR)/mutants/summary.txt. Parts: scripts/mutants.sh.

MUTANTS_VERSION := 27.1.0
MUTANTS_BIN := .local/cargo-tools/bin/cargo-mutants
MUTANTS_PARTS ?=
MUTANTS_TIMEOUT ?= 120

.PHONY: mutants

$(MUTANTS_BIN):
	$(CARGO) install --quiet --locked cargo-mutants --version $(MUTANTS_VERSION) --root .local/cargo-tools

mutants: $(MUTANTS_BIN)
	@if ! "$(MUTANTS_BIN)" mutants --version | grep -q ' $(MUTANTS_VERSION)$$'; then \
		$(CARGO) install --quiet --locked --force cargo-mutants --version $(MUTANTS_VERSION) --root .local/cargo-tools; fi
	@$(call timed,mutants,MUTANTS="$(MUTANTS_BIN)" MUTANTS_TIMEOUT=$(MUTANTS_TIMEOUT) scripts/mutants.sh $(MUTANTS_PARTS))
