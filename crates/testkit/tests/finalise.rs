//! `domain::finalise` on the in-memory ledger and bucket: the finaliser's decision (when
//! an upload ends, with which status, and that a report comes before the final status),
//! apart from the handlers that call it.

use domain::codes::ErrorCode;
use domain::finalise::finalise;
use domain::report::ReportLine;
use domain::upload::UploadStatus;
use testkit::memory::{History, StoredError};
use testkit::Memory;

const BUCKET: &str = "b";

fn upload(mem: &Memory, id: &str, total: i64, valid: i64, errors: i64) {
    let mut db = mem.db.lock().unwrap_or_else(|e| e.into_inner());
    db.history.insert(
        id.to_string(),
        History {
            valid,
            errors,
            ..History::processing("VEND001", total, &["sku", "price"])
        },
    );
    for row in 1..=errors {
        db.errors.push(StoredError {
            upload_id: id.to_string(),
            error_field: "price".into(),
            line: ReportLine {
                row_number: row,
                error_type: ErrorCode::InvalidPrice,
                error_message: format!("price of row {row}"),
                original: Some(
                    [("sku", format!("S-{row}")), ("price", "-1".into())]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect(),
                ),
            },
        });
    }
}

async fn run(mem: &Memory, id: &str) -> Result<Option<UploadStatus>, domain::PortError> {
    finalise(mem, mem, BUCKET, id, mem.notify()).await
}

fn report(id: &str) -> String {
    format!("reports/VEND001/{id}.csv")
}

#[tokio::test]
async fn an_upload_ends_exactly_when_every_row_is_decided() {
    let mem = Memory::default();
    upload(&mem, "U1", 3, 1, 1);
    assert_eq!(run(&mem, "U1").await.ok(), Some(None), "2 of 3 rows decided");
    assert_eq!(mem.counters("U1").map(|c| c.2), Some(UploadStatus::Processing));
    assert_eq!(
        *mem.object_puts.lock().unwrap_or_else(|e| e.into_inner()),
        0,
        "no report yet"
    );
    assert_eq!(mem.topic.count(), 0);
    assert_eq!(run(&mem, "NOPE").await.ok(), Some(None), "no such upload");
}

#[tokio::test]
async fn the_report_shows_the_header_as_written_when_it_was_kept() {
    let mem = Memory::default();
    for (id, header) in [
        ("KEPT", vec![" SKU ", "Price"]),
        ("OLD", vec![]),
        ("ODD", vec!["only one"]),
    ] {
        upload(&mem, id, 1, 0, 1);
        let mut db = mem.db.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(h) = db.history.get_mut(id) {
            h.header = header.iter().map(|n| n.to_string()).collect();
        }
    }
    let first_line = |id: &str| {
        mem.object_text(BUCKET, &report(id))
            .and_then(|r| r.lines().next().map(str::to_string))
    };
    for id in ["KEPT", "OLD", "ODD"] {
        assert_eq!(run(&mem, id).await.ok(), Some(Some(UploadStatus::Failed)), "{id}");
    }
    assert_eq!(
        first_line("KEPT").as_deref(),
        Some(" SKU ,Price,row_number,error_type,error_message")
    );
    // Registered without the names, or not one per column: the normalised names.
    for id in ["OLD", "ODD"] {
        assert_eq!(
            first_line(id).as_deref(),
            Some("sku,price,row_number,error_type,error_message"),
            "{id}"
        );
    }
}

#[tokio::test]
async fn the_final_status_follows_the_counts_and_a_report_comes_with_errors() {
    let mem = Memory::default();
    upload(&mem, "CLEAN", 2, 2, 0);
    upload(&mem, "SOME", 3, 1, 2);
    upload(&mem, "ALL", 2, 0, 2);
    assert_eq!(run(&mem, "CLEAN").await.ok(), Some(Some(UploadStatus::Completed)));
    assert_eq!(run(&mem, "SOME").await.ok(), Some(Some(UploadStatus::Partial)));
    assert_eq!(run(&mem, "ALL").await.ok(), Some(Some(UploadStatus::Failed)));
    let finished = mem.finished.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(
        finished,
        [
            ("CLEAN".to_string(), UploadStatus::Completed, None),
            ("SOME".to_string(), UploadStatus::Partial, Some(report("SOME"))),
            ("ALL".to_string(), UploadStatus::Failed, Some(report("ALL"))),
        ]
    );
    assert_eq!(
        mem.object_text(BUCKET, &report("CLEAN")),
        None,
        "no errors, no report"
    );
    assert_eq!(
        mem.object_text(BUCKET, &report("SOME")).as_deref(),
        Some(
            "sku,price,row_number,error_type,error_message\r\n\
             S-1,'-1,1,INVALID_PRICE,price of row 1\r\n\
             S-2,'-1,2,INVALID_PRICE,price of row 2\r\n"
        )
    );
    for id in ["CLEAN", "SOME", "ALL"] {
        assert_eq!(mem.topic.defaults(id).len(), 1, "{id} announced once");
    }
}

#[tokio::test]
async fn an_upload_already_final_is_left_as_it_is() {
    let mem = Memory::default();
    upload(&mem, "U1", 2, 0, 2);
    if let Some(h) = mem
        .db
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .history
        .get_mut("U1")
    {
        h.status = UploadStatus::Partial;
    }
    assert_eq!(run(&mem, "U1").await.ok(), Some(Some(UploadStatus::Partial)));
    assert!(mem.finished.lock().unwrap_or_else(|e| e.into_inner()).is_empty());
    assert_eq!(
        mem.object_text(BUCKET, &report("U1")),
        None,
        "no report rewritten"
    );
}

#[tokio::test]
async fn no_final_status_without_its_report_and_a_retry_ends_it() {
    let mem = Memory::default();
    upload(&mem, "U1", 2, 1, 1);
    mem.fail("put", None, 1);
    let failed = run(&mem, "U1").await;
    assert!(failed.as_ref().is_err_and(|e| e.is_transient()), "{failed:?}");
    assert_eq!(mem.counters("U1").map(|c| c.2), Some(UploadStatus::Processing));
    assert_eq!(mem.topic.count(), 0, "nothing announced");
    mem.fail("finish", Some("U1"), 1);
    assert!(run(&mem, "U1").await.is_err());
    assert_eq!(mem.counters("U1").map(|c| c.2), Some(UploadStatus::Processing));
    assert_eq!(run(&mem, "U1").await.ok(), Some(Some(UploadStatus::Partial)));
    assert!(mem.object_text(BUCKET, &report("U1")).is_some());
    assert_eq!(mem.topic.count(), 1);
}

#[tokio::test]
async fn a_report_of_many_pages_and_parts_holds_every_row_in_order() {
    // More rows than a page (1,000) and more bytes than a part (8 MiB): the report is
    // read page after page and sent as a multipart upload whose parts S3 would accept.
    // Three pages fill the first part; the fourth is the last, smaller part.
    let mem = Memory::default();
    let rows = 3_100;
    let message = "m".repeat(3_300);
    {
        let mut db = mem.db.lock().unwrap_or_else(|e| e.into_inner());
        db.history.insert(
            "BIG".to_string(),
            History {
                errors: rows,
                ..History::processing("VEND001", rows, &["sku"])
            },
        );
        for row in 1..=rows {
            db.errors.push(StoredError {
                upload_id: "BIG".to_string(),
                error_field: "price".into(),
                line: ReportLine {
                    row_number: row,
                    error_type: ErrorCode::InvalidPrice,
                    error_message: message.clone(),
                    original: Some([("sku".to_string(), format!("S-{row}"))].into_iter().collect()),
                },
            });
        }
    }
    assert_eq!(run(&mem, "BIG").await.ok(), Some(Some(UploadStatus::Failed)));
    let text = mem.object_text(BUCKET, &report("BIG")).unwrap_or_default();
    assert!(
        text.len() > domain::report_upload::PART_BYTES,
        "{} bytes",
        text.len()
    );
    let numbers: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap_or("").to_string())
        .collect();
    let expected: Vec<String> = (1..=rows).map(|r| r.to_string()).collect();
    assert_eq!(numbers, expected, "every row once, in order");
    assert_eq!(
        *mem.multipart_completed.lock().unwrap_or_else(|e| e.into_inner()),
        1
    );
}
