//! An in-process Lambda Runtime API proxy that keeps lambda_runtime 1.5 alive on
//! client contexts it cannot deserialize.
//!
//! lambda_runtime builds each invocation's `Context` from the
//! `Lambda-Runtime-Client-Context` header and, when that fails (`"client": null`,
//! `"client": {}`, a number under `custom`, non-ASCII text), returns the error from
//! `lambda_runtime::run`: the process exits without answering. No handler can catch
//! it. The shim sits between the runtime and the real Runtime API and repairs the
//! header on `invocation/next` responses (see [`client_context::sanitize`]); everything
//! else passes through. A `Lambda-Runtime-Cognito-Identity` the runtime cannot read
//! is removed ([`cognito_identity::readable`]). docs/tools.md, "Client context the
//! runtime cannot read".
//!
//! ```no_run
//! # async fn main_() -> Result<(), lambda_runtime::Error> {
//! let _shim = lambda_shim::install().await; // before lambda_runtime::run
//! # Ok(()) }
//! ```

pub mod client_context;
pub mod cognito_identity;
mod proxy;

pub use proxy::{start, ShimHandle};

/// The variable lambda_runtime reads the Runtime API address from (when
/// `lambda_runtime::run` builds its client, not earlier).
pub const RUNTIME_API_ENV: &str = "AWS_LAMBDA_RUNTIME_API";

#[derive(Debug, thiserror::Error)]
pub enum ShimError {
    #[error("AWS_LAMBDA_RUNTIME_API is not a host:port: {0}")]
    InvalidUpstream(String),
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(#[source] std::io::Error),
}

/// When `AWS_LAMBDA_RUNTIME_API` is set, starts the proxy in front of it and points the
/// variable at the proxy, so a later `lambda_runtime::run` talks to the proxy. `None`
/// when the variable is unset (not in Lambda: nothing to proxy).
///
/// Call it once, early in `main`, before `lambda_runtime::run` and before spawning
/// anything that reads the environment from C code (setting a variable is not
/// synchronised with `getenv`).
pub async fn sanitize_runtime_api() -> Result<Option<ShimHandle>, ShimError> {
    let Some(upstream) = std::env::var_os(RUNTIME_API_ENV) else {
        return Ok(None);
    };
    let upstream = upstream
        .into_string()
        .map_err(|raw| ShimError::InvalidUpstream(format!("{raw:?}")))?;
    let shim = start(&upstream).await?;
    std::env::set_var(RUNTIME_API_ENV, shim.runtime_api());
    tracing::debug!(upstream = %shim.upstream(), proxy = %shim.addr(), "lambda-shim: Runtime API proxied");
    Ok(Some(shim))
}

/// [`sanitize_runtime_api`] for a function's `main`: a shim that cannot start is
/// logged and the function runs against the real Runtime API, unprotected, rather
/// than not at all.
pub async fn install() -> Option<ShimHandle> {
    match sanitize_runtime_api().await {
        Ok(shim) => shim,
        Err(error) => {
            tracing::error!(%error, "lambda-shim: not started; client contexts reach lambda_runtime unsanitized");
            None
        }
    }
}
