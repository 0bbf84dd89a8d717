//! DynamoDB stream plumbing shared by the stream consumers: `NewImage`s decoded into
//! `UploadRecords` items with serde_dynamo, grouped by upload, and the partial batch
//! response (`batchItemFailures`) of every upload whose work failed.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::model::{RecordStatus, UploadRecord};
use domain::PortError;
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

/// The shared shape of both stream consumers: decodes the batch (records whose status
/// is `wanted`), runs `each` once per upload with that upload's rows, in arrival order,
/// and reports as batch item failures the records of every upload whose call failed and
/// every record that could not be decoded. Uploads are independent: one failing does
/// not stop the others.
pub async fn for_each_upload<F, Fut>(
    event: &Event,
    wanted: RecordStatus,
    mut each: F,
) -> DynamoDbEventResponse
where
    F: FnMut(String, Vec<(String, UploadRecord)>) -> Fut,
    Fut: Future<Output = Result<(), PortError>>,
{
    let decoded = decode(event, wanted);
    let mut failed = decoded.undecodable;
    for (upload_id, rows) in decoded.groups {
        let sequence_numbers: Vec<String> = rows.iter().map(|(seq, _)| seq.clone()).collect();
        let span = tracing::info_span!("upload", upload_id = %upload_id, records = rows.len());
        if let Err(e) = each(upload_id.clone(), rows).instrument(span).await {
            tracing::warn!(upload_id, error = %e, transient = e.is_transient(), "batch item failures reported");
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
