//! The vendor API's reads: one vendor's uploads and errors. Every query filters on the
//! vendor, so another vendor's upload is indistinguishable from a missing one.

use super::{status_from, PgCatalog};
use crate::classify::from_pg;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{ErrorPosition, ErrorView, UploadFilter, UploadHistory, UploadPosition, UploadView};
use domain::PortError;
use rust_decimal::Decimal;

const UPLOAD_COLUMNS: &str = "upload_id, vendor_id, file_name, s3_key, total_records, valid_records,
     error_records, status, error_file_s3_key, upload_timestamp, processing_started_at,
     processing_completed_at, processing_duration_seconds";

fn upload_view(r: &tokio_postgres::Row) -> Result<UploadView, PortError> {
    Ok(UploadView {
        upload_id: r.get(0),
        vendor_id: r.get(1),
        file_name: r.get(2),
        s3_key: r.get(3),
        total_records: i64::from(r.get::<_, i32>(4)),
        valid_records: i64::from(r.get::<_, i32>(5)),
        error_records: i64::from(r.get::<_, i32>(6)),
        status: status_from(r.get(7))?,
        error_file_s3_key: r.get(8),
        upload_timestamp: r.get(9),
        processing_started_at: r.get(10),
        processing_completed_at: r.get(11),
        processing_duration_seconds: r.get::<_, Option<Decimal>>(12),
    })
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait]
impl UploadHistory for PgCatalog {
    async fn list_uploads(
        &self,
        filter: &UploadFilter,
        after: Option<&UploadPosition>,
        limit: usize,
    ) -> Result<Vec<UploadView>, PortError> {
        let status = filter.status.map(|s| s.as_str());
        let after_time: Option<DateTime<Utc>> = match after {
            Some(p) => Some(
                DateTime::from_timestamp_micros(p.upload_timestamp_us)
                    .ok_or_else(|| PortError::rejected("PostgreSQL", "a next_token position out of range"))?,
            ),
            None => None,
        };
        let after_id = after.map(|p| p.upload_id.as_str());
        let client = self.client().await?;
        // Keyset paging on (upload_timestamp, upload_id) descending (index
        // idx_upload_history_vendor_time): each upload is on exactly one page, whatever
        // is uploaded between two pages.
        let rows = client
            .query(
                &format!(
                    "SELECT {UPLOAD_COLUMNS} FROM upload_history
                     WHERE vendor_id = $1
                       AND ($2::text IS NULL OR status = $2)
                       AND ($3::timestamptz IS NULL OR upload_timestamp >= $3)
                       AND ($4::timestamptz IS NULL OR upload_timestamp <= $4)
                       AND ($5::timestamptz IS NULL OR (upload_timestamp, upload_id) < ($5, $6::text))
                     ORDER BY upload_timestamp DESC, upload_id DESC
                     LIMIT $7"
                ),
                &[
                    &filter.vendor_id,
                    &status,
                    &filter.from,
                    &filter.to,
                    &after_time,
                    &after_id,
                    &limit_of(limit),
                ],
            )
            .await
            .map_err(from_pg)?;
        rows.iter().map(upload_view).collect()
    }

    async fn get_upload(&self, vendor_id: &str, upload_id: &str) -> Result<Option<UploadView>, PortError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {UPLOAD_COLUMNS} FROM upload_history WHERE upload_id = $1 AND vendor_id = $2"
                ),
                &[&upload_id, &vendor_id],
            )
            .await
            .map_err(from_pg)?;
        row.as_ref().map(upload_view).transpose()
    }

    async fn list_errors(
        &self,
        vendor_id: &str,
        upload_id: &str,
        after: Option<&ErrorPosition>,
        limit: usize,
    ) -> Result<Vec<(ErrorPosition, ErrorView)>, PortError> {
        let after_row = after.map(|p| p.row_number);
        let after_id = after.map(|p| p.error_id);
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT error_id, row_number, error_type, error_field, error_message
                 FROM validation_errors
                 WHERE upload_id = $1 AND vendor_id = $2
                   AND ($3::bigint IS NULL OR (row_number::bigint, error_id::bigint) > ($3, $4::bigint))
                 ORDER BY row_number, error_id
                 LIMIT $5",
                &[&upload_id, &vendor_id, &after_row, &after_id, &limit_of(limit)],
            )
            .await
            .map_err(from_pg)?;
        Ok(rows
            .iter()
            .map(|r| {
                let position = ErrorPosition {
                    row_number: i64::from(r.get::<_, i32>(1)),
                    error_id: i64::from(r.get::<_, i32>(0)),
                };
                let view = ErrorView {
                    row_number: position.row_number,
                    error_type: r.get(2),
                    error_field: r.get(3),
                    error_message: r.get(4),
                };
                (position, view)
            })
            .collect())
    }
}
