# Deployable infrastructure (infra/template.yaml): Lambda builds for arm64, template
# lint, SAM packaging. Included by the main Makefile (`-include make/*.mk`).
#
#   make lambda-build        cargo lambda build --release --arm64 of every function,
#                            printing each bootstrap's size (LAMBDA_FUNCTIONS=... for a subset)
#   make infra-lint          tool schemas embedded? cfn-lint + sam validate --lint (offline)
#   make infra-tools         cfn-lint, aws-sam-cli, cargo-lambda (+ zig) in $(INFRA_VENV)
#   make rds-ca-bundle       download the RDS CA bundle into the layer directory
#   make embed-tool-schemas  regenerate the template's inline tool schemas
#   make sam-build           sam build (needs the bundle); `make deploy` = sam deploy --guided
# See docs/deploy.md.

# A venv of its own: aws-sam-cli pins boto3/botocore/jsonschema ranges that must not
# move the packages moto[server] runs on in .local/venv.
INFRA_VENV ?= .local/infra-venv
INFRA_BIN := $(CURDIR)/$(INFRA_VENV)/bin
CFN_LINT_VERSION ?= 1.58.0
SAM_CLI_VERSION ?= 1.170.0
CARGO_LAMBDA_VERSION ?= 1.9.2
LAMBDA_TARGET := aarch64-unknown-linux-gnu
# Cross builds get their own target directory: a long release+LTO build must not hold
# the lock of the directory `cargo test` and clippy use.
LAMBDA_TARGET_DIR ?= $(CURDIR)/target/lambda-cross
LAMBDA_FUNCTIONS ?= csv-parser stream-validator error-processor upload-reconciler reviews-tool warranty-tool customer-profile-tool gateway-interceptor vendor-api
RDS_CA_BUNDLE := infra/layers/rds-ca-bundle/rds-ca/global-bundle.pem
RDS_CA_URL ?= https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem
TEMPLATE := infra/template.yaml
SAM_ENV := SAM_CLI_TELEMETRY=0 SAM_CLI_BETA_RUST_CARGO_LAMBDA=1

.PHONY: infra-tools infra-lint lambda-build rds-ca-bundle embed-tool-schemas sam-build deploy

# `make lint` also lints the template.
lint: infra-lint

infra-tools: $(INFRA_BIN)/.installed

$(INFRA_BIN)/.installed:
	@test -x "$(INFRA_BIN)/python" || python3 -m venv "$(INFRA_VENV)"
	@"$(INFRA_BIN)/pip" install -q --disable-pip-version-check --no-cache-dir \
		"cfn-lint==$(CFN_LINT_VERSION)" "aws-sam-cli==$(SAM_CLI_VERSION)" "cargo-lambda==$(CARGO_LAMBDA_VERSION)"
	@touch "$@"

embed-tool-schemas:
	@python3 scripts/infra/embed-tool-schemas.py

infra-lint: infra-tools
	@python3 scripts/infra/embed-tool-schemas.py --check
	@"$(INFRA_BIN)/cfn-lint" $(TEMPLATE)
	@echo "cfn-lint: $(TEMPLATE) clean"
	@$(SAM_ENV) "$(INFRA_BIN)/sam" validate --lint --template $(TEMPLATE) --region us-east-1
	@# `make lambda-build` builds every function of the template, no more, no less.
	@want=$$(sed -n 's/^ *Binary: *//p' $(TEMPLATE) | sort | tr '\n' ' '); \
	have=$$(printf '%s\n' $(LAMBDA_FUNCTIONS) | sort | tr '\n' ' '); \
	if [ "$$want" != "$$have" ]; then \
		echo "LAMBDA_FUNCTIONS ($$have) is not the template's binaries ($$want)" >&2; exit 1; fi

lambda-build: infra-tools
	@rustup target list --installed | grep -qx $(LAMBDA_TARGET) || rustup target add $(LAMBDA_TARGET)
	@# cargo-lambda finds zig (PyPI ziglang) on PATH through the venv.
	@start=$$(date +%s); \
	PATH="$(INFRA_BIN):$$PATH" CARGO_TARGET_DIR="$(LAMBDA_TARGET_DIR)" \
		cargo lambda build --release --arm64 $(addprefix -p ,$(LAMBDA_FUNCTIONS)); \
	echo "[make] cargo lambda build took $$(( $$(date +%s) - start )) s" >&2
	@for f in $(LAMBDA_FUNCTIONS); do \
		b="$(LAMBDA_TARGET_DIR)/lambda/$$f/bootstrap"; \
		if [ -f "$$b" ]; then printf '%-24s %8s KiB  %s\n' "$$f" $$(( $$(stat -c %s "$$b") / 1024 )) "$$b"; \
		else echo "$$f: no bootstrap at $$b" >&2; exit 1; fi; \
	done

rds-ca-bundle: $(RDS_CA_BUNDLE)

$(RDS_CA_BUNDLE):
	@mkdir -p $(dir $@)
	curl -fsSL --proto '=https' --tlsv1.2 -o "$@.tmp" "$(RDS_CA_URL)"
	@grep -q 'BEGIN CERTIFICATE' "$@.tmp" && mv "$@.tmp" "$@"

# Not runnable without AWS credentials; documented in docs/deploy.md.
# Shares LAMBDA_TARGET_DIR with lambda-build, so dependencies compiled by one serve the other.
sam-build: infra-tools rds-ca-bundle
	PATH="$(INFRA_BIN):$$PATH" CARGO_TARGET_DIR="$(LAMBDA_TARGET_DIR)" $(SAM_ENV) \
		sam build --beta-features --template $(TEMPLATE) $(SAM_BUILD_ARGS)

deploy: sam-build
	PATH="$(INFRA_BIN):$$PATH" $(SAM_ENV) sam deploy --guided --capabilities CAPABILITY_IAM
