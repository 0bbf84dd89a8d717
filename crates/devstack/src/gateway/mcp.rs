//! The MCP side, on `rmcp` (the official Rust SDK): protocol negotiation, `tools/list`
//! and `tools/call` over stateless Streamable HTTP with JSON responses. By the time a
//! request gets here it is authorized and intercepted; `tools/call` only invokes the
//! target's function.

use super::{Gateway, GATEWAY_ID, INTERNAL_ERROR_MESSAGE};
use crate::functions::{schemas, Target};
use domain::tools::gateway::GatewayInvocation;
use rmcp::model::{
    CallToolRequestMethod, CallToolRequestParams, CallToolResponse, CallToolResult, ConstString,
    ContentBlock, CustomRequest, CustomResult, ErrorCode, Implementation, InitializeResultMethod, JsonObject,
    ListToolsRequestMethod, ListToolsResult, PaginatedRequestParams, PingRequestMethod, ProtocolVersion,
    ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

/// Every tool of every target as `{target}___{tool}`, with its inline schema as the
/// template embeds it (the schema files hold only the keywords the Gateway keeps).
pub fn catalogue(targets: &[Target]) -> anyhow::Result<Vec<Tool>> {
    let mut tools = Vec::new();
    for target in targets {
        for def in schemas(target)? {
            let name = def["name"]
                .as_str()
                .ok_or_else(|| anyhow::anyhow!("a {} tool schema has no name", target.name))?;
            let Some(Value::Object(input)) = def.get("inputSchema").cloned() else {
                anyhow::bail!("{name}: inputSchema is not an object");
            };
            let description = def["description"].as_str().unwrap_or("").to_string();
            tools.push(Tool::new(
                target.tool_name(name),
                description,
                Arc::new(input as JsonObject),
            ));
        }
    }
    Ok(tools)
}

/// The Streamable HTTP service: stateless, JSON answers, loopback hosts only (rmcp's
/// default `Host` check, against DNS rebinding).
pub fn service(gateway: Arc<Gateway>) -> StreamableHttpService<Tools, NeverSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(super::MAX_BODY_BYTES);
    StreamableHttpService::new(
        move || Ok(Tools(gateway.clone())),
        Arc::new(NeverSessionManager::default()),
        config,
    )
}

#[derive(Clone)]
pub struct Tools(Arc<Gateway>);

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("devstack-gateway", env!("CARGO_PKG_VERSION")))
    }

    /// The versions AgentCore Gateway lists, up to the newest the Python SDK offers.
    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&ProtocolVersion::V_2025_11_25))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.0.tools.iter().find(|t| t.name == name).cloned()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.0.tools.clone()))
    }

    /// rmcp hands a method it knows but whose `params` it could not read (`tools/call`
    /// without `name`) here, as if the method were unknown. JSON-RPC calls that invalid
    /// params (-32602), and says which; an unknown method stays -32601.
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        Err(unreadable_or_unknown(&request.method))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        let gateway = &self.0;
        let target = match (self.get_tool(&name), gateway.functions.target(&name)) {
            (Some(_), Some(t)) => t,
            _ => return Err(ErrorData::invalid_params(format!("Unknown tool: {name}"), None)),
        };
        let arguments = Value::Object(request.arguments.unwrap_or_default());
        let message_id = context.id.to_string();
        let request_id = uuid::Uuid::new_v4().to_string();
        let invocation = GatewayInvocation {
            tool_name: &name,
            gateway_id: GATEWAY_ID,
            target_id: target.id,
            mcp_message_id: &message_id,
            aws_request_id: &request_id,
        };
        let started = Instant::now();
        let outcome = gateway.functions.invoke(&invocation, arguments).await;
        let millis = started.elapsed().as_millis() as u64;
        match outcome {
            Ok(result) => {
                let business_error = is_business_error(&result);
                tracing::info!(tool = %name, request_id, millis, is_error = business_error, "tools/call");
                let content = vec![ContentBlock::text(result.to_string())];
                Ok(if business_error {
                    CallToolResult::error(content)
                } else {
                    CallToolResult::success(content)
                }
                .into())
            }
            Err(e) => {
                // A function error is a JSON-RPC error here (the contract); the
                // real Gateway answers an isError result with this same text.
                tracing::error!(tool = %name, request_id, millis, error = %e, "tools/call: the function failed");
                Err(ErrorData::internal_error(INTERNAL_ERROR_MESSAGE, None))
            }
        }
    }
}

/// The error for a request rmcp could not type: invalid params for a method served here,
/// method not found for any other.
fn unreadable_or_unknown(method: &str) -> ErrorData {
    let expected = match method {
        m if m == CallToolRequestMethod::VALUE => {
            "params {\"name\": \"<target>___<tool>\", \"arguments\": {...}}"
        }
        m if m == InitializeResultMethod::VALUE => {
            "params {\"protocolVersion\", \"capabilities\": {...}, \"clientInfo\": {\"name\", \"version\"}}"
        }
        m if m == ListToolsRequestMethod::VALUE => "no params, or {\"cursor\": \"<string>\"}",
        m if m == PingRequestMethod::VALUE => "no params, or an object",
        _ => {
            return ErrorData::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!("Method not found: {method}"),
                None,
            )
        }
    };
    ErrorData::invalid_params(format!("unreadable params: {method} takes {expected}"), None)
}

/// A tool's business failure: `{"error": {"code": "...", "message": "..."}}`.
pub fn is_business_error(result: &Value) -> bool {
    result
        .get("error")
        .and_then(|e| e.get("code"))
        .is_some_and(Value::is_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_contract_error_shape_is_a_business_error() {
        assert!(is_business_error(
            &json!({"error": {"code": "NOT_FOUND", "message": "m"}})
        ));
        assert!(!is_business_error(
            &json!({"reviews": [], "summary": {}, "next_token": null})
        ));
        assert!(!is_business_error(&json!({"error": "text"})));
    }

    #[test]
    fn a_served_method_with_unreadable_params_is_invalid_params_and_any_other_not_found() {
        let call = unreadable_or_unknown("tools/call");
        assert_eq!(call.code, ErrorCode::INVALID_PARAMS);
        assert!(call.message.contains("name"), "{}", call.message);
        for served in ["initialize", "tools/list", "ping"] {
            let e = unreadable_or_unknown(served);
            assert_eq!(e.code, ErrorCode::INVALID_PARAMS, "{served}");
            assert!(e.message.contains(served), "{}", e.message);
        }
        let other = unreadable_or_unknown("prompts/get");
        assert_eq!(other.code, ErrorCode::METHOD_NOT_FOUND);
        assert!(other.message.contains("prompts/get"), "{}", other.message);
    }

    #[test]
    fn the_catalogue_names_every_tool_with_its_target_and_keeps_its_schema() {
        let targets =
            crate::functions::targets(&[("REVIEWS_TARGET_NAME", "reviews")][..]).unwrap_or_default();
        let tools = catalogue(&targets).unwrap_or_default();
        assert_eq!(tools.len(), 5);
        let reviews = tools
            .iter()
            .find(|t| t.name == "reviews___get_product_reviews")
            .map(|t| Value::Object((*t.input_schema).clone()))
            .unwrap_or_default();
        let file: Value = serde_json::from_str(include_str!("../../../../infra/tool-schemas/reviews.json"))
            .unwrap_or_default();
        assert_eq!(reviews, file[0]["inputSchema"]);
    }
}
