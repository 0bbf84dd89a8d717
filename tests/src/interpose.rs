//! The real `UploadRecords` adapter with a fault put at a chosen write: the nth
//! `put_all` fails or waits at a gate ([`Interposed`], shared with the unit tests
//! through `testkit`), or one row's item is written as a poison item the stream
//! consumers cannot decode ([`PoisonRow`]). Everything else goes to the real table.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::model::{RecordStatus, UploadRecord, WriteItem};
use domain::ports::{ItemPage, RecordStore, StoredItem};
use domain::PortError;
use std::collections::{HashMap, HashSet};
pub use testkit::interpose::{At, Gate, Interposed};

/// The parser's writes, except that row `row`'s item is put straight to the table with a
/// `product_data` that is not a map of strings (an INSERT, status `pending_validation`),
/// before the rest of its chunk.
pub struct PoisonRow<R> {
    pub inner: R,
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub row: u64,
}

/// The `product_data` of a poison item.
pub const POISON: &str = "not a map of strings";

#[async_trait]
impl<R: RecordStore> RecordStore for PoisonRow<R> {
    async fn put_new<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        self.inner.put_new(records).await
    }

    async fn put_all<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        let records: Vec<UploadRecord> = records.iter().map(WriteItem::to_record).collect();
        let Some(item) = records.iter().find(|r| r.row_number == self.row) else {
            return self.inner.put_all(&records).await;
        };
        let mut raw: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(item).map_err(|e| PortError::rejected("DynamoDB", e))?;
        raw.insert("product_data".into(), AttributeValue::S(POISON.into()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(raw))
            .send()
            .await
            .map_err(|e| adapters::classify::from_sdk("DynamoDB", e))?;
        let rest: Vec<UploadRecord> = records
            .iter()
            .filter(|r| r.row_number != self.row)
            .cloned()
            .collect();
        self.inner.put_all(&rest).await
    }

    async fn page_by_status(
        &self,
        upload_id: &str,
        status: RecordStatus,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ItemPage, PortError> {
        self.inner
            .page_by_status(upload_id, status, start_after, limit)
            .await
    }

    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError> {
        self.inner.existing(upload_id, record_ids).await
    }

    async fn items(&self, upload_id: &str, record_ids: &[String]) -> Result<Vec<StoredItem>, PortError> {
        self.inner.items(upload_id, record_ids).await
    }
}
