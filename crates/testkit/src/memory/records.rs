//! `RecordStore` in memory: the `UploadRecords` table.

use super::{lock, Memory};
use async_trait::async_trait;
use domain::model::{item_size, RecordStatus, UploadRecord, WriteItem, ITEM_LIMIT_BYTES};
use domain::ports::{ItemPage, RecordStore, StoredItem};
use domain::PortError;
use std::collections::HashSet;

#[async_trait]
impl RecordStore for Memory {
    async fn put_new<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        let records: Vec<UploadRecord> = records.iter().map(WriteItem::to_record).collect();
        for r in &records {
            self.trip("put_new", &r.upload_id)?;
            fits(r)?;
        }
        let mut items = lock(&self.items)?;
        let mut written = Vec::new();
        for r in &records {
            let key = (r.upload_id.clone(), r.record_id.clone());
            if let std::collections::btree_map::Entry::Vacant(slot) = items.entry(key) {
                slot.insert(r.clone());
                written.push(r.clone());
            }
        }
        lock(&self.puts)?.push(written);
        Ok(())
    }

    async fn put_all<T: WriteItem>(&self, records: &[T]) -> Result<(), PortError> {
        let records: Vec<UploadRecord> = records.iter().map(WriteItem::to_record).collect();
        for r in &records {
            self.trip("put_all", &r.upload_id)?;
            fits(r)?;
        }
        let mut items = lock(&self.items)?;
        for r in &records {
            items.insert((r.upload_id.clone(), r.record_id.clone()), r.clone());
        }
        lock(&self.puts)?.push(records);
        Ok(())
    }

    async fn page_by_status(
        &self,
        upload_id: &str,
        status: RecordStatus,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ItemPage, PortError> {
        self.trip("page_by_status", upload_id)?;
        let items = lock(&self.items)?;
        let unreadable = lock(&self.unreadable)?;
        let mut matching: Vec<(String, StoredItem)> = items
            .values()
            .filter(|i| i.upload_id == upload_id && i.status == status)
            .map(|i| (i.record_id.clone(), StoredItem::Readable(i.clone())))
            .chain(
                unreadable
                    .iter()
                    .filter(|(u, _, s)| u == upload_id && *s == status)
                    .map(|(_, id, _)| {
                        let poison = StoredItem::Unreadable {
                            record_id: id.clone(),
                            reason: "injected poison item".into(),
                        };
                        (id.clone(), poison)
                    }),
            )
            .filter(|(id, _)| start_after.is_none_or(|after| id.as_str() > after))
            .collect();
        matching.sort_by(|a, b| a.0.cmp(&b.0));
        let more = matching.len() > limit;
        matching.truncate(limit.max(1));
        let next = if more {
            matching.last().map(|(id, _)| id.clone())
        } else {
            None
        };
        Ok(ItemPage {
            items: matching.into_iter().map(|(_, i)| i).collect(),
            next,
        })
    }

    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError> {
        self.trip("existing", upload_id)?;
        let items = lock(&self.items)?;
        // A poison item is an item too: it exists, it only does not read.
        let unreadable = lock(&self.unreadable)?;
        Ok(record_ids
            .iter()
            .filter(|id| {
                items.contains_key(&(upload_id.to_string(), (*id).clone()))
                    || unreadable.iter().any(|(u, r, _)| u == upload_id && r == *id)
            })
            .cloned()
            .collect())
    }

    async fn items(&self, upload_id: &str, record_ids: &[String]) -> Result<Vec<StoredItem>, PortError> {
        self.trip("items", upload_id)?;
        let items = lock(&self.items)?;
        let unreadable = lock(&self.unreadable)?;
        Ok(record_ids
            .iter()
            .filter_map(|id| match items.get(&(upload_id.to_string(), id.clone())) {
                Some(item) => Some(StoredItem::Readable(item.clone())),
                None => unreadable
                    .iter()
                    .any(|(u, r, _)| u == upload_id && r == id)
                    .then(|| StoredItem::Unreadable {
                        record_id: id.clone(),
                        reason: "injected poison item".into(),
                    }),
            })
            .collect())
    }
}

/// DynamoDB's ValidationException for an item over 400 KB, for good.
fn fits(r: &UploadRecord) -> Result<(), PortError> {
    if item_size(r) > ITEM_LIMIT_BYTES {
        return Err(PortError::rejected(
            "memory",
            format!(
                "{} row {}: Item size has exceeded the maximum allowed size",
                r.upload_id, r.row_number
            ),
        ));
    }
    Ok(())
}
