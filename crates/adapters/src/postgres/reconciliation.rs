//! The reconciler's side: stuck uploads, and failed attempts per row.

use super::{state_of, to_i32, PgCatalog};
use crate::classify::from_pg;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{Reconciliation, UploadState};
use domain::PortError;
use std::collections::HashMap;

#[async_trait]
impl Reconciliation for PgCatalog {
    async fn stuck_uploads(
        &self,
        started_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<UploadState>, PortError> {
        let client = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT upload_id, vendor_id, status, total_records, valid_records, error_records,
                        error_file_s3_key, metadata
                 FROM upload_history
                 WHERE status = 'processing' AND processing_started_at < $1
                 ORDER BY processing_started_at LIMIT $2",
                &[&started_before, &limit],
            )
            .await
            .map_err(from_pg)?;
        rows.iter().map(|r| state_of(r.get(0), r, 1)).collect()
    }

    async fn count_failed_attempt(
        &self,
        upload_id: &str,
        row_numbers: &[u64],
        reason: &str,
    ) -> Result<HashMap<u64, u32>, PortError> {
        if row_numbers.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<i32> = row_numbers.iter().map(|n| to_i32(*n)).collect::<Result<_, _>>()?;
        let client = self.client().await?;
        let counted = client
            .query(
                "INSERT INTO reconcile_attempts (upload_id, row_number, attempts, last_error)
                 SELECT $1, r, 1, $3 FROM unnest($2::int[]) AS t(r)
                 ON CONFLICT (upload_id, row_number) DO UPDATE
                     SET attempts = reconcile_attempts.attempts + 1, last_error = EXCLUDED.last_error,
                         updated_at = now()
                 RETURNING row_number, attempts",
                &[&upload_id, &rows, &reason],
            )
            .await
            .map_err(from_pg)?;
        Ok(counted
            .iter()
            .map(|r| (r.get::<_, i32>(0) as u64, r.get::<_, i32>(1).max(0) as u32))
            .collect())
    }
}
