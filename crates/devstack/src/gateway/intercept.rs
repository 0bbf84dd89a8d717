//! The REQUEST interceptor at the HTTP level, where the Gateway runs it: on every POST
//! to `/mcp` (initialize, notifications and `tools/list` included), before the MCP
//! layer. It must sit here rather than in the MCP handler because its
//! `transformedGatewayResponse` carries an HTTP status, and it may rewrite any part of
//! the request (method, tool name, arguments).
//!
//! Fail closed: an interceptor that fails, answers an unknown output version or
//! neither a request nor a response stops the request with a JSON-RPC error; the tool
//! is never called.

use super::{
    interceptor_event, json_response, jsonrpc_error, Gateway, INTERNAL_ERROR_MESSAGE, MAX_BODY_BYTES,
};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use rmcp::model::ClientJsonRpcMessage;
use serde_json::{Map, Value};
use std::sync::Arc;

/// `InputConfiguration.PassRequestHeaders` of the template's interceptor (a template
/// test pins it to true).
pub const PASS_REQUEST_HEADERS: bool = true;

pub async fn intercept(State(gateway): State<Arc<Gateway>>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &jsonrpc_error(&Value::Null, -32600, "the request body is too large"),
        );
    };
    let message = match serde_json::from_slice::<Value>(&bytes) {
        Ok(message) => message,
        // Sent as JSON but not JSON: JSON-RPC's parse error, with HTTP 400 as the
        // Streamable HTTP transport asks (rmcp would answer 415 in plain text).
        Err(e) if is_json(&parts.headers) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &jsonrpc_error(&Value::Null, -32700, &format!("Parse error: {e}")),
            );
        }
        // Another content type: the MCP layer refuses it (415); nothing can be called.
        Err(_) => return next.run(Request::from_parts(parts, Body::from(bytes))).await,
    };
    // JSON but no JSON-RPC message (`{}`, no `jsonrpc`): JSON-RPC's invalid request, where
    // rmcp would answer 415 in plain text. A batch goes on: the interceptor refuses it.
    if !message.is_array() && serde_json::from_value::<ClientJsonRpcMessage>(message.clone()).is_err() {
        return json_response(
            StatusCode::BAD_REQUEST,
            &jsonrpc_error(
                // Echoed only when it can be an id (JSON-RPC: a string or a number).
                message
                    .get("id")
                    .filter(|id| id.is_string() || id.is_number())
                    .unwrap_or(&Value::Null),
                -32600,
                "Invalid Request: not a JSON-RPC 2.0 request, notification or response",
            ),
        );
    }
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let headers = PASS_REQUEST_HEADERS.then(|| headers_event(&parts.headers));
    let input = interceptor_event(&String::from_utf8_lossy(&bytes), &message, headers);
    let request_id = uuid::Uuid::new_v4().to_string();
    let output = match gateway.functions.intercept(input, &request_id).await {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "the interceptor failed; request refused");
            return internal_error(&id);
        }
    };
    if output.get("interceptorOutputVersion").and_then(Value::as_str) != Some("1.0") {
        tracing::error!("the interceptor answered no interceptorOutputVersion 1.0; request refused");
        return internal_error(&id);
    }
    if let Some(answer) = output.pointer("/mcp/transformedGatewayResponse") {
        return interceptor_answer(answer);
    }
    let Some(forwarded) = output.pointer("/mcp/transformedGatewayRequest/body") else {
        tracing::error!("the interceptor returned neither a request nor a response; request refused");
        return internal_error(&id);
    };
    let bytes = match serde_json::to_vec(forwarded) {
        Ok(b) => b,
        Err(_) => return internal_error(&id),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// `Content-Type: application/json` (parameters such as `charset` allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

/// The request's headers as the interceptor event's `headers` object: names as
/// received, repeated headers joined with ", " (HTTP's own way of combining them), so
/// that the interceptor sees every `Authorization` the request carried.
pub fn headers_event(headers: &HeaderMap) -> Value {
    let mut out = Map::new();
    for name in headers.keys() {
        let joined = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        out.insert(name.as_str().to_string(), Value::String(joined));
    }
    Value::Object(out)
}

/// `transformedGatewayResponse {statusCode, headers?, body}` as the HTTP answer.
fn interceptor_answer(answer: &Value) -> Response {
    let status = answer
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let body = answer.get("body").cloned().unwrap_or(Value::Null);
    let mut response = json_response(status, &body);
    if let Some(extra) = answer.get("headers").and_then(Value::as_object) {
        for (k, v) in extra {
            if let (Ok(name), Some(Ok(value))) = (
                header::HeaderName::from_bytes(k.as_bytes()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}

fn internal_error(id: &Value) -> Response {
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &jsonrpc_error(id, -32603, INTERNAL_ERROR_MESSAGE),
    )
}

/// The Streamable HTTP transport wants `Accept: application/json, text/event-stream`
/// on every POST (rmcp answers 406 otherwise); the Gateway accepts requests without
/// it (AWS's own curl examples send none). Fill it in when a type is missing.
pub async fn accept_json_and_sse(mut request: Request, next: Next) -> Response {
    if request.method() == Method::POST {
        let accept = request
            .headers()
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(",");
        if !(accept.contains("application/json") && accept.contains("text/event-stream")) {
            request.headers_mut().insert(
                header::ACCEPT,
                HeaderValue::from_static("application/json, text/event-stream"),
            );
        }
    }
    next.run(request).await
}
