//! The items and rows the pipeline passes between functions.

mod cells;
mod item_limit;
mod row_item;

pub use cells::{Cells, CellsByName, Columns};
pub use item_limit::{item_size, ITEM_LIMIT_BYTES};
pub use row_item::{ItemStamp, NewItem, RowItem, WriteItem};

use crate::codes::ErrorCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `UploadRecords.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    PendingValidation,
    Validated,
    Error,
}

impl RecordStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordStatus::PendingValidation => "pending_validation",
            RecordStatus::Validated => "validated",
            RecordStatus::Error => "error",
        }
    }
}

/// One problem with one row (or, at row 0, with the file). `column` is the normalised
/// header name, empty for `MALFORMED_ROW`, `INVALID_ENCODING` and file-level errors other
/// than `MISSING_COLUMNS` (where it lists the missing columns).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub error_type: ErrorCode,
    pub message: String,
    #[serde(default)]
    pub column: String,
}

impl RowError {
    pub fn new(error_type: ErrorCode, column: impl Into<String>, message: impl Into<String>) -> Self {
        RowError {
            error_type,
            message: message.into(),
            column: column.into(),
        }
    }
}

/// The row's `error_type`: its first error in column order (`errors` sorted as the
/// rules return them).
pub fn first_error_type(errors: &[RowError]) -> Option<ErrorCode> {
    errors.first().map(|e| e.error_type)
}

/// The raw cells of a row, keyed by normalised header name (trimmed, lower case).
pub type ProductData = BTreeMap<String, String>;

/// An item of the `UploadRecords` table, as written by the parser and read back from
/// the table's stream (`NewImage`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadRecord {
    pub upload_id: String,
    pub record_id: String,
    pub vendor_id: String,
    pub file_name: String,
    /// 1-based data row; the header is not counted.
    pub row_number: u64,
    /// Absent rather than empty when nothing of the row could be read: DynamoDB Local's
    /// stream serves an empty map in a form the SDK cannot parse.
    #[serde(default, skip_serializing_if = "ProductData::is_empty")]
    pub product_data: ProductData,
    pub status: RecordStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<ErrorCode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_reason: Vec<RowError>,
    pub created_at: String,
    pub updated_at: String,
    /// Epoch seconds after which DynamoDB may expire the item.
    pub ttl: i64,
}

impl UploadRecord {
    /// The item as it stands once its row is decided: `validated`, or `error` with
    /// every reason and the first as `error_type`; made to fit DynamoDB's item limit
    /// ([`UploadRecord::fitted`]).
    pub fn decided(&self, errors: Option<&[RowError]>, updated_at: &str) -> UploadRecord {
        let mut item = self.clone();
        item.updated_at = updated_at.to_string();
        match errors {
            None => {
                item.status = RecordStatus::Validated;
                item.error_type = None;
                item.error_reason = Vec::new();
            }
            Some(errors) => {
                item.status = RecordStatus::Error;
                item.error_type = first_error_type(errors);
                item.error_reason = errors.to_vec();
            }
        }
        item.fitted()
    }
}

/// A `pending_validation` item of row `row_number` holding these cells, for tests.
#[cfg(test)]
pub(crate) fn sample_item(row_number: u64, product_data: ProductData) -> UploadRecord {
    UploadRecord {
        upload_id: "UPLOAD_20261123T103045_0123456789ab".into(),
        record_id: record_id(row_number),
        vendor_id: "VEND001".into(),
        file_name: "f.csv".into(),
        row_number,
        product_data,
        status: RecordStatus::PendingValidation,
        error_type: None,
        error_reason: Vec::new(),
        created_at: "2026-11-23T10:30:45.000Z".into(),
        updated_at: "2026-11-23T10:30:45.000Z".into(),
        ttl: 0,
    }
}

/// `record_id` of a data row: `REC_000042`, wider past a million rows.
pub fn record_id(row_number: u64) -> String {
    format!("REC_{row_number:06}")
}

/// The row number a `record_id` names (`REC_000042` → 42).
pub fn row_number_of(record_id: &str) -> Option<u64> {
    record_id.strip_prefix("REC_")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_statuses_are_written_as_the_design_names_them() {
        let names: Vec<&str> = [
            RecordStatus::PendingValidation,
            RecordStatus::Validated,
            RecordStatus::Error,
        ]
        .into_iter()
        .map(RecordStatus::as_str)
        .collect();
        assert_eq!(names, ["pending_validation", "validated", "error"]);
    }

    #[test]
    fn record_ids_are_zero_padded_and_grow_when_needed() {
        assert_eq!(record_id(1), "REC_000001");
        assert_eq!(record_id(999_999), "REC_999999");
        assert_eq!(record_id(1_000_000), "REC_1000000");
        for n in [1, 42, 999_999, 1_000_000] {
            assert_eq!(row_number_of(&record_id(n)), Some(n));
        }
        assert_eq!(row_number_of("REC_x"), None);
        assert_eq!(row_number_of("ROW_000001"), None);
    }
}
