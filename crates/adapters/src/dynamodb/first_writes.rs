//! The first write of `UploadRecords` items: conditional (`attribute_not_exists`), so a
//! duplicate parse running beside the first never puts an item the validator already
//! decided back to `pending_validation` (a MODIFY the validator's INSERT filter would
//! never see again). BatchWriteItem takes no condition; TransactWriteItems does, for up
//! to 100 items (and 4 MB) per call, so 1,000 rows take 10 calls instead of 40.

use super::backoff;
use super::records::{last_versions, to_item, DynamoRecords, MAX_ATTEMPTS};
use crate::classify::from_sdk;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use domain::model::WriteItem;
use domain::PortError;
use futures::{StreamExt, TryStreamExt};

/// DynamoDB's TransactWriteItems limits: 100 actions, 4 MB in all.
pub const TRANSACT_ITEMS_LIMIT: usize = 100;
const TRANSACT_BYTES_LIMIT: usize = 3_500_000;

/// Splits items into transactions within both limits. The size is estimated by the
/// item's JSON, which is never smaller than DynamoDB's own accounting.
pub(super) fn transactions<'a, T: WriteItem>(records: &[&'a T], max_items: usize) -> Vec<Vec<&'a T>> {
    let mut out: Vec<Vec<&T>> = Vec::new();
    let mut bytes = 0usize;
    for record in records {
        let size = serde_json::to_vec(record)
            .map(|v| v.len())
            .unwrap_or(TRANSACT_BYTES_LIMIT);
        let full = out.last().is_none_or(|t| {
            t.len() >= max_items.clamp(1, TRANSACT_ITEMS_LIMIT) || bytes + size > TRANSACT_BYTES_LIMIT
        });
        if full {
            out.push(Vec::new());
            bytes = 0;
        }
        bytes += size;
        if let Some(t) = out.last_mut() {
            t.push(record);
        }
    }
    out
}

impl DynamoRecords {
    /// Writes the items that do not exist yet; existing ones are left as they are.
    pub(super) async fn write_new<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        let records = last_versions(records);
        let mut calls = Vec::new();
        for t in transactions(&records, self.transaction_items) {
            let actions = t
                .iter()
                .map(|r| conditional_put(&self.table, r))
                .collect::<Result<Vec<_>, _>>()?;
            calls.push(actions);
        }
        futures::stream::iter(calls.into_iter().map(|actions| self.transact_new(actions)))
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    /// One transaction, retried without the items that turned out to exist, and with
    /// backoff while DynamoDB throttles or another transaction holds an item.
    async fn transact_new(&self, mut pending: Vec<TransactWriteItem>) -> Result<(), PortError> {
        let mut attempt = 0;
        while !pending.is_empty() {
            attempt += 1;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(pending.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            match existing_positions(&err) {
                // Cancelled because some items exist: the rest were not written; retry them.
                Some(exists) if !exists.is_empty() => {
                    let mut i = 0;
                    pending.retain(|_| {
                        let keep = !exists.contains(&i);
                        i += 1;
                        keep
                    });
                    continue;
                }
                _ => {
                    let err = from_sdk("DynamoDB", err);
                    if !err.is_transient() || attempt >= MAX_ATTEMPTS {
                        return Err(err);
                    }
                }
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Ok(())
    }
}

fn conditional_put<T: serde::Serialize>(table: &str, record: &T) -> Result<TransactWriteItem, PortError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(to_item(record)?))
        .condition_expression("attribute_not_exists(record_id)")
        .build()
        .map_err(|e| PortError::rejected("DynamoDB", e))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The positions of the actions that failed their condition (the item exists), when the
/// transaction was cancelled; `None` for any other failure.
fn existing_positions(
    err: &aws_sdk_dynamodb::error::SdkError<
        TransactWriteItemsError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Option<Vec<usize>> {
    let TransactWriteItemsError::TransactionCanceledException(cancelled) = err.as_service_error()? else {
        return None;
    };
    Some(
        cancelled
            .cancellation_reasons()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
            .map(|(i, _)| i)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::model::{record_id, RecordStatus, UploadRecord};

    fn record(row: u64, cell: usize) -> UploadRecord {
        UploadRecord {
            upload_id: "U".into(),
            record_id: record_id(row),
            vendor_id: "V".into(),
            file_name: "f.csv".into(),
            row_number: row,
            product_data: [("description".to_string(), "x".repeat(cell))]
                .into_iter()
                .collect(),
            status: RecordStatus::PendingValidation,
            error_type: None,
            error_reason: Vec::new(),
            created_at: String::new(),
            updated_at: String::new(),
            ttl: 0,
        }
    }

    #[test]
    fn transactions_hold_at_most_100_items_and_under_4_mb() {
        let small: Vec<UploadRecord> = (1..=250).map(|n| record(n, 10)).collect();
        let refs: Vec<&UploadRecord> = small.iter().collect();
        let sizes: Vec<usize> = transactions(&refs, TRANSACT_ITEMS_LIMIT)
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, vec![100, 100, 50]);

        let big: Vec<UploadRecord> = (1..=100).map(|n| record(n, 64 * 1024)).collect();
        let refs: Vec<&UploadRecord> = big.iter().collect();
        let split = transactions(&refs, TRANSACT_ITEMS_LIMIT);
        assert!(split.len() >= 2, "100 items of 64 KiB exceed 4 MB");
        for t in &split {
            let bytes: usize = t
                .iter()
                .map(|r| serde_json::to_vec(r).map(|v| v.len()).unwrap_or(0))
                .sum();
            assert!(bytes <= TRANSACT_BYTES_LIMIT, "{bytes}");
        }
        assert_eq!(split.iter().map(Vec::len).sum::<usize>(), 100, "nothing lost");
    }
}
