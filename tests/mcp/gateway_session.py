"""An agent's MCP session against `devstack gateway`, with the official MCP Python SDK
(PyPI `mcp`, pinned by `make up`), checking the Gateway's contract as it goes.

Run by tests/tests/mcp_gateway.rs, which starts the gateway, puts the test's own data in
DynamoDB Local and mints the tokens. It passes everything as one JSON object in the
environment variable MCP_SESSION (see `Session` below). Prints one JSON line per check
({"check", "ok", "detail"}) and a last line {"checks": N, "failed": [...]}; exits 1 when
any check failed, 2 when the session could not run at all.
"""
import asyncio
import json
import os
import pathlib
import sys

import httpx2
from mcp import ClientSession, MCPError
from mcp.client.streamable_http import streamable_http_client

ROOT = pathlib.Path(__file__).resolve().parents[2]
RESULTS = []


def check(name, ok, detail=""):
    RESULTS.append({"check": name, "ok": bool(ok), "detail": str(detail)[:2000]})
    print(json.dumps(RESULTS[-1]), flush=True)


def first_leaf(exc):
    """The MCPError inside the SDK's (nested) exception groups."""
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


async def session_call(url, token, action):
    """Runs `action(session)` in an initialized session; returns its value or the
    MCPError raised anywhere in the session (initialize included)."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    caught = None
    try:
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=120)) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await action(session)
    except* MCPError as group:
        caught = first_leaf(group)
    return caught


def payload(result):
    return json.loads(result.content[0].text)


def review_ids(body):
    return sorted(r["review_id"] for r in body.get("reviews", []))


async def main(s):
    url = s["url"]
    schema_files = {
        t: json.loads((ROOT / "infra" / "tool-schemas" / f"{t}.json").read_text())
        for t in ("reviews", "warranty", "customer-profile")
    }
    target_names = {"reviews": s["reviews_target"], "warranty": "warranty", "customer-profile": "customer-profile"}

    # initialize + notifications/initialized + tools/list, with tenant A's token.
    async def listing(session):
        return session.server_info, session.protocol_version, (await session.list_tools()).tools

    got = await session_call(url, s["token_a"], listing)
    if isinstance(got, BaseException):
        check("initialize", False, repr(got))
        return
    info, version, tools = got
    check("initialize", info.name == "devstack-gateway" and version, f"{info.name} {version}")
    by_name = {t.name: t for t in tools}
    expected = {
        f"{target_names[target]}___{d['name']}": d for target, defs in schema_files.items() for d in defs
    }
    check("tools/list names every tool as {target}___{tool}", set(by_name) == set(expected), sorted(by_name))
    for name, definition in expected.items():
        tool = by_name.get(name)
        check(
            f"schema of {name} is infra/tool-schemas'",
            tool is not None
            and tool.input_schema == definition["inputSchema"]
            and tool.description == definition["description"],
            tool.input_schema if tool else "missing",
        )

    def call(token, name, arguments):
        return session_call(url, token, lambda session: session.call_tool(name, arguments))

    reviews = target_names["reviews"]
    # Tenant pinning: tenant A's token, tenant B in the arguments → A's reviews only.
    r = await call(s["token_a"], f"{reviews}___get_product_reviews",
                   {"tenant_id": s["tenant_b"], "product_id": s["product_id"]})
    ok = not isinstance(r, BaseException) and not r.is_error
    body = payload(r) if ok else {}
    check("get_product_reviews: token for A, tenant_id B → A's reviews only",
          ok and review_ids(body) == sorted(s["reviews_a"]) and body["summary"]["review_count"] == len(s["reviews_a"])
          and body["summary"]["complete"] is True, body or r)
    r = await call(s["token_b"], f"{reviews}___search_reviews", {"tenant_id": s["tenant_a"]})
    ok = not isinstance(r, BaseException) and not r.is_error
    body = payload(r) if ok else {}
    check("search_reviews: token for B, tenant_id A → B's reviews only",
          ok and review_ids(body) == sorted(s["reviews_b"]), body or r)
    r = await call(s["token_a"], f"{reviews}___search_reviews", {})
    check("search_reviews without tenant_id gets the token's tenant",
          not isinstance(r, BaseException) and review_ids(payload(r)) == sorted(s["reviews_a"]), r)

    # The other targets.
    r = await call(s["token_a"], "warranty___check_warranty_status",
                   {"serial_number": s["serial"], "customer_email": s["email"].upper()})
    body = payload(r) if not isinstance(r, BaseException) else {}
    check("check_warranty_status", body.get("status") == "active" and body.get("owner_verified") is True, body or r)
    r = await call(s["token_a"], "customer-profile___get_customer_profile", {"email": s["email"]})
    body = payload(r) if not isinstance(r, BaseException) else {}
    check("get_customer_profile by e-mail", body.get("customer_id") == s["customer_id"], body or r)
    r = await call(s["token_a"], "customer-profile___update_customer_profile",
                   {"customer_id": s["customer_id"], "phone": s["new_phone"], "address": s["new_address"]})
    body = payload(r) if not isinstance(r, BaseException) else {}
    check("update_customer_profile", body.get("phone") == s["new_phone"]
          and body.get("address") == s["new_address"], body or r)

    # A business error is a result with isError; a function fault is a JSON-RPC error.
    r = await call(s["token_a"], "customer-profile___get_customer_profile", {"customer_id": "CUST999999999999"})
    check("business error → isError result with the tool's JSON",
          not isinstance(r, BaseException) and r.is_error and payload(r)["error"]["code"] == "NOT_FOUND", r)
    r = await call(s["token_c"], f"{reviews}___search_reviews", {})
    check("function fault → JSON-RPC error -32603 with a generic message",
          isinstance(r, MCPError) and r.code == -32603 and "retry" in r.message, repr(r))
    r = await call(s["token_a"], "warranty___check_warranty_status",
                   {"serial_number": s["serial"], "tenant_id": s["tenant_b"]})
    check("tenant_id sent to another target is refused by the interceptor",
          isinstance(r, MCPError) and r.code == -32602, repr(r))
    r = await call(s["token_a"], "reviews-v2___search_reviews", {"tenant_id": s["tenant_b"]})
    check("tenant_id sent to an unknown (renamed) target is refused",
          isinstance(r, MCPError) and r.code == -32602, repr(r))
    r = await call(s["token_a"], "reviews___nope", {})
    check("an unknown tool is a JSON-RPC error", isinstance(r, MCPError), repr(r))

    # The CUSTOM_JWT authorizer: the SDK surfaces the 401's JSON-RPC error.
    for label, token in [("no token", None), ("bad signature", s["token_bad_signature"]),
                         ("expired", s["token_expired"]), ("wrong audience", s["token_wrong_audience"]),
                         ("not valid yet", s["token_not_yet_valid"])]:
        r = await session_call(url, token, lambda session: session.list_tools())
        check(f"401 ({label}) → MCPError -32001", isinstance(r, MCPError) and r.code == -32001, repr(r))

    # The same at the HTTP level, and what the SDK cannot send.
    list_body = {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}
    async with httpx2.AsyncClient(timeout=30) as http:
        for label, token in [("no token", None), ("expired", s["token_expired"])]:
            headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
            if token:
                headers["Authorization"] = f"Bearer {token}"
            resp = await http.post(url, json=list_body, headers=headers)
            check(f"HTTP 401 ({label}): status, JSON-RPC body, WWW-Authenticate",
                  resp.status_code == 401
                  and resp.headers.get("content-type", "").startswith("application/json")
                  and resp.json() == {"jsonrpc": "2.0", "id": 0,
                                      "error": {"code": -32001, "message": "Invalid Bearer token"}}
                  and resp.headers.get("www-authenticate", "").startswith('Bearer error="invalid_token"'),
                  f"{resp.status_code} {resp.headers} {resp.text}")
        resp = await http.post(url, json=list_body,
                               headers={"Content-Type": "application/json", "Authorization": f"Bearer {s['token_a']}"})
        check("a POST without Accept is served (as the Gateway does)",
              resp.status_code == 200 and len(resp.json()["result"]["tools"]) == len(expected), resp.text[:300])
        # Two Authorization headers: a valid one for A, then an unsigned one for B.
        forged_call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                       "params": {"name": f"{reviews}___search_reviews", "arguments": {}}}
        resp = await http.post(url, json=forged_call, headers=[
            ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
            ("Authorization", f"Bearer {s['token_a']}"), ("Authorization", f"Bearer {s['token_forged']}")])
        body = resp.json() if resp.status_code == 200 else {}
        check("two Authorization headers are refused by the interceptor",
              body.get("error", {}).get("code") == -32001 and "result" not in body, resp.text[:300])
        resp = await http.post(url, json=[forged_call], headers={
            "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
            "Authorization": f"Bearer {s['token_a']}"})
        check("a batch body is refused by the interceptor",
              resp.status_code == 200 and resp.json().get("error", {}).get("code") == -32600, resp.text[:300])
        json_headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                        "Authorization": f"Bearer {s['token_a']}"}
        resp = await http.post(url, content=b'{"jsonrpc": "2.0",', headers=json_headers)
        check("a body that is not JSON: HTTP 400, JSON-RPC parse error -32700 with a null id",
              resp.status_code == 400 and resp.json().get("id", "absent") is None
              and resp.json().get("error", {}).get("code") == -32700, f"{resp.status_code} {resp.text[:300]}")
        resp = await http.post(url, json={"jsonrpc": "2.0", "id": 11, "method": "tools/call", "params": {}},
                               headers=json_headers)
        check("tools/call without a name: invalid params -32602 naming what is missing",
              resp.status_code == 200 and resp.json().get("error", {}).get("code") == -32602
              and "name" in resp.json()["error"].get("message", ""), resp.text[:300])
        resp = await http.post(url, json={"jsonrpc": "2.0", "id": 12, "method": "initialize", "params": {}},
                               headers=json_headers)
        check("initialize with params it cannot read: -32602, not an unknown method",
              resp.status_code == 200 and resp.json().get("error", {}).get("code") == -32602, resp.text[:300])
        resp = await http.post(url, json={"jsonrpc": "2.0", "id": 14, "method": "tools/list", "params": "x"},
                               headers=json_headers)
        check("params that are not structured (a string): HTTP 400, invalid request -32600",
              resp.status_code == 400 and resp.json().get("error", {}).get("code") == -32600, resp.text[:300])
        resp = await http.post(url, json={"id": 13, "method": "tools/list"}, headers=json_headers)
        check("JSON that is no JSON-RPC message: HTTP 400, invalid request -32600 with its id",
              resp.status_code == 400 and resp.json().get("id") == 13
              and resp.json().get("error", {}).get("code") == -32600, f"{resp.status_code} {resp.text[:300]}")


if __name__ == "__main__":
    try:
        settings = json.loads(os.environ["MCP_SESSION"])
        asyncio.run(main(settings))
    except Exception as e:  # the session could not run: say why, loudly
        print(json.dumps({"fatal": repr(e)}), flush=True)
        sys.exit(2)
    failed = [r["check"] for r in RESULTS if not r["ok"]]
    print(json.dumps({"checks": len(RESULTS), "failed": failed}), flush=True)
    sys.exit(1 if failed or not RESULTS else 0)
