//! What the event sources gave up on: csv-parser's S3 events are delivered again;
//! the stream mappings' messages only point at items the status sweep finds anyway.

use crate::{Reconciler, Report};
use aws_lambda_events::event::s3::S3Event;
use domain::ports::{
    CatalogStore, ErrorLedger, FailedDeliveries, FailedDelivery, FailureSource, ObjectStore, Reconciliation,
    RecordStore, UploadCompletion, UploadIntake, VendorDirectory,
};

/// Messages taken per run; the next run takes the rest.
const MESSAGES_PER_RUN: usize = 100;

impl<O, R, L, F> Reconciler<'_, O, R, L, F>
where
    O: ObjectStore,
    R: RecordStore,
    L: VendorDirectory + UploadIntake + ErrorLedger + UploadCompletion + CatalogStore + Reconciliation,
    F: FailedDeliveries,
{
    pub(crate) async fn redrive(&self, report: &mut Report) {
        let deliveries = match self.failed.receive(MESSAGES_PER_RUN).await {
            Ok(d) => d,
            Err(e) => {
                report.failures.push(format!("on-failure destinations: {e}"));
                return;
            }
        };
        for delivery in deliveries {
            if self.handle(&delivery, report).await {
                match self.failed.acknowledge(&delivery).await {
                    Ok(()) => report.messages_acknowledged += 1,
                    Err(e) => report.failures.push(format!("acknowledging a message: {e}")),
                }
            }
        }
    }

    /// Whether the message is dealt with (and may be acknowledged).
    async fn handle(&self, delivery: &FailedDelivery, report: &mut Report) -> bool {
        match delivery.source {
            FailureSource::Stream => true,
            FailureSource::Parser => {
                let Some(event) = parser_event(&delivery.body) else {
                    tracing::error!("a csv-parser on-failure message without an S3 event; acknowledged");
                    return true;
                };
                match self.parser().handle(&event).await {
                    Ok(outcomes) => {
                        tracing::info!(?outcomes, "csv-parser event delivered again");
                        report.events_redriven += 1;
                        true
                    }
                    Err(e) => {
                        report.failures.push(format!("csv-parser event: {e}"));
                        false
                    }
                }
            }
        }
    }
}

/// The S3 event of a Lambda asynchronous-invocation failure record (`requestPayload`),
/// or a bare S3 event.
pub fn parser_event(body: &str) -> Option<S3Event> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let payload = value.get("requestPayload").cloned().unwrap_or(value);
    serde_json::from_value(payload).ok()
}
