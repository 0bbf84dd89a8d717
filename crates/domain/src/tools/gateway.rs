//! How AgentCore Gateway invokes a Lambda target: the event is the tool's arguments
//! object, and the tool name travels in the Lambda client context under
//! `custom.bedrockAgentCoreToolName` as `{target_name}___{tool_name}`. The other
//! `bedrockAgentCore*` keys identify the gateway, target and MCP message; they are
//! logged, never relied on.

use super::{ToolError, ToolErrorCode};

pub const TOOL_NAME_KEY: &str = "bedrockAgentCoreToolName";
pub const GATEWAY_ID_KEY: &str = "bedrockAgentCoreGatewayId";
pub const TARGET_ID_KEY: &str = "bedrockAgentCoreTargetId";
pub const MESSAGE_VERSION_KEY: &str = "bedrockAgentCoreMessageVersion";
pub const MCP_MESSAGE_ID_KEY: &str = "bedrockAgentCoreMcpMessageId";
pub const AWS_REQUEST_ID_KEY: &str = "bedrockAgentCoreAwsRequestId";

/// Between the target name and the tool name (three underscores).
pub const SEPARATOR: &str = "___";

/// The target names of the Gateway (the SAM template's GatewayTarget names).
/// `reviews` is only the local default: the deployed name is configuration
/// ([`REVIEWS_TARGET_ENV`]), because tenant pinning depends on it.
pub const REVIEWS_TARGET: &str = "reviews";
/// The name of the reviews GatewayTarget, as deployed. The interceptor pins the tenant of
/// calls to this target (and refuses a `tenant_id` anywhere else), the reviews function
/// refuses calls made through any other target, and `devstack` names the tools with it.
/// The template sets it, for all three, from the one parameter that names the target.
pub const REVIEWS_TARGET_ENV: &str = "REVIEWS_TARGET_NAME";
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

/// The client context the Gateway sends for `{target}___{tool}` (devstack and tests),
/// as the plain JSON the Runtime API puts in `Lambda-Runtime-Client-Context`.
pub fn gateway_client_context(full_tool_name: &str, mcp_message_id: &str) -> serde_json::Value {
    GatewayInvocation {
        tool_name: full_tool_name,
        gateway_id: "devstack-gateway",
        target_id: "DEVSTACKTARGET",
        mcp_message_id,
        aws_request_id: "00000000-0000-0000-0000-000000000000",
    }
    .client_context()
}

/// The ids AgentCore Gateway puts in a target's client context for one `tools/call`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayInvocation<'a> {
    /// `{target}___{tool}`.
    pub tool_name: &'a str,
    pub gateway_id: &'a str,
    pub target_id: &'a str,
    /// The JSON-RPC id of the `tools/call`, as a string (every `custom` value is one).
    pub mcp_message_id: &'a str,
    /// A fresh id per call.
    pub aws_request_id: &'a str,
}

impl GatewayInvocation<'_> {
    pub fn client_context(&self) -> serde_json::Value {
        serde_json::json!({
            "custom": {
                TOOL_NAME_KEY: self.tool_name,
                GATEWAY_ID_KEY: self.gateway_id,
                TARGET_ID_KEY: self.target_id,
                MESSAGE_VERSION_KEY: "1.0",
                MCP_MESSAGE_ID_KEY: self.mcp_message_id,
                AWS_REQUEST_ID_KEY: self.aws_request_id,
            }
        })
    }
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
    fn the_client_context_carries_the_ids_where_the_gateway_puts_them() {
        let cc = gateway_client_context("reviews___search_reviews", "42");
        let custom = &cc["custom"];
        assert_eq!(custom[TOOL_NAME_KEY], "reviews___search_reviews");
        assert_eq!(custom[MCP_MESSAGE_ID_KEY], "42");
        assert_eq!(custom[MESSAGE_VERSION_KEY], "1.0");
        assert_eq!(custom[GATEWAY_ID_KEY], "devstack-gateway");
        assert_eq!(custom[TARGET_ID_KEY], "DEVSTACKTARGET");
        assert_eq!(custom[AWS_REQUEST_ID_KEY], "00000000-0000-0000-0000-000000000000");
        assert_eq!(custom.as_object().map(|o| o.len()), Some(6));
        // What the tool's side reads back from it.
        let name = custom[TOOL_NAME_KEY].as_str().map(ToolName::parse);
        assert_eq!(
            name.and_then(Result::ok).map(|n| n.tool),
            Some("search_reviews".to_string())
        );
    }
}
