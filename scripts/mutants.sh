#!/usr/bin/env bash
# Mutation testing (cargo-mutants), one part after another: each part mutates some files
# and runs only the fast tests that can catch them (unit tests on in-memory ports, no
# local stack). Reports land in $MUTANTS_OUT/<part>/mutants.out; a summary per crate is
# printed at the end and written to $MUTANTS_OUT/summary.txt.
#
#   scripts/mutants.sh [PART...]     (default: every part, in the order below)
#
# Environment: MUTANTS (the cargo-mutants binary), MUTANTS_OUT (default target/mutants),
# MUTANTS_TIMEOUT (seconds a mutant's tests may run, default 120), MUTANTS_JOBS (mutants
# at a time in the domain parts, default 2), MUTANTS_SHARD
# (e.g. 1/4: run only that shard of each part), PROPTEST_CASES (default 64), MUTANTS_ARGS (more cargo-mutants options,
# e.g. "--in-diff my.diff").
set -euo pipefail
cd "$(dirname "$0")/.."

MUTANTS=${MUTANTS:-.local/cargo-tools/bin/cargo-mutants}
MUTANTS_OUT=${MUTANTS_OUT:-${CARGO_TARGET_DIR:-$PWD/target}/mutants}
MUTANTS_TIMEOUT=${MUTANTS_TIMEOUT:-120}
# Mutants build in a copy of the tree; their cargo target directory is kept between runs
# (dependencies are compiled once, not per run), apart from the one `make test` uses.
MUTANTS_BUILD_DIR=${MUTANTS_BUILD_DIR:-$MUTANTS_OUT/build}
# Property tests run fewer cases per mutant (a wrong rule fails within a few dozen); the
# suite itself runs them in full.
export PROPTEST_CASES=${PROPTEST_CASES:-64}
# Incremental compilation: a mutant changes one line, so most of the crate's codegen is
# reused (domain's lib tests rebuild in ~2 s instead of ~6 s here).
export CARGO_INCREMENTAL=1

ALL_PARTS=(rules finaliser domain pipeline tools interceptor classify)

# The rules of the domain crate the issue names, caught by the domain's own unit tests:
# validation, duplicate and ownership facts, the report renderer, next_token signing,
# the tools' arguments, the gateway's tool names.
RULES=(
    'crates/domain/src/validation/*.rs'
    crates/domain/src/ports/catalog.rs
    crates/domain/src/report.rs
    crates/domain/src/tools/reviews.rs
    crates/domain/src/tools/args.rs
    crates/domain/src/tools/gateway.rs
)
part_rules() {
    local files=()
    for f in "${RULES[@]}"; do files+=(--file "$f"); done
    run rules --package domain "${files[@]}" -- --lib
}

# The finaliser's decision and the report's upload, caught by the domain's tests and by
# testkit's tests of the domain on in-memory ports (crates/testkit/tests/finalise.rs).
FINALISER=(
    crates/domain/src/finalise.rs
    crates/domain/src/report_upload.rs
    crates/domain/src/ports/ledger.rs
)
part_finaliser() {
    local files=()
    for f in "${FINALISER[@]}"; do files+=(--file "$f"); done
    run finaliser --package domain --test-package domain --test-package testkit "${files[@]}"
}

# The rest of the domain crate (upload ids and statuses, PortError, CSV reader, item
# limits, vendor API and notification rules, ...), caught by the domain's and testkit's tests.
part_domain() {
    local excluded=()
    for f in "${RULES[@]}" "${FINALISER[@]}"; do excluded+=(--exclude "$f"); done
    run domain --package domain --test-package domain --test-package testkit "${excluded[@]}"
}

# The parts below test each crate's library only: `--cargo-arg=--lib` keeps the build
# to the library's test binary too (not the function binary, a link of the whole AWS SDK
# per mutant that no test of the part runs).

# The pipeline handlers, each caught by its own crate's unit tests (testkit::Memory).
part_pipeline() {
    run pipeline --package csv-parser --package stream-validator \
        --package error-processor --package upload-reconciler --cargo-arg=--lib
}

# The agent tools, each caught by its own crate's unit tests.
part_tools() {
    run tools --package reviews-tool --package warranty-tool \
        --package customer-profile-tool --cargo-arg=--lib
}

# Tenant pinning: the Gateway interceptor, caught by its unit tests.
part_interceptor() {
    run interceptor --package gateway-interceptor --cargo-arg=--lib
}

# Transient or permanent: adapters::classify (from_sdk, from_pg, transient_sqlstate).
part_classify() {
    run classify --package adapters --file crates/adapters/src/classify.rs \
        --features aws,postgres --cargo-arg=--lib -- classify::
}

# Parts that mutate the domain crate run two mutants at a time: its dependencies are few,
# so each of cargo-mutants' two build copies compiles them once into its own target
# directory (two builds cannot share one: cargo locks it). The other parts pull in the
# AWS SDKs and run one at a time in the shared $MUTANTS_BUILD_DIR.
jobs_of() {
    case $1 in
    rules | finaliser | domain) echo "${MUTANTS_JOBS:-2}" ;;
    *) echo 1 ;;
    esac
}

run() {
    local part=$1
    shift
    local jobs target_env=(CARGO_TARGET_DIR="$MUTANTS_BUILD_DIR")
    jobs=$(jobs_of "$part")
    [[ $jobs -gt 1 ]] && target_env=(-u CARGO_TARGET_DIR)
    local shard_args=()
    [[ -n "${MUTANTS_SHARD:-}" ]] && shard_args=(--shard "$MUTANTS_SHARD")
    mkdir -p "$MUTANTS_OUT/$part"
    local start=$SECONDS status=0
    # Exit codes: 0 all caught, 2 some missed, 3 timeouts; anything else is a failure to
    # run (e.g. 4: the tests fail on the unmutated tree).
    env "${target_env[@]}" "$MUTANTS" mutants --no-shuffle \
        --timeout "$MUTANTS_TIMEOUT" --build-timeout 900 --jobs "$jobs" \
        --output "$MUTANTS_OUT/$part" "${shard_args[@]}" ${MUTANTS_ARGS:-} "$@" \
        || status=$?
    echo "$((SECONDS - start))" >"$MUTANTS_OUT/$part/seconds"
    printf '[mutants] part %s took %d s (cargo-mutants exit %d)\n' "$part" $((SECONDS - start)) "$status" >&2
    if [[ $status -ne 0 && $status -ne 2 && $status -ne 3 ]]; then
        echo "[mutants] part $part did not run to completion" >&2
        exit "$status"
    fi
}

parts=("$@")
[[ ${#parts[@]} -eq 0 ]] && parts=("${ALL_PARTS[@]}")
mkdir -p "$MUTANTS_OUT"
for part in "${parts[@]}"; do
    "part_$part"
done
# The summary covers every part run so far into $MUTANTS_OUT, not only this run's.
python3 scripts/mutants_summary.py "$MUTANTS_OUT" "${ALL_PARTS[@]}" | tee "$MUTANTS_OUT/summary.txt"
