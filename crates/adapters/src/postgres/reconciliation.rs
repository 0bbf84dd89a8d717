//! The reconciler's side: stuck uploads, failed attempts per row, rows without a verdict.

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

    async fn undecided_rows(&self, upload_id: &str, after: u64, limit: usize) -> Result<Vec<u64>, PortError> {
        let client = self.client().await?;
        let after = i32::try_from(after).unwrap_or(i32::MAX);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = client
            .query(
                "SELECT r::bigint
                 FROM upload_history h CROSS JOIN LATERAL generate_series($2 + 1, h.total_records) AS r
                 WHERE h.upload_id = $1
                   AND NOT EXISTS (SELECT 1 FROM upload_rows u WHERE u.upload_id = $1 AND u.row_number = r)
                 ORDER BY r LIMIT $3",
                &[&upload_id, &after, &limit],
            )
            .await
            .map_err(from_pg)?;
        Ok(rows.iter().map(|r| r.get::<_, i64>(0).max(0) as u64).collect())
    }
}
