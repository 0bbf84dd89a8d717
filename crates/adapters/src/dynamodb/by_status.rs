//! An upload's items by status, through `StatusIndex` (`upload_id`, `status`): what the
//! reconciler reads to finish an upload the stream consumers left undone.

use super::records::DynamoRecords;
use crate::classify::from_sdk;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::model::{RecordStatus, UploadRecord};
use domain::ports::{ItemPage, StoredItem};
use domain::PortError;
use std::collections::HashMap;

pub const STATUS_INDEX: &str = "StatusIndex";

impl DynamoRecords {
    pub(super) async fn page_of(
        &self,
        upload_id: &str,
        status: RecordStatus,
        start_after: Option<&str>,
        limit: usize,
    ) -> Result<ItemPage, PortError> {
        let start = start_after.map(|record_id| {
            HashMap::from([
                ("upload_id".to_string(), AttributeValue::S(upload_id.to_string())),
                (
                    "status".to_string(),
                    AttributeValue::S(status.as_str().to_string()),
                ),
                ("record_id".to_string(), AttributeValue::S(record_id.to_string())),
            ])
        });
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(STATUS_INDEX)
            .key_condition_expression("upload_id = :u AND #s = :s")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":u", AttributeValue::S(upload_id.to_string()))
            .expression_attribute_values(":s", AttributeValue::S(status.as_str().to_string()))
            .set_exclusive_start_key(start)
            .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| from_sdk("DynamoDB", e))?;
        let items = out.items.unwrap_or_default().into_iter().map(stored).collect();
        let next = out
            .last_evaluated_key
            .and_then(|k| k.get("record_id").and_then(|v| v.as_s().ok()).cloned());
        Ok(ItemPage { items, next })
    }
}

/// An item as the table holds it; one that does not read as an `UploadRecords` item is
/// kept by its `record_id`, so the reconciler can still give its row a verdict.
pub(super) fn stored(item: HashMap<String, AttributeValue>) -> StoredItem {
    let record_id = item
        .get("record_id")
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    match serde_dynamo::from_item::<_, UploadRecord>(item) {
        Ok(record) => StoredItem::Readable(record),
        Err(e) => StoredItem::Unreadable {
            record_id,
            reason: e.to_string(),
        },
    }
}
