//! The adapters a pipeline function is built from, once per execution environment.

use crate::config::PipelineConfig;
use crate::dynamodb::DynamoRecords;
use crate::postgres::PgCatalog;
use crate::s3::S3Objects;

pub struct PipelineAdapters {
    pub config: PipelineConfig,
    pub objects: S3Objects,
    pub records: DynamoRecords,
    pub catalog: PgCatalog,
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Pool(#[from] crate::postgres::PoolBuildError),
}

impl PipelineAdapters {
    /// Reads the environment (failing on a missing variable, named) and builds the
    /// clients and the pool from one AWS configuration. No connection is opened yet.
    pub async fn from_env() -> Result<PipelineAdapters, InitError> {
        let config = PipelineConfig::from_env()?;
        let aws = crate::aws::sdk_config().await;
        Self::with_sdk(config, &aws).await
    }

    /// From settings already read, sharing the process's one AWS configuration.
    pub async fn with_sdk(
        config: PipelineConfig,
        aws: &aws_config::SdkConfig,
    ) -> Result<PipelineAdapters, InitError> {
        let pool = crate::postgres::pool(&config.database, &config.session_limits, aws).await?;
        Ok(PipelineAdapters {
            objects: S3Objects::new(crate::s3::client(aws)),
            records: DynamoRecords::new(crate::dynamodb::client(aws), config.upload_records_table.clone()),
            catalog: PgCatalog::new(pool),
            config,
        })
    }
}
