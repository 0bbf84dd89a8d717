//! The finaliser's side: the upload's state, its report lines, the final status.

use super::{state_of, state_query, PgCatalog};
use crate::classify::from_pg;
use async_trait::async_trait;
use domain::codes::ErrorCode;
use domain::model::ProductData;
use domain::ports::{ReportCursor, UploadCompletion, UploadState};
use domain::report::ReportLine;
use domain::upload::UploadStatus;
use domain::PortError;

#[async_trait]
impl UploadCompletion for PgCatalog {
    async fn state(&self, upload_id: &str) -> Result<Option<UploadState>, PortError> {
        let client = self.client().await?;
        // Every batch of the validator and the error processor asks: prepared once.
        let statement = client.prepare_cached(state_query!()).await.map_err(from_pg)?;
        let row = client
            .query_opt(&statement, &[&upload_id])
            .await
            .map_err(from_pg)?;
        row.map(|r| state_of(upload_id.to_string(), &r, 0)).transpose()
    }

    async fn report_page(
        &self,
        upload_id: &str,
        after: Option<ReportCursor>,
        limit: usize,
    ) -> Result<Vec<(ReportCursor, ReportLine)>, PortError> {
        let client = self.client().await?;
        let (after_row, after_id) = after.unwrap_or((-1, -1));
        let (after_row, after_id) = (
            i32::try_from(after_row).unwrap_or(i32::MAX),
            i32::try_from(after_id).unwrap_or(i32::MAX),
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // A row's cells are stored with its first error only: the others read them there.
        let rows = client
            .query(
                "SELECT e.row_number, e.error_id, e.error_type, e.error_message,
                        COALESCE(e.original_data,
                                 (SELECT f.original_data FROM validation_errors f
                                  WHERE f.upload_id = e.upload_id AND f.row_number = e.row_number
                                    AND f.original_data IS NOT NULL
                                  ORDER BY f.error_id LIMIT 1))
                 FROM validation_errors e
                 WHERE e.upload_id = $1 AND (e.row_number, e.error_id) > ($2, $3)
                 ORDER BY e.row_number, e.error_id
                 LIMIT $4",
                &[&upload_id, &after_row, &after_id, &limit],
            )
            .await
            .map_err(from_pg)?;
        rows.iter()
            .map(|r| {
                let code: String = r.get(2);
                let error_type = ErrorCode::parse(&code).ok_or_else(|| {
                    PortError::rejected("PostgreSQL", format!("unknown error_type {code:?}"))
                })?;
                let original: Option<serde_json::Value> = r.get(4);
                let original: Option<ProductData> = original.and_then(|v| serde_json::from_value(v).ok());
                let row_number = i64::from(r.get::<_, i32>(0));
                let cursor = (row_number, i64::from(r.get::<_, i32>(1)));
                let line = ReportLine {
                    row_number,
                    error_type,
                    error_message: r.get(3),
                    original,
                };
                Ok((cursor, line))
            })
            .collect()
    }

    async fn finish(
        &self,
        upload_id: &str,
        status: UploadStatus,
        report_key: Option<&str>,
    ) -> Result<bool, PortError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE upload_history
                 SET status = $2, error_file_s3_key = COALESCE($3, error_file_s3_key),
                     processing_completed_at = now(),
                     processing_duration_seconds = ROUND(EXTRACT(EPOCH FROM (now() - processing_started_at))::numeric, 3)
                 WHERE upload_id = $1 AND status = 'processing'
                   AND valid_records + error_records = total_records",
                &[&upload_id, &status.as_str(), &report_key],
            )
            .await
            .map_err(from_pg)?;
        Ok(n == 1)
    }
}
