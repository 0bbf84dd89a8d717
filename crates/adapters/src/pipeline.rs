//! The adapters a pipeline function is built from, once per execution environment.

use crate::config::{NotificationConfig, PipelineConfig, ProcessEnv};
use crate::dynamodb::DynamoRecords;
use crate::postgres::PgCatalog;
use crate::s3::S3Objects;
use crate::sns::SnsNotifier;
use domain::notify::Notify;

pub struct PipelineAdapters {
    pub config: PipelineConfig,
    pub notifications: NotificationConfig,
    pub objects: S3Objects,
    pub records: DynamoRecords,
    pub catalog: PgCatalog,
    pub notifier: SnsNotifier,
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
        let notifications = NotificationConfig::from_source(&ProcessEnv)?;
        let aws = crate::aws::sdk_config().await;
        Self::with_sdk(config, notifications, &aws).await
    }

    /// From settings already read, sharing the process's one AWS configuration.
    pub async fn with_sdk(
        config: PipelineConfig,
        notifications: NotificationConfig,
        aws: &aws_config::SdkConfig,
    ) -> Result<PipelineAdapters, InitError> {
        let pool = crate::postgres::pool(&config.database, &config.session_limits, aws).await?;
        Ok(PipelineAdapters {
            objects: S3Objects::new(crate::s3::client(aws)),
            records: DynamoRecords::new(crate::dynamodb::client(aws), config.upload_records_table.clone()),
            catalog: PgCatalog::new(pool),
            notifier: SnsNotifier::new(crate::sns::client(aws), notifications.upload_topic_arn.clone()),
            notifications,
            config,
        })
    }

    /// What a finaliser announces with: the ledger's outbox, the topic, the API's URL.
    pub fn notify(&self) -> Notify<'_> {
        Notify {
            outbox: &self.catalog,
            notifier: &self.notifier,
            vendor_api_url: &self.notifications.vendor_api_url,
        }
    }
}
