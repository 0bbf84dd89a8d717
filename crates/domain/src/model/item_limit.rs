//! DynamoDB refuses an item over 400 KB (attribute names and values counted), and a
//! refused write is retried until its batch is dropped. Every `UploadRecords` item is
//! therefore measured before it is written and made to fit.
//!
//! Why an item can be large although a record is at most 64 KiB: the header (at most
//! 64 KiB of normalised names) is repeated as `product_data`'s keys, a row that is not
//! UTF-8 keeps its cells with U+FFFD (3 bytes) for each bad byte, and a row with a
//! control character in each of 1,000 columns has 1,000 errors, each naming its column.
//! Bounds, per item: keys ≤ 64 KiB + 1,000 bytes of overhead, values ≤ 192 KiB,
//! shortened errors ≤ 1,000 × (≈ 130 bytes + the column name twice, ≤ 20 characters
//! once) ≤ 130 KB + 2 × 64 KiB; the steps below always end under the limit.

use super::{Cells, RecordStatus, UploadRecord};
use crate::validation::{messages, KNOWN_COLUMNS};

/// DynamoDB's item size limit.
pub const ITEM_LIMIT_BYTES: usize = 400 * 1024;
/// What an item may use: the limit less a margin for our count's approximations.
pub(super) const BUDGET_BYTES: usize = ITEM_LIMIT_BYTES - 4 * 1024;
/// A number's size is about 1 byte per 2 significant digits plus 1 (38 digits at most).
const NUMBER_BYTES: usize = 20;
/// A list or map costs 3 bytes, and each of its elements 1 more.
const COLLECTION_BYTES: usize = 3;
const ELEMENT_BYTES: usize = 1;

/// The item's size as DynamoDB counts it (its published rules: names and values in
/// UTF-8 bytes, numbers at their largest), with the attribute names serde gives it.
pub fn item_size(record: &UploadRecord) -> usize {
    let mut size = core_size(&Core {
        upload_id: &record.upload_id,
        record_id_len: record.record_id.len(),
        vendor_id: &record.vendor_id,
        file_name: &record.file_name,
        status: record.status,
        created_at: &record.created_at,
        updated_at: &record.updated_at,
    }) + cells_size(record.product_data.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Some(code) = record.error_type {
        size += string("error_type", code.as_str());
    }
    if !record.error_reason.is_empty() {
        size += "error_reason".len()
            + COLLECTION_BYTES
            + record
                .error_reason
                .iter()
                .map(|e| {
                    ELEMENT_BYTES
                        + COLLECTION_BYTES
                        + 3 * ELEMENT_BYTES
                        + string("error_type", e.error_type.as_str())
                        + string("message", &e.message)
                        + string("column", &e.column)
                })
                .sum::<usize>();
    }
    size
}

fn string(name: &str, value: &str) -> usize {
    name.len() + value.len()
}

fn number(name: &str) -> usize {
    name.len() + NUMBER_BYTES
}

/// The attributes every item has.
pub(super) struct Core<'a> {
    pub upload_id: &'a str,
    pub record_id_len: usize,
    pub vendor_id: &'a str,
    pub file_name: &'a str,
    pub status: RecordStatus,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

pub(super) fn core_size(core: &Core<'_>) -> usize {
    string("upload_id", core.upload_id)
        + "record_id".len()
        + core.record_id_len
        + string("vendor_id", core.vendor_id)
        + string("file_name", core.file_name)
        + number("row_number")
        + string("status", core.status.as_str())
        + string("created_at", core.created_at)
        + string("updated_at", core.updated_at)
        + number("ttl")
}

/// `product_data`'s size: nothing when it has no cells (the attribute is left out).
fn cells_size<'a>(cells: impl Iterator<Item = (&'a str, &'a str)>) -> usize {
    let (mut count, mut names, mut values) = (0, 0, 0);
    for (name, value) in cells {
        count += 1;
        names += name.len();
        values += value.len();
    }
    product_data_size(count, names, values)
}

/// `product_data`'s size for a parsed row's cells.
pub(super) fn row_cells_size(cells: &Cells) -> usize {
    let (names, values) = cells.named_bytes();
    product_data_size(cells.len(), names, values)
}

fn product_data_size(count: usize, names: usize, values: usize) -> usize {
    if count == 0 {
        return 0;
    }
    "product_data".len() + COLLECTION_BYTES + count * ELEMENT_BYTES + names + values
}

impl UploadRecord {
    /// The item made to fit DynamoDB's limit, each step taken only if the item is
    /// still too large: (1) column messages shortened to the column and what to do
    /// (`messages::shortened`); (2) `product_data` cut to the columns the rules know;
    /// (3) `product_data` dropped (the report then leaves the row's cells empty, as
    /// for a malformed row). Every error keeps its code and column, so the counts, the
    /// `validation_errors` rows and the report's lines are the same.
    pub fn fitted(mut self) -> UploadRecord {
        if item_size(&self) <= BUDGET_BYTES {
            return self;
        }
        let before = item_size(&self);
        let mut step = "shortened messages";
        for error in &mut self.error_reason {
            error.message = messages::shortened(error);
        }
        if item_size(&self) > BUDGET_BYTES {
            step = "known columns only";
            self.product_data
                .retain(|column, _| KNOWN_COLUMNS.contains(&column.as_str()));
        }
        if item_size(&self) > BUDGET_BYTES {
            step = "no cells";
            self.product_data.clear();
        }
        tracing::warn!(
            upload_id = %self.upload_id,
            row_number = self.row_number,
            before,
            after = item_size(&self),
            step,
            "item shrunk to fit DynamoDB's item size limit"
        );
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::ErrorCode;
    use crate::model::{ProductData, RecordStatus, RowError};

    fn record(product_data: ProductData, errors: Vec<RowError>) -> UploadRecord {
        UploadRecord {
            file_name: format!("{}.csv", "f".repeat(1000)),
            status: RecordStatus::Error,
            error_type: errors.first().map(|e| e.error_type),
            error_reason: errors,
            ttl: 1_790_000_000,
            ..crate::model::sample_item(1, product_data)
        }
    }

    /// DynamoDB's rules applied to the item as serde writes it: the count above must
    /// follow the attribute names serde uses.
    fn size_of_serialised(record: &UploadRecord) -> usize {
        fn value(v: &serde_json::Value) -> usize {
            match v {
                serde_json::Value::String(s) => s.len(),
                serde_json::Value::Number(_) => NUMBER_BYTES,
                serde_json::Value::Bool(_) | serde_json::Value::Null => 1,
                serde_json::Value::Array(a) => {
                    COLLECTION_BYTES + a.iter().map(|e| ELEMENT_BYTES + value(e)).sum::<usize>()
                }
                serde_json::Value::Object(m) => {
                    COLLECTION_BYTES
                        + m.iter()
                            .map(|(k, e)| ELEMENT_BYTES + k.len() + value(e))
                            .sum::<usize>()
                }
            }
        }
        match serde_json::to_value(record) {
            Ok(serde_json::Value::Object(m)) => m.iter().map(|(k, v)| k.len() + value(v)).sum(),
            other => panic!("not an object: {other:?}"),
        }
    }

    #[test]
    fn the_count_follows_the_serialised_item() {
        let data: ProductData = [
            ("sku".to_string(), "A-1".to_string()),
            ("é".to_string(), "ü".to_string()),
        ]
        .into_iter()
        .collect();
        let errors = vec![
            RowError::new(ErrorCode::InvalidSku, "sku", "bad"),
            RowError::new(ErrorCode::MalformedRow, "", "row"),
        ];
        for r in [
            record(data.clone(), errors.clone()),
            record(ProductData::new(), errors),
            record(data, Vec::new()),
            record(ProductData::new(), Vec::new()),
        ] {
            assert_eq!(item_size(&r), size_of_serialised(&r));
        }
    }

    #[test]
    fn a_small_item_is_left_alone() {
        let r = record(
            [("sku".to_string(), "\0".to_string())].into_iter().collect(),
            vec![RowError::new(ErrorCode::InvalidCharacter, "sku", "long message")],
        );
        assert_eq!(r.clone().fitted(), r);
    }

    /// The worst case the reader lets through: 1,000 columns whose names fill the
    /// 64 KiB header, each cell a control character, every error full length.
    #[test]
    fn a_thousand_errors_with_long_column_names_fit_after_shrinking() {
        let names: Vec<String> = (0..1000).map(|i| format!("{i:04}{}", "ⱥ".repeat(20))).collect();
        assert!(names.iter().map(|n| n.len() + 1).sum::<usize>() <= 65 * 1024);
        let data: ProductData = names.iter().map(|n| (n.clone(), "\u{1}".repeat(60))).collect();
        let errors: Vec<RowError> = names
            .iter()
            .map(|n| crate::validation::messages::invalid_character(n, &"\u{1}".repeat(60), 1, '\u{1}'))
            .collect();
        let r = record(data, errors);
        assert!(item_size(&r) > ITEM_LIMIT_BYTES, "{} bytes", item_size(&r));
        let fitted = r.clone().fitted();
        assert!(item_size(&fitted) <= ITEM_LIMIT_BYTES, "{}", item_size(&fitted));
        assert_eq!(fitted.error_reason.len(), 1000);
        for (before, after) in r.error_reason.iter().zip(&fitted.error_reason) {
            assert_eq!(
                (before.error_type, &before.column),
                (after.error_type, &after.column)
            );
        }
    }

    /// Under DynamoDB's 400 KB but inside the 4 KiB margin kept for the count's
    /// approximations: shrunk all the same.
    #[test]
    fn an_item_within_4_kib_of_the_limit_is_shrunk() {
        let mut r = record(ProductData::new(), Vec::new());
        let room = ITEM_LIMIT_BYTES - 2 * 1024 - item_size(&r) - "description".len();
        r.product_data.insert("description".into(), "d".repeat(room));
        let size = item_size(&r);
        assert!(
            (ITEM_LIMIT_BYTES - 4 * 1024 + 1..ITEM_LIMIT_BYTES).contains(&size),
            "{size} bytes"
        );
        let fitted = r.fitted();
        assert!(fitted.product_data.is_empty(), "no cells kept");
        assert!(item_size(&fitted) <= ITEM_LIMIT_BYTES - 4 * 1024);
    }

    #[test]
    fn cells_of_unknown_columns_go_before_the_known_ones() {
        let mut data: ProductData = (0..900).map(|i| (format!("extra{i}"), "x".repeat(300))).collect();
        data.insert("sku".into(), "\u{0}".into());
        data.insert("description".into(), "d".repeat(60_000));
        let errors: Vec<RowError> = (0..900)
            .map(|i| RowError::new(ErrorCode::InvalidCharacter, format!("extra{i}"), "m".repeat(300)))
            .collect();
        let fitted = record(data, errors).fitted();
        assert!(item_size(&fitted) <= ITEM_LIMIT_BYTES);
        let kept: Vec<&str> = fitted.product_data.keys().map(String::as_str).collect();
        assert_eq!(kept, ["description", "sku"]);
    }
}
