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
}
