//! The outside world behind `domain`'s ports. Each backend is a cargo feature, so a
//! function's `Cargo.toml` reads as the list of what it touches and links nothing else:
//!
//! | feature | what |
//! |---|---|
//! | `dynamodb` | `UploadRecords` items, and the tools' ProductReviews, Warranty, CustomerProfile |
//! | `s3` | the upload bucket, presigned URLs |
//! | `sns` | the upload-finished topic |
//! | `postgres` | the pool (URL, RDS IAM, Secrets Manager), vendors, the ledger, the catalog |
//! | `migrations` | the SQL migrations, embedded (devstack and deploys only) |
//! | `sqs` | the on-failure destinations (csv-parser's async failures, the stream mappings') |
//! | `streams` | DynamoDB stream batches decoded into items; partial batch responses |
//! | `gateway` | the Lambda side of an AgentCore Gateway tool target |
//!
//! Always present: configuration from the environment and tracing setup.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod classify;
pub mod config;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "gateway")]
pub mod gateway;
#[cfg(all(feature = "dynamodb", feature = "s3", feature = "postgres", feature = "sns"))]
pub mod pipeline;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "s3")]
pub mod presign;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "sns")]
pub mod sns;
#[cfg(feature = "sqs")]
pub mod sqs;
#[cfg(feature = "streams")]
pub mod streams;
pub mod telemetry;
