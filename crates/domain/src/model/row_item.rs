//! The items the parser writes. A parsed row's item shares the upload's stamp and the
//! file's header with every other row, and holds its cells as [`Cells`]: it is written
//! exactly as the equivalent [`UploadRecord`] is, at a fraction of the allocations.

use super::item_limit::{core_size, row_cells_size, Core, BUDGET_BYTES};
use super::{record_id, Cells, RecordStatus, UploadRecord};
use chrono::{DateTime, Duration, Utc};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use std::borrow::Cow;
use std::sync::Arc;

/// What every item of one upload carries besides its row, made once per upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemStamp {
    // Private, and made only by `ItemStamp::new`: `core_bytes` is counted from the others.
    upload_id: String,
    vendor_id: String,
    file_name: String,
    /// `created_at` and `updated_at` of a new item: the event's time.
    created_at: String,
    /// Epoch seconds after which DynamoDB may expire the item.
    ttl: i64,
    /// The bytes of a new item's attributes but its cells and its `record_id`'s value,
    /// the same for every row (see [`RowItem::size`]).
    core_bytes: usize,
}

impl ItemStamp {
    pub fn new(
        upload_id: &str,
        vendor_id: &str,
        file_name: &str,
        event_time: DateTime<Utc>,
        record_ttl_days: i64,
    ) -> Arc<ItemStamp> {
        let created_at = event_time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let core_bytes = core_size(&Core {
            upload_id,
            record_id_len: 0,
            vendor_id,
            file_name,
            status: RecordStatus::PendingValidation,
            created_at: &created_at,
            updated_at: &created_at,
        });
        Arc::new(ItemStamp {
            upload_id: upload_id.to_string(),
            vendor_id: vendor_id.to_string(),
            file_name: file_name.to_string(),
            created_at,
            ttl: (event_time + Duration::days(record_ttl_days)).timestamp(),
            core_bytes,
        })
    }

    /// A new item of row `row_number` with these cells: `pending_validation` when there
    /// are no errors, else `error` with the first as `error_type`; for rows that go
    /// through [`UploadRecord`] (errors, or cells to shrink).
    pub fn record(
        &self,
        row_number: u64,
        product_data: super::ProductData,
        errors: Vec<super::RowError>,
    ) -> UploadRecord {
        let status = if errors.is_empty() {
            RecordStatus::PendingValidation
        } else {
            RecordStatus::Error
        };
        UploadRecord {
            upload_id: self.upload_id.clone(),
            record_id: record_id(row_number),
            vendor_id: self.vendor_id.clone(),
            file_name: self.file_name.clone(),
            row_number,
            product_data,
            status,
            error_type: super::first_error_type(&errors),
            error_reason: errors,
            created_at: self.created_at.clone(),
            updated_at: self.created_at.clone(),
            ttl: self.ttl,
        }
    }
}

/// The new item of a row read whole: `pending_validation`, no errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowItem {
    stamp: Arc<ItemStamp>,
    row_number: u64,
    cells: Cells,
}

impl RowItem {
    pub fn new(stamp: &Arc<ItemStamp>, row_number: u64, cells: Cells) -> RowItem {
        RowItem {
            stamp: Arc::clone(stamp),
            row_number,
            cells,
        }
    }

    pub fn row_number(&self) -> u64 {
        self.row_number
    }

    pub fn cells(&self) -> &Cells {
        &self.cells
    }

    /// Its size as [`super::item_size`] counts the same item: the stamp's attributes
    /// (counted once per upload), the `record_id`'s value and the cells.
    pub fn size(&self) -> usize {
        let digits = self.row_number.checked_ilog10().unwrap_or(0) as usize + 1;
        self.stamp.core_bytes + "REC_".len() + digits.max(6) + row_cells_size(&self.cells)
    }

    /// The item ready to write: as it is, or, when it would not fit DynamoDB's item
    /// limit, as the [`UploadRecord`] [`UploadRecord::fitted`] makes of it.
    pub fn fitted(self) -> NewItem {
        if self.size() <= BUDGET_BYTES {
            NewItem::Row(self)
        } else {
            NewItem::Record(Box::new(self.to_record().fitted()))
        }
    }

    pub fn to_record(&self) -> UploadRecord {
        self.stamp
            .record(self.row_number, self.cells.to_product_data(), Vec::new())
    }
}

/// Written with [`UploadRecord`]'s attribute names, and the same attributes.
impl Serialize for RowItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let has_cells = !self.cells.is_empty();
        let stamp = &*self.stamp;
        let mut item = serializer.serialize_struct("UploadRecord", 9 + usize::from(has_cells))?;
        item.serialize_field("upload_id", &stamp.upload_id)?;
        item.serialize_field("record_id", &record_id(self.row_number))?;
        item.serialize_field("vendor_id", &stamp.vendor_id)?;
        item.serialize_field("file_name", &stamp.file_name)?;
        item.serialize_field("row_number", &self.row_number)?;
        if has_cells {
            item.serialize_field("product_data", &self.cells)?;
        }
        item.serialize_field("status", &RecordStatus::PendingValidation)?;
        item.serialize_field("created_at", &stamp.created_at)?;
        item.serialize_field("updated_at", &stamp.created_at)?;
        item.serialize_field("ttl", &stamp.ttl)?;
        item.end()
    }
}

/// An item the parser writes: a parsed row's, or one built whole (a row in error, or
/// one shrunk to fit the item limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewItem {
    Row(RowItem),
    /// Boxed: rare, and three times a row item's size.
    Record(Box<UploadRecord>),
}

impl Serialize for NewItem {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            NewItem::Row(row) => row.serialize(serializer),
            NewItem::Record(record) => record.serialize(serializer),
        }
    }
}

/// An `UploadRecords` item as the record store writes it.
pub trait WriteItem: Serialize + Send + Sync {
    fn upload_id(&self) -> &str;
    fn record_id(&self) -> Cow<'_, str>;
    /// The item as the table then holds it.
    fn to_record(&self) -> UploadRecord;
}

impl WriteItem for UploadRecord {
    fn upload_id(&self) -> &str {
        &self.upload_id
    }

    fn record_id(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.record_id)
    }

    fn to_record(&self) -> UploadRecord {
        self.clone()
    }
}

impl WriteItem for NewItem {
    fn upload_id(&self) -> &str {
        match self {
            NewItem::Row(row) => &row.stamp.upload_id,
            NewItem::Record(record) => &record.upload_id,
        }
    }

    fn record_id(&self) -> Cow<'_, str> {
        match self {
            NewItem::Row(row) => Cow::Owned(record_id(row.row_number)),
            NewItem::Record(record) => Cow::Borrowed(&record.record_id),
        }
    }

    fn to_record(&self) -> UploadRecord {
        match self {
            NewItem::Row(row) => row.to_record(),
            NewItem::Record(record) => (**record).clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{item_size, Columns, ProductData, ITEM_LIMIT_BYTES};
    use chrono::TimeZone;

    fn stamp() -> Arc<ItemStamp> {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 23, 10, 30, 45)
            .single()
            .unwrap_or_default();
        ItemStamp::new("UPLOAD_20261123T103045_0123456789ab", "VEND001", "f.csv", at, 30)
    }

    fn cells(pairs: &[(&str, &str)]) -> Cells {
        let names = pairs.iter().map(|(n, _)| n.to_string()).collect();
        let text: String = pairs.iter().map(|(_, v)| *v).collect();
        let mut ends = Vec::new();
        let mut end = 0;
        for (_, v) in pairs {
            end += v.len();
            ends.push(end);
        }
        Cells::from_fields(&Columns::new(names), &text, &ends).expect("cells")
    }

    #[test]
    fn a_row_item_is_written_as_its_record_is() {
        let rows = [
            RowItem::new(
                &stamp(),
                1,
                cells(&[("sku", "A-1"), ("", "x"), ("price", "9.99")]),
            ),
            RowItem::new(&stamp(), 1_234_567, cells(&[("é", "ü, \"q\"")])),
            RowItem::new(&stamp(), 7, Cells::none()),
            RowItem::new(&stamp(), 8, cells(&[("", "only a blank name")])),
        ];
        for row in rows {
            let record = row.to_record();
            assert_eq!(
                serde_json::to_value(&row).expect("serialises"),
                serde_json::to_value(&record).expect("serialises"),
                "row {}",
                row.row_number()
            );
            assert_eq!(row.size(), item_size(&record), "row {}", row.row_number());
            let item = NewItem::Row(row);
            assert_eq!(item.record_id(), record.record_id.as_str());
            assert_eq!(item.upload_id(), record.upload_id);
            assert_eq!(item.to_record(), record);
        }
    }

    #[test]
    fn the_record_of_a_stamp_is_pending_without_errors_else_in_error() {
        let pending = stamp().record(3, ProductData::new(), Vec::new());
        assert_eq!(pending.status, RecordStatus::PendingValidation);
        assert_eq!(pending.error_type, None);
        assert_eq!(pending.created_at, "2026-11-23T10:30:45.000Z");
        assert_eq!(pending.updated_at, pending.created_at);
        assert_eq!(pending.ttl, 1_798_021_845, "30 days after the event");
        let errors = vec![
            crate::model::RowError::new(crate::ErrorCode::MalformedRow, "", "first"),
            crate::model::RowError::new(crate::ErrorCode::InvalidSku, "sku", "second"),
        ];
        let failed = stamp().record(3, ProductData::new(), errors);
        assert_eq!(failed.status, RecordStatus::Error);
        assert_eq!(failed.error_type, Some(crate::ErrorCode::MalformedRow));
    }

    #[test]
    fn a_row_too_large_for_an_item_is_shrunk_as_a_record() {
        let small = RowItem::new(&stamp(), 1, cells(&[("sku", "A-1")]));
        assert!(matches!(small.clone().fitted(), NewItem::Row(r) if r == small));
        let wide: Vec<(String, String)> = (0..7)
            .map(|i| (format!("extra{i}"), "x".repeat(60_000)))
            .collect();
        let pairs: Vec<(&str, &str)> = wide
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .chain([("sku", "A-1")])
            .collect();
        let big = RowItem::new(&stamp(), 2, cells(&pairs));
        assert!(big.size() > ITEM_LIMIT_BYTES);
        match big.fitted() {
            NewItem::Record(record) => {
                assert!(item_size(&record) <= ITEM_LIMIT_BYTES);
                assert_eq!(record.product_data.keys().collect::<Vec<_>>(), ["sku"]);
            }
            NewItem::Row(_) => panic!("kept whole over the limit"),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::proptest_cases(256)))]

        /// Any header (blank names included; a repeated name made blank, as a header
        /// never repeats one) and any cells: the lean item is written, and counted, as
        /// the record it stands for.
        #[test]
        fn any_row_item_is_written_and_counted_as_its_record(
            fields in proptest::collection::vec(("[a-cé]{0,3}", "\\PC{0,6}"), 0..24),
            row_number in 0u64..20_000_000,
        ) {
            let mut seen = std::collections::HashSet::new();
            let names: Vec<String> = fields
                .iter()
                .map(|(name, _)| if seen.insert(name.clone()) { name.clone() } else { String::new() })
                .collect();
            let text: String = fields.iter().map(|(_, value)| value.as_str()).collect();
            let ends: Vec<usize> = fields
                .iter()
                .scan(0, |end, (_, value)| {
                    *end += value.len();
                    Some(*end)
                })
                .collect();
            let cells = Cells::from_fields(&Columns::new(names), &text, &ends).expect("cells");
            let row = RowItem::new(&stamp(), row_number, cells);
            let record = row.to_record();
            proptest::prop_assert_eq!(
                serde_json::to_value(&row).expect("serialises"),
                serde_json::to_value(&record).expect("serialises")
            );
            proptest::prop_assert_eq!(row.size(), item_size(&record));
            proptest::prop_assert_eq!(row.cells().len(), record.product_data.len());
        }
    }
}
