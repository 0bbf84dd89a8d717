//! `devstack gateway` with a real MCP client: the official Python SDK (`mcp`, pinned,
//! in `.local/venv`) runs `tests/mcp/gateway_session.py` against the built gateway on
//! a free port: initialize, tools/list with every schema checked against
//! `infra/tool-schemas/`, a call of every tool, tenant pinning end to end (A's token
//! with `tenant_id: B` sees only A's reviews), business errors as `isError`, a function
//! fault as a JSON-RPC error, the authorizer's 401s, and the interceptor's refusals
//! (tenant_id on another target, two Authorization headers, a batch).
//!
//! The gateway runs with `RUST_LOG=trace`, and its logs must hold none of the tokens,
//! e-mails, phone numbers or addresses of the session.

use devstack::jwt::{Jwt, DEFAULT_TTL};
use e2e::gateway::GatewayProcess;
use e2e::logs::assert_no_secrets;
use e2e::stack::{aws, load_env, unique, var};
use e2e::tools::{put, review, unique_customer, unique_product, unique_serial};
use serde_json::{json, Map, Value};
use std::time::Duration;

fn claims(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn token(jwt: &Jwt, audience: &str, extra: Value) -> String {
    jwt.mint(audience, claims(extra), DEFAULT_TTL)
        .unwrap_or_else(|e| panic!("mint: {e}"))
}

/// A JWT nobody signed, claiming `tenant` (what a forger sends).
fn unsigned(tenant: &str) -> String {
    use base64::Engine as _;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.AAAA",
        b64(json!({"alg": "HS256", "typ": "JWT"})),
        b64(
            json!({"tenant_id": tenant, "iss": "devstack", "aud": "agentcore-gateway", "exp": 4102444800u64})
        )
    )
}

#[tokio::test]
async fn an_mcp_sdk_session_through_the_local_gateway() {
    load_env();
    let db = adapters::dynamodb::client(&aws().await);
    let reviews_table = var("PRODUCT_REVIEWS_TABLE");
    let (a, b, c) = (unique("mcpA"), unique("mcpB"), unique("mcpC"));
    let product = unique_product();
    for (tenant, id, rating) in [(&a, "ma1", 5), (&a, "ma2", 3), (&b, "mb1", 1)] {
        put(
            &db,
            &reviews_table,
            review(tenant, product, id, rating, "2024-12-01T10:00:00Z", true),
        )
        .await;
    }
    // Tenant C's only review is corrupt: its tool call is a function fault, and the
    // value serde chokes on must not reach any log.
    let corrupt_value = format!("{}@corrupt.example.com", unique("mallory"));
    let mut corrupt = review(&c, product, "mc1", 1, "2024-12-01T10:00:00Z", true);
    corrupt["rating"] = json!(corrupt_value);
    put(&db, &reviews_table, corrupt).await;

    // A customer with personal data, a warranty of theirs.
    let customer = unique_customer();
    let email = format!("{}@mcp.example.com", customer.to_lowercase());
    let phone = "+1 555 0147";
    let street = format!("{} Secret Lane", &customer[4..]);
    put(
        &db,
        &var("CUSTOMER_PROFILE_TABLE"),
        json!({"customer_id": customer, "first_name": "Ada", "last_name": "Byron", "email": email,
               "phone": phone, "address": {"street": street, "city": "London", "country": "GB"}}),
    )
    .await;
    let serial = unique_serial("MCP");
    let end = (chrono::Utc::now().date_naive() + chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    put(
        &db,
        &var("WARRANTY_TABLE"),
        json!({"serial_number": serial, "product_name": "Kettle", "purchase_date": "2024-01-01",
               "warranty_end_date": end, "warranty_type": "Standard", "customer_name": "Ada Byron"}),
    )
    .await;
    let new_phone = "+44 20 7946 0958";
    let new_street = format!("{} Hidden Road", &customer[4..]);
    let new_address = json!({"street": new_street, "city": "Leeds", "country": "GB"});

    let jwt = Jwt::from_source(&adapters::config::ProcessEnv).unwrap_or_else(|e| panic!("{e}"));
    let aud = jwt.gateway_audience.clone();
    let tenant_claim = |t: &str| json!({"tenant_id": t});
    let tokens = [
        token(&jwt, &aud, tenant_claim(&a)),
        token(&jwt, &aud, tenant_claim(&b)),
        token(&jwt, &aud, tenant_claim(&c)),
        token(&Jwt::new("not-the-key", jwt.issuer()), &aud, tenant_claim(&a)),
        token(
            &jwt,
            &aud,
            json!({"tenant_id": a, "exp": chrono::Utc::now().timestamp() - 5}),
        ),
        token(&jwt, &jwt.vendor_audience, tenant_claim(&a)),
        unsigned(&b),
        token(
            &jwt,
            &aud,
            json!({"tenant_id": a, "nbf": chrono::Utc::now().timestamp() + 3600}),
        ),
    ];
    let session = json!({
        "reviews_target": var("REVIEWS_TARGET_NAME"),
        "tenant_a": a, "tenant_b": b,
        "product_id": product, "reviews_a": ["ma1", "ma2"], "reviews_b": ["mb1"],
        "serial": serial, "email": email, "customer_id": customer,
        "new_phone": new_phone, "new_address": new_address,
        "token_a": tokens[0], "token_b": tokens[1], "token_c": tokens[2],
        "token_bad_signature": tokens[3], "token_expired": tokens[4],
        "token_wrong_audience": tokens[5], "token_forged": tokens[6],
        "token_not_yet_valid": tokens[7],
    });

    let gateway = GatewayProcess::start(&[("RUST_LOG", "trace")]).await;
    let mut session = session;
    session["url"] = json!(gateway.url);
    let root = e2e::template::workspace_root();
    let python = root.join(".local/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `make up` (it installs the MCP SDK)",
        python.display()
    );
    let run = tokio::process::Command::new(&python)
        .arg(root.join("tests/mcp/gateway_session.py"))
        .env("MCP_SESSION", session.to_string())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .unwrap_or_else(|_| panic!("the MCP session took more than 300 s"))
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let logs = gateway.stop().await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    let last: Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!("no summary line from the MCP session\nstdout:\n{stdout}\nstderr:\n{stderr}")
        });
    assert_eq!(
        last["failed"],
        json!([]),
        "MCP session checks failed:\n{stdout}\nstderr:\n{stderr}\ngateway logs:\n{logs}"
    );
    assert!(
        last["checks"].as_u64().unwrap_or(0) >= 27,
        "too few checks ran: {last}"
    );
    assert!(output.status.success(), "exit {:?}: {stdout}", output.status);

    // Logs: captured at all (at TRACE), and none of the session's secrets in them.
    assert!(
        logs.contains("tools/call") && logs.contains("401"),
        "the gateway's logs were not captured:\n{logs}"
    );
    let mut secrets: Vec<&str> = tokens.iter().map(String::as_str).collect();
    let upper = email.to_uppercase();
    secrets.extend([
        email.as_str(),
        upper.as_str(),
        phone,
        new_phone,
        street.as_str(),
        new_street.as_str(),
        corrupt_value.as_str(),
    ]);
    assert_no_secrets("devstack gateway at RUST_LOG=trace", &logs, &secrets);
}

/// The refused request's body arrives after its headers: the gateway must read it
/// before answering 401, or it closes the connection and loses the next request.
#[tokio::test]
async fn a_refused_request_leaves_its_connection_usable_for_the_next_one() {
    let gateway = GatewayProcess::start(&[]).await;
    let authority = gateway
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let (answers, seen) = e2e::keepalive::answers_on_one_connection(&authority, "/mcp", body, 401).await;
    gateway.stop().await;
    assert_eq!(
        answers, 2,
        "both requests on one connection are answered 401 (no token):\n{seen}"
    );
}
