//! The `UploadRecords` table.

use crate::error::PortError;
use crate::model::UploadRecord;
use async_trait::async_trait;
use std::collections::HashSet;

#[async_trait]
pub trait RecordStore: Send + Sync {
    /// The first write of items: each is written only if it does not exist yet (an item
    /// a duplicate parse finds already there, perhaps already decided, is left alone).
    async fn put_new(&self, records: &[UploadRecord]) -> Result<(), PortError>;
    /// Writes the items (new ones, or a status change of existing ones), retrying
    /// throttled and unprocessed items; an error means some items may not be written.
    async fn put_all(&self, records: &[UploadRecord]) -> Result<(), PortError>;
    /// Which of these record ids of the upload already exist.
    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError>;
}
