use adapters::config::{required, ProcessEnv, CUSTOMER_PROFILE_TABLE, WARRANTY_TABLE};
use adapters::dynamodb::DynamoProfiles;
use adapters::dynamodb::DynamoWarranties;
use domain::tools::warranty::SystemClock;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use warranty_tool::WarrantyPorts;

#[tokio::main]
async fn main() -> Result<(), Error> {
    adapters::telemetry::init();
    // Keeps the process alive on client contexts lambda_runtime cannot read (docs/tools.md).
    let _shim = lambda_shim::install().await;
    let warranty_table = required(&ProcessEnv, WARRANTY_TABLE, "the Warranty DynamoDB table name")?;
    let profile_table = required(
        &ProcessEnv,
        CUSTOMER_PROFILE_TABLE,
        "the CustomerProfile table (owner check by e-mail)",
    )?;
    let sdk = adapters::aws::sdk_config().await;
    let dynamodb = adapters::dynamodb::client(&sdk);
    let warranties = DynamoWarranties::new(dynamodb.clone(), warranty_table);
    let profiles = DynamoProfiles::new(dynamodb, profile_table);
    let ports = WarrantyPorts {
        warranties: &warranties,
        profiles: &profiles,
        clock: &SystemClock,
    };
    let ports = &ports;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        warranty_tool::handle(event, ports).await
    }))
    .await
}
