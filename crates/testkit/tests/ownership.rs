//! In-file ownership: whatever the split of the file into claim flushes (the parser
//! flushes every 2,000 claims) and whatever the order the flushes land in, the owner of
//! a sku or vendor_product_id is the lowest row carrying it, and every later row is a
//! duplicate of that row, never of another. The claims go through the in-memory ledger
//! the pipeline's unit tests run on, the facts through `BatchContext::duplicate_facts`.

use domain::model::{RecordStatus, UploadRecord};
use domain::ports::{CatalogStore, Claim, UploadIntake};
use proptest::prelude::*;
use std::collections::HashMap;
use testkit::Memory;

const UPLOAD: &str = "UPLOAD_1";

fn item(row_number: u64, sku: &str, vpid: &str) -> UploadRecord {
    UploadRecord {
        upload_id: UPLOAD.into(),
        record_id: format!("REC_{row_number:06}"),
        vendor_id: "VEND001".into(),
        file_name: "f.csv".into(),
        row_number,
        product_data: [("sku", sku), ("vendor_product_id", vpid)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        status: RecordStatus::PendingValidation,
        error_type: None,
        error_reason: Vec::new(),
        created_at: String::new(),
        updated_at: String::new(),
        ttl: 0,
    }
}

/// Rows (sku, vendor_product_id) over few values, some blank or padded; flush sizes; the
/// order the flushes are registered in.
fn file() -> impl Strategy<Value = (Vec<(String, String)>, Vec<usize>, Vec<usize>)> {
    let value = prop::sample::select(vec!["A", "B", " A ", "C", ""]).prop_map(String::from);
    (
        prop::collection::vec((value.clone(), value), 1..30),
        prop::collection::vec(1usize..7, 1..12),
    )
        .prop_flat_map(|(rows, sizes)| {
            let flushes = sizes.len();
            (
                Just(rows),
                Just(sizes),
                Just((0..flushes).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_lowest_row_owns_a_value_whatever_the_flushes_and_their_order((rows, sizes, order) in file()) {
        let items: Vec<UploadRecord> = rows
            .iter()
            .enumerate()
            .map(|(i, (sku, vpid))| item(i as u64 + 1, sku, vpid))
            .collect();
        let claims: Vec<Claim> = items
            .iter()
            .flat_map(|i| Claim::of_row(i.row_number, &i.product_data).collect::<Vec<_>>())
            .collect();
        // Cut into flushes of the given sizes (the last takes the rest), register them in
        // the given order.
        let mut flushes = Vec::new();
        let mut rest = claims.as_slice();
        for size in &sizes {
            let (head, tail) = rest.split_at((*size).min(rest.len()));
            flushes.push(head);
            rest = tail;
        }
        if let Some(last) = flushes.last_mut() {
            let (start, len) = (claims.len() - rest.len() - last.len(), last.len() + rest.len());
            *last = &claims[start..start + len];
        }
        let mem = Memory::default();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap_or_else(|e| panic!("{e}"));
        let ctx = runtime.block_on(async {
            for i in &order {
                mem.register_claims(UPLOAD, flushes[*i]).await.unwrap_or_else(|e| panic!("{e}"));
            }
            let rows: Vec<u64> = items.iter().map(|i| i.row_number).collect();
            mem.batch_context(UPLOAD, &rows, &claims).await.unwrap_or_else(|e| panic!("{e}"))
        });

        // The expected owner: the lowest row per (column, trimmed non-blank value).
        let mut lowest: HashMap<(&str, String), u64> = HashMap::new();
        for (i, (sku, vpid)) in rows.iter().enumerate() {
            for (column, value) in [("sku", sku), ("vendor_product_id", vpid)] {
                if !value.trim().is_empty() {
                    lowest.entry((column, value.trim().to_string())).or_insert(i as u64 + 1);
                }
            }
        }
        for ((column, value), row) in &lowest {
            prop_assert_eq!(mem.claim(UPLOAD, column, value), Some(*row), "{} {:?}", column, value);
        }
        for item in &items {
            let facts = ctx.duplicate_facts(item);
            let earlier = |column: &'static str| {
                let value = item.product_data[column].trim().to_string();
                lowest.get(&(column, value)).copied().filter(|owner| *owner < item.row_number)
            };
            prop_assert_eq!(facts.sku_taken_earlier_in_file, earlier("sku"), "row {}", item.row_number);
            prop_assert_eq!(facts.vendor_product_id_taken_earlier_in_file, earlier("vendor_product_id"));
            prop_assert!(!facts.sku_owned_by_other_product, "no catalog product holds it");
        }
    }
}
