//! The `UploadRecords` table.

use crate::error::PortError;
use crate::model::{RecordStatus, UploadRecord, WriteItem};
use async_trait::async_trait;
use std::collections::HashSet;

/// An item as the table holds it: readable, or not (a poison item: its row is still
/// known from its `record_id`).
#[derive(Debug, Clone, PartialEq)]
pub enum StoredItem {
    Readable(UploadRecord),
    Unreadable { record_id: String, reason: String },
}

impl StoredItem {
    pub fn record_id(&self) -> &str {
        match self {
            StoredItem::Readable(record) => &record.record_id,
            StoredItem::Unreadable { record_id, .. } => record_id,
        }
    }
}

/// One page of an upload's items with one status, and where the next page starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemPage {
    pub items: Vec<StoredItem>,
    /// The `record_id` to start after, `None` on the last page.
    pub next: Option<String>,
}

#[async_trait]
pub trait RecordStore: Send + Sync {
    /// The first write of items: each is written only if it does not exist yet (an item
    /// a duplicate parse finds already there, perhaps already decided, is left alone).
    async fn put_new<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError>;
    /// Writes the items (new ones, or a status change of existing ones), retrying
    /// throttled and unprocessed items; an error means some items may not be written.
    async fn put_all<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError>;
    /// The upload's items with this status, a page at a time (`StatusIndex`).
    async fn page_by_status(
        &self,
        upload_id: &str,
        status: RecordStatus,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ItemPage, PortError>;
    /// Which of these record ids of the upload already exist.
    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError>;
    /// These items of the upload, whole: those that exist (a consistent read).
    async fn items(&self, upload_id: &str, record_ids: &[String]) -> Result<Vec<StoredItem>, PortError>;
}
