//! `devstack gateway [--port 8790]`: MCP over Streamable HTTP at
//! `http://127.0.0.1:PORT/mcp`, behaving as AgentCore Gateway does for our template
//! (DESIGN.md §8), so that any MCP client or agent framework can be pointed at it.
//!
//! A request goes through, in order:
//! 1. [`auth`]: the CUSTOM_JWT authorizer. `Authorization: Bearer` verified (signature,
//!    expiry, issuer, audience `GATEWAY_AUDIENCE`) with `jsonwebtoken`; a refusal is a
//!    401 whose body is a JSON-RPC error, and nothing else runs.
//! 2. [`intercept`]: the REQUEST interceptor (the real `gateway-interceptor` handler)
//!    with AgentCore's input event, headers included (`PassRequestHeaders: true` in
//!    the template); its `transformedGatewayResponse` is answered as is, its
//!    `transformedGatewayRequest` replaces the request.
//! 3. [`mcp`]: the MCP protocol (`rmcp`, the official Rust SDK): `initialize`,
//!    `notifications/initialized`, `tools/list` (every tool as `{target}___{tool}` with
//!    its inline schema from `infra/tool-schemas/`) and `tools/call`, which invokes the
//!    target's function with the event and client context AgentCore sets.
//!
//! Like a Gateway without `sessionConfiguration` or response streaming (our template
//! sets neither), it is stateless and answers `application/json`.

pub mod auth;
pub mod intercept;
pub mod mcp;

use crate::functions::Functions;
use crate::jwt::Jwt;
use adapters::config::ProcessEnv;
use anyhow::Context as _;
use serde_json::{json, Value};
use std::sync::Arc;

pub const DEFAULT_PORT: u16 = 8790;
/// The MCP endpoint's path, as on the Gateway.
pub const MCP_PATH: &str = "/mcp";
/// The gateway id the targets see in their client context (AgentCore's form:
/// `{name}-{10 lower-case letters and digits}`).
pub const GATEWAY_ID: &str = "devstack-tools-0000000000";
/// Largest request body (rmcp's own default): a larger one is answered 413.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// What AgentCore answers for a Lambda fault unless the Gateway's exception level is
/// DEBUG (our template sets none).
pub const INTERNAL_ERROR_MESSAGE: &str = "An internal error occurred. Please retry later.";

/// Everything a request needs, built once.
pub struct Gateway {
    pub functions: Functions,
    pub jwt: Jwt,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub tools: Vec<rmcp::model::Tool>,
}

impl Gateway {
    pub fn new(functions: Functions, jwt: Jwt, base_url: String) -> anyhow::Result<Gateway> {
        let tools = mcp::catalogue(&functions.targets)?;
        Ok(Gateway {
            functions,
            jwt,
            base_url,
            tools,
        })
    }
}

/// The whole endpoint: `/mcp` behind the authorizer and the interceptor, and the
/// unauthenticated OAuth protected-resource metadata the Gateway also serves.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    let mcp = mcp::service(gateway.clone());
    // Layers run outermost last-added first: Accept fix-up, authorizer, interceptor.
    axum::Router::new()
        .route_service(MCP_PATH, mcp)
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            intercept::intercept,
        ))
        .layer(axum::middleware::from_fn_with_state(
            gateway.clone(),
            auth::authorize,
        ))
        .layer(axum::middleware::from_fn(intercept::accept_json_and_sse))
        .route(
            auth::METADATA_PATH,
            axum::routing::get(auth::protected_resource_metadata).with_state(gateway),
        )
}

/// Serves until SIGINT or SIGTERM. Prints `listening on http://127.0.0.1:PORT` on
/// stderr once the socket accepts connections (port 0: one the system picks).
pub async fn run(port: u16) -> anyhow::Result<()> {
    let functions = Functions::from_env().await?;
    let jwt = Jwt::from_source(&ProcessEnv)?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port}"))?;
    let addr = listener.local_addr()?;
    let gateway = Arc::new(Gateway::new(functions, jwt, format!("http://{addr}"))?);
    let app = router(gateway);
    eprintln!("listening on http://{addr}");
    axum::serve(listener, app)
        .with_graceful_shutdown(stopped())
        .await
        .context("the gateway stopped with an error")
}

async fn stopped() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("gateway stopping");
}

/// AgentCore's REQUEST interceptor input event (`interceptorInputVersion` 1.0): the raw
/// body as a string, the parsed body, and the request headers when the Gateway passes
/// them.
pub fn interceptor_event(raw_body: &str, body: &Value, headers: Option<Value>) -> Value {
    let mut request = json!({ "path": MCP_PATH, "httpMethod": "POST", "body": body });
    if let Some(h) = headers {
        request["headers"] = h;
    }
    json!({
        "interceptorInputVersion": "1.0",
        "mcp": {
            "rawGatewayRequest": { "body": raw_body },
            "gatewayRequest": request
        }
    })
}

/// `body` as an `application/json` answer.
pub fn json_response(status: http::StatusCode, body: &Value) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

/// A JSON-RPC error object (for answers the gateway gives itself).
pub fn jsonrpc_error(id: &Value, code: i64, message: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}
