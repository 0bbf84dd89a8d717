//! AWS clients and the PostgreSQL pool, built once per execution environment.
//!
//! The SDK reads `AWS_REGION` and the service-specific `AWS_ENDPOINT_URL_DYNAMODB` /
//! `AWS_ENDPOINT_URL_S3` itself, so the same binary talks to DynamoDB Local and moto
//! on a laptop and to AWS in Lambda.

use crate::config::{ConfigError, DatabaseConfig};
use aws_config::BehaviorVersion;

pub async fn aws_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

pub fn dynamodb(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// S3 emulators answer on one host name: use path-style addressing whenever an
/// endpoint override is configured.
pub fn s3(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let custom_endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .map(|v| !v.is_empty())
        .unwrap_or(false);
    let s3_config = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(custom_endpoint)
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

#[derive(Debug, thiserror::Error)]
pub enum PoolBuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot build the PostgreSQL pool: {0}")]
    Build(String),
}

/// Maximum connections per execution environment. A Lambda environment handles one
/// event at a time; a few connections let a handler overlap independent queries.
pub const POOL_SIZE: usize = 4;

/// Builds the pool lazily: no connection is opened until the first query, so a cold
/// start with the database down fails the first event (retried), not the init.
pub async fn pg_pool(config: &DatabaseConfig) -> Result<deadpool_postgres::Pool, PoolBuildError> {
    match config {
        DatabaseConfig::Url(url) => {
            let pg: tokio_postgres::Config = url
                .parse()
                .map_err(|e| PoolBuildError::Build(format!("DATABASE_URL does not parse: {e}")))?;
            let manager = deadpool_postgres::Manager::from_config(
                pg,
                tokio_postgres::NoTls,
                deadpool_postgres::ManagerConfig {
                    recycling_method: deadpool_postgres::RecyclingMethod::Fast,
                },
            );
            deadpool_postgres::Pool::builder(manager)
                .max_size(POOL_SIZE)
                .wait_timeout(Some(std::time::Duration::from_secs(10)))
                .create_timeout(Some(std::time::Duration::from_secs(5)))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .build()
                .map_err(|e| PoolBuildError::Build(e.to_string()))
        }
        DatabaseConfig::Iam { .. } | DatabaseConfig::Secret { .. } => {
            crate::adapters::db_auth::pool(config).await
        }
    }
}

/// The adapters every pipeline function is built from, once per execution environment.
pub struct PipelineAdapters {
    pub config: crate::config::PipelineConfig,
    pub objects: crate::adapters::s3_objects::S3Objects,
    pub records: crate::adapters::dynamo_records::DynamoRecords,
    pub catalog: crate::adapters::postgres::PgCatalog,
}

impl PipelineAdapters {
    /// Reads the environment (failing on a missing variable, named) and builds the
    /// clients and the pool. No connection is opened yet.
    pub async fn from_env() -> Result<PipelineAdapters, lambda_runtime::Error> {
        let config = crate::config::PipelineConfig::from_env()?;
        let aws = aws_config().await;
        let pool = pg_pool(&config.database).await?;
        Ok(PipelineAdapters {
            objects: crate::adapters::s3_objects::S3Objects::new(s3(&aws)),
            records: crate::adapters::dynamo_records::DynamoRecords::new(
                dynamodb(&aws),
                config.upload_records_table.clone(),
            ),
            catalog: crate::adapters::postgres::PgCatalog::new(pool),
            config,
        })
    }
}
