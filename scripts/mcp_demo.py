"""A short agent session against `devstack gateway`, with the official MCP Python SDK:
what an agent framework does once pointed at the endpoint. Run by scripts/demo.sh as
    .local/venv/bin/python scripts/mcp_demo.py URL TOKEN
(TOKEN from `devstack token --tenant tenanta`). Prints the session as a transcript.
"""
import asyncio
import json
import sys

import httpx2
from mcp import ClientSession, MCPError
from mcp.client.streamable_http import streamable_http_client

CALLS = [
    ("reviews___get_product_reviews", {"product_id": 1, "limit": 2}),
    ("reviews___get_product_reviews", {"tenant_id": "tenantb", "product_id": 1, "limit": 2}),
    ("reviews___search_reviews", {"min_rating": 5, "limit": 2}),
    ("warranty___check_warranty_status", {"serial_number": "LAPTOP0012345", "customer_email": "John.Smith@example.com"}),
    ("customer-profile___get_customer_profile", {"customer_id": "CUST001"}),
    ("customer-profile___update_customer_profile", {"customer_id": "CUST001", "notes": "Called about a kettle"}),
    ("customer-profile___get_customer_profile", {"customer_id": "CUST999"}),
    ("warranty___check_warranty_status", {"serial_number": "LAPTOP0012345", "tenant_id": "tenantb"}),
]


def show(result):
    body = json.loads(result.content[0].text)
    if "reviews" in body:  # keep the transcript short
        body["reviews"] = [{k: r.get(k) for k in ("review_id", "rating", "title")} for r in body["reviews"]]
        body["next_token"] = (body.get("next_token") or "")[:16] + "…" if body.get("next_token") else None
    return json.dumps(body, ensure_ascii=False)


async def main(url, token):
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                init = await session.initialize()
                print(f"initialize → {init.server_info.name}, protocol {init.protocol_version}")
                tools = (await session.list_tools()).tools
                print("tools/list →")
                for t in tools:
                    print(f"  {t.name}({', '.join(t.input_schema.get('properties', {}))})")
                for name, arguments in CALLS:
                    print(f"tools/call {name} {json.dumps(arguments)}")
                    try:
                        r = await session.call_tool(name, arguments)
                        print(f"  isError={r.is_error} {show(r)}")
                    except MCPError as e:
                        print(f"  JSON-RPC error {e.code}: {e.message}")
    # Without a token the authorizer answers 401 and the SDK raises its JSON-RPC error.
    try:
        async with httpx2.AsyncClient(timeout=30) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
    except* MCPError as group:
        e = group.exceptions[0]
        while isinstance(e, BaseExceptionGroup):
            e = e.exceptions[0]
        print(f"initialize without a token → 401, JSON-RPC error {e.code}: {e.message}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
