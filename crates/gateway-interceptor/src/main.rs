use adapters::config::ProcessEnv;
use gateway_interceptor::InterceptorConfig;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    adapters::telemetry::init();
    // Keeps the process alive on client contexts lambda_runtime cannot read (docs/tools.md).
    let _shim = lambda_shim::install().await;
    let config = InterceptorConfig::from_source(&ProcessEnv)?;
    let config = &config;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        gateway_interceptor::handle(event, config).await
    }))
    .await
}
