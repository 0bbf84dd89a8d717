//! `UploadRecords` on DynamoDB: BatchWriteItem in chunks of 25 with several chunks in
//! flight, unprocessed items retried with exponential backoff and full jitter.

use super::backoff;
use crate::classify::from_sdk;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use domain::model::{RecordStatus, WriteItem};
use domain::ports::{ItemPage, RecordStore, StoredItem};
use domain::PortError;
use futures::{StreamExt, TryStreamExt};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// DynamoDB's BatchWriteItem limit.
pub const BATCH_WRITE_LIMIT: usize = 25;
/// DynamoDB's BatchGetItem limit.
pub const BATCH_GET_LIMIT: usize = 100;
/// How many BatchWriteItem calls one invocation keeps in flight.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Attempts for one chunk before the invocation gives up (and is retried as a whole).
pub(super) const MAX_ATTEMPTS: u32 = 8;

#[derive(Clone)]
pub struct DynamoRecords {
    pub(super) client: aws_sdk_dynamodb::Client,
    pub(super) table: String,
    pub(super) concurrency: usize,
    pub(super) transaction_items: usize,
}

impl DynamoRecords {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoRecords {
            client,
            table: table.into(),
            concurrency: DEFAULT_CONCURRENCY,
            transaction_items: super::TRANSACT_ITEMS_LIMIT,
        }
    }

    /// Chunks in flight at once (1 = strictly sequential).
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Items per first-write transaction (at most 100).
    pub fn with_transaction_items(mut self, items: usize) -> Self {
        self.transaction_items = items.clamp(1, super::TRANSACT_ITEMS_LIMIT);
        self
    }

    async fn write_chunk(&self, mut pending: Vec<WriteRequest>) -> Result<(), PortError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending.clone())
                .send()
                .await;
            match result {
                Ok(out) => {
                    let left = out
                        .unprocessed_items
                        .and_then(|mut m| m.remove(&self.table))
                        .unwrap_or_default();
                    if left.is_empty() {
                        return Ok(());
                    }
                    if attempt >= MAX_ATTEMPTS {
                        return Err(PortError::unavailable(
                            "DynamoDB",
                            format!("{} items still unprocessed after {attempt} attempts", left.len()),
                        ));
                    }
                    pending = left;
                }
                Err(e) => {
                    let err = from_sdk("DynamoDB", e);
                    if !err.is_transient() || attempt >= MAX_ATTEMPTS {
                        return Err(err);
                    }
                }
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
    }
}

/// Each key's last version, in order of first appearance. BatchWriteItem refuses a
/// call that names one key twice (a permanent `ValidationException`), and chunks
/// written side by side have no order between them, so a repeated item is written once,
/// as its last version.
pub(super) fn last_versions<T: WriteItem>(records: &[T]) -> Vec<&T> {
    let mut slot: HashMap<(&str, Cow<'_, str>), usize> = HashMap::with_capacity(records.len());
    let mut unique: Vec<&T> = Vec::with_capacity(records.len());
    for record in records {
        match slot.entry((record.upload_id(), record.record_id())) {
            std::collections::hash_map::Entry::Occupied(e) => unique[*e.get()] = record,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(unique.len());
                unique.push(record);
            }
        }
    }
    unique
}

pub(super) fn to_item<T: serde::Serialize>(record: &T) -> Result<HashMap<String, AttributeValue>, PortError> {
    serde_dynamo::to_item(record)
        .map_err(|e| PortError::rejected("DynamoDB", format!("cannot encode item: {e}")))
}

#[async_trait]
impl RecordStore for DynamoRecords {
    async fn put_new<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        self.write_new(records).await
    }

    async fn put_all<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        let records = last_versions(records);
        let mut chunks = Vec::new();
        for chunk in records.chunks(BATCH_WRITE_LIMIT) {
            let mut requests = Vec::with_capacity(chunk.len());
            for record in chunk {
                let put = PutRequest::builder()
                    .set_item(Some(to_item(record)?))
                    .build()
                    .map_err(|e| PortError::rejected("DynamoDB", e))?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            chunks.push(requests);
        }
        futures::stream::iter(chunks.into_iter().map(|c| self.write_chunk(c)))
            .buffer_unordered(self.concurrency)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }

    async fn page_by_status(
        &self,
        upload_id: &str,
        status: RecordStatus,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ItemPage, PortError> {
        self.page_of(upload_id, status, start_after, limit).await
    }

    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError> {
        let found = self.batch_get(upload_id, record_ids, Some("record_id")).await?;
        Ok(found
            .into_iter()
            .filter_map(|mut item| match item.remove("record_id") {
                Some(AttributeValue::S(id)) => Some(id),
                _ => None,
            })
            .collect())
    }

    async fn items(&self, upload_id: &str, record_ids: &[String]) -> Result<Vec<StoredItem>, PortError> {
        let found = self.batch_get(upload_id, record_ids, None).await?;
        Ok(found.into_iter().map(super::by_status::stored).collect())
    }
}

impl DynamoRecords {
    /// BatchGetItem, 100 keys a call, consistent reads, unprocessed keys retried with
    /// backoff (and a transient error after the last attempt: a throttled read never
    /// makes an item look missing).
    async fn batch_get(
        &self,
        upload_id: &str,
        record_ids: &[String],
        projection: Option<&str>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, PortError> {
        let mut found = Vec::new();
        for chunk in record_ids.chunks(BATCH_GET_LIMIT) {
            let keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|id| {
                    HashMap::from([
                        ("upload_id".to_string(), AttributeValue::S(upload_id.to_string())),
                        ("record_id".to_string(), AttributeValue::S(id.clone())),
                    ])
                })
                .collect();
            let mut pending = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .set_projection_expression(projection.map(str::to_owned))
                .consistent_read(true)
                .build()
                .map_err(|e| PortError::rejected("DynamoDB", e))?;
            let mut attempt = 0;
            loop {
                attempt += 1;
                let out = match self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, pending.clone())
                    .send()
                    .await
                {
                    Ok(out) => out,
                    Err(e) => {
                        let err = from_sdk("DynamoDB", e);
                        if !err.is_transient() || attempt >= MAX_ATTEMPTS {
                            return Err(err);
                        }
                        tokio::time::sleep(backoff(attempt)).await;
                        continue;
                    }
                };
                for item in out
                    .responses
                    .and_then(|mut r| r.remove(&self.table))
                    .unwrap_or_default()
                {
                    found.push(item);
                }
                match out.unprocessed_keys.and_then(|mut u| u.remove(&self.table)) {
                    Some(left) if !left.keys().is_empty() => {
                        if attempt >= MAX_ATTEMPTS {
                            return Err(PortError::unavailable(
                                "DynamoDB",
                                "unprocessed keys after retries",
                            ));
                        }
                        pending = left;
                        tokio::time::sleep(backoff(attempt)).await;
                    }
                    _ => break,
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::model::UploadRecord;

    #[test]
    fn a_repeated_key_is_written_once_as_its_last_version() {
        let record = |upload: &str, row: u64, status: RecordStatus| UploadRecord {
            upload_id: upload.into(),
            record_id: domain::model::record_id(row),
            vendor_id: "VEND001".into(),
            file_name: "f.csv".into(),
            row_number: row,
            product_data: Default::default(),
            status,
            error_type: None,
            error_reason: Vec::new(),
            created_at: String::new(),
            updated_at: String::new(),
            ttl: 0,
        };
        let records = [
            record("U1", 1, RecordStatus::PendingValidation),
            record("U1", 2, RecordStatus::PendingValidation),
            record("U2", 1, RecordStatus::PendingValidation),
            record("U1", 1, RecordStatus::Validated),
        ];
        let unique = last_versions(&records);
        let keys: Vec<(&str, u64, RecordStatus)> = unique
            .iter()
            .map(|r| (r.upload_id.as_str(), r.row_number, r.status))
            .collect();
        assert_eq!(
            keys,
            [
                ("U1", 1, RecordStatus::Validated),
                ("U1", 2, RecordStatus::PendingValidation),
                ("U2", 1, RecordStatus::PendingValidation),
            ]
        );
    }

    #[test]
    fn an_item_round_trips_through_serde_dynamo() {
        let rec = UploadRecord {
            upload_id: "UPLOAD_1".into(),
            record_id: domain::model::record_id(3),
            vendor_id: "VEND001".into(),
            file_name: "p.csv".into(),
            row_number: 3,
            product_data: [("sku".to_string(), "A-1".to_string())].into_iter().collect(),
            status: RecordStatus::Error,
            error_type: Some(domain::ErrorCode::InvalidSku),
            error_reason: vec![domain::model::RowError::new(
                domain::ErrorCode::InvalidSku,
                "sku",
                "bad",
            )],
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            ttl: 1,
        };
        let item = to_item(&rec).unwrap_or_else(|e| panic!("{e}"));
        let back: UploadRecord = serde_dynamo::from_item(item).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, rec);
    }

    /// The parser's lean item is written as the record it stands for, attribute for
    /// attribute, and reads back as that record.
    #[test]
    fn a_parsed_row_is_written_as_its_record() {
        use domain::model::{Cells, ItemStamp, NewItem, RowItem};
        let stamp = ItemStamp::new("UPLOAD_1", "VEND001", "p.csv", chrono::DateTime::UNIX_EPOCH, 30);
        let data: domain::model::ProductData = [("sku", "A-1"), ("product_name", "Mouse, \"big\"")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for cells in [Cells::from(data), Cells::none()] {
            let item = NewItem::Row(RowItem::new(&stamp, 1_000_001, cells));
            let record = item.to_record();
            let written = to_item(&item).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(written, to_item(&record).unwrap_or_else(|e| panic!("{e}")));
            let back: UploadRecord = serde_dynamo::from_item(written).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(back, record);
        }
    }
}
