//! The one PostgreSQL pool builder: a plain URL (local stack, or a password from the
//! environment), or TLS with an RDS IAM token or a Secrets Manager secret per new
//! connection ([`super::auth`]). Built once per execution environment, lazily: no
//! connection is opened until the first query, so a cold start with the database down
//! fails the first event (retried), not the init.

use super::PoolBuildError;
use crate::config::{DatabaseConfig, SessionLimits};
use std::time::Duration;

/// Maximum connections per execution environment. A Lambda environment handles one
/// event at a time; a few connections let a handler overlap independent queries.
pub const POOL_SIZE: usize = 4;
/// How long a caller waits for a free connection before the event is retried.
const WAIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Opening a connection: TCP (and for IAM/secret: TLS, at most one credential refresh
/// and one retry).
const CREATE_TIMEOUT_URL: Duration = Duration::from_secs(5);
const CREATE_TIMEOUT_AUTH: Duration = Duration::from_secs(15);

pub(super) fn manager_config() -> deadpool_postgres::ManagerConfig {
    deadpool_postgres::ManagerConfig {
        recycling_method: deadpool_postgres::RecyclingMethod::Fast,
    }
}

/// `sdk` is the process's one AWS configuration (used by the IAM and secret modes).
/// Every connection carries `limits` as server-side session settings.
pub async fn pool(
    config: &DatabaseConfig,
    limits: &SessionLimits,
    sdk: &aws_config::SdkConfig,
) -> Result<deadpool_postgres::Pool, PoolBuildError> {
    let (manager, create_timeout) = match config {
        DatabaseConfig::Url(url) => {
            let mut pg: tokio_postgres::Config = url
                .parse()
                .map_err(|e| PoolBuildError::Build(format!("DATABASE_URL does not parse: {e}")))?;
            pg.options(limits.options());
            let manager =
                deadpool_postgres::Manager::from_config(pg, tokio_postgres::NoTls, manager_config());
            (manager, CREATE_TIMEOUT_URL)
        }
        DatabaseConfig::Iam { .. } | DatabaseConfig::Secret { .. } => (
            super::auth::manager(config, &limits.options(), sdk).await?,
            CREATE_TIMEOUT_AUTH,
        ),
    };
    deadpool_postgres::Pool::builder(manager)
        .max_size(POOL_SIZE)
        .wait_timeout(Some(WAIT_TIMEOUT))
        .create_timeout(Some(create_timeout))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| PoolBuildError::Build(e.to_string()))
}
