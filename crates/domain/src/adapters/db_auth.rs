//! PostgreSQL over TLS with RDS IAM tokens or a Secrets Manager secret.

use crate::clients::PoolBuildError;
use crate::config::DatabaseConfig;

pub async fn pool(config: &DatabaseConfig) -> Result<deadpool_postgres::Pool, PoolBuildError> {
    Err(PoolBuildError::Build(format!(
        "database authentication {config:?} is not available in this build"
    )))
}
