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

use crate::ToolArgs;
use adapters::config::{parsed_or, required, ProcessEnv};
use adapters::dynamodb::{DynamoProfiles, DynamoReviewIndex, DynamoWarranties};
use anyhow::{anyhow, bail, Context as _};
use domain::tools::gateway::{self, CUSTOMER_PROFILE_TARGET, REVIEWS_TARGET, WARRANTY_TARGET};
use domain::tools::profile::{GET_CUSTOMER_PROFILE, UPDATE_CUSTOMER_PROFILE};
use domain::tools::reviews::{TokenSigner, GET_PRODUCT_REVIEWS, SEARCH_REVIEWS};
use domain::tools::warranty::{SystemClock, CHECK_WARRANTY_STATUS};
use gateway_interceptor::{InterceptorConfig, DEFAULT_TENANT_CLAIM, TENANT_CLAIM_ENV};
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

/// The Gateway target that serves a tool.
pub fn target_of(tool: &str) -> Option<&'static str> {
    match tool {
        GET_PRODUCT_REVIEWS | SEARCH_REVIEWS => Some(REVIEWS_TARGET),
        CHECK_WARRANTY_STATUS => Some(WARRANTY_TARGET),
        GET_CUSTOMER_PROFILE | UPDATE_CUSTOMER_PROFILE => Some(CUSTOMER_PROFILE_TARGET),
        _ => None,
    }
}

pub async fn run(args: ToolArgs) -> anyhow::Result<()> {
    let result = call(&args).await?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

/// What `devstack tool` prints: the function's result, or the interceptor's refusal.
pub async fn call(args: &ToolArgs) -> anyhow::Result<Value> {
    let target = target_of(&args.tool_name).ok_or_else(|| {
        anyhow!(
            "unknown tool {:?}; tools: {GET_PRODUCT_REVIEWS}, {SEARCH_REVIEWS}, {CHECK_WARRANTY_STATUS}, \
             {GET_CUSTOMER_PROFILE}, {UPDATE_CUSTOMER_PROFILE}",
            args.tool_name
        )
    })?;
    let arguments: Value = serde_json::from_str(&args.args).context("--args is not JSON")?;
    let full_name = format!("{target}{}{}", gateway::SEPARATOR, args.tool_name);
    let (full_name, arguments) = match &args.tenant {
        None => (full_name, arguments),
        Some(tenant) => match through_interceptor(&full_name, arguments, tenant).await? {
            Forwarded::Call { name, arguments } => (name, arguments),
            Forwarded::Refused(response) => return Ok(response),
        },
    };
    invoke(&full_name, arguments).await
}

enum Forwarded {
    Call { name: String, arguments: Value },
    Refused(Value),
}

/// The MCP `tools/call` the agent would send, through the real interceptor handler.
async fn through_interceptor(full_name: &str, arguments: Value, tenant: &str) -> anyhow::Result<Forwarded> {
    let claim: String = parsed_or(&ProcessEnv, TENANT_CLAIM_ENV, DEFAULT_TENANT_CLAIM.to_string())?;
    let jwt = crate::jwt::Jwt::from_source(&ProcessEnv)?;
    let mut claims = serde_json::Map::new();
    claims.insert(claim.clone(), json!(tenant));
    let token = jwt.mint(&jwt.gateway_audience, claims, crate::jwt::DEFAULT_TTL)?;
    let body = json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": { "name": full_name, "arguments": arguments }
    });
    let input = json!({
        "interceptorInputVersion": "1.0",
        "mcp": {
            "rawGatewayRequest": { "body": body.to_string() },
            "gatewayRequest": {
                "path": "/mcp",
                "httpMethod": "POST",
                "headers": {
                    "Accept": "application/json, text/event-stream",
                    "Authorization": format!("Bearer {token}"),
                    "Mcp-Session-Id": "devstack",
                    "User-Agent": "devstack"
                },
                "body": body
            }
        }
    });
    let ctx = adapters::gateway::lambda_context("devstack-interceptor", None)?;
    let config = InterceptorConfig { tenant_claim: claim };
    let output = gateway_interceptor::handle(LambdaEvent::new(input, ctx), &config)
        .await
        .map_err(|e| anyhow!("the interceptor failed: {e}"))?;
    if let Some(response) = output.pointer("/mcp/transformedGatewayResponse") {
        return Ok(Forwarded::Refused(
            response.get("body").cloned().unwrap_or(Value::Null),
        ));
    }
    let forwarded = output
        .pointer("/mcp/transformedGatewayRequest/body")
        .ok_or_else(|| anyhow!("the interceptor returned neither a request nor a response: {output}"))?;
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

/// Invokes the target's handler with the Gateway's event and client context.
pub async fn invoke(full_name: &str, arguments: Value) -> anyhow::Result<Value> {
    let name = gateway::ToolName::parse(full_name).map_err(|e| anyhow!("{e}"))?;
    let client_context = gateway::gateway_client_context(full_name, "1").to_string();
    let ctx = adapters::gateway::lambda_context("devstack-tool", Some(&client_context))?;
    let event = LambdaEvent::new(arguments, ctx);
    let sdk = adapters::aws::sdk_config().await;
    let dynamodb = adapters::dynamodb::client(&sdk);
    let env = &ProcessEnv;
    let result = match name.target.as_str() {
        REVIEWS_TARGET => {
            let table = required(env, adapters::config::PRODUCT_REVIEWS_TABLE, "source .local/env")?;
            let config = reviews_tool::ReviewsConfig {
                signer: TokenSigner::new(required(
                    env,
                    reviews_tool::TOKEN_SECRET_ENV,
                    "source .local/env",
                )?),
                page_size: parsed_or(env, reviews_tool::PAGE_SIZE_ENV, reviews_tool::DEFAULT_PAGE_SIZE)?,
            };
            reviews_tool::handle(event, &DynamoReviewIndex::new(dynamodb, table), &config).await
        }
        WARRANTY_TARGET => {
            let warranties = DynamoWarranties::new(
                dynamodb.clone(),
                required(env, adapters::config::WARRANTY_TABLE, "source .local/env")?,
            );
            let profiles = DynamoProfiles::new(
                dynamodb,
                required(env, adapters::config::CUSTOMER_PROFILE_TABLE, "source .local/env")?,
            );
            let ports = warranty_tool::WarrantyPorts {
                warranties: &warranties,
                profiles: &profiles,
                clock: &SystemClock,
            };
            warranty_tool::handle(event, &ports).await
        }
        CUSTOMER_PROFILE_TARGET => {
            let store = DynamoProfiles::new(
                dynamodb,
                required(env, adapters::config::CUSTOMER_PROFILE_TABLE, "source .local/env")?,
            );
            customer_profile_tool::handle(event, &store).await
        }
        other => bail!("no function serves target {other:?}"),
    };
    result.map_err(|e| anyhow!("the function failed (a Lambda error, not a tool result): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_a_target() {
        assert_eq!(target_of("get_product_reviews"), Some("reviews"));
        assert_eq!(target_of("check_warranty_status"), Some("warranty"));
        assert_eq!(target_of("update_customer_profile"), Some("customer-profile"));
        assert_eq!(target_of("nope"), None);
    }
}
