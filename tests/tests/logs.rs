//! Logs carry no secrets, at the most verbose level anyone can set:
//! - an upload through `devstack upload` at `RUST_LOG=trace`, of a CSV full of a
//!   person's e-mail, phone number and address (in known and unknown columns, and as
//!   invalid values whose error messages name them);
//! - the built interceptor and customer-profile binaries at `AWS_LAMBDA_LOG_LEVEL=TRACE`
//!   against the Runtime API, where lambda_runtime would trace every raw event (the
//!   bearer token, the tool's arguments) if its level were not capped.
//!
//! Every tool call through the MCP gateway is checked the same way in
//! `tests/tests/mcp_gateway.rs`.

use e2e::logs::assert_no_secrets;
use e2e::runtime_api::{binary, invoke_binary_logged, Invocation, Outcome};
use e2e::stack::{load_env, unique, var};
use serde_json::{json, Value};
use std::time::Duration;

struct Person {
    email: String,
    phone: String,
    street: String,
}

fn person() -> Person {
    let n: String = unique("").chars().filter(char::is_ascii_digit).collect();
    let n = &n[n.len().saturating_sub(8)..];
    Person {
        email: format!("dana.{n}@vendor-logs.example.com"),
        phone: format!("+1 555 01{}", &n[n.len() - 2..]),
        street: format!("{n} Quiet Street"),
    }
}

#[tokio::test]
async fn an_upload_logged_at_trace_holds_no_personal_data() {
    load_env();
    let p = person();
    let dir = std::env::temp_dir().join(unique("logs-csv"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("contacts.csv");
    let sku = unique("LOGSKU").replace('_', "-");
    let csv = format!(
        "vendor_product_id,product_name,category,sku,price,stock_quantity,description,contact_email,contact_phone,contact_address\n\
         LOG-1,Kettle,Kitchen,{sku}-1,19.99,5,\"Ask {email} or {phone}\",{email},{phone},\"{street}, Springfield\"\n\
         LOG-2,Toaster,Kitchen,{email},{phone},{phone},{street},{email},{phone},{street}\n",
        email = p.email,
        phone = p.phone,
        street = p.street,
    );
    std::fs::write(&file, csv).unwrap_or_else(|e| panic!("{e}"));
    let out = tokio::process::Command::new(binary("devstack", "devstack"))
        .arg("upload")
        .arg(&file)
        .args([
            "--vendor",
            "VEND001",
            "--name",
            &format!("{}.csv", unique("logs")),
        ])
        .env("RUST_LOG", "trace")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(300), out)
        .await
        .unwrap_or_else(|_| panic!("devstack upload took more than 300 s"))
        .unwrap_or_else(|e| panic!("devstack upload: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let logs = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "devstack upload failed:\n{logs}");
    let history: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(history["status"], "partial", "{history}");
    assert!(logs.contains("TRACE"), "TRACE was not in effect:\n{logs}");
    assert_no_secrets(
        "devstack upload at RUST_LOG=trace",
        &logs,
        &[&p.email, &p.phone, &p.street],
    );
}

fn gateway_context(tool: &str) -> String {
    domain::tools::gateway::gateway_client_context(tool, "7").to_string()
}

#[tokio::test]
async fn function_binaries_at_trace_log_no_token_and_no_arguments() {
    load_env();
    let p = person();
    let token = format!(
        "eyJhbGciOiJIUzI1NiJ9.{}.c2lnbmF0dXJl",
        base64_url(&json!({"tenant_id": "tenanta", "sub": unique("agent")}).to_string())
    );
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "reviews___search_reviews", "arguments": {"tenant_id": "tenantb"}}});
    let event = devstack::gateway::interceptor_event(
        &body.to_string(),
        &body,
        Some(json!({"Authorization": format!("Bearer {token}")})),
    );
    let trace = [
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ("REVIEWS_TARGET_NAME", "reviews"),
    ];
    let (outcomes, logs) = invoke_binary_logged(
        &binary("gateway-interceptor", "gateway-interceptor"),
        &trace,
        vec![Invocation {
            event,
            client_context: None,
            cognito_identity: None,
        }],
    )
    .await;
    match outcomes.first() {
        Some(Outcome::Response(v)) => assert_eq!(
            v.pointer("/mcp/transformedGatewayRequest/body/params/arguments/tenant_id"),
            Some(&json!("tenanta")),
            "{v}"
        ),
        other => panic!("the interceptor did not answer: {other:?}"),
    }
    // DEBUG and below were on (the shim's debug line is there)...
    assert!(
        logs.contains("Runtime API proxied"),
        "TRACE was not in effect:\n{logs}"
    );
    // ...and neither the token nor any part of it got out.
    let payload = token.split('.').nth(1).unwrap_or_default();
    assert_no_secrets("gateway-interceptor at TRACE", &logs, &[&token, payload]);

    let table = var("CUSTOMER_PROFILE_TABLE");
    let env = [
        ("AWS_LAMBDA_LOG_LEVEL", "TRACE"),
        ("CUSTOMER_PROFILE_TABLE", table.as_str()),
    ];
    let (outcomes, logs) = invoke_binary_logged(
        &binary("customer-profile-tool", "customer-profile-tool"),
        &env,
        vec![
            Invocation {
                event: json!({"email": p.email}),
                client_context: Some(gateway_context("customer-profile___get_customer_profile")),
                cognito_identity: None,
            },
            Invocation {
                event: json!({"customer_id": "CUST999999999", "phone": p.phone,
                              "address": {"street": p.street, "city": "Springfield", "country": "US"}}),
                client_context: Some(gateway_context("customer-profile___update_customer_profile")),
                cognito_identity: None,
            },
        ],
    )
    .await;
    for o in &outcomes {
        assert!(
            matches!(o, Outcome::Response(v) if v["error"]["code"] == "NOT_FOUND"),
            "{o:?}"
        );
    }
    assert!(logs.contains("TRACE"), "TRACE was not in effect:\n{logs}");
    assert_no_secrets(
        "customer-profile-tool at TRACE",
        &logs,
        &[&p.email, &p.phone, &p.street],
    );
}

fn base64_url(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}
