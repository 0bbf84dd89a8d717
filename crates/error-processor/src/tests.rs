//! The error processor against the shared in-memory ports (`testkit::Memory`): no AWS,
//! no database, milliseconds. Any call can be made to fail transiently.

use super::*;
use aws_lambda_events::event::dynamodb::Event;
use domain::codes::ErrorCode;
use domain::model::{record_id, ProductData, RowError};
use domain::ports::StoredVerdict;
use domain::upload::{report_key, UploadStatus};
use testkit::events::{sequence_of, stream_event};
use testkit::memory::{Decided, History};
use testkit::Memory;

const BUCKET: &str = "b";
const VENDOR: &str = "VEND001";
const COLUMNS: [&str; 6] = [
    "vendor_product_id",
    "product_name",
    "category",
    "sku",
    "price",
    "stock_quantity",
];

/// An item of `VEND001`'s upload with this status.
fn item(
    upload_id: &str,
    n: u64,
    status: RecordStatus,
    product_data: ProductData,
    errors: Vec<RowError>,
) -> UploadRecord {
    UploadRecord {
        upload_id: upload_id.into(),
        record_id: record_id(n),
        vendor_id: VENDOR.into(),
        file_name: "p.csv".into(),
        row_number: n,
        product_data,
        status,
        error_type: errors.first().map(|e| e.error_type),
        error_reason: errors,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:01:00.000Z".into(),
        ttl: 1_800_000_000,
    }
}

/// A row's raw cells.
fn cells(vpid: &str, sku: &str, price: &str, stock: &str) -> ProductData {
    [
        ("vendor_product_id", vpid.to_string()),
        ("product_name", format!("Product {vpid}")),
        ("category", "Books".to_string()),
        ("sku", sku.to_string()),
        ("price", price.to_string()),
        ("stock_quantity", stock.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The upload as the parser and the validator leave it: `total` rows, the validator's
/// verdicts (a valid row already counted, an error row decided but not yet recorded).
fn upload(mem: &Memory, upload_id: &str, total: i64, verdicts: &[(u64, StoredVerdict)]) {
    let mut db = mem.db.lock().expect("lock");
    let valid = verdicts
        .iter()
        .filter(|(_, v)| *v == StoredVerdict::Valid)
        .count() as i64;
    db.history.insert(
        upload_id.to_string(),
        History {
            valid,
            ..History::processing(VENDOR, total, &COLUMNS)
        },
    );
    for (n, verdict) in verdicts {
        db.rows.insert(
            (upload_id.to_string(), *n),
            Decided {
                verdict: verdict.clone(),
                error_recorded: false,
            },
        );
    }
}

fn seq(item: &UploadRecord) -> String {
    sequence_of(item)
}

fn event(items: &[&UploadRecord]) -> Event {
    stream_event(items).expect("a DynamoDB stream event")
}

/// Delivers the batch; returns the reported batch item failures, sorted.
async fn deliver(mem: &Memory, event: &Event) -> Vec<String> {
    let processor = ErrorProcessor {
        ledger: mem,
        objects: mem,
        bucket: BUCKET,
        notify: mem.notify(),
    };
    let mut failed: Vec<String> = processor
        .handle(event)
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier.expect("an item identifier"))
        .collect();
    failed.sort();
    failed
}

fn counters(mem: &Memory, upload_id: &str) -> (i64, i64, UploadStatus) {
    mem.counters(upload_id).expect("history")
}

fn error_lines(mem: &Memory) -> usize {
    mem.db.lock().expect("lock").errors.len()
}

fn report(mem: &Memory, key: &str) -> Option<String> {
    mem.object_text(BUCKET, key)
}

/// Row 1 valid (counted by the validator), row 2 with two errors decided by the
/// validator, row 3 a row the parser could not read.
fn three_rows(mem: &Memory) -> [UploadRecord; 3] {
    let price = RowError::new(
        ErrorCode::InvalidPrice,
        "price",
        "price \"=1+1\" is not a decimal.",
    );
    let stock = RowError::new(
        ErrorCode::InvalidStock,
        "stock_quantity",
        "stock_quantity \"x\" is not an integer.",
    );
    let malformed = RowError::new(
        ErrorCode::MalformedRow,
        "",
        "Row 3 has 2 fields; the header has 6.",
    );
    upload(
        mem,
        "U1",
        3,
        &[
            (1, StoredVerdict::Valid),
            (2, StoredVerdict::Error(vec![price.clone(), stock.clone()])),
        ],
    );
    [
        item(
            "U1",
            1,
            RecordStatus::Validated,
            cells("P1", "S-1", "1.00", "5"),
            Vec::new(),
        ),
        item(
            "U1",
            2,
            RecordStatus::Error,
            cells("P2", "S-2", "=1+1", "x"),
            vec![price, stock],
        ),
        item("U1", 3, RecordStatus::Error, ProductData::new(), vec![malformed]),
    ]
}

#[tokio::test]
async fn error_rows_are_recorded_once_and_the_last_one_ends_the_upload_with_its_report() {
    let mem = Memory::default();
    let [one, two, three] = three_rows(&mem);
    let key = report_key(VENDOR, "U1");

    // Row 1 is validated: not the error processor's; row 2 is recorded, the upload goes on.
    assert_eq!(deliver(&mem, &event(&[&one, &two])).await, Vec::<String>::new());
    assert_eq!(
        *mem.recorded.lock().expect("lock"),
        vec![("U1".to_string(), vec![2], 1)]
    );
    assert_eq!(counters(&mem, "U1"), (1, 1, UploadStatus::Processing));
    assert_eq!(error_lines(&mem), 2, "one line per error");
    assert!(report(&mem, &key).is_none());
    assert!(mem.finished.lock().expect("lock").is_empty());

    // Row 3 is the last: counted, then the report, then the final status.
    assert_eq!(deliver(&mem, &event(&[&three])).await, Vec::<String>::new());
    assert_eq!(counters(&mem, "U1"), (1, 2, UploadStatus::Partial));
    assert_eq!(
        *mem.finished.lock().expect("lock"),
        vec![("U1".to_string(), UploadStatus::Partial, Some(key.clone()))]
    );
    let text = report(&mem, &key).expect("the report at reports/VEND001/U1.csv");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(
        lines[0],
        "vendor_product_id,product_name,category,sku,price,stock_quantity,row_number,error_type,error_message"
    );
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[1].starts_with("P2,Product P2,Books,S-2,'=1+1,x,2,INVALID_PRICE,"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("P2,Product P2,Books,S-2,'=1+1,x,2,INVALID_STOCK,"),
        "{text}"
    );
    assert!(lines[3].starts_with(",,,,,,3,MALFORMED_ROW,"), "{text}");

    // The whole stream again: nothing new, nothing counted, the report written once.
    assert_eq!(
        deliver(&mem, &event(&[&one, &two, &three])).await,
        Vec::<String>::new()
    );
    assert_eq!(
        mem.recorded.lock().expect("lock").last(),
        Some(&("U1".to_string(), vec![2, 3], 0))
    );
    assert_eq!(counters(&mem, "U1"), (1, 2, UploadStatus::Partial));
    assert_eq!(error_lines(&mem), 3);
    assert_eq!(*mem.object_puts.lock().expect("lock"), 1);
    assert_eq!(mem.finished.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn a_transient_fault_while_recording_counts_nothing_and_is_retried() {
    let mem = Memory::default();
    let [_, two, three] = three_rows(&mem);
    mem.fail("record_errors", None, 1);

    let failed = deliver(&mem, &event(&[&two, &three])).await;

    assert_eq!(failed, vec![seq(&two), seq(&three)]);
    assert_eq!(counters(&mem, "U1"), (1, 0, UploadStatus::Processing));
    assert_eq!(error_lines(&mem), 0);
    assert!(mem.recorded.lock().expect("lock").is_empty());
    assert!(mem.objects.lock().expect("lock").is_empty());
    assert!(mem.finished.lock().expect("lock").is_empty());

    assert_eq!(deliver(&mem, &event(&[&two, &three])).await, Vec::<String>::new());
    assert_eq!(counters(&mem, "U1"), (1, 2, UploadStatus::Partial));
    assert_eq!(error_lines(&mem), 3);
}

#[tokio::test]
async fn a_report_that_cannot_be_written_yet_is_written_by_the_retry() {
    let mem = Memory::default();
    let [_, two, three] = three_rows(&mem);
    let key = report_key(VENDOR, "U1");
    mem.fail("put", None, 1);

    // The rows are counted, but an upload with errors is final only with its report.
    let failed = deliver(&mem, &event(&[&two, &three])).await;
    assert_eq!(failed, vec![seq(&two), seq(&three)]);
    assert_eq!(counters(&mem, "U1"), (1, 2, UploadStatus::Processing));
    assert!(mem.finished.lock().expect("lock").is_empty());

    assert_eq!(deliver(&mem, &event(&[&two, &three])).await, Vec::<String>::new());
    assert_eq!(
        mem.recorded.lock().expect("lock").last(),
        Some(&("U1".to_string(), vec![2, 3], 0)),
        "nothing recorded twice"
    );
    assert_eq!(counters(&mem, "U1"), (1, 2, UploadStatus::Partial));
    assert!(report(&mem, &key).is_some());
    assert_eq!(
        *mem.finished.lock().expect("lock"),
        vec![("U1".to_string(), UploadStatus::Partial, Some(key))]
    );
}

#[tokio::test]
async fn an_error_item_without_reasons_still_counts() {
    let mem = Memory::default();
    upload(&mem, "U2", 1, &[]);
    let mut bare = item("U2", 1, RecordStatus::Error, ProductData::new(), Vec::new());
    bare.error_type = Some(ErrorCode::InvalidEncoding);

    assert_eq!(deliver(&mem, &event(&[&bare])).await, Vec::<String>::new());

    assert_eq!(counters(&mem, "U2"), (0, 1, UploadStatus::Failed));
    let key = report_key(VENDOR, "U2");
    assert_eq!(
        *mem.finished.lock().expect("lock"),
        vec![("U2".to_string(), UploadStatus::Failed, Some(key.clone()))]
    );
    let text = report(&mem, &key).expect("a report");
    assert!(text.contains(",,,,,,1,INVALID_ENCODING,"), "{text}");
}

#[tokio::test]
async fn a_report_larger_than_a_part_is_written_in_parts_with_the_same_bytes() {
    let mem = Memory::default();
    let rows: u64 = 20_000;
    upload(&mem, "BIG", rows as i64, &[]);
    let long = "x".repeat(400);
    let items: Vec<UploadRecord> = (1..=rows)
        .map(|n| {
            let error = RowError::new(ErrorCode::InvalidPrice, "price", format!("row {n}: {long}"));
            item(
                "BIG",
                n,
                RecordStatus::Error,
                cells(&format!("P{n}"), &format!("S-{n}"), "x", "1"),
                vec![error],
            )
        })
        .collect();
    for chunk in items.chunks(500) {
        let refs: Vec<&UploadRecord> = chunk.iter().collect();
        assert_eq!(deliver(&mem, &event(&refs)).await, Vec::<String>::new());
    }
    assert_eq!(counters(&mem, "BIG"), (0, rows as i64, UploadStatus::Failed));
    assert_eq!(
        *mem.multipart_completed.lock().expect("lock"),
        1,
        "written in parts"
    );
    let report = report(&mem, &report_key(VENDOR, "BIG")).expect("the report");
    assert!(
        report.len() > domain::report_upload::PART_BYTES,
        "{} bytes",
        report.len()
    );
    let columns: Vec<String> = COLUMNS.iter().map(|c| c.to_string()).collect();
    let expected = domain::report::render(&columns, &mem.error_lines("BIG")).expect("render");
    assert!(
        report.as_bytes() == expected.as_slice(),
        "the parts assemble the whole report"
    );
    assert!(
        mem.parts.lock().expect("lock").is_empty(),
        "no multipart upload left behind"
    );
}

#[tokio::test]
async fn the_error_processor_that_ends_an_upload_announces_it_once_with_the_report_link() {
    let mem = Memory::default();
    let [one, two, three] = three_rows(&mem);
    assert_eq!(deliver(&mem, &event(&[&one, &two])).await, Vec::<String>::new());
    assert_eq!(mem.topic.count(), 0);
    assert_eq!(deliver(&mem, &event(&[&three])).await, Vec::<String>::new());
    // Redelivered: recorded once, announced once.
    assert_eq!(deliver(&mem, &event(&[&two, &three])).await, Vec::<String>::new());
    let sent = mem.topic.defaults("U1");
    assert_eq!(sent.len(), 1, "{sent:?}");
    let n = &sent[0];
    assert_eq!(n["type"], "UPLOAD_FINISHED");
    assert_eq!(n["status"], "partial");
    assert_eq!(
        (
            n["total_records"].as_i64(),
            n["valid_records"].as_i64(),
            n["error_records"].as_i64()
        ),
        (Some(3), Some(1), Some(2))
    );
    assert_eq!(n["success_rate_percent"], serde_json::json!(33.33));
    assert_eq!(n["error_file_s3_key"], report_key(VENDOR, "U1").as_str());
    assert_eq!(n["report_url"], "https://vendor-api.test/uploads/U1/report");
    let email = mem.topic.of("U1")[0].message.clone();
    assert!(email.contains("Error records: 2 (66.67%)"), "{email}");
}

#[tokio::test]
async fn a_claim_left_by_a_crash_is_published_by_the_reconciler_once_it_expires() {
    use domain::ports::NotificationOutbox;
    let mem = Memory::default();
    let [one, two, three] = three_rows(&mem);
    mem.topic.fail(1);
    assert_eq!(
        deliver(&mem, &event(&[&one, &two, &three])).await,
        Vec::<String>::new()
    );
    // A finaliser that crashed after claiming: its claim is still running.
    let claimed = mem
        .claim_notification("U1", chrono::Utc::now() + chrono::Duration::minutes(2))
        .await
        .expect("claim");
    assert!(claimed.is_some());
    let notify = mem.notify();
    let none = domain::notify::publish_pending(&notify, chrono::Duration::zero())
        .await
        .expect("pending");
    assert_eq!(none.published, 0, "a live claim is respected");
    // The claim runs out.
    mem.db
        .lock()
        .expect("lock")
        .history
        .get_mut("U1")
        .expect("history")
        .notification
        .claimed_until = Some(chrono::Utc::now() - chrono::Duration::seconds(1));
    let done = domain::notify::publish_pending(&notify, chrono::Duration::zero())
        .await
        .expect("pending");
    assert_eq!(done.published, 1);
    assert_eq!(mem.topic.defaults("U1").len(), 1);
    let again = domain::notify::publish_pending(&notify, chrono::Duration::zero())
        .await
        .expect("pending");
    assert_eq!(again.published, 0);
}
