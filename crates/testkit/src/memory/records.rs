//! `RecordStore` in memory: the `UploadRecords` table.

use super::{lock, Memory};
use async_trait::async_trait;
use domain::model::{item_size, UploadRecord, ITEM_LIMIT_BYTES};
use domain::ports::RecordStore;
use domain::PortError;
use std::collections::HashSet;

#[async_trait]
impl RecordStore for Memory {
    async fn put_all(&self, records: &[UploadRecord]) -> Result<(), PortError> {
        for r in records {
            self.trip("put_all", &r.upload_id)?;
            // DynamoDB's ValidationException, for good.
            if item_size(r) > ITEM_LIMIT_BYTES {
                return Err(PortError::rejected(
                    "memory",
                    format!(
                        "{} row {}: Item size has exceeded the maximum allowed size",
                        r.upload_id, r.row_number
                    ),
                ));
            }
        }
        let mut items = lock(&self.items)?;
        for r in records {
            items.insert((r.upload_id.clone(), r.record_id.clone()), r.clone());
        }
        lock(&self.puts)?.push(records.to_vec());
        Ok(())
    }

    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError> {
        self.trip("existing", upload_id)?;
        let items = lock(&self.items)?;
        Ok(record_ids
            .iter()
            .filter(|id| items.contains_key(&(upload_id.to_string(), (*id).clone())))
            .cloned()
            .collect())
    }
}
