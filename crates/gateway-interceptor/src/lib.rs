//! AgentCore Gateway REQUEST interceptor that pins the tenant of every reviews call, and
//! fails closed on everything it cannot pin.
//!
//! For `tools/call` of a tool of the reviews target (`{target}___*`, the target's name
//! from [`REVIEWS_TARGET_ENV`], the same setting that names the GatewayTarget) it reads
//! the bearer JWT of the inbound request, takes the tenant claim (`TENANT_CLAIM`,
//! default `tenant_id`) and overwrites `params.arguments.tenant_id`, whatever the agent
//! sent. It refuses, answering the agent itself so that no function is invoked:
//! - a body that is not one JSON-RPC request object (a batch, a string, `null`);
//! - more than one `Authorization` header (two names differing in case, a list, or
//!   values joined with a comma): the Gateway verified one token, and which one this
//!   interceptor would read is not defined;
//! - a reviews call without a usable bearer token or tenant claim;
//! - any request whose `params.arguments` carry a `tenant_id` it did not pin (a call to
//!   another or a renamed target, or another method): a tenant only ever comes from
//!   the token;
//! - `params` or `params.arguments` of a `tools/call` that are not objects.
//!
//! Everything else (`initialize`, `tools/list`, calls to the other targets without a
//! `tenant_id`) passes through unchanged.
//!
//! Trust: the interceptor does not verify the JWT signature. It relies on the Gateway's
//! CUSTOM_JWT inbound authorizer, which has verified signature, issuer, audience and
//! expiry before any interceptor runs; it only decodes the payload. The Gateway must be
//! configured with `passRequestHeaders: true` for this interceptor, or no
//! `Authorization` header arrives and every reviews call is refused (fail closed).
//!
//! Tokens are never logged: not the header, not the payload, not a claim other than
//! the tenant.

use adapters::config::{parsed_or, required, ConfigError, Source};
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
pub use domain::tools::gateway::REVIEWS_TARGET_ENV;
use domain::tools::gateway::SEPARATOR;
use lambda_runtime::LambdaEvent;
use serde_json::{json, Map, Value};
use tracing::Instrument;

pub const TENANT_CLAIM_ENV: &str = "TENANT_CLAIM";
pub const DEFAULT_TENANT_CLAIM: &str = "tenant_id";
pub const TENANT_ARGUMENT: &str = "tenant_id";
pub const INTERCEPTOR_VERSION: &str = "1.0";

/// JSON-RPC error codes of the refusals (server-defined range, and the standard
/// "Invalid params" / "Invalid Request").
pub const UNAUTHORIZED: i64 = -32001;
pub const INVALID_PARAMS: i64 = -32602;
pub const INVALID_REQUEST: i64 = -32600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterceptorConfig {
    /// The JWT claim that holds the tenant.
    pub tenant_claim: String,
    /// The GatewayTarget whose calls get the tenant pinned.
    pub pinned_target: String,
}

impl InterceptorConfig {
    pub fn new(tenant_claim: impl Into<String>, pinned_target: impl Into<String>) -> Self {
        InterceptorConfig {
            tenant_claim: tenant_claim.into(),
            pinned_target: pinned_target.into(),
        }
    }

    /// `TENANT_CLAIM` (default `tenant_id`) and `REVIEWS_TARGET_NAME` (required: a
    /// default could pin a name the deployment does not use, and that would fail open).
    pub fn from_source(src: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        Ok(InterceptorConfig {
            tenant_claim: parsed_or(src, TENANT_CLAIM_ENV, DEFAULT_TENANT_CLAIM.to_string())?,
            pinned_target: required(
                src,
                REVIEWS_TARGET_ENV,
                "the name of the reviews GatewayTarget, whose calls get the caller's tenant",
            )?,
        })
    }
}

/// Why a call was refused (the message goes to the agent; it names no secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: i64,
    pub message: String,
}

impl Refusal {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Refusal::new(UNAUTHORIZED, message)
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
            &Refusal::new(INVALID_REQUEST, "the interceptor received no gateway request"),
        );
    };
    let headers = request.get("headers").and_then(Value::as_object);
    let message = match request.get("body") {
        Some(Value::Object(m)) => m.clone(),
        other => {
            let kind = match other {
                Some(Value::Array(_)) => "a batch",
                Some(Value::String(_)) => "a string",
                None | Some(Value::Null) => "empty",
                Some(_) => "not an object",
            };
            tracing::warn!(kind, "request body is not one JSON-RPC object; refusing");
            return refusal(
                &Value::Null,
                &Refusal::new(
                    INVALID_REQUEST,
                    "the request body must be one JSON-RPC request object (batches are not accepted)",
                ),
            );
        }
    };
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    match pin(message, headers, config) {
        Ok(m) => forward(Value::Object(m)),
        Err(r) => refusal(&id, &r),
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

/// Pins one JSON-RPC request, or says why it is refused.
fn pin(
    mut message: Map<String, Value>,
    headers: Option<&Map<String, Value>>,
    config: &InterceptorConfig,
) -> Result<Map<String, Value>, Refusal> {
    // Checked on every request, so that no request ever goes on with two tokens.
    let authorization = single_authorization(headers)?;
    let method = message
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let is_call = method == "tools/call";
    let tool = if is_call {
        message
            .get("params")
            .and_then(|p| p.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    } else {
        String::new()
    };
    let pinned = is_call && targets(&tool, &config.pinned_target);
    let params = match message.get_mut("params") {
        Some(Value::Object(p)) => Some(p),
        None if !is_call => None,
        _ if is_call => {
            return Err(Refusal::new(
                INVALID_PARAMS,
                "tools/call params must be an object",
            ));
        }
        _ => None,
    };
    let arguments = match params {
        Some(p) => match p.get_mut("arguments") {
            Some(Value::Object(a)) => Some(a),
            None if pinned => {
                p.insert("arguments".into(), Value::Object(Map::new()));
                p.get_mut("arguments").and_then(Value::as_object_mut)
            }
            None => None,
            Some(_) if is_call => {
                return Err(Refusal::new(INVALID_PARAMS, "params.arguments must be an object"));
            }
            Some(_) => None,
        },
        None => None,
    };
    if !pinned {
        if arguments.is_some_and(|a| a.keys().any(|k| k.eq_ignore_ascii_case(TENANT_ARGUMENT))) {
            tracing::warn!(method, tool, "tenant_id outside the pinned target; refusing");
            return Err(Refusal::new(
                INVALID_PARAMS,
                format!(
                    "{TENANT_ARGUMENT} is set by the gateway from the caller's token, and only on \
                     tools of the {} target; remove it from the arguments",
                    config.pinned_target
                ),
            ));
        }
        tracing::info!(method, tool, "passed through");
        return Ok(message);
    }
    let tenant = tenant_from_authorization(authorization, &config.tenant_claim)?;
    let Some(arguments) = arguments else {
        return Err(Refusal::new(INVALID_PARAMS, "params.arguments must be an object"));
    };
    // Any spelling of the key goes: only the pinned one reaches the target.
    let before = arguments.len();
    arguments.retain(|k, _| !k.eq_ignore_ascii_case(TENANT_ARGUMENT));
    let overridden = arguments.len() != before;
    arguments.insert(TENANT_ARGUMENT.to_string(), Value::String(tenant.clone()));
    tracing::info!(method, tool, tenant = %tenant, agent_sent_tenant = overridden, "tenant pinned");
    Ok(message)
}

/// Whether `{target}___{tool}` names a tool of `target` (case-insensitively: pinning a
/// call too many is harmless, one too few is not).
fn targets(tool: &str, target: &str) -> bool {
    tool.split_once(SEPARATOR)
        .is_some_and(|(t, _)| t.eq_ignore_ascii_case(target))
}

/// The one `Authorization` value, if any. Header names are compared case-insensitively;
/// two of them, a non-string value or values joined with a comma (a JWT has none) are
/// refused.
pub fn single_authorization(headers: Option<&Map<String, Value>>) -> Result<Option<&str>, Refusal> {
    let mut found = headers
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v);
    let first = found.next();
    if found.next().is_some() {
        return Err(Refusal::unauthorized("more than one Authorization header"));
    }
    match first {
        None => Ok(None),
        Some(Value::String(s)) if s.contains(',') => {
            Err(Refusal::unauthorized("more than one Authorization header"))
        }
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(Refusal::unauthorized("more than one Authorization header")),
    }
}

/// The tenant claim of the bearer token in the `Authorization` value.
pub fn tenant_from_authorization(authorization: Option<&str>, claim: &str) -> Result<String, Refusal> {
    let authorization =
        authorization.ok_or_else(|| Refusal::unauthorized("no bearer token reached the interceptor"))?;
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
