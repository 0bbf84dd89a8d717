use gateway_interceptor::{InterceptorConfig, DEFAULT_TENANT_CLAIM, TENANT_CLAIM_ENV};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    adapters::telemetry::init();
    // Keeps the process alive on client contexts lambda_runtime cannot read (docs/tools.md).
    let _shim = lambda_shim::install().await;
    let tenant_claim: String = adapters::config::parsed_or(
        &adapters::config::ProcessEnv,
        TENANT_CLAIM_ENV,
        DEFAULT_TENANT_CLAIM.to_string(),
    )?;
    let config = InterceptorConfig { tenant_claim };
    let config = &config;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        gateway_interceptor::handle(event, config).await
    }))
    .await
}
