//! The `UploadRecords` table.

use crate::error::PortError;
use crate::model::UploadRecord;
use async_trait::async_trait;
use std::collections::HashSet;

#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Writes the items (new ones, or a status change of existing ones), retrying
    /// throttled and unprocessed items; an error means some items may not be written.
    async fn put_all(&self, records: &[UploadRecord]) -> Result<(), PortError>;
    /// Which of these record ids of the upload already exist.
    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError>;
}
