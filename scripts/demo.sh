#!/usr/bin/env bash
# A scripted tour of the local stack: the onboarding pipeline with a clean file, a file
# full of mistakes (and its report), a re-upload that changes prices, every agent tool,
# then the vendor journey with curl (upload URL, PUT, history, errors, report,
# notification). Run by `make demo` after `make up`.
set -euo pipefail
cd "$(dirname "$0")/.."
. ./.local/env
DEVSTACK="${CARGO_TARGET_DIR:-$PWD/target}/debug/devstack"
RUN_ID="$(date +%H%M%S)"

# Bold headings on a terminal only: piped into a file, the demo stays plain text.
if [ -t 1 ]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
say()  { printf '\n%s== %s%s\n' "$BOLD" "$*" "$PLAIN"; }
pretty() { python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), indent=2, ensure_ascii=False))'; }
sql() { psql "$DATABASE_URL" -X -q -P pager=off -c "$1"; }
field() { python3 -c "import json,sys; v=json.load(sys.stdin).get('$1'); print('' if v is None else v)"; }

say "1. A clean CSV from VEND001 (TechGear): 5 products"
clean=$("$DEVSTACK" upload events/csv/clean.csv --vendor VEND001 --name "clean-$RUN_ID.csv")
echo "$clean" | pretty
sql "SELECT vendor_product_id, product_name, category, sku, price, stock_quantity, status
     FROM products WHERE upload_id = '$(echo "$clean" | field upload_id)' ORDER BY vendor_product_id"

say "2. A CSV full of mistakes from VEND001"
broken=$("$DEVSTACK" upload events/csv/broken.csv --vendor VEND001 --name "broken-$RUN_ID.csv")
echo "$broken" | pretty
broken_id=$(echo "$broken" | field upload_id)
sql "SELECT row_number, error_type, error_field, error_message
     FROM validation_errors WHERE upload_id = '$broken_id' ORDER BY row_number, error_id"
report_key=$(echo "$broken" | field error_file_s3_key)
say "   The vendor's error report: s3://$UPLOAD_BUCKET/$report_key"
.local/venv/bin/python - "$report_key" <<'PY'
import os, sys, boto3  # boto3 comes with moto in the project's venv
s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL_S3"])
body = s3.get_object(Bucket=os.environ["UPLOAD_BUCKET"], Key=sys.argv[1])["Body"].read()
sys.stdout.write(body.decode("utf-8").replace("\r\n", "\n"))
PY

say "3. A re-upload that changes prices and stock (an update, not an error)"
again=$("$DEVSTACK" upload events/csv/reupload.csv --vendor VEND001 --name "reupload-$RUN_ID.csv")
echo "$again" | pretty
sql "SELECT vendor_product_id, sku, price, stock_quantity, status, upload_id
     FROM products WHERE vendor_id = 'VEND001' AND vendor_product_id IN ('TG-1001','TG-1002','TG-1004')
     ORDER BY vendor_product_id"

say "4. Upload history and error summary"
sql "SELECT upload_id, file_name, status, total_records, valid_records, error_records, success_rate_percent
     FROM recent_uploads WHERE file_name LIKE '%-$RUN_ID.csv'"
sql "SELECT vendor_id, vendor_name, total_products, total_uploads, total_errors FROM vendor_summary WHERE vendor_id IN ('VEND001','VEND002','VEND003') ORDER BY vendor_id"
sql "SELECT error_type, count(*) AS occurrences FROM validation_errors
     WHERE upload_id = '$broken_id' GROUP BY error_type ORDER BY occurrences DESC, error_type"

say "5. Agent tools, called as AgentCore Gateway calls them"
tool() { echo "\$ devstack tool $*"; "$DEVSTACK" tool "$@" | pretty; }
tool get_product_reviews --tenant tenanta --args '{"product_id": 1, "limit": 3}'
say "   A forged tenant_id is overwritten by the interceptor with the JWT's tenant"
tool get_product_reviews --tenant tenantb --args '{"tenant_id": "tenanta", "product_id": 1, "limit": 3}'
tool search_reviews --tenant tenanta --args '{"min_rating": 4, "limit": 5}'
tool check_warranty_status --args '{"serial_number": "LAPTOP0012345", "customer_email": "John.Smith@example.com"}'
tool check_warranty_status --args '{"serial_number": "PHONE0098765"}'
tool get_customer_profile --args '{"email": "wei.chen@example.com"}'
tool update_customer_profile --args '{"customer_id": "CUST002", "notes": "Prefers e-mail contact (demo '"$RUN_ID"')"}'
tool get_customer_profile --args '{"customer_id": "CUST999"}'

say "6. The same tools over MCP: devstack gateway, as an agent framework sees it"
gateway_log="$(mktemp)"
"$DEVSTACK" gateway --port 0 2>"$gateway_log" &
gateway_pid=$!
trap 'kill "$gateway_pid" 2>/dev/null || true; rm -f "$gateway_log"' EXIT
for _ in $(seq 1 100); do
    grep -q '^listening on ' "$gateway_log" && break
    kill -0 "$gateway_pid" 2>/dev/null || { cat "$gateway_log" >&2; exit 1; }
    sleep 0.1
done
base=$(sed -n 's/^listening on //p' "$gateway_log" | head -n1)
[ -n "$base" ] || { echo "devstack gateway did not start" >&2; cat "$gateway_log" >&2; exit 1; }
echo "\$ devstack gateway --port 0   # $base/mcp"
echo "\$ TOKEN=\$(devstack token --tenant tenanta)"
.local/venv/bin/python scripts/mcp_demo.py "$base/mcp" "$("$DEVSTACK" token --tenant tenanta)"
say "7. The vendor journey, with curl alone (devstack api plays API Gateway and the bucket notification)"
api_log="$(mktemp)"
"$DEVSTACK" api --port "${VENDOR_API_PORT:-8788}" 2>"$api_log" &
api_pid=$!
trap 'kill "$api_pid" "$gateway_pid" 2>/dev/null || true; rm -f "$gateway_log"' EXIT
for _ in $(seq 1 100); do grep -q '^listening on ' "$api_log" && break; sleep 0.1; done
API=$(sed -n 's/^listening on //p' "$api_log" | head -n1)
[ -n "$API" ] || { cat "$api_log" >&2; echo "devstack api did not start" >&2; exit 1; }
echo "devstack api: $API"
show() { echo "\$ $*" | sed -E 's/Bearer [A-Za-z0-9._-]+/Bearer $TOKEN/'; }
TOKEN=$("$DEVSTACK" token --vendor VEND002)
file=events/csv/broken.csv
name="vendor-journey-$RUN_ID.csv"
size=$(stat -c %s "$file")
show curl -s -X POST "$API/uploads" -H "Authorization: Bearer $TOKEN" -d "{\"file_name\": \"$name\", \"content_length\": $size}"
ticket=$(curl -s -X POST "$API/uploads" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \
    -d "{\"file_name\": \"$name\", \"content_length\": $size}")
echo "$ticket" | pretty
upload_url=$(echo "$ticket" | field upload_url)
show curl -s -X PUT "<upload_url>" -H 'content-type: text/csv' --data-binary @"$file"
curl -s -o /dev/null -w 'HTTP %{http_code}\n' -X PUT "$upload_url" -H 'content-type: text/csv' --data-binary @"$file"
show curl -s "$API/uploads?limit=20" -H "Authorization: Bearer $TOKEN" "  # until the upload is final"
upload=""
for _ in $(seq 1 120); do
    upload=$(curl -s "$API/uploads?limit=20" -H "Authorization: Bearer $TOKEN" | python3 -c "
import json, sys
for u in json.load(sys.stdin)['uploads']:
    if u['file_name'] == '$name' and u['status'] != 'processing':
        print(json.dumps(u)); break")
    [ -n "$upload" ] && break
    sleep 1
done
[ -n "$upload" ] || { echo "the upload did not end in 2 minutes" >&2; exit 1; }
echo "$upload" | pretty
id=$(echo "$upload" | field upload_id)
show curl -s "$API/uploads/$id/errors?limit=3" -H "Authorization: Bearer $TOKEN"
curl -s "$API/uploads/$id/errors?limit=3" -H "Authorization: Bearer $TOKEN" | pretty
show curl -s -L "$API/uploads/$id/report" -H "Authorization: Bearer $TOKEN"
curl -s -L "$API/uploads/$id/report" -H "Authorization: Bearer $TOKEN" | tr -d '\r'
say "   Another vendor asking for it gets what a missing upload gets"
curl -s -w '  (HTTP %{http_code})\n' "$API/uploads/$id" -H "Authorization: Bearer $("$DEVSTACK" token --vendor VEND001)"
say "   The upload-finished notification (the default JSON, as an SQS subscriber receives it)"
show devstack notifications "$id"
"$DEVSTACK" notifications "$id" --wait 10 | pretty
say "Done."
