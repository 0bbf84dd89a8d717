//! The Lambda side of a Gateway tool target: the tool name from the invocation's client
//! context, one span per invocation with the ids the Gateway sends, and the shared
//! invocation path (business failures as JSON results, faults as Lambda errors).

use domain::tools::gateway::{
    ToolName, AWS_REQUEST_ID_KEY, GATEWAY_ID_KEY, MCP_MESSAGE_ID_KEY, TARGET_ID_KEY, TOOL_NAME_KEY,
};
use domain::tools::{ToolError, ToolErrorCode, ToolOutcome};
use lambda_runtime::Context;

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
    Fut: std::future::Future<Output = ToolOutcome>,
{
    serve_inner(event, None, call).await
}

/// [`serve`] for a function that must be reached only through one target: a call whose
/// tool name names another target (a target added or renamed in front of the same
/// function, which the interceptor does not pin) is answered `UNKNOWN_TOOL` and never
/// dispatched.
pub async fn serve_target<F, Fut>(
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
    target: &str,
    call: F,
) -> Result<serde_json::Value, lambda_runtime::Error>
where
    F: FnOnce(String, serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = ToolOutcome>,
{
    serve_inner(event, Some(target), call).await
}

async fn serve_inner<F, Fut>(
    event: lambda_runtime::LambdaEvent<serde_json::Value>,
    target: Option<&str>,
    call: F,
) -> Result<serde_json::Value, lambda_runtime::Error>
where
    F: FnOnce(String, serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = ToolOutcome>,
{
    use tracing::Instrument;
    let span = invocation_span(&event.context);
    async move {
        let name = match tool_name(&event.context) {
            Ok(n) => n,
            Err(e) => return Ok(e.to_json()),
        };
        if let Some(target) = target.filter(|t| *t != name.target) {
            tracing::warn!(called_target = %name.target, "call through a target this function does not serve");
            return Ok(ToolError::new(
                ToolErrorCode::UnknownTool,
                format!(
                    "this function serves only the {target} target, not {:?}",
                    name.target
                ),
            )
            .to_json());
        }
        match call(name.tool, event.payload).await {
            Ok(result) => {
                if let Err(e) = &result {
                    tracing::info!(code = e.code.as_str(), "tool answered with an error");
                }
                Ok(domain::tools::into_result(result))
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
    use domain::tools::gateway::gateway_client_context;
    use domain::tools::ToolErrorCode;

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
