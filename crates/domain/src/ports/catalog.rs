//! The catalog side of validation: what a batch needs to be judged, and the verdicts.

use super::{Claim, UploadState};
use crate::error::PortError;
use crate::model::{ProductData, RowError, UploadRecord};
use crate::validation::{owned_value, DuplicateFacts, ValidProduct};
use async_trait::async_trait;
use std::collections::HashMap;

/// A verdict on one data row.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Valid(Box<ValidProduct>),
    Error(Vec<RowError>),
}

impl Verdict {
    pub fn errors(&self) -> &[RowError] {
        match self {
            Verdict::Valid(_) => &[],
            Verdict::Error(errors) => errors,
        }
    }

    /// What the ledger keeps of it (the product itself lives in `products`).
    pub fn stored(&self) -> StoredVerdict {
        match self {
            Verdict::Valid(_) => StoredVerdict::Valid,
            Verdict::Error(errors) => StoredVerdict::Error(errors.clone()),
        }
    }
}

/// A verdict as the ledger stores it (the product itself lives in `products`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredVerdict {
    Valid,
    Error(Vec<RowError>),
}

/// Everything the validator needs from PostgreSQL for one batch of one upload.
#[derive(Debug, Clone, Default)]
pub struct BatchContext {
    /// Verdicts already decided for rows of this batch (redelivery).
    pub decided: HashMap<u64, StoredVerdict>,
    /// (column, trimmed value) → lowest row number of the file carrying it.
    pub owners: HashMap<(String, String), u64>,
    /// sku → (vendor_id, vendor_product_id) of the catalog product holding it.
    pub sku_holders: HashMap<String, (String, String)>,
    /// Active category names, canonical spelling.
    pub categories: Vec<String>,
    /// The file's normalised header, in file order (errors are reported in this order).
    pub columns: Vec<String>,
}

impl BatchContext {
    /// What this context says about the item's sku and vendor_product_id: an earlier
    /// row of the file owning either value, or the sku held by another catalog product
    /// (another vendor's, or this vendor's under another vendor_product_id). Values are
    /// taken as [`owned_value`] gives them, as the parser's claims were.
    pub fn duplicate_facts(&self, item: &UploadRecord) -> DuplicateFacts {
        let data = &item.product_data;
        let earlier_owner = |column: &str| {
            owned_value(data, column)
                .and_then(|v| self.owners.get(&(column.to_string(), v.to_string())))
                .copied()
                .filter(|owner| *owner < item.row_number)
        };
        DuplicateFacts {
            sku_taken_earlier_in_file: earlier_owner("sku"),
            vendor_product_id_taken_earlier_in_file: earlier_owner("vendor_product_id"),
            sku_owned_by_other_product: self.sku_held_by_other_product(&item.vendor_id, data),
        }
    }

    fn sku_held_by_other_product(&self, vendor_id: &str, data: &ProductData) -> bool {
        let Some((holder_vendor, holder_vpid)) =
            owned_value(data, "sku").and_then(|s| self.sku_holders.get(s))
        else {
            return false;
        };
        holder_vendor != vendor_id || Some(holder_vpid.as_str()) != owned_value(data, "vendor_product_id")
    }
}

#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// One constant set of queries per batch, whatever its size. `claims` are the
    /// values the batch's rows carry in the columns unique within the file
    /// ([`Claim::of_row`]), each (column, value) once.
    async fn batch_context(
        &self,
        upload_id: &str,
        row_numbers: &[u64],
        claims: &[Claim],
    ) -> Result<BatchContext, PortError>;
    /// Atomically: records the verdicts not yet recorded, upserts the newly valid
    /// products and counts them. `verdicts` holds each row number once. Returns the verdict that stands for each row (a
    /// concurrent delivery may have decided a row first) and the upload as the write
    /// left it.
    async fn commit_verdicts(
        &self,
        upload_id: &str,
        vendor_id: &str,
        verdicts: &[(u64, Verdict)],
    ) -> Result<Committed, PortError>;
}

/// What [`CatalogStore::commit_verdicts`] leaves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Committed {
    /// The verdict that stands for each row committed.
    pub standing: HashMap<u64, StoredVerdict>,
    /// The upload's history row as the transaction committed it, counters included.
    /// Read under the row's lock, which every writer of its counters takes, so the
    /// transaction that commits the last count sees the whole: the finaliser needs no
    /// read of its own. `None` when there was nothing to commit (no transaction ran).
    pub upload: Option<UploadState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(row_number: u64, sku: &str, vpid: &str) -> UploadRecord {
        let cells = [("sku", sku), ("vendor_product_id", vpid)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        crate::model::sample_item(row_number, cells)
    }

    fn held_by(vendor: &str, vpid: &str) -> BatchContext {
        let mut ctx = BatchContext::default();
        ctx.sku_holders.insert("S-1".into(), (vendor.into(), vpid.into()));
        ctx
    }

    #[test]
    fn a_sku_another_vendor_holds_is_taken_whatever_its_vendor_product_id() {
        // sample_item's vendor is VEND001. Another vendor holding the SKU under the same
        // vendor_product_id is still another product: the upsert would hit the unique
        // index on products.sku, be retried as "transient" and end in the on-failure queue.
        let row = item(2, " S-1 ", "VP-1");
        assert!(
            held_by("VEND002", "VP-1")
                .duplicate_facts(&row)
                .sku_owned_by_other_product
        );
        assert!(
            held_by("VEND002", "OTHER")
                .duplicate_facts(&row)
                .sku_owned_by_other_product
        );
        // This vendor's other product holds it.
        assert!(
            held_by("VEND001", "OTHER")
                .duplicate_facts(&row)
                .sku_owned_by_other_product
        );
        // This vendor's same product: a re-upload, not a duplicate.
        assert!(
            !held_by("VEND001", "VP-1")
                .duplicate_facts(&row)
                .sku_owned_by_other_product
        );
        // Nobody holds it, or the row has no SKU to compare.
        assert!(
            !BatchContext::default()
                .duplicate_facts(&row)
                .sku_owned_by_other_product
        );
        assert!(
            !held_by("VEND002", "VP-1")
                .duplicate_facts(&item(2, "", "VP-1"))
                .sku_owned_by_other_product
        );
    }

    #[test]
    fn a_verdict_gives_its_errors_and_a_valid_one_none() {
        use crate::codes::ErrorCode;
        let errors = vec![
            RowError::new(ErrorCode::InvalidPrice, "price", "not a price"),
            RowError::new(ErrorCode::InvalidSku, "sku", "blank"),
        ];
        assert_eq!(Verdict::Error(errors.clone()).errors(), errors.as_slice());
        assert_eq!(Verdict::Error(Vec::new()).errors(), &[] as &[RowError]);
    }

    #[test]
    fn only_an_earlier_row_owns_a_value() {
        let mut ctx = BatchContext::default();
        ctx.owners.insert(("sku".into(), "S-1".into()), 5);
        ctx.owners.insert(("vendor_product_id".into(), "VP-1".into()), 3);
        let facts = |row| ctx.duplicate_facts(&item(row, "S-1", "VP-1"));
        assert_eq!(facts(6).sku_taken_earlier_in_file, Some(5));
        assert_eq!(facts(6).vendor_product_id_taken_earlier_in_file, Some(3));
        // The owner itself, and rows before it, are not duplicates of it.
        assert_eq!(facts(5).sku_taken_earlier_in_file, None);
        assert_eq!(facts(5).vendor_product_id_taken_earlier_in_file, Some(3));
        assert_eq!(facts(3).vendor_product_id_taken_earlier_in_file, None);
        assert_eq!(facts(1), DuplicateFacts::default());
        // A value is owned per column: a sku equal to another row's vendor_product_id is
        // not a duplicate.
        let crossed = ctx.duplicate_facts(&item(9, "VP-1", "S-1"));
        assert_eq!(crossed, DuplicateFacts::default());
    }

    #[test]
    fn duplicate_facts_ignore_values_with_control_characters() {
        let mut ctx = BatchContext::default();
        ctx.owners.insert(("sku".into(), "S-1".into()), 1);
        ctx.owners.insert(("vendor_product_id".into(), "VP-1".into()), 1);
        ctx.sku_holders
            .insert("S-1".into(), ("VEND002".into(), "OTHER".into()));
        let clean = ctx.duplicate_facts(&item(5, "S-1", "VP-1"));
        assert_eq!(clean.sku_taken_earlier_in_file, Some(1));
        assert_eq!(clean.vendor_product_id_taken_earlier_in_file, Some(1));
        assert!(clean.sku_owned_by_other_product);
        // The same values with a control character after them own nothing, and match
        // nothing: the row's verdict for those columns is INVALID_CHARACTER alone.
        let dirty = ctx.duplicate_facts(&item(5, "S-1\u{0}", "VP-1\u{1}"));
        assert_eq!(dirty, DuplicateFacts::default());
    }
}
