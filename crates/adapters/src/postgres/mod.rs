//! PostgreSQL: the pool, vendors, the upload ledger and the catalog.
//!
//! Every write that moves a counter happens in a transaction that first locks the
//! upload's `upload_history` row, so the validator and the error processor (and
//! redeliveries of either) serialise on it and each row is counted exactly once.

mod auth;
mod catalog;
mod completion;
mod errors;
mod intake;
#[cfg(feature = "migrations")]
pub mod migrations;
mod notifications;
mod pool;
mod reconciliation;
mod vendor_uploads;

pub use auth::{is_authentication_failure, tls_config, CredentialError, Credentials, Endpoint, TOKEN_REUSE};
pub use catalog::{BATCH_CONTEXT, COMMIT_BATCH, STANDING_VERDICTS};
pub use pool::{pool, POOL_SIZE};

use crate::classify::{from_pg, from_pool};
use crate::config::ConfigError;
use domain::model::RowError;
use domain::ports::{StoredVerdict, UploadState};
use domain::upload::UploadStatus;
use domain::PortError;

#[derive(Debug, thiserror::Error)]
pub enum PoolBuildError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot build the PostgreSQL pool: {0}")]
    Build(String),
}

/// The pipeline's database: one pool behind every PostgreSQL port.
#[derive(Clone)]
pub struct PgCatalog {
    pool: deadpool_postgres::Pool,
}

impl PgCatalog {
    pub fn new(pool: deadpool_postgres::Pool) -> Self {
        PgCatalog { pool }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, PortError> {
        self.pool.get().await.map_err(from_pool)
    }
}

fn status_from(s: &str) -> Result<UploadStatus, PortError> {
    UploadStatus::parse(s)
        .ok_or_else(|| PortError::rejected("PostgreSQL", format!("unknown upload status {s:?}")))
}

/// An `UploadState` from `vendor_id, status, total_records, valid_records,
/// error_records, error_file_s3_key, metadata`, starting at column `first`.
/// The columns [`state_of`] reads, the upload named by `$1`.
macro_rules! state_query {
    () => {
        "SELECT vendor_id, status, total_records, valid_records, error_records,
                error_file_s3_key, metadata
         FROM upload_history WHERE upload_id = $1"
    };
}
use state_query;

fn state_of(upload_id: String, row: &tokio_postgres::Row, first: usize) -> Result<UploadState, PortError> {
    let metadata: serde_json::Value = row.get(first + 6);
    Ok(UploadState {
        upload_id,
        vendor_id: row.get(first),
        status: status_from(row.get(first + 1))?,
        total_records: i64::from(row.get::<_, i32>(first + 2)),
        valid_records: i64::from(row.get::<_, i32>(first + 3)),
        error_records: i64::from(row.get::<_, i32>(first + 4)),
        error_file_s3_key: row.get(first + 5),
        header: strings(&metadata, "header").unwrap_or_default(),
        columns: columns_of(&metadata),
        parsed: metadata.get("parsed").and_then(|p| p.as_bool()).unwrap_or(true),
        source: metadata
            .get("source")
            .and_then(|s| serde_json::from_value(s.clone()).ok()),
    })
}

fn row_errors_json(errors: &[RowError]) -> Result<serde_json::Value, PortError> {
    serde_json::to_value(errors).map_err(|e| PortError::rejected("PostgreSQL", e))
}

fn columns_of(metadata: &serde_json::Value) -> Vec<String> {
    strings(metadata, "columns").unwrap_or_default()
}

fn strings(metadata: &serde_json::Value, key: &str) -> Option<Vec<String>> {
    metadata
        .get(key)
        .and_then(|c| c.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
}

fn to_i32(n: u64) -> Result<i32, PortError> {
    i32::try_from(n).map_err(|_| PortError::rejected("PostgreSQL", format!("row number {n} out of range")))
}

const LOCK_UPLOAD: &str = "SELECT 1 FROM upload_history WHERE upload_id = $1 FOR UPDATE";

async fn lock_upload(tx: &deadpool_postgres::Transaction<'_>, upload_id: &str) -> Result<(), PortError> {
    let statement = tx.prepare_cached(LOCK_UPLOAD).await.map_err(from_pg)?;
    locked(
        upload_id,
        tx.query_opt(&statement, &[&upload_id]).await.map_err(from_pg)?,
    )
    .map(drop)
}

/// What the lock's `SELECT ... FOR UPDATE` found: the history row, or a refusal.
fn locked(upload_id: &str, row: Option<tokio_postgres::Row>) -> Result<tokio_postgres::Row, PortError> {
    match row {
        Some(row) => Ok(row),
        None => Err(PortError::rejected(
            "PostgreSQL",
            format!("upload {upload_id} has no upload_history row"),
        )),
    }
}

fn stored_verdict(verdict: &str, errors: serde_json::Value) -> StoredVerdict {
    if verdict == "valid" {
        StoredVerdict::Valid
    } else {
        StoredVerdict::Error(serde_json::from_value(errors).unwrap_or_default())
    }
}
