use adapters::config::{parsed_or, required, ProcessEnv, PRODUCT_REVIEWS_TABLE};
use adapters::dynamodb::DynamoReviewIndex;
use domain::tools::reviews::TokenSigner;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use reviews_tool::{
    ReviewsConfig, DEFAULT_PAGE_SIZE, DEFAULT_SUMMARY_MAX, PAGE_SIZE_ENV, SUMMARY_MAX_ENV, TARGET_ENV,
    TOKEN_SECRET_ENV,
};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    adapters::telemetry::init();
    // Keeps the process alive on client contexts lambda_runtime cannot read (docs/tools.md).
    let _shim = lambda_shim::install().await;
    let table = required(
        &ProcessEnv,
        PRODUCT_REVIEWS_TABLE,
        "the ProductReviews DynamoDB table name",
    )?;
    let secret = required(
        &ProcessEnv,
        TOKEN_SECRET_ENV,
        "the HMAC key that signs next_token",
    )?;
    let config = ReviewsConfig {
        signer: TokenSigner::new(secret),
        page_size: parsed_or(&ProcessEnv, PAGE_SIZE_ENV, DEFAULT_PAGE_SIZE)?,
        target: required(
            &ProcessEnv,
            TARGET_ENV,
            "the reviews GatewayTarget's name; calls through any other target are refused",
        )?,
        summary_max: parsed_or(&ProcessEnv, SUMMARY_MAX_ENV, DEFAULT_SUMMARY_MAX)?,
    };
    let sdk = adapters::aws::sdk_config().await;
    let index = DynamoReviewIndex::new(adapters::dynamodb::client(&sdk), table);
    let (index, config) = (&index, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        reviews_tool::handle(event, index, config).await
    }))
    .await
}
