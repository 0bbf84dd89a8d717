//! The AWS SDK configuration, loaded once per execution environment and shared by every
//! client (and by the RDS IAM token signer and Secrets Manager, in those database modes).
//!
//! The SDK reads `AWS_REGION` and the service-specific `AWS_ENDPOINT_URL_DYNAMODB` /
//! `AWS_ENDPOINT_URL_S3` itself, so the same binary talks to DynamoDB Local and moto
//! on a laptop and to AWS in Lambda.

use aws_config::BehaviorVersion;

pub use aws_config::SdkConfig;

pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}
