//! `devstack tool TOOL_NAME --args JSON [--tenant TENANT]`: calls a tool's Lambda
//! handler in-process exactly as AgentCore Gateway would: the arguments object as the
//! event, `{target}___{tool}` and the other `bedrockAgentCore*` keys in the client
//! context (parsed by the same `serde_json` call as the runtime's `Context::new`).
//!
//! With `--tenant`, the call first goes through the real REQUEST interceptor with an
//! HS256 JWT for that tenant (signed with `JWT_SIGNING_SECRET`, the tenant under the
//! `TENANT_CLAIM` claim, default `tenant_id`), and the tool receives the arguments the
//! interceptor forwarded; a refusal is printed as the interceptor's JSON-RPC response.
//! Without `--tenant` the arguments go straight to the tool (the reviews tools then
//! need `tenant_id` in them).

use crate::functions::Functions;
use crate::ToolArgs;
use adapters::config::ProcessEnv;
use anyhow::{anyhow, Context as _};
use domain::tools::gateway::GatewayInvocation;
use serde_json::{json, Value};

pub async fn run(args: ToolArgs) -> anyhow::Result<()> {
    let result = call(&args).await?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

/// What `devstack tool` prints: the function's result, or the interceptor's refusal.
pub async fn call(args: &ToolArgs) -> anyhow::Result<Value> {
    let functions = Functions::from_env().await?;
    let target = functions.target_of_tool(&args.tool_name).ok_or_else(|| {
        let known: Vec<String> = functions
            .targets
            .iter()
            .flat_map(|t| crate::functions::schemas(t).unwrap_or_default())
            .filter_map(|s| s["name"].as_str().map(String::from))
            .collect();
        anyhow!("unknown tool {:?}; tools: {}", args.tool_name, known.join(", "))
    })?;
    let arguments: Value = serde_json::from_str(&args.args).context("--args is not JSON")?;
    let full_name = target.tool_name(&args.tool_name);
    let (full_name, arguments) = match &args.tenant {
        None => (full_name, arguments),
        Some(tenant) => match through_interceptor(&functions, &full_name, arguments, tenant).await? {
            Forwarded::Call { name, arguments } => (name, arguments),
            Forwarded::Refused(response) => return Ok(response),
        },
    };
    let target_id = functions.target(&full_name).map(|t| t.id).unwrap_or("");
    let invocation = GatewayInvocation {
        tool_name: &full_name,
        gateway_id: "devstack-gateway",
        target_id,
        mcp_message_id: "1",
        aws_request_id: &uuid::Uuid::new_v4().to_string(),
    };
    Ok(functions.invoke(&invocation, arguments).await?)
}

enum Forwarded {
    Call { name: String, arguments: Value },
    Refused(Value),
}

/// The MCP `tools/call` the agent would send, through the real interceptor handler.
async fn through_interceptor(
    functions: &Functions,
    full_name: &str,
    arguments: Value,
    tenant: &str,
) -> anyhow::Result<Forwarded> {
    let jwt = crate::jwt::Jwt::from_source(&ProcessEnv)?;
    let mut claims = serde_json::Map::new();
    claims.insert(functions.interceptor.tenant_claim.clone(), json!(tenant));
    let token = jwt.mint(&jwt.gateway_audience, claims, crate::jwt::DEFAULT_TTL)?;
    let body = json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": { "name": full_name, "arguments": arguments }
    });
    let headers = json!({
        "accept": "application/json, text/event-stream",
        "authorization": format!("Bearer {token}"),
        "user-agent": "devstack"
    });
    let input = crate::gateway::interceptor_event(&body.to_string(), &body, Some(headers));
    let output = functions.intercept(input, "devstack-interceptor").await?;
    if let Some(response) = output.pointer("/mcp/transformedGatewayResponse") {
        return Ok(Forwarded::Refused(
            response.get("body").cloned().unwrap_or(Value::Null),
        ));
    }
    let forwarded = output
        .pointer("/mcp/transformedGatewayRequest/body")
        .ok_or_else(|| anyhow!("the interceptor returned neither a request nor a response"))?;
    let name = forwarded
        .pointer("/params/name")
        .and_then(Value::as_str)
        .unwrap_or(full_name)
        .to_string();
    let arguments = forwarded
        .pointer("/params/arguments")
        .cloned()
        .unwrap_or_else(|| json!({}));
    Ok(Forwarded::Call { name, arguments })
}
