//! csv-parser's side: vendors, claims, the history row, file-level failures.

use super::{to_i32, PgCatalog};
use crate::classify::from_pg;
use async_trait::async_trait;
use domain::ports::{Claim, FileFailure, StartOutcome, UploadIntake, UploadStart, VendorDirectory};
use domain::vendor::VendorStatus;
use domain::PortError;
use std::collections::HashMap;

#[async_trait]
impl VendorDirectory for PgCatalog {
    async fn vendor_status(&self, vendor_id: &str) -> Result<Option<VendorStatus>, PortError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT status FROM vendors WHERE vendor_id = $1", &[&vendor_id])
            .await
            .map_err(from_pg)?;
        row.map(|r| {
            let status: String = r.get(0);
            VendorStatus::parse(&status)
                .ok_or_else(|| PortError::rejected("PostgreSQL", format!("unknown vendor status {status:?}")))
        })
        .transpose()
    }
}

#[async_trait]
impl UploadIntake for PgCatalog {
    async fn register_claims(&self, upload_id: &str, claims: &[Claim]) -> Result<(), PortError> {
        // One statement may not touch the same key twice: keep the lowest row per value.
        let mut lowest: HashMap<(&str, &str), i32> = HashMap::new();
        for c in claims {
            let row = to_i32(c.row_number)?;
            lowest
                .entry((c.column, c.value.as_str()))
                .and_modify(|r| *r = (*r).min(row))
                .or_insert(row);
        }
        if lowest.is_empty() {
            return Ok(());
        }
        let (mut columns, mut values, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for ((column, value), row) in lowest {
            columns.push(column);
            values.push(value);
            rows.push(row);
        }
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO upload_claims (upload_id, column_name, value, row_number)
                 SELECT $1, c, v, r FROM unnest($2::text[], $3::text[], $4::int[]) AS t(c, v, r)
                 ON CONFLICT (upload_id, column_name, value)
                 DO UPDATE SET row_number = LEAST(upload_claims.row_number, EXCLUDED.row_number)",
                &[&upload_id, &columns, &values, &rows],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn start_upload(
        &self,
        s: &UploadStart,
        lease: std::time::Duration,
    ) -> Result<StartOutcome, PortError> {
        let client = self.client().await?;
        let total = i32::try_from(s.total_records)
            .map_err(|_| PortError::rejected("PostgreSQL", "too many rows for one upload"))?;
        let lease_ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        let metadata = serde_json::json!({
            "columns": s.columns, "header": s.header, "parsed": false, "source": s.source
        });
        let inserted = client
            .query_opt(
                "INSERT INTO upload_history (upload_id, vendor_id, file_name, s3_key, total_records,
                                             status, upload_timestamp, processing_started_at, metadata,
                                             parse_lease_until)
                 VALUES ($1, $2, $3, $4, $5, 'processing', $6, now(), $7,
                         now() + $8 * interval '1 millisecond')
                 ON CONFLICT (upload_id) DO NOTHING
                 RETURNING upload_id",
                &[
                    &s.upload_id,
                    &s.vendor_id,
                    &s.file_name,
                    &s.s3_key,
                    &total,
                    &s.uploaded_at,
                    &metadata,
                    &(lease_ms as f64),
                ],
            )
            .await
            .map_err(from_pg)?;
        if inserted.is_some() {
            return Ok(StartOutcome::Created);
        }
        // Take the lease if the upload is not parsed and nobody holds it any more.
        let row = client
            .query_one(
                "WITH taken AS (
                     UPDATE upload_history SET parse_lease_until = now() + $2 * interval '1 millisecond'
                     WHERE upload_id = $1 AND NOT COALESCE((metadata->>'parsed')::boolean, true)
                       AND (parse_lease_until IS NULL OR parse_lease_until < now())
                     RETURNING 1)
                 SELECT COALESCE((metadata->>'parsed')::boolean, true), EXISTS (SELECT 1 FROM taken)
                 FROM upload_history WHERE upload_id = $1",
                &[&s.upload_id, &(lease_ms as f64)],
            )
            .await
            .map_err(from_pg)?;
        let (parsed, taken): (bool, bool) = (row.get(0), row.get(1));
        Ok(match (parsed, taken) {
            (true, _) => StartOutcome::Parsed,
            (false, true) => StartOutcome::Resume,
            (false, false) => StartOutcome::Busy,
        })
    }

    async fn release_parse(&self, upload_id: &str) -> Result<(), PortError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE upload_history SET parse_lease_until = NULL WHERE upload_id = $1",
                &[&upload_id],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn mark_parsed(&self, upload_id: &str) -> Result<(), PortError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE upload_history SET metadata = metadata || '{\"parsed\": true}'::jsonb,
                                           parse_lease_until = NULL
                 WHERE upload_id = $1",
                &[&upload_id],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn fail_upload(&self, f: &FileFailure) -> Result<(), PortError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(from_pg)?;
        let metadata = serde_json::json!({ "columns": f.columns, "parsed": true });
        let inserted = tx
            .query_opt(
                "INSERT INTO upload_history (upload_id, vendor_id, file_name, s3_key, total_records,
                     valid_records, error_records, status, error_file_s3_key, upload_timestamp,
                     processing_started_at, processing_completed_at, processing_duration_seconds, metadata)
                 VALUES ($1, $2, $3, $4, 0, 0, 0, 'failed', $5, $6, now(), now(), 0, $7)
                 ON CONFLICT (upload_id) DO NOTHING
                 RETURNING upload_id",
                &[
                    &f.upload_id,
                    &f.vendor_id,
                    &f.file_name,
                    &f.s3_key,
                    &f.report_key,
                    &f.uploaded_at,
                    &metadata,
                ],
            )
            .await
            .map_err(from_pg)?;
        if inserted.is_some() {
            tx.execute(
                "INSERT INTO validation_errors (upload_id, vendor_id, row_number, vendor_product_id,
                                                error_type, error_field, error_message, original_data)
                 VALUES ($1, $2, 0, NULL, $3, $4, $5, NULL)
                 ON CONFLICT DO NOTHING",
                &[
                    &f.upload_id,
                    &f.vendor_id,
                    &f.error.error_type.as_str(),
                    &f.error.column,
                    &f.error.message,
                ],
            )
            .await
            .map_err(from_pg)?;
        }
        tx.commit().await.map_err(from_pg)
    }
}
