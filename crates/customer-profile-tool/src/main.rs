use adapters::config::{required, ProcessEnv, CUSTOMER_PROFILE_TABLE};
use adapters::dynamodb::DynamoProfiles;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    adapters::telemetry::init();
    // Keeps the process alive on client contexts lambda_runtime cannot read (docs/tools.md).
    let _shim = lambda_shim::install().await;
    let table = required(
        &ProcessEnv,
        CUSTOMER_PROFILE_TABLE,
        "the CustomerProfile DynamoDB table name",
    )?;
    let sdk = adapters::aws::sdk_config().await;
    let store = DynamoProfiles::new(adapters::dynamodb::client(&sdk), table);
    let store = &store;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        customer_profile_tool::handle(event, store).await
    }))
    .await
}
