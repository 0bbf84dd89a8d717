//! "Every upload ends", checked exactly: the counters, and every row accounted for once
//! — in the catalog from this upload or in `validation_errors`, its item `validated` or
//! `error` accordingly — and the report, line for line.

use crate::pipeline::{field, items, s3_text, TestStack, HEADER};
use domain::model::RecordStatus;
use std::collections::{BTreeMap, BTreeSet};

/// What an upload must end with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expect {
    pub total: u64,
    pub valid: u64,
    pub errors: u64,
}

/// A CSV file for the tests, and what it must come to.
pub struct CsvFile {
    pub body: Vec<u8>,
    pub expect: Expect,
}

/// `total` rows under `prefix` (unique product ids and SKUs): every `invalid_every`-th
/// row has a price the validator refuses, every `malformed_every`-th row too few fields
/// (an error the parser records itself); 0 turns either off.
pub fn csv_file(prefix: &str, total: u64, invalid_every: u64, malformed_every: u64) -> CsvFile {
    let hits = |every: u64, i: u64| every > 0 && i.is_multiple_of(every);
    let mut body = String::with_capacity(total as usize * 100 + HEADER.len());
    body.push_str(HEADER);
    let mut errors = 0;
    for i in 1..=total {
        body.push('\n');
        if hits(malformed_every, i) {
            body.push_str(&format!("{prefix}-P{i},Broken {i}"));
            errors += 1;
        } else if hits(invalid_every, i) {
            body.push_str(&format!(
                "{prefix}-P{i},Priceless {i},Electronics,{prefix}-SKU-{i},free,1,,,,"
            ));
            errors += 1;
        } else {
            body.push_str(&crate::pipeline::valid_row(prefix, i as usize, "4.99"));
        }
    }
    body.push('\n');
    CsvFile {
        body: body.into_bytes(),
        expect: Expect {
            total,
            valid: total - errors,
            errors,
        },
    }
}

/// Asserts that the upload ended exactly as expected; returns its history row.
pub async fn assert_exact(
    stack: &TestStack,
    db: &tokio_postgres::Client,
    upload_id: &str,
    expect: Expect,
) -> serde_json::Value {
    let h = stack.history(upload_id).await.expect("history");
    let status = match (expect.valid, expect.errors) {
        (_, 0) => "completed",
        (0, _) => "failed",
        _ => "partial",
    };
    assert_eq!(field(&h, "status"), status, "{h}");
    assert_eq!(field(&h, "total_records"), expect.total, "{h}");
    assert_eq!(field(&h, "valid_records"), expect.valid, "{h}");
    assert_eq!(field(&h, "error_records"), expect.errors, "{h}");
    assert!(!field(&h, "processing_completed_at").is_null(), "{h}");

    // Items: one per row, each decided.
    let items = items(stack, upload_id).await;
    assert_eq!(items.len() as u64, expect.total, "one item per row");
    let rows: BTreeSet<u64> = items.iter().map(|i| i.row_number).collect();
    assert_eq!(rows, (1..=expect.total).collect(), "every row has its item");
    let undecided: Vec<u64> = items
        .iter()
        .filter(|i| !matches!(i.status, RecordStatus::Validated | RecordStatus::Error))
        .map(|i| i.row_number)
        .collect();
    assert!(undecided.is_empty(), "items not decided: rows {undecided:?}");
    let validated: BTreeSet<String> = items
        .iter()
        .filter(|i| i.status == RecordStatus::Validated)
        .map(|i| {
            i.product_data
                .get("vendor_product_id")
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        })
        .collect();
    let error_rows: BTreeSet<i32> = items
        .iter()
        .filter(|i| i.status == RecordStatus::Error)
        .map(|i| i.row_number as i32)
        .collect();

    // The catalog holds exactly the validated rows from this upload.
    let products: Vec<String> = db
        .query(
            "SELECT vendor_product_id FROM products WHERE upload_id = $1",
            &[&upload_id],
        )
        .await
        .expect("products")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(products.len() as u64, expect.valid, "products from this upload");
    assert_eq!(
        products.iter().cloned().collect::<BTreeSet<_>>(),
        validated,
        "the catalog holds exactly the validated rows"
    );

    // validation_errors holds exactly the error rows, each error once.
    let recorded: Vec<(i32, String, String)> = crate::pipeline::errors(db, upload_id).await;
    let mut seen = BTreeMap::new();
    for e in &recorded {
        *seen.entry(e.clone()).or_insert(0) += 1;
    }
    let doubled: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(doubled.is_empty(), "errors recorded twice: {doubled:?}");
    let recorded_rows: BTreeSet<i32> = recorded.iter().map(|e| e.0).collect();
    assert_eq!(
        recorded_rows.len() as u64,
        expect.errors,
        "rows in validation_errors"
    );
    assert_eq!(
        recorded_rows, error_rows,
        "validation_errors holds exactly the error rows"
    );

    // The report: one line per recorded error, in row order.
    let key = field(&h, "error_file_s3_key");
    if expect.errors == 0 {
        assert!(key.is_null(), "{h}");
    } else {
        let key = key.as_str().expect("error_file_s3_key");
        let vendor = field(&h, "vendor_id").as_str().expect("vendor_id");
        assert_eq!(key, format!("reports/{vendor}/{upload_id}.csv"));
        let report = s3_text(stack, key).await;
        let mut reader = csv::Reader::from_reader(report.as_bytes());
        let at = reader
            .headers()
            .expect("report header")
            .iter()
            .position(|c| c == "row_number")
            .expect("a row_number column");
        let lines: Vec<i32> = reader
            .records()
            .map(|r| r.expect("report line")[at].parse().expect("row number"))
            .collect();
        let expected: Vec<i32> = recorded.iter().map(|e| e.0).collect();
        assert_eq!(lines, expected, "one report line per recorded error");
    }
    h
}

/// Every item's `status` by row, read raw: an item that does not read as an
/// `UploadRecords` item (a poison one) still has its key and status.
pub async fn raw_statuses(stack: &TestStack, upload_id: &str) -> BTreeMap<u64, String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut out = BTreeMap::new();
    let mut start = None;
    loop {
        let page = stack
            .dynamodb
            .query()
            .table_name(&stack.table)
            .key_condition_expression("upload_id = :u")
            .expression_attribute_values(":u", AttributeValue::S(upload_id.into()))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("query UploadRecords");
        for item in page.items() {
            let row = item
                .get("record_id")
                .and_then(|v| v.as_s().ok())
                .and_then(|id| domain::model::row_number_of(id))
                .expect("a record_id naming its row");
            let status = item
                .get("status")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            out.insert(row, status);
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    out
}
