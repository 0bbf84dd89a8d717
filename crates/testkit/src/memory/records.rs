//! `RecordStore` in memory: the `UploadRecords` table.

use super::{lock, Memory};
use async_trait::async_trait;
use domain::model::UploadRecord;
use domain::ports::RecordStore;
use domain::PortError;
use std::collections::HashSet;

#[async_trait]
impl RecordStore for Memory {
    async fn put_new(&self, records: &[UploadRecord]) -> Result<(), PortError> {
        for r in records {
            self.trip("put_new", &r.upload_id)?;
        }
        let mut items = lock(&self.items)?;
        let mut written = Vec::new();
        for r in records {
            let key = (r.upload_id.clone(), r.record_id.clone());
            if !items.contains_key(&key) {
                items.insert(key, r.clone());
                written.push(r.clone());
            }
        }
        lock(&self.puts)?.push(written);
        Ok(())
    }

    async fn put_all(&self, records: &[UploadRecord]) -> Result<(), PortError> {
        for r in records {
            self.trip("put_all", &r.upload_id)?;
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
