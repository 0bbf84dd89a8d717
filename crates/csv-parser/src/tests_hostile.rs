//! Hostile and oversized input (DESIGN.md §3) against the in-memory ports, which refuse
//! what PostgreSQL (NUL) and DynamoDB (items over 400 KB) refuse: every example of
//! the issue "Every upload ends" gets its coded verdict instead of a failed write.

use super::tests::{event, failure, memory, SETTINGS};
use super::*;
use domain::model::RecordStatus;
use domain::upload::UploadStatus;
use testkit::Memory;

const HEADER: &str = "vendor_product_id,product_name,category,sku,price,stock_quantity";

/// Large enough for the big files below.
const BIG: Settings = Settings {
    max_upload_bytes: 200 * 1024 * 1024,
    record_ttl_days: SETTINGS.record_ttl_days,
    parse_lease: SETTINGS.parse_lease,
};

/// Puts `body` at `key` (not URL-encoded: the event encodes it) and parses it.
async fn parse(mem: &Memory, key: &str, body: Vec<u8>) -> Outcome {
    mem.put_object("b", key, body);
    let parser = Parser {
        objects: mem,
        records: mem,
        ledger: mem,
        settings: &BIG,
        notify: mem.notify(),
    };
    let event = event(&domain::upload::encode_event_key(key), "00A1");
    let outcomes = parser
        .handle(&event)
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}"));
    outcomes.into_iter().next().expect("one outcome")
}

fn parsed_id(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Parsed { upload_id, .. } => upload_id.clone(),
        other => panic!("expected a parsed upload, got {other:?}"),
    }
}

fn failed(outcome: &Outcome, code: ErrorCode) -> String {
    match outcome {
        Outcome::Failed {
            upload_id,
            error_type,
        } if *error_type == code => upload_id.clone(),
        other => panic!("expected {code}, got {other:?}"),
    }
}

fn csv(rows: &[String]) -> Vec<u8> {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s.into_bytes()
}

#[tokio::test]
async fn a_nul_in_a_sku_or_a_name_is_parsed_kept_raw_and_owns_nothing() {
    let mem = memory();
    let outcome = parse(
        &mem,
        "uploads/VEND001/nul.csv",
        csv(&[
            "P1,Mou\0se,Books,S-1,1.00,1".into(),
            "P2,Pad,Books,S-\u{0}2,1.00,1".into(),
            "P3,Cable,Books,S-\u{0}2,1.00,1".into(),
        ]),
    )
    .await;
    let id = parsed_id(&outcome);
    let items = mem.items_of(&id);
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|i| i.status == RecordStatus::PendingValidation));
    assert_eq!(
        items[0].product_data.get("product_name").map(String::as_str),
        Some("Mou\0se"),
        "DynamoDB keeps the raw cell"
    );
    assert_eq!(mem.claim(&id, "sku", "S-1"), Some(1));
    assert_eq!(
        mem.claim(&id, "sku", "S-\u{0}2"),
        None,
        "a value with NUL owns nothing"
    );
    assert_eq!(mem.claim(&id, "vendor_product_id", "P3"), Some(3));
}

#[tokio::test]
async fn a_1_mb_cell_and_a_450_kb_row_are_row_too_large_and_the_rest_is_read() {
    let mem = memory();
    let extra: Vec<String> = (0..50).map(|i| format!("extra{i}")).collect();
    let mut body = format!("{HEADER},{}\n", extra.join(",")).into_bytes();
    let fill = ",".repeat(50);
    body.extend(format!("P1,{},Books,S-1,1.00,1{fill}\n", "x".repeat(1024 * 1024)).bytes());
    let wide: Vec<String> = (0..50).map(|_| "y".repeat(9_000)).collect();
    body.extend(format!("P2,Pad,Books,S-2,1.00,1,{}\n", wide.join(",")).bytes());
    body.extend(format!("P3,Cable,Books,S-3,1.00,1{fill}\n").bytes());
    let id = parsed_id(&parse(&mem, "uploads/VEND001/big.csv", body).await);
    let items = mem.items_of(&id);
    assert_eq!(items.len(), 3);
    for item in &items[..2] {
        assert_eq!(item.status, RecordStatus::Error);
        assert_eq!(item.error_type, Some(ErrorCode::RowTooLarge));
        assert!(item.product_data.is_empty());
        assert_eq!(item.error_reason[0].column, "");
    }
    assert!(items[0].error_reason[0]
        .message
        .starts_with("row is 1048646 bytes long"));
    assert_eq!(items[2].status, RecordStatus::PendingValidation);
    // Nothing of the large rows is claimed.
    assert_eq!(mem.claim(&id, "vendor_product_id", "P1"), None);
    assert_eq!(mem.claim(&id, "vendor_product_id", "P3"), Some(3));
}

#[tokio::test]
async fn an_unterminated_quote_is_one_row_too_large_after_the_rows_before_it() {
    let mem = memory();
    let mut body = csv(&["P1,Mouse,Books,S-1,1.00,1".into()]);
    body.extend(b"P2,\"Pad,Books,S-2,1.00,1\n");
    body.extend("P3,Cable,Books,S-3,1.00,1\n".repeat(5_000).bytes());
    let outcome = parse(&mem, "uploads/VEND001/quote.csv", body).await;
    let id = parsed_id(&outcome);
    assert_eq!(
        outcome,
        Outcome::Parsed {
            upload_id: id.clone(),
            total_records: 2
        }
    );
    assert_eq!(
        mem.item(&id, 2).and_then(|i| i.error_type),
        Some(ErrorCode::RowTooLarge)
    );
}

#[tokio::test]
async fn a_header_with_100000_columns_or_a_repeated_name_is_invalid_header() {
    let names: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    let wide = format!("{HEADER},{}\nP1\n", names.join(","));
    let cases = [
        ("uploads/VEND001/wide.csv", wide.into_bytes(), ""),
        (
            "uploads/VEND001/dup.csv",
            format!("{HEADER},SKU\nP1,Mouse,Books,S-1,1.00,1,S-9\n").into_bytes(),
            "sku",
        ),
    ];
    for (key, body, field) in cases {
        let mem = memory();
        let id = failed(&parse(&mem, key, body).await, ErrorCode::InvalidHeader);
        let (status, report_key, errors) = failure(&mem, &id);
        assert_eq!(status, UploadStatus::Failed);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            (errors[0].line.row_number, errors[0].error_field.as_str()),
            (0, field),
            "{key}"
        );
        let report = mem
            .object_text("b", &report_key.expect("a report"))
            .expect("report");
        assert!(
            report.starts_with("row_number,error_type,error_message\r\n0,INVALID_HEADER,"),
            "{report}"
        );
        assert!(mem.items.lock().expect("lock").is_empty());
    }
}

#[tokio::test]
async fn a_vendor_segment_that_cannot_be_a_vendor_id_is_unknown_vendor_with_its_history() {
    let long = "V".repeat(60);
    for (segment, recorded) in [
        (long.as_str(), long.clone()),
        ("VEND\u{0}01", "VEND\u{FFFD}01".to_string()),
        ("VEND 001", "VEND 001".to_string()),
    ] {
        let mem = memory();
        let key = format!("uploads/{segment}/x.csv");
        let id = failed(&parse(&mem, &key, csv(&[])).await, ErrorCode::UnknownVendor);
        let (status, report_key, errors) = failure(&mem, &id);
        assert_eq!(status, UploadStatus::Failed);
        let db = mem.db.lock().expect("lock");
        let history = db.history.get(&id).expect("history");
        assert_eq!(history.vendor_id, recorded);
        assert!(!history.s3_key.contains('\0'));
        assert_eq!(report_key, Some(format!("reports/{recorded}/{id}.csv")));
        assert!(
            errors[0].line.error_message.contains("no vendor can have it"),
            "{}",
            errors[0].line.error_message
        );
    }
}

#[tokio::test]
async fn a_file_name_of_any_length_is_stored_whole() {
    let mem = memory();
    let name = format!("{}.csv", "n".repeat(296));
    let key = format!("uploads/VEND001/{name}");
    let id = parsed_id(&parse(&mem, &key, csv(&["P1,Mouse,Books,S-1,1.00,1".into()])).await);
    let db = mem.db.lock().expect("lock");
    let history = db.history.get(&id).expect("history");
    assert_eq!(history.file_name, name);
    assert_eq!(history.s3_key, key);
}

#[tokio::test]
async fn every_item_fits_even_when_a_row_is_64_kib_of_bytes_that_are_not_utf8() {
    let mem = memory();
    let mut body = format!("{HEADER},notes\n").into_bytes();
    body.extend(b"P1,Mouse,Books,S-1,1.00,1,");
    body.extend(std::iter::repeat_n(0xFFu8, 65_000));
    body.push(b'\n');
    let id = parsed_id(&parse(&mem, "uploads/VEND001/enc.csv", body).await);
    let item = mem.item(&id, 1).expect("item");
    assert_eq!(item.error_type, Some(ErrorCode::InvalidEncoding));
    assert!(domain::model::item_size(&item) <= domain::model::ITEM_LIMIT_BYTES);
}
