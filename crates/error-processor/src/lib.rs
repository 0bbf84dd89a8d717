//! error-processor: `UploadRecords` stream (status `error`) → `validation_errors`,
//! exact `upload_history` counters, and the vendor's report when the upload ends.
//!
//! Rows are recorded once: the ledger's `error_recorded` flag moves in the same
//! transaction as the counter and the `validation_errors` rows, so a redelivered
//! record finds nothing left to do.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use domain::codes::ErrorCode;
use domain::model::{RecordStatus, RowError, UploadRecord};
use domain::ports::{ErrorRow, ObjectStore, UploadLedger};
use domain::PortError;
use stream_validator::for_each_upload;

pub struct ErrorProcessor<'a, L, O> {
    pub ledger: &'a L,
    pub objects: &'a O,
    pub bucket: &'a str,
}

/// The row as the error processor records it.
pub fn error_row(item: &UploadRecord) -> ErrorRow {
    let mut errors = item.error_reason.clone();
    if errors.is_empty() {
        // An item marked `error` without reasons still counts, with what we know.
        let code = item.error_type.unwrap_or(ErrorCode::MalformedRow);
        errors.push(RowError::new(
            code,
            "",
            format!("Row {} could not be processed ({code}).", item.row_number),
        ));
    }
    let unreadable = errors
        .iter()
        .any(|e| matches!(e.error_type, ErrorCode::MalformedRow | ErrorCode::InvalidEncoding));
    ErrorRow {
        row_number: item.row_number,
        vendor_product_id: item.product_data.get("vendor_product_id").cloned(),
        errors,
        original: (!unreadable).then(|| item.product_data.clone()),
    }
}

impl<L: UploadLedger, O: ObjectStore> ErrorProcessor<'_, L, O> {
    pub async fn handle(&self, event: &Event) -> DynamoDbEventResponse {
        for_each_upload(event, RecordStatus::Error, |upload_id, rows| async move {
            self.record_upload(&upload_id, &rows).await
        })
        .await
    }

    async fn record_upload(&self, upload_id: &str, rows: &[(String, UploadRecord)]) -> Result<(), PortError> {
        let Some((_, first)) = rows.first() else {
            return Ok(());
        };
        let mut error_rows: Vec<ErrorRow> = Vec::with_capacity(rows.len());
        for (_, item) in rows {
            if error_rows.iter().all(|r| r.row_number != item.row_number) {
                error_rows.push(error_row(item));
            }
        }
        let fresh = self
            .ledger
            .record_errors(upload_id, &first.vendor_id, &error_rows)
            .await?;
        tracing::info!(fresh, "error rows recorded");
        domain::finalise::finalise(self.ledger, self.objects, self.bucket, upload_id).await?;
        Ok(())
    }
}

/// The production wiring: clients and pool built once per execution environment.
pub struct Wiring {
    pub objects: domain::adapters::s3_objects::S3Objects,
    pub catalog: domain::adapters::postgres::PgCatalog,
    pub bucket: String,
}

impl Wiring {
    pub async fn from_env() -> Result<Wiring, lambda_runtime::Error> {
        let a = domain::clients::PipelineAdapters::from_env().await?;
        Ok(Wiring {
            objects: a.objects,
            catalog: a.catalog,
            bucket: a.config.upload_bucket,
        })
    }

    pub async fn handle(&self, event: &Event) -> DynamoDbEventResponse {
        ErrorProcessor {
            ledger: &self.catalog,
            objects: &self.objects,
            bucket: &self.bucket,
        }
        .handle(event)
        .await
    }
}

#[cfg(test)]
mod tests;
