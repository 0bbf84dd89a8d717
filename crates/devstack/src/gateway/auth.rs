//! The CUSTOM_JWT inbound authorizer: a request reaches the interceptor only with a
//! bearer token signed by the local identity provider, unexpired, from `JWT_ISSUER`
//! and for `GATEWAY_AUDIENCE` (`crate::jwt`, on `jsonwebtoken`). Anything else gets
//! the Gateway's refusal: HTTP 401, `application/json`, a JSON-RPC error
//! `-32001 "Invalid Bearer token"` (one message for every reason, so a caller learns
//! nothing about the token from it), and a `WWW-Authenticate` header pointing at the
//! protected-resource metadata.
//!
//! With several `Authorization` headers the first is verified, and all of them reach
//! the interceptor, which refuses the request: which token a proxy or authorizer reads
//! is exactly what must not decide the tenant.

use super::{json_response, jsonrpc_error, Gateway, MCP_PATH};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{header, HeaderValue, StatusCode};
use serde_json::json;
use std::sync::Arc;

pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";
pub const INVALID_TOKEN_CODE: i64 = -32001;
pub const INVALID_TOKEN_MESSAGE: &str = "Invalid Bearer token";
/// How much of a refused request's body is read so the connection can be kept.
const MAX_REFUSED_BODY_BYTES: usize = 1024 * 1024;

pub async fn authorize(State(gateway): State<Arc<Gateway>>, request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let verified =
        crate::jwt::bearer(header).and_then(|token| gateway.jwt.verify(token, &gateway.jwt.gateway_audience));
    match verified {
        Ok(_) => next.run(request).await,
        Err(reason) => {
            // The reason, never the token.
            tracing::info!(%reason, method = %request.method(), "401: token refused");
            // Read the refused body before answering: left unread, it makes hyper close
            // the connection under a client that reuses it for its next request.
            let read = axum::body::to_bytes(request.into_body(), MAX_REFUSED_BODY_BYTES).await;
            let mut response = unauthorized(&gateway.base_url);
            if read.is_err() {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            response
        }
    }
}

/// The Gateway's 401.
pub fn unauthorized(base_url: &str) -> Response {
    let body = jsonrpc_error(&json!(0), INVALID_TOKEN_CODE, INVALID_TOKEN_MESSAGE);
    let challenge =
        format!("Bearer error=\"invalid_token\", resource_metadata=\"{base_url}{METADATA_PATH}\"");
    let mut response = json_response(StatusCode::UNAUTHORIZED, &body);
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// `GET /.well-known/oauth-protected-resource` (RFC 9728), unauthenticated, as the
/// Gateway serves it: where an agent's OAuth client finds the issuer to get tokens from.
pub async fn protected_resource_metadata(State(gateway): State<Arc<Gateway>>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "resource": format!("{}{MCP_PATH}", gateway.base_url),
            "authorization_servers": [gateway.jwt.issuer()],
            "bearer_methods_supported": ["header"],
        }),
    )
}
