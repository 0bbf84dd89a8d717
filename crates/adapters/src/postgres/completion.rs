//! The finaliser's side: the upload's state, its report lines, the final status.

use super::{state_of, PgCatalog};
use crate::classify::from_pg;
use async_trait::async_trait;
use domain::codes::ErrorCode;
use domain::model::ProductData;
use domain::ports::{UploadCompletion, UploadState};
use domain::report::ReportLine;
use domain::upload::UploadStatus;
use domain::PortError;

#[async_trait]
impl UploadCompletion for PgCatalog {
    async fn state(&self, upload_id: &str) -> Result<Option<UploadState>, PortError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT vendor_id, status, total_records, valid_records, error_records,
                        error_file_s3_key, metadata
                 FROM upload_history WHERE upload_id = $1",
                &[&upload_id],
            )
            .await
            .map_err(from_pg)?;
        row.map(|r| state_of(upload_id.to_string(), &r, 0)).transpose()
    }

    async fn report_lines(&self, upload_id: &str) -> Result<Vec<ReportLine>, PortError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT row_number, error_type, error_message, original_data
                 FROM validation_errors WHERE upload_id = $1 ORDER BY row_number, error_id",
                &[&upload_id],
            )
            .await
            .map_err(from_pg)?;
        rows.iter()
            .map(|r| {
                let code: String = r.get(1);
                let error_type = ErrorCode::parse(&code).ok_or_else(|| {
                    PortError::rejected("PostgreSQL", format!("unknown error_type {code:?}"))
                })?;
                let original: Option<serde_json::Value> = r.get(3);
                let original: Option<ProductData> = original.and_then(|v| serde_json::from_value(v).ok());
                Ok(ReportLine {
                    row_number: i64::from(r.get::<_, i32>(0)),
                    error_type,
                    error_message: r.get(2),
                    original,
                })
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
