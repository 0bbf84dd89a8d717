//! AgentCore Gateway REQUEST interceptor that pins the tenant of every reviews call.
//!
//! For `tools/call` of a tool of the reviews target (`reviews___*`) it reads the
//! bearer JWT of the inbound request, takes the tenant claim (`TENANT_CLAIM`, default
//! `tenant_id`) and overwrites `params.arguments.tenant_id`, whatever the agent sent.
//! A call without a usable bearer token or tenant claim is answered by the interceptor
//! itself with a JSON-RPC error and never reaches the target. Everything else
//! (`tools/list`, `initialize`, other targets) passes through unchanged.
//!
//! Trust: the interceptor does not verify the JWT signature. It relies on the Gateway's
//! CUSTOM_JWT inbound authorizer, which has verified signature, issuer, audience and
//! expiry before any interceptor runs; it only decodes the payload. The Gateway must be
//! configured with `passRequestHeaders: true` for this interceptor, or no
//! `Authorization` header arrives and every reviews call is refused (fail closed).
//!
//! Tokens are never logged: not the header, not the payload, not a claim other than
//! the tenant.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use lambda_runtime::LambdaEvent;
use serde_json::{json, Map, Value};
use tracing::Instrument;

pub const TENANT_CLAIM_ENV: &str = "TENANT_CLAIM";
pub const DEFAULT_TENANT_CLAIM: &str = "tenant_id";
/// Tools whose calls are pinned: every tool of the reviews target.
pub const PINNED_PREFIX: &str = "reviews___";
pub const TENANT_ARGUMENT: &str = "tenant_id";
pub const INTERCEPTOR_VERSION: &str = "1.0";

/// JSON-RPC error codes of the refusals (server-defined range, and the standard
/// "Invalid params" / "Invalid Request").
pub const UNAUTHORIZED: i64 = -32001;
pub const INVALID_PARAMS: i64 = -32602;
pub const INVALID_REQUEST: i64 = -32600;

#[derive(Debug, Clone)]
pub struct InterceptorConfig {
    pub tenant_claim: String,
}

impl Default for InterceptorConfig {
    fn default() -> Self {
        InterceptorConfig {
            tenant_claim: DEFAULT_TENANT_CLAIM.to_string(),
        }
    }
}

/// Why a call was refused (the message goes to the agent; it names no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: i64,
    pub message: String,
}

impl Refusal {
    fn unauthorized(message: impl Into<String>) -> Self {
        Refusal {
            code: UNAUTHORIZED,
            message: message.into(),
        }
    }
}

pub async fn handle(
    event: LambdaEvent<Value>,
    config: &InterceptorConfig,
) -> Result<Value, lambda_runtime::Error> {
    let span = tracing::info_span!("interceptor", request_id = %event.context.request_id);
    async move { Ok(intercept(event.payload, config)) }
        .instrument(span)
        .await
}

/// The whole interceptor: input payload in, output payload out. Never fails: whatever
/// it cannot make sense of is refused.
pub fn intercept(input: Value, config: &InterceptorConfig) -> Value {
    let version = input
        .get("interceptorInputVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    if version != INTERCEPTOR_VERSION {
        tracing::warn!(version, "unexpected interceptorInputVersion; processing as 1.0");
    }
    let Some(request) = input.pointer("/mcp/gatewayRequest").and_then(Value::as_object) else {
        tracing::warn!("input has no mcp.gatewayRequest; refusing");
        return refusal(
            &Value::Null,
            &Refusal {
                code: INVALID_REQUEST,
                message: "the interceptor received no gateway request".into(),
            },
        );
    };
    let body = request.get("body").cloned().unwrap_or(Value::Null);
    let headers = request.get("headers").and_then(Value::as_object);
    match body {
        Value::Array(batch) => {
            let mut out = Vec::with_capacity(batch.len());
            for message in batch {
                match pin(message, headers, config) {
                    Ok(m) => out.push(m),
                    Err((id, r)) => return refusal(&id, &r),
                }
            }
            forward(Value::Array(out))
        }
        message => match pin(message, headers, config) {
            Ok(m) => forward(m),
            Err((id, r)) => refusal(&id, &r),
        },
    }
}

fn forward(body: Value) -> Value {
    json!({
        "interceptorOutputVersion": INTERCEPTOR_VERSION,
        "mcp": { "transformedGatewayRequest": { "body": body } }
    })
}

/// Answers the caller directly: the Gateway returns `transformedGatewayResponse` and
/// does not call the target.
pub fn refusal(id: &Value, r: &Refusal) -> Value {
    json!({
        "interceptorOutputVersion": INTERCEPTOR_VERSION,
        "mcp": {
            "transformedGatewayResponse": {
                "statusCode": 200,
                "body": {
                    "jsonrpc": "2.0",
                    "id": id,
                    "error": { "code": r.code, "message": r.message }
                }
            }
        }
    })
}

/// Pins one JSON-RPC message, or says why it is refused (with the message id).
fn pin(
    mut message: Value,
    headers: Option<&Map<String, Value>>,
    config: &InterceptorConfig,
) -> Result<Value, (Value, Refusal)> {
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let tool = message
        .pointer("/params/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let pinned = method == "tools/call" && is_pinned(&tool);
    if !pinned {
        tracing::info!(method, tool, "passed through");
        return Ok(message);
    }
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    let tenant = tenant_from_headers(headers, &config.tenant_claim).map_err(|r| (id.clone(), r))?;
    let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) else {
        return Err((id, Refusal::unauthorized("tools/call without params")));
    };
    let arguments = params
        .entry("arguments")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(arguments) = arguments.as_object_mut() else {
        return Err((
            id,
            Refusal {
                code: INVALID_PARAMS,
                message: "params.arguments must be an object".into(),
            },
        ));
    };
    let overridden = arguments
        .get(TENANT_ARGUMENT)
        .is_some_and(|v| v.as_str() != Some(tenant.as_str()));
    arguments.insert(TENANT_ARGUMENT.to_string(), Value::String(tenant.clone()));
    tracing::info!(method, tool, tenant = %tenant, agent_tenant_overridden = overridden, "tenant pinned");
    Ok(message)
}

fn is_pinned(tool: &str) -> bool {
    tool.len() >= PINNED_PREFIX.len()
        && tool.is_char_boundary(PINNED_PREFIX.len())
        && tool[..PINNED_PREFIX.len()].eq_ignore_ascii_case(PINNED_PREFIX)
}

/// The tenant claim of the bearer token in `Authorization` (header names compared
/// case-insensitively).
pub fn tenant_from_headers(headers: Option<&Map<String, Value>>, claim: &str) -> Result<String, Refusal> {
    let authorization = headers
        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")))
        .and_then(|(_, v)| v.as_str())
        .ok_or_else(|| Refusal::unauthorized("no bearer token reached the interceptor"))?;
    let token = bearer_token(authorization)
        .ok_or_else(|| Refusal::unauthorized("the Authorization header holds no bearer token"))?;
    let claims =
        jwt_claims(token).ok_or_else(|| Refusal::unauthorized("the bearer token is not a decodable JWT"))?;
    match claims.get(claim) {
        Some(Value::String(t)) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        _ => Err(Refusal::unauthorized(format!(
            "the caller's token carries no {claim} claim; reviews are available only to a tenant"
        ))),
    }
}

/// `Bearer <token>` (scheme case-insensitive); a bare JWT is accepted too.
fn bearer_token(header: &str) -> Option<&str> {
    let h = header.trim();
    let token = match h.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => h,
    };
    (token.split('.').count() == 3).then_some(token)
}

/// The payload of a JWT (its signature was verified by the Gateway's authorizer).
fn jwt_claims(token: &str) -> Option<Map<String, Value>> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .or_else(|_| URL_SAFE.decode(payload))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
