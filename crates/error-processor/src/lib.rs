//! error-processor: `UploadRecords` stream (status `error`) → `validation_errors`,
//! exact `upload_history` counters, and the vendor's report when the upload ends.
//!
//! Rows are recorded once: the ledger's `error_recorded` flag moves in the same
//! transaction as the counter and the `validation_errors` rows, so a redelivered
//! record finds nothing left to do.

use adapters::streams::for_each_upload;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use domain::model::{RecordStatus, UploadRecord};
use domain::notify::Notify;
use domain::ports::{ErrorLedger, ErrorRow, ObjectStore, UploadCompletion};
use domain::PortError;

pub struct ErrorProcessor<'a, L, O> {
    pub ledger: &'a L,
    pub objects: &'a O,
    pub bucket: &'a str,
    /// Announces the upload when this batch ends it.
    pub notify: Notify<'a>,
}

impl<L: ErrorLedger + UploadCompletion, O: ObjectStore> ErrorProcessor<'_, L, O> {
    pub async fn handle(&self, event: &Event) -> DynamoDbEventResponse {
        for_each_upload(event, RecordStatus::Error, |upload_id, rows| async move {
            let items: Vec<UploadRecord> = rows.into_iter().map(|(_, item)| item).collect();
            self.record_items(&upload_id, &items).await
        })
        .await
    }

    /// Records these `error` items of one upload (a stream batch's, or the reconciler's)
    /// that are not recorded yet, and ends the upload if they were its last rows.
    pub async fn record_items(&self, upload_id: &str, rows: &[UploadRecord]) -> Result<(), PortError> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let mut error_rows: Vec<ErrorRow> = Vec::with_capacity(rows.len());
        for item in rows {
            if error_rows.iter().all(|r| r.row_number != item.row_number) {
                error_rows.push(ErrorRow::from_item(item));
            }
        }
        let fresh = self
            .ledger
            .record_errors(upload_id, &first.vendor_id, &error_rows)
            .await?;
        tracing::info!(fresh, "error rows recorded");
        domain::finalise::finalise(self.ledger, self.objects, self.bucket, upload_id, self.notify).await?;
        Ok(())
    }
}

/// The production wiring: clients and pool built once per execution environment.
pub struct Wiring {
    adapters: adapters::pipeline::PipelineAdapters,
}

impl Wiring {
    pub async fn from_env() -> Result<Wiring, adapters::pipeline::InitError> {
        Ok(Wiring {
            adapters: adapters::pipeline::PipelineAdapters::from_env().await?,
        })
    }

    pub async fn handle(&self, event: &Event) -> DynamoDbEventResponse {
        let a = &self.adapters;
        ErrorProcessor {
            ledger: &a.catalog,
            objects: &a.objects,
            bucket: &a.config.upload_bucket,
            notify: a.notify(),
        }
        .handle(event)
        .await
    }
}

#[cfg(test)]
mod tests;
