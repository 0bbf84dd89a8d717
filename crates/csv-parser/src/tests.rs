//! The parser against the shared in-memory ports (`testkit::Memory`): no AWS, no
//! database, milliseconds.

use super::*;
use domain::model::{record_id, RecordStatus};
use domain::upload::{decode_event_key, UploadStatus};
use domain::vendor::VendorStatus;
use testkit::events::s3_put;
use testkit::interpose::{At, Interposed};
use testkit::memory::StoredError;
use testkit::Memory;

pub(crate) const SETTINGS: Settings = Settings {
    max_upload_bytes: 10_000,
    record_ttl_days: 30,
    parse_lease: std::time::Duration::from_secs(960),
};

pub(crate) fn memory() -> Memory {
    Memory::new(
        &["Books"],
        &[
            ("VEND001", VendorStatus::Active),
            ("VEND009", VendorStatus::PendingApproval),
        ],
    )
}

/// The notification of a PUT whose key, as the event carries it, is `key_in_event`.
pub(crate) fn event(key_in_event: &str, sequencer: &str) -> S3Event {
    let key = decode_event_key(key_in_event);
    let mut put = s3_put("b", &key, sequencer);
    put.at = "2026-11-23T10:30:45Z".parse().expect("a time");
    put.event().expect("an S3 event")
}

/// The upload's history row (status, report key, row-0 errors) after a file-level failure.
pub(crate) fn failure(mem: &Memory, upload_id: &str) -> (UploadStatus, Option<String>, Vec<StoredError>) {
    let (status, key) = {
        let db = mem.db.lock().expect("lock");
        let h = db.history.get(upload_id).expect("a history row");
        (h.status, h.report_key.clone())
    };
    (status, key, mem.errors_of(upload_id))
}

async fn run(mem: &Memory, key_in_event: &str, body: Option<&str>) -> Outcome {
    if let Some(body) = body {
        let key = decode_event_key(key_in_event);
        mem.put_object("b", &key, body);
    }
    let parser = Parser {
        objects: mem,
        records: mem,
        ledger: mem,
        settings: &SETTINGS,
        notify: mem.notify(),
    };
    let outcomes = parser
        .handle(&event(key_in_event, "00A1"))
        .await
        .expect("handled");
    outcomes.into_iter().next().expect("one outcome")
}

const CSV: &str = "\u{feff}Vendor_Product_ID , product_name,category,SKU,price,stock_quantity,extra\r\n\
                   P1,One,Books,S-1,1.00,1,x\r\n\
                   P2,\"Two, with comma\",Books,S-2,2.00,2,y\r\n\
                   P3,short\r\n\
                   P4,Four,Books,S-1,4.00,4,z\r\n";

#[tokio::test]
async fn rows_become_items_with_raw_cells_and_unreadable_rows_are_errors_at_once() {
    let mem = memory();
    let outcome = run(&mem, "uploads/VEND001/spring+sale%282%29.csv", Some(CSV)).await;
    let Outcome::Parsed {
        upload_id,
        total_records,
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(total_records, 4);
    let row = |n: u64| mem.item(&upload_id, n).expect("item");
    let two = row(2);
    assert_eq!(two.file_name, "spring sale(2).csv");
    assert_eq!(two.status, RecordStatus::PendingValidation);
    assert_eq!(
        two.product_data.get("product_name").map(String::as_str),
        Some("Two, with comma")
    );
    assert_eq!(
        two.product_data.get("vendor_product_id").map(String::as_str),
        Some("P2")
    );
    assert_eq!(two.product_data.get("extra").map(String::as_str), Some("y"));
    let three = row(3);
    assert_eq!(three.status, RecordStatus::Error);
    assert_eq!(three.error_type, Some(ErrorCode::MalformedRow));
    // The first row carrying S-1 owns it, for the validator to decide row 4.
    assert_eq!(mem.claim(&upload_id, "sku", "S-1"), Some(1));
    assert_eq!(mem.claim(&upload_id, "vendor_product_id", "P3"), None);
}

#[tokio::test]
async fn a_redelivered_event_writes_nothing_twice() {
    let mem = memory();
    run(&mem, "uploads/VEND001/a.csv", Some(CSV)).await;
    let writes = mem.written().len();
    let again = run(&mem, "uploads/VEND001/a.csv", None).await;
    assert!(matches!(again, Outcome::AlreadyParsed { .. }), "{again:?}");
    assert_eq!(mem.written().len(), writes);
}

#[tokio::test]
async fn an_interrupted_parse_resumes_with_the_missing_items_only() {
    let mem = memory();
    run(&mem, "uploads/VEND001/r.csv", Some(CSV)).await;
    // Forget that the parse finished and lose one item, as after a crash half-way.
    let upload_id = {
        let mut db = mem.db.lock().expect("lock");
        let (id, history) = db.history.iter_mut().next().expect("one upload");
        history.parsed = false;
        id.clone()
    };
    mem.items
        .lock()
        .expect("lock")
        .remove(&(upload_id.clone(), "REC_000004".to_string()));
    let before = mem.written().len();
    let outcome = run(&mem, "uploads/VEND001/r.csv", None).await;
    assert!(matches!(outcome, Outcome::Parsed { .. }), "{outcome:?}");
    assert_eq!(
        &mem.written()[before..],
        &[(upload_id, 4)],
        "only the missing item is written"
    );
}

#[tokio::test]
async fn keys_that_are_not_vendor_uploads_are_ignored() {
    let mem = memory();
    for key in [
        "reports/VEND001/x.csv",
        "uploads/VEND001/x.txt",
        "uploads/VEND001/sub/x.csv",
    ] {
        assert_eq!(run(&mem, key, Some(CSV)).await, Outcome::Ignored, "{key}");
    }
    assert!(mem.items.lock().expect("lock").is_empty());
    assert!(mem.db.lock().expect("lock").history.is_empty());
}

#[tokio::test]
async fn file_level_failures_are_recorded_with_a_report_and_no_items() {
    let cases = [
        ("uploads/NOPE/a.csv", CSV.to_string(), ErrorCode::UnknownVendor),
        (
            "uploads/VEND009/a.csv",
            CSV.to_string(),
            ErrorCode::InactiveVendor,
        ),
        (
            "uploads/VEND001/big.csv",
            "x".repeat(10_001),
            ErrorCode::FileTooLarge,
        ),
        (
            "uploads/VEND001/head.csv",
            "vendor_product_id,product_name,category,sku,price,stock_quantity\n".into(),
            ErrorCode::EmptyFile,
        ),
        ("uploads/VEND001/none.csv", String::new(), ErrorCode::EmptyFile),
        (
            "uploads/VEND001/cols.csv",
            "sku,price\nS,1\n".into(),
            ErrorCode::MissingColumns,
        ),
    ];
    for (key, body, code) in cases {
        let mem = memory();
        let outcome = run(&mem, key, Some(&body)).await;
        assert!(
            matches!(&outcome, Outcome::Failed { error_type, .. } if *error_type == code),
            "{key}: {outcome:?}"
        );
        let Outcome::Failed { upload_id, .. } = &outcome else {
            panic!("{outcome:?}")
        };
        let (status, report_key, errors) = failure(&mem, upload_id);
        assert_eq!(status, UploadStatus::Failed, "{key}");
        let report = mem
            .object_text("b", &report_key.expect("a report key"))
            .expect("a report");
        assert!(report.contains(code.as_str()), "{key}");
        assert!(mem.items.lock().expect("lock").is_empty(), "{key}");
        assert_eq!(errors.len(), 1, "{key}: one row-0 error");
        assert_eq!(errors[0].line.row_number, 0, "{key}");
        assert_eq!(errors[0].line.error_type, code, "{key}");
        if code == ErrorCode::MissingColumns {
            assert_eq!(
                errors[0].error_field,
                "vendor_product_id,product_name,category,stock_quantity"
            );
        }
    }
}

#[tokio::test]
async fn the_version_the_event_names_is_read_even_after_an_overwrite() {
    let mem = memory();
    let key = "uploads/VEND001/v.csv";
    let header = "vendor_product_id,product_name,category,sku,price,stock_quantity\n";
    mem.put_object_version("b", key, "v1", format!("{header}P1,One,Books,S-1,1.00,1\n"));
    mem.put_object_version(
        "b",
        key,
        "v2",
        format!("{header}P1,One,Books,S-1,1.00,1\nP2,Two,Books,S-2,2.00,2\n"),
    );
    let parser = Parser {
        objects: &mem,
        records: &mem,
        ledger: &mem,
        settings: &SETTINGS,
        notify: mem.notify(),
    };
    let put = |version: &'static str, sequencer: &'static str| {
        let mut put = s3_put("b", key, sequencer);
        put.version_id = Some(version);
        put.event().expect("an S3 event")
    };
    // The first PUT's event arrives after the second PUT replaced the key.
    let first = parser.handle(&put("v1", "00A1")).await.expect("handled");
    let second = parser.handle(&put("v2", "00A2")).await.expect("handled");
    let totals: Vec<u64> = first
        .iter()
        .chain(&second)
        .map(|o| match o {
            Outcome::Parsed { total_records, .. } => *total_records,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(totals, vec![1, 2], "each upload reads its own version");
}

#[tokio::test]
async fn a_redelivery_after_the_vendor_was_suspended_keeps_the_first_verdict() {
    let mem = memory();
    let Outcome::Parsed { upload_id, .. } = run(&mem, "uploads/VEND001/s.csv", Some(CSV)).await else {
        panic!("parsed")
    };
    mem.vendors
        .lock()
        .expect("lock")
        .insert("VEND001".into(), VendorStatus::Suspended);
    let again = run(&mem, "uploads/VEND001/s.csv", None).await;
    assert_eq!(
        again,
        Outcome::AlreadyParsed {
            upload_id: upload_id.clone()
        }
    );
    assert!(mem.errors_of(&upload_id).is_empty(), "no INACTIVE_VENDOR verdict");
    assert_eq!(
        mem.object_puts.lock().map(|n| *n).unwrap_or(0),
        0,
        "no report written"
    );
}

#[tokio::test]
async fn a_second_delivery_during_a_live_parse_leaves_it_the_work() {
    let mem = memory();
    let Outcome::Parsed { upload_id, .. } = run(&mem, "uploads/VEND001/l.csv", Some(CSV)).await else {
        panic!("parsed")
    };
    // As if the first delivery were still writing: not parsed, lease held.
    {
        let mut db = mem.db.lock().expect("lock");
        let h = db.history.get_mut(&upload_id).expect("history");
        h.parsed = false;
        h.lease_until = Some(chrono::Utc::now() + chrono::Duration::minutes(10));
    }
    let writes = mem.written().len();
    let again = run(&mem, "uploads/VEND001/l.csv", None).await;
    assert_eq!(again, Outcome::Busy { upload_id });
    assert_eq!(mem.written().len(), writes, "the busy delivery writes nothing");
}

#[tokio::test]
async fn a_parse_that_fails_half_way_releases_its_lease_and_the_retry_finishes_it() {
    let mem = memory();
    let key = "uploads/VEND001/f.csv";
    mem.put_object("b", key, CSV);
    let parser = Parser {
        objects: &mem,
        records: &mem,
        ledger: &mem,
        settings: &SETTINGS,
        notify: mem.notify(),
    };
    let event = event(key, "00B1");
    mem.fail("put_all", None, 1);
    assert!(
        parser.handle(&event).await.is_err(),
        "the write fault fails the invocation"
    );
    let upload_id = mem
        .db
        .lock()
        .expect("lock")
        .history
        .keys()
        .next()
        .cloned()
        .expect("the history row of the interrupted parse");
    assert!(
        mem.db.lock().expect("lock").history[&upload_id]
            .lease_until
            .is_none(),
        "released"
    );
    let retry = parser.handle(&event).await.expect("the retry");
    assert!(
        matches!(retry[..], [Outcome::Parsed { total_records: 4, .. }]),
        "{retry:?}"
    );
    let rows: Vec<u64> = mem.items_of(&upload_id).iter().map(|i| i.row_number).collect();
    assert_eq!(rows, vec![1, 2, 3, 4], "every item once");
}

#[tokio::test]
async fn a_header_failure_redelivered_is_not_judged_again() {
    let mem = memory();
    let outcome = run(&mem, "uploads/VEND001/cols.csv", Some("sku,price\nS,1\n")).await;
    let Outcome::Failed { upload_id, .. } = outcome else {
        panic!("{outcome:?}")
    };
    let again = run(&mem, "uploads/VEND001/cols.csv", None).await;
    assert_eq!(again, Outcome::AlreadyParsed { upload_id });
}

#[tokio::test]
async fn a_file_level_failure_is_announced_once_even_when_redelivered() {
    let mem = memory();
    let outcome = run(&mem, "uploads/VEND009/late.csv", Some(CSV)).await;
    let Outcome::Failed { upload_id, .. } = outcome else {
        panic!("{outcome:?}")
    };
    let again = run(&mem, "uploads/VEND009/late.csv", None).await;
    assert!(
        matches!(&again, Outcome::AlreadyParsed { upload_id: id } if *id == upload_id),
        "a judged upload is not judged again: {again:?}"
    );
    let sent = mem.topic.defaults(&upload_id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["status"], "failed");
    assert_eq!(sent[0]["file_name"], "late.csv");
    assert_eq!(sent[0]["total_records"], 0);
    assert!(sent[0]["success_rate_percent"].is_null());
    assert_eq!(
        sent[0]["report_url"],
        format!("https://vendor-api.test/uploads/{upload_id}/report").as_str()
    );
    let n = &mem.topic.of(&upload_id)[0];
    assert_eq!(n.subject, "Product upload failed: late.csv (0% valid)");
    assert!(mem.outbox(&upload_id).is_some_and(|o| o.published.is_some()));
}

#[tokio::test]
async fn a_parse_is_not_announced_before_its_rows_are_decided() {
    let mem = memory();
    let Outcome::Parsed { upload_id, .. } = run(&mem, "uploads/VEND001/wip.csv", Some(CSV)).await else {
        panic!("not parsed")
    };
    assert_eq!(mem.topic.of(&upload_id).len(), 0);
}

/// Every row of `upload_id` decided as an error, as the error processor records them
/// (its own call to `finalise` lost: a crash, a timeout).
async fn decide_every_row(mem: &Memory, upload_id: &str) {
    use domain::model::RowError;
    use domain::ports::{ErrorLedger, ErrorRow};
    let rows: Vec<ErrorRow> = (1..=4)
        .map(|row_number| ErrorRow {
            row_number,
            vendor_product_id: Some(format!("P{row_number}")),
            errors: vec![RowError::new(ErrorCode::InvalidPrice, "price", "not a price")],
            original: None,
        })
        .collect();
    let recorded = mem.record_errors(upload_id, "VEND001", &rows).await;
    assert_eq!(recorded.ok(), Some(4), "four new rows");
}

fn parser(mem: &Memory) -> Parser<'_, Memory, Memory, Memory> {
    Parser {
        objects: mem,
        records: mem,
        ledger: mem,
        settings: &SETTINGS,
        notify: mem.notify(),
    }
}

fn only_upload(mem: &Memory) -> String {
    let db = mem.db.lock().expect("lock");
    assert_eq!(db.history.len(), 1, "one upload");
    db.history.keys().next().cloned().expect("one upload")
}

#[tokio::test]
async fn a_redelivery_ends_an_upload_whose_rows_were_decided_and_a_failed_end_is_retried() {
    let mem = memory();
    let key = "uploads/VEND001/ends.csv";
    mem.put_object("b", key, CSV);
    let event = event(key, "00C1");
    parser(&mem).handle(&event).await.expect("parsed");
    let upload_id = only_upload(&mem);
    decide_every_row(&mem, &upload_id).await;
    assert_eq!(mem.counters(&upload_id), Some((0, 4, UploadStatus::Processing)));

    // The end fails: the invocation fails (retried), nothing is final or announced.
    mem.fail("finish", Some(&upload_id), 1);
    let failed = parser(&mem).handle(&event).await;
    assert!(failed.as_ref().is_err_and(|e| e.is_transient()), "{failed:?}");
    assert_eq!(mem.counters(&upload_id), Some((0, 4, UploadStatus::Processing)));
    assert_eq!(mem.topic.of(&upload_id).len(), 0);

    // The retry is the parser ending the upload: final status, its report, one notice.
    let outcomes = parser(&mem).handle(&event).await.expect("the retry");
    assert_eq!(
        outcomes,
        [Outcome::AlreadyParsed {
            upload_id: upload_id.clone()
        }]
    );
    let (status, report, errors) = failure(&mem, &upload_id);
    assert_eq!(status, UploadStatus::Failed);
    let report = report.expect("a report key");
    let text = mem.object_text("b", &report).expect("the report in the bucket");
    assert_eq!(text.lines().count(), 5, "header and four rows: {text}");
    assert_eq!(errors.len(), 4);
    assert_eq!(mem.topic.of(&upload_id).len(), 1);
    assert_eq!(mem.written().len(), 4, "no item written twice");
}

#[tokio::test]
async fn a_resumed_parse_ends_the_upload_when_its_rows_were_decided_meanwhile() {
    let mem = memory();
    let key = "uploads/VEND001/resume-ends.csv";
    mem.put_object("b", key, CSV);
    let event = event(key, "00C2");
    // Every item written, then the parse dies before it is marked parsed.
    mem.fail("mark_parsed", None, 1);
    assert!(parser(&mem).handle(&event).await.is_err());
    let upload_id = only_upload(&mem);
    assert_eq!(mem.written().len(), 4);
    decide_every_row(&mem, &upload_id).await;
    // Its lease runs out: the next delivery resumes, writes nothing and ends it.
    if let Some(h) = mem.db.lock().expect("lock").history.get_mut(&upload_id) {
        h.lease_until = None;
    }
    let outcomes = parser(&mem).handle(&event).await.expect("the resumed parse");
    assert_eq!(
        outcomes,
        [Outcome::Parsed {
            upload_id: upload_id.clone(),
            total_records: 4
        }]
    );
    assert_eq!(mem.written().len(), 4, "nothing written again");
    assert_eq!(mem.counters(&upload_id), Some((0, 4, UploadStatus::Failed)));
    assert_eq!(
        mem.finished.lock().expect("lock").clone(),
        [(
            upload_id.clone(),
            UploadStatus::Failed,
            Some(format!("reports/VEND001/{upload_id}.csv"))
        )]
    );
    assert_eq!(mem.topic.of(&upload_id).len(), 1);
}

#[tokio::test]
async fn items_carry_the_event_time_and_a_ttl_counted_from_it_so_a_resumed_parse_writes_the_same_items() {
    let mem = memory();
    let outcome = run(&mem, "uploads/VEND001/t.csv", Some(CSV)).await;
    let Outcome::Parsed { upload_id, .. } = outcome else {
        panic!("{outcome:?}")
    };
    // `event` puts the PUT at 2026-11-23T10:30:45Z; SETTINGS keep items 30 days.
    let put: DateTime<Utc> = "2026-11-23T10:30:45Z".parse().expect("a time");
    let items = mem.items_of(&upload_id);
    assert_eq!(items.len(), 4);
    for item in &items {
        assert_eq!(
            item.created_at, "2026-11-23T10:30:45.000Z",
            "row {}",
            item.row_number
        );
        assert_eq!(item.updated_at, item.created_at, "row {}", item.row_number);
        assert_eq!(item.ttl, put.timestamp() + 30 * 86_400, "row {}", item.row_number);
    }

    // A crash after the writes: the redelivery (whenever it comes) writes row 2 again,
    // identical to the first.
    let first = mem.item(&upload_id, 2).expect("row 2");
    mem.db
        .lock()
        .expect("lock")
        .history
        .get_mut(&upload_id)
        .expect("the upload")
        .parsed = false;
    mem.items
        .lock()
        .expect("lock")
        .remove(&(upload_id.clone(), record_id(2)));
    run(&mem, "uploads/VEND001/t.csv", None).await;
    assert_eq!(mem.item(&upload_id, 2), Some(first));
}

/// README, "Behaviour chosen where the design is open": vendor unknown or inactive, then
/// size, then the header, then "no data rows". Each file here breaks every later check too.
#[tokio::test]
async fn file_level_checks_come_in_their_order() {
    // Over SETTINGS' 10,000 bytes, missing four columns.
    let big_and_bad = format!("sku,price\n{}", "S,1\n".repeat(3_000)).into_bytes();
    let cases: [(&str, Vec<u8>, ErrorCode); 6] = [
        (
            "uploads/NOPE/a.csv",
            big_and_bad.clone(),
            ErrorCode::UnknownVendor,
        ),
        (
            "uploads/VEND009/a.csv",
            big_and_bad.clone(),
            ErrorCode::InactiveVendor,
        ),
        ("uploads/VEND001/a.csv", big_and_bad, ErrorCode::FileTooLarge),
        // A header that is not UTF-8 and lacks columns, with no data rows.
        (
            "uploads/VEND001/b.csv",
            b"sku,pr\xE9is\n".to_vec(),
            ErrorCode::InvalidEncoding,
        ),
        // A repeated name and missing columns, no data rows.
        (
            "uploads/VEND001/c.csv",
            b"sku,SKU\n".to_vec(),
            ErrorCode::InvalidHeader,
        ),
        // Missing columns and no data rows.
        (
            "uploads/VEND001/d.csv",
            b"sku,price\n".to_vec(),
            ErrorCode::MissingColumns,
        ),
    ];
    for (key, body, code) in cases {
        let mem = memory();
        mem.put_object("b", key, body);
        let outcomes = parser(&mem)
            .handle(&event(key, "00A1"))
            .await
            .unwrap_or_else(|e| panic!("{key}: {e}"));
        assert!(
            matches!(outcomes.as_slice(), [Outcome::Failed { error_type, .. }] if *error_type == code),
            "{key}: {outcomes:?}"
        );
    }
}

#[tokio::test]
async fn a_file_of_exactly_the_size_limit_is_read_and_one_byte_more_is_refused_in_mb() {
    let header = "vendor_product_id,product_name,category,sku,price,stock_quantity\n";
    let row = "P1,One,Books,S-1,1.00,1\n";
    let mut exact = format!("{header}{row}");
    // Pad the name up to SETTINGS.max_upload_bytes exactly.
    let pad = SETTINGS.max_upload_bytes as usize - exact.len();
    exact = format!("{header}P1,{},Books,S-1,1.00,1\n", "O".repeat(3 + pad));
    assert_eq!(exact.len() as u64, SETTINGS.max_upload_bytes);
    let at_limit = run(&memory(), "uploads/VEND001/exact.csv", Some(&exact)).await;
    assert!(
        matches!(at_limit, Outcome::Parsed { total_records: 1, .. }),
        "{at_limit:?}"
    );

    let e = messages::file_too_large(5 * 1024 * 1024 + 1, 10 * 1024 * 1024);
    assert_eq!(
        e.message,
        "The file is 5.0 MB (5242881 bytes); the limit is 10.0 MB (10485760 bytes). Split it \
         into smaller files and upload each one."
    );
}

#[tokio::test]
async fn the_parser_keeps_four_writes_in_flight_while_it_reads_and_no_more() {
    let mem = memory();
    let key = "uploads/VEND001/many.csv";
    let mut body = String::from("vendor_product_id,product_name,category,sku,price,stock_quantity\n");
    for i in 1..=250 {
        body.push_str(&format!("P{i},Item {i},Books,S-{i},1.00,1\n"));
    }
    mem.put_object("b", key, body.as_str());
    // No write returns until the gate opens: the parser sends four and waits.
    let records = Interposed::new(&mem, At::PauseFrom(0));
    let parser = Parser {
        objects: &mem,
        records: &records,
        ledger: &mem,
        settings: &SETTINGS,
        notify: mem.notify(),
    };
    let event = event(key, "00C1");
    let (outcomes, ()) = tokio::join!(parser.handle(&event), async {
        let four = async {
            while records.calls() < 4 {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), four)
            .await
            .expect("four writes go out while none has returned");
        // Time for a fifth to start, if the parser would start one.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(records.calls(), 4, "no fifth write while four are out");
        records.gate.open();
    });
    let outcomes = outcomes.expect("parsed");
    let [Outcome::Parsed {
        upload_id,
        total_records: 250,
    }] = &outcomes[..]
    else {
        panic!("{outcomes:?}")
    };
    // 250 rows, 25 a write: ten writes, every row written once.
    assert_eq!(records.calls(), 10);
    assert_eq!(mem.items_of(upload_id).len(), 250);
}
