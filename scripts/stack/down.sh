#!/usr/bin/env bash
# Stops what scripts/stack/up.sh started: the processes of the pid files it wrote
# and this clone's PostgreSQL cluster. A service it found running and reused is left
# alone. State is in memory (DynamoDB, moto) or throwaway (PostgreSQL), so the next
# `make up` starts clean apart from the PostgreSQL data, which it keeps.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=postgres.sh
. "$here/postgres.sh"
# shellcheck source=dynamodb.sh
. "$here/dynamodb.sh"
# shellcheck source=moto.sh
. "$here/moto.sh"

t0="$(now_ms)"
status=0
moto_stop || status=1
ddb_stop || status=1
pg_stop || status=1
took "$t0" "stopping services"
exit "$status"
