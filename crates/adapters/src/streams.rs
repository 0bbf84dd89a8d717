//! DynamoDB stream plumbing shared by the stream consumers: `NewImage`s decoded into
//! `UploadRecords` items with serde_dynamo, grouped by upload, and the partial batch
//! response (`batchItemFailures`) of every upload whose work failed.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::model::{RecordStatus, UploadRecord};
use domain::PortError;
use futures::StreamExt;
use std::collections::HashMap;
use std::future::Future;
use tracing::Instrument;

/// Stream records decoded into items, grouped by upload in arrival order.
pub struct Decoded {
    pub groups: Vec<(String, Vec<(String, UploadRecord)>)>,
    /// Sequence numbers of records that could not be decoded.
    pub undecodable: Vec<String>,
}

/// Decodes `NewImage`s with serde_dynamo; keeps only records whose status is `wanted`.
pub fn decode(event: &Event, wanted: RecordStatus) -> Decoded {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(String, Vec<(String, UploadRecord)>)> = Vec::new();
    let mut undecodable = Vec::new();
    for record in &event.records {
        let seq = sequence_number(record);
        match serde_dynamo::from_item::<_, UploadRecord>(record.change.new_image.clone()) {
            Ok(item) if item.status == wanted => {
                let slot = *index.entry(item.upload_id.clone()).or_insert_with(|| {
                    groups.push((item.upload_id.clone(), Vec::new()));
                    groups.len() - 1
                });
                groups[slot].1.push((seq, item));
            }
            Ok(_) => {} // Not ours (the filter normally keeps these away).
            Err(e) => {
                let error = domain::error::withhold_values(&e.to_string());
                tracing::error!(sequence_number = %seq, %error, "stream record is not an UploadRecords item");
                undecodable.push(seq);
            }
        }
    }
    Decoded { groups, undecodable }
}

/// Uploads of one batch worked on at once. Each holds at most one PostgreSQL
/// connection at a time, so this many never wait for the pool of `POOL_SIZE` (4; a
/// test holds the two equal when both features are built).
pub const UPLOADS_AT_ONCE: usize = 4;

/// The shared shape of both stream consumers: decodes the batch (records whose status
/// is `wanted`), runs `each` once per upload with that upload's rows, and reports as
/// batch item failures the records of every upload whose call failed and every record
/// that could not be decoded. Uploads are independent: one failing does not stop the
/// others, and up to [`UPLOADS_AT_ONCE`] run at once (a batch of concurrent uploads
/// interleaves them, a few rows each; one after the other, each one's round trips
/// would add up). Their failures are listed in arrival order; Lambda resumes from the
/// lowest sequence number among them whatever the order.
pub async fn for_each_upload<F, Fut>(event: &Event, wanted: RecordStatus, each: F) -> DynamoDbEventResponse
where
    F: Fn(String, Vec<(String, UploadRecord)>) -> Fut,
    Fut: Future<Output = Result<(), PortError>>,
{
    let decoded = decode(event, wanted);
    let mut failed = decoded.undecodable;
    let outcomes: Vec<(Vec<String>, bool)> = futures::stream::iter(decoded.groups)
        .map(|(upload_id, rows)| {
            let sequence_numbers: Vec<String> = rows.iter().map(|(seq, _)| seq.clone()).collect();
            let span = tracing::info_span!("upload", upload_id = %upload_id, records = rows.len());
            let work = each(upload_id.clone(), rows).instrument(span);
            async move {
                let result = work.await;
                if let Err(e) = &result {
                    tracing::warn!(upload_id, error = %e, transient = e.is_transient(), "batch item failures reported");
                }
                (sequence_numbers, result.is_err())
            }
        })
        .buffered(UPLOADS_AT_ONCE)
        .collect()
        .await;
    for (sequence_numbers, failed_upload) in outcomes {
        if failed_upload {
            failed.extend(sequence_numbers);
        }
    }
    failures(failed)
}

pub fn sequence_number(record: &EventRecord) -> String {
    record.change.sequence_number.clone().unwrap_or_default()
}

pub fn failures(ids: Vec<String>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = ids
        .into_iter()
        .map(|id| {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = Some(id);
            f
        })
        .collect();
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn item(upload_id: &str, row_number: u64) -> UploadRecord {
        UploadRecord {
            upload_id: upload_id.into(),
            record_id: domain::model::record_id(row_number),
            vendor_id: "VEND001".into(),
            file_name: "f.csv".into(),
            row_number,
            product_data: [("sku".to_string(), format!("SKU-{row_number}"))].into(),
            status: RecordStatus::PendingValidation,
            error_type: None,
            error_reason: Vec::new(),
            created_at: "2026-12-06T10:00:00.000Z".into(),
            updated_at: "2026-12-06T10:00:00.000Z".into(),
            ttl: 0,
        }
    }

    /// Six uploads interleaved, two rows each: U0 1, U1 1, ..., U5 1, U0 2, ..., U5 2.
    fn interleaved() -> Event {
        let items: Vec<UploadRecord> = (1..=2)
            .flat_map(|row| (0..6).map(move |u| item(&format!("U{u}"), row)))
            .collect();
        let refs: Vec<&UploadRecord> = items.iter().collect();
        testkit::events::stream_event(&refs).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ids(response: &DynamoDbEventResponse) -> Vec<String> {
        response
            .batch_item_failures
            .iter()
            .filter_map(|f| f.item_identifier.clone())
            .collect()
    }

    #[tokio::test]
    async fn the_uploads_of_a_batch_are_worked_on_a_few_at_a_time_each_with_its_rows_in_order() {
        let (now, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let seen = std::sync::Mutex::new(Vec::new());
        let response = for_each_upload(
            &interleaved(),
            RecordStatus::PendingValidation,
            |upload_id, rows| {
                let (now, most, seen) = (&now, &most, &seen);
                async move {
                    let at_once = now.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(at_once, Ordering::SeqCst);
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                    }
                    let rows: Vec<u64> = rows.iter().map(|(_, r)| r.row_number).collect();
                    seen.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((upload_id, rows));
                    now.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                }
            },
        )
        .await;
        assert!(response.batch_item_failures.is_empty());
        assert_eq!(most.load(Ordering::SeqCst), UPLOADS_AT_ONCE);
        let mut seen = seen.into_inner().unwrap_or_else(|e| e.into_inner());
        seen.sort();
        let want: Vec<(String, Vec<u64>)> = (0..6).map(|u| (format!("U{u}"), vec![1, 2])).collect();
        assert_eq!(seen, want);
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn as_many_uploads_at_once_as_the_pool_has_connections() {
        assert_eq!(UPLOADS_AT_ONCE, crate::postgres::POOL_SIZE);
    }

    #[tokio::test]
    async fn only_the_records_in_the_wanted_status_are_handed_over() {
        let mut decided = item("U9", 3);
        decided.status = RecordStatus::Validated;
        let (pending, error) = (item("U9", 1), {
            let mut e = item("U9", 2);
            e.status = RecordStatus::Error;
            e
        });
        let event =
            testkit::events::stream_event(&[&pending, &error, &decided]).unwrap_or_else(|e| panic!("{e}"));
        let seen = std::sync::Mutex::new(Vec::new());
        let response = for_each_upload(&event, RecordStatus::Error, |_, rows| {
            let seen = &seen;
            async move {
                let rows = rows.iter().map(|(seq, r)| (seq.clone(), r.row_number));
                seen.lock().unwrap_or_else(|e| e.into_inner()).extend(rows);
                Ok(())
            }
        })
        .await;
        assert!(response.batch_item_failures.is_empty());
        let seen = seen.into_inner().unwrap_or_else(|e| e.into_inner());
        assert_eq!(seen, [("U9/2".to_string(), 2)]);
    }

    #[tokio::test]
    async fn the_records_of_each_failed_upload_are_reported_and_the_others_are_not() {
        let response = for_each_upload(
            &interleaved(),
            RecordStatus::PendingValidation,
            |upload_id, _| async move {
                tokio::task::yield_now().await;
                match upload_id.as_str() {
                    "U1" | "U4" => Err(PortError::unavailable("PostgreSQL", "down")),
                    _ => Ok(()),
                }
            },
        )
        .await;
        assert_eq!(ids(&response), ["U1/1", "U1/2", "U4/1", "U4/2"]);
    }
}
