//! How AgentCore Gateway invokes a Lambda target: the event is the tool's arguments
//! object, and the tool name travels in the Lambda client context under
//! `custom.bedrockAgentCoreToolName` as `{target_name}___{tool_name}`. The other
//! `bedrockAgentCore*` keys identify the gateway, target and MCP message; they are
//! logged, never relied on.

use super::{ToolError, ToolErrorCode};
use lambda_runtime::Context;

pub const TOOL_NAME_KEY: &str = "bedrockAgentCoreToolName";
pub const GATEWAY_ID_KEY: &str = "bedrockAgentCoreGatewayId";
pub const TARGET_ID_KEY: &str = "bedrockAgentCoreTargetId";
pub const MESSAGE_VERSION_KEY: &str = "bedrockAgentCoreMessageVersion";
pub const MCP_MESSAGE_ID_KEY: &str = "bedrockAgentCoreMcpMessageId";
pub const AWS_REQUEST_ID_KEY: &str = "bedrockAgentCoreAwsRequestId";

/// Between the target name and the tool name (three underscores).
pub const SEPARATOR: &str = "___";

/// The target names of the Gateway (the SAM template's GatewayTarget names).
pub const REVIEWS_TARGET: &str = "reviews";
pub const WARRANTY_TARGET: &str = "warranty";
pub const CUSTOMER_PROFILE_TARGET: &str = "customer-profile";

/// `{target}___{tool}` split in two. The target name is deployment configuration, so
/// a function dispatches on the tool part only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolName {
    pub target: String,
    pub tool: String,
}

impl ToolName {
    pub fn parse(full: &str) -> Result<ToolName, ToolError> {
        match full.split_once(SEPARATOR) {
            Some((target, tool)) if !target.is_empty() && !tool.is_empty() => Ok(ToolName {
                target: target.to_string(),
                tool: tool.to_string(),
            }),
            _ => Err(ToolError::new(
                ToolErrorCode::UnknownTool,
                format!("tool name {full:?} is not of the form {{target}}{SEPARATOR}{{tool}}"),
            )),
        }
    }

    pub fn full(&self) -> String {
        format!("{}{SEPARATOR}{}", self.target, self.tool)
    }
}

/// The tool named by the invocation's client context.
pub fn tool_name(ctx: &Context) -> Result<ToolName, ToolError> {
    let full = ctx
        .client_context
        .as_ref()
        .and_then(|cc| cc.custom.get(TOOL_NAME_KEY))
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ToolError::new(
                ToolErrorCode::UnknownTool,
                format!("the client context carries no custom.{TOOL_NAME_KEY}"),
            )
        })?;
    ToolName::parse(full)
}

pub fn unknown_tool(name: &ToolName, served: &[&str]) -> ToolError {
    ToolError::new(
        ToolErrorCode::UnknownTool,
        format!(
            "this function does not serve tool {:?} (it serves: {})",
            name.tool,
            served.join(", ")
        ),
    )
}

/// A custom key of the client context, or "" (for log fields).
pub fn context_value<'a>(ctx: &'a Context, key: &str) -> &'a str {
    ctx.client_context
        .as_ref()
        .and_then(|cc| cc.custom.get(key))
        .map(String::as_str)
        .unwrap_or("")
}

/// One span per invocation with the ids the Gateway sends (no arguments: they may hold
/// personal data).
pub fn invocation_span(ctx: &Context) -> tracing::Span {
    tracing::info_span!(
        "tool_invocation",
        request_id = %ctx.request_id,
        tool = context_value(ctx, TOOL_NAME_KEY),
        gateway_id = context_value(ctx, GATEWAY_ID_KEY),
        target_id = context_value(ctx, TARGET_ID_KEY),
        mcp_message_id = context_value(ctx, MCP_MESSAGE_ID_KEY),
        gateway_request_id = context_value(ctx, AWS_REQUEST_ID_KEY),
    )
}

/// The client context the Gateway sends for `{target}___{tool}` (devstack and tests),
/// as the plain JSON the Runtime API puts in `Lambda-Runtime-Client-Context`.
pub fn gateway_client_context(full_tool_name: &str, mcp_message_id: &str) -> serde_json::Value {
    serde_json::json!({
        "custom": {
            TOOL_NAME_KEY: full_tool_name,
            GATEWAY_ID_KEY: "devstack-gateway",
            TARGET_ID_KEY: "DEVSTACKTARGET",
            MESSAGE_VERSION_KEY: "1.0",
            MCP_MESSAGE_ID_KEY: mcp_message_id,
            AWS_REQUEST_ID_KEY: "00000000-0000-0000-0000-000000000000",
        }
    })
}

/// A Lambda context as the runtime builds it for one invocation: the client context
/// JSON goes through the same `serde_json::from_str` as in `Context::new`, so what
/// the runtime would refuse is refused here too.
pub fn lambda_context(request_id: &str, client_context: Option<&str>) -> Result<Context, serde_json::Error> {
    let mut ctx = Context::default();
    ctx.request_id = request_id.to_string();
    ctx.deadline = deadline_in(std::time::Duration::from_secs(30));
    ctx.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:devstack".to_string();
    ctx.client_context = match client_context {
        Some(raw) if !raw.is_empty() => Some(serde_json::from_str(raw)?),
        _ => None,
    };
    Ok(ctx)
}

fn deadline_in(d: std::time::Duration) -> u64 {
    std::time::SystemTime::now()
        .checked_add(d)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The invocation path every tool target shares: read the tool name from the client
/// context, dispatch to `call(tool, arguments)`, answer business failures as JSON
/// results and faults as Lambda errors, all inside one span per invocation.
pub async fn serve<F, Fut>(
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
    call: F,
) -> Result<serde_json::Value, lambda_runtime::Error>
where
    F: FnOnce(String, serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = super::ToolOutcome>,
{
    use tracing::Instrument;
    let span = invocation_span(&event.context);
    async move {
        let name = match tool_name(&event.context) {
            Ok(n) => n,
            Err(e) => return Ok(e.to_json()),
        };
        match call(name.tool, event.payload).await {
            Ok(result) => {
                if let Err(e) = &result {
                    tracing::info!(code = e.code.as_str(), "tool answered with an error");
                }
                Ok(super::into_result(result))
            }
            Err(fault) => {
                tracing::error!(error = %fault, transient = fault.is_transient(), "tool failed");
                Err(fault.into())
            }
        }
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_the_first_triple_underscore() {
        let n = ToolName::parse("reviews___get_product_reviews").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.target, "reviews");
        assert_eq!(n.tool, "get_product_reviews");
        assert_eq!(n.full(), "reviews___get_product_reviews");
        assert!(ToolName::parse("get_product_reviews").is_err());
        assert!(ToolName::parse("reviews___").is_err());
    }

    #[test]
    fn reads_the_tool_name_from_the_client_context_whatever_the_key_order() {
        let cc = gateway_client_context("warranty___check_warranty_status", "7").to_string();
        let ctx = lambda_context("r1", Some(&cc)).unwrap_or_else(|e| panic!("{e}"));
        let n = tool_name(&ctx).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n.tool, "check_warranty_status");
        let none = lambda_context("r2", None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            tool_name(&none).err().map(|e| e.code),
            Some(ToolErrorCode::UnknownTool)
        );
    }
}
