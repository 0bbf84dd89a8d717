#!/usr/bin/env bash
# Prints whether each service of the local stack answers. Exit 1 when one does not.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
status=0
"$here/postgres.sh" status || status=1
"$here/dynamodb.sh" status || status=1
"$here/moto.sh" status || status=1
exit "$status"
