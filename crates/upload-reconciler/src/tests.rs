//! The reconciler against the shared in-memory ports: stuck uploads end, through the
//! consumers' own code, and a row is given up only after repeated failed attempts.

use super::*;
use domain::codes::ErrorCode;
use domain::model::{record_id, RecordStatus, UploadRecord};
use domain::ports::{Claim, FailureSource, UploadIntake, UploadStart};
use domain::upload::{UploadEvent, UploadStatus};
use domain::vendor::VendorStatus;
use std::time::Duration;
use testkit::{Memory, MemoryFailedDeliveries};

const BUCKET: &str = "b";
const VENDOR: &str = "VEND001";
const HEADER: &str = "vendor_product_id,product_name,category,sku,price,stock_quantity";
const SETTINGS: Settings = Settings {
    max_upload_bytes: 1_000_000,
    record_ttl_days: 30,
    parse_lease: Duration::from_secs(960),
};

fn memory() -> Memory {
    Memory::new(&["Books"], &[(VENDOR, VendorStatus::Active)])
}

fn reconciler<'a>(
    mem: &'a Memory,
    failed: &'a MemoryFailedDeliveries,
) -> Reconciler<'a, Memory, Memory, Memory, MemoryFailedDeliveries> {
    Reconciler {
        objects: mem,
        records: mem,
        ledger: mem,
        failed,
        settings: &SETTINGS,
        bucket: BUCKET,
        notify: mem.notify(),
    }
}

/// Every upload counts as stuck.
fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::seconds(1)
}

fn csv(rows: &[&str]) -> String {
    let mut s = format!("{HEADER}\n");
    for r in rows {
        s.push_str(r);
        s.push('\n');
    }
    s
}

fn event(key: &str, sequencer: &str) -> UploadEvent {
    UploadEvent {
        bucket: BUCKET.into(),
        key: key.into(),
        sequencer: sequencer.into(),
        version_id: None,
        event_time: "2026-12-06T10:00:00Z".parse().unwrap_or_default(),
    }
}

/// What a parser that crashed right after `start_upload` leaves: the history row, the
/// claims, and the items written so far (`written` of them), lease expired.
async fn interrupted(mem: &Memory, key: &str, body: &str, rows: &[UploadRecord], written: usize) -> String {
    let ev = event(key, "00C1");
    mem.put_object(BUCKET, key, body);
    let upload_id = ev.upload_id();
    mem.start_upload(
        &UploadStart {
            upload_id: upload_id.clone(),
            vendor_id: VENDOR.into(),
            file_name: "r.csv".into(),
            s3_key: key.into(),
            total_records: rows.len() as u64,
            columns: HEADER.split(',').map(str::to_string).collect(),
            header: HEADER.split(',').map(str::to_string).collect(),
            uploaded_at: ev.event_time,
            source: ev.clone(),
        },
        Duration::ZERO,
    )
    .await
    .expect("start");
    let claims: Vec<Claim> = rows
        .iter()
        .flat_map(|r| Claim::of_row(r.row_number, &r.product_data))
        .collect();
    mem.register_claims(&upload_id, &claims).await.expect("claims");
    mem.put_all(&rows[..written]).await.expect("items");
    upload_id
}

fn item(upload_id: &str, n: u64, cells: &str) -> UploadRecord {
    let names: Vec<&str> = HEADER.split(',').collect();
    UploadRecord {
        upload_id: upload_id.into(),
        record_id: record_id(n),
        vendor_id: VENDOR.into(),
        file_name: "r.csv".into(),
        row_number: n,
        product_data: names
            .iter()
            .zip(cells.split(','))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        status: RecordStatus::PendingValidation,
        error_type: None,
        error_reason: Vec::new(),
        created_at: "2026-12-06T10:00:00.000Z".into(),
        updated_at: "2026-12-06T10:00:00.000Z".into(),
        ttl: 1_800_000_000,
    }
}

/// An upload of ROWS' first `rows` rows whose parser stopped after writing `written`
/// items (and, when `parsed`, after marking the parse done); its lease is over.
async fn stuck(mem: &Memory, key: &str, rows: usize, written: usize, parsed: bool) -> String {
    let id = event(key, "00C1").upload_id();
    let items: Vec<UploadRecord> = ROWS[..rows]
        .iter()
        .enumerate()
        .map(|(i, r)| item(&id, i as u64 + 1, r))
        .collect();
    interrupted(mem, key, &csv(&ROWS[..rows]), &items, written).await;
    if parsed {
        mem.mark_parsed(&id).await.expect("parsed");
    }
    id
}

/// Changes the upload's history row in place (what time, or an older version of the
/// code, would have left).
fn edit_history(mem: &Memory, id: &str, edit: impl FnOnce(&mut testkit::memory::History)) {
    edit(mem.db.lock().expect("db").history.get_mut(id).expect("history"));
}

/// As many runs as a row may fail before it is given up.
async fn run_every_attempt(mem: &Memory, failed: &MemoryFailedDeliveries) {
    for _ in 0..domain::reconcile::MAX_ATTEMPTS {
        reconciler(mem, failed).run(now()).await.expect("run");
    }
}

const ROWS: [&str; 3] = [
    "P1,One,Books,S-1,1.00,1",
    "P2,Two,Books,S-2,not-a-price,2",
    "P3,Three,Books,S-3,3.00,3",
];

#[tokio::test]
async fn a_stuck_upload_with_items_never_validated_ends_with_exact_counts() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let key = "uploads/VEND001/stuck.csv";
    let id = stuck(&mem, key, 3, 3, true).await;

    let report = reconciler(&mem, &failed).run(now()).await.expect("run");

    assert_eq!(report.stuck_uploads, 1);
    assert_eq!(report.rows_validated, 3);
    // Row 2 became an error item: the same run records it, and the upload ends.
    assert_eq!(report.rows_recorded, 1);
    assert_eq!(report.uploads_ended, 1);
    assert_eq!(mem.counters(&id), Some((2, 1, UploadStatus::Partial)));
    let statuses: Vec<RecordStatus> = mem.items_of(&id).iter().map(|i| i.status).collect();
    assert_eq!(
        statuses,
        vec![
            RecordStatus::Validated,
            RecordStatus::Error,
            RecordStatus::Validated
        ]
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);

    // Run again: nothing left to do, nothing counted twice.
    let again = reconciler(&mem, &failed).run(now()).await.expect("run");
    assert_eq!(again.stuck_uploads, 0);
    assert_eq!(mem.counters(&id), Some((2, 1, UploadStatus::Partial)));
}

#[tokio::test]
async fn an_interrupted_parse_is_resumed_then_finished() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let key = "uploads/VEND001/half.csv";
    let id = stuck(&mem, key, 3, 1, false).await;

    let report = reconciler(&mem, &failed).run(now()).await.expect("run");

    assert_eq!(report.parses_resumed, 1);
    assert_eq!(mem.items_of(&id).len(), 3, "the missing items were written");
    assert_eq!(mem.counters(&id), Some((2, 1, UploadStatus::Partial)));
}

/// Runs the reconciler until a row with no item is given up: the first two runs count a
/// failed attempt on rows 2 and 3 (row 1's item is validated by the first) and change
/// nothing else; the third gives both `PROCESSING_FAILED` and the upload ends.
async fn rows_without_items_end_on_the_third_run(mem: &Memory, id: &str) {
    let failed = MemoryFailedDeliveries::default();
    for run in 1..=2 {
        let report = reconciler(mem, &failed).run(now()).await.expect("run");
        assert_eq!(report.parses_resumed, 0, "run {run}");
        assert_eq!(report.rows_validated, usize::from(run == 1), "run {run}");
        assert_eq!(report.rows_given_up, 0, "run {run}");
        assert_eq!(
            report.failures,
            [format!(
                "{id}: 2 row(s) failed, e.g. row 2: the row has no item in UploadRecords, and no \
                 parse will write it"
            )],
            "run {run}"
        );
        assert_eq!(
            mem.counters(id),
            Some((1, 0, UploadStatus::Processing)),
            "run {run}"
        );
    }
    assert_eq!(mem.undecided_rows(id, 0, 10).await.expect("rows"), [2, 3]);
    assert_eq!(mem.undecided_rows(id, 2, 10).await.expect("rows"), [3]);
    assert_eq!(mem.undecided_rows(id, 0, 1).await.expect("rows"), [2]);

    let third = reconciler(mem, &failed).run(now()).await.expect("run");
    assert_eq!((third.rows_given_up, third.uploads_ended), (2, 1));
    assert_eq!(mem.counters(id), Some((1, 2, UploadStatus::Partial)));
    let lines: Vec<(i64, ErrorCode)> = mem
        .error_lines(id)
        .iter()
        .map(|l| (l.row_number, l.error_type))
        .collect();
    assert_eq!(
        lines,
        [(2, ErrorCode::ProcessingFailed), (3, ErrorCode::ProcessingFailed)]
    );
    assert!(mem.undecided_rows(id, 0, 10).await.expect("rows").is_empty());
    let again = reconciler(mem, &failed).run(now()).await.expect("run");
    assert_eq!(again.stuck_uploads, 0);
}

#[tokio::test]
async fn an_upload_whose_s3_event_was_never_recorded_ends_with_processing_failed_rows() {
    let mem = memory();
    let key = "uploads/VEND001/old.csv";
    // Row 1's item was written; rows 2 and 3 never were, and the S3 event the parse came
    // from is not recorded (an upload from before the parser kept it).
    let id = stuck(&mem, key, 3, 1, false).await;
    edit_history(&mem, &id, |h| h.source = None);
    rows_without_items_end_on_the_third_run(&mem, &id).await;
}

#[tokio::test]
async fn an_upload_whose_object_is_gone_before_its_parse_resumed_ends_with_processing_failed_rows() {
    let mem = memory();
    let key = "uploads/VEND001/deleted.csv";
    let id = stuck(&mem, key, 3, 1, false).await;
    mem.objects
        .lock()
        .expect("objects")
        .remove(&(BUCKET.to_string(), key.to_string()));
    rows_without_items_end_on_the_third_run(&mem, &id).await;
}

#[tokio::test]
async fn a_parsed_upload_whose_items_expired_ends_with_processing_failed_rows() {
    let mem = memory();
    let id = stuck(&mem, "uploads/VEND001/expired.csv", 3, 3, true).await;
    // DynamoDB's TTL deleted rows 2 and 3 before anything decided them.
    mem.items
        .lock()
        .expect("items")
        .retain(|(_, record), _| record == &record_id(1));
    rows_without_items_end_on_the_third_run(&mem, &id).await;
}

#[tokio::test]
async fn a_live_parse_s_missing_rows_are_never_counted() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let key = "uploads/VEND001/live.csv";
    let id = stuck(&mem, key, 3, 1, false).await;
    // Another delivery holds the parse lease: its items are still coming.
    edit_history(&mem, &id, |h| {
        h.lease_until = Some(chrono::Utc::now() + chrono::Duration::minutes(10))
    });
    for _ in 0..domain::reconcile::MAX_ATTEMPTS {
        let report = reconciler(&mem, &failed).run(now()).await.expect("run");
        assert_eq!(report.rows_given_up, 0);
    }
    assert_eq!(mem.counters(&id), Some((1, 0, UploadStatus::Processing)));
    assert!(mem.attempts.lock().expect("attempts").is_empty());
}

#[tokio::test]
async fn an_upload_with_missing_items_gives_up_no_more_rows_than_its_counters_leave_undecided() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let id = stuck(&mem, "uploads/VEND001/counted.csv", 3, 0, true).await;
    // Counters that say a row is valid without its verdict: only two rows are missing.
    edit_history(&mem, &id, |h| h.valid = 1);
    run_every_attempt(&mem, &failed).await;
    assert_eq!(mem.counters(&id), Some((1, 2, UploadStatus::Partial)));
    let rows: Vec<i64> = mem.error_lines(&id).iter().map(|l| l.row_number).collect();
    assert_eq!(rows, [1, 2]);

    // The same with an error row counted without its verdict: error rows count too.
    let id = stuck(&mem, "uploads/VEND001/counted-errors.csv", 3, 0, true).await;
    edit_history(&mem, &id, |h| h.errors = 1);
    run_every_attempt(&mem, &failed).await;
    assert_eq!(mem.counters(&id), Some((0, 3, UploadStatus::Failed)));
    let rows: Vec<i64> = mem.error_lines(&id).iter().map(|l| l.row_number).collect();
    assert_eq!(rows, [1, 2]);
}

#[tokio::test]
async fn an_upload_younger_than_the_delay_is_left_to_the_stream_consumers() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let key = "uploads/VEND001/young.csv";
    let id = stuck(&mem, key, 3, 3, false).await;

    let cutoff = domain::reconcile::stuck_before(chrono::Utc::now(), Duration::from_secs(900));
    let report = reconciler(&mem, &failed).run(cutoff).await.expect("run");

    assert_eq!(report.stuck_uploads, 0);
    assert_eq!(mem.counters(&id), Some((0, 0, UploadStatus::Processing)));
}

#[tokio::test]
async fn a_poison_item_fails_alone_and_is_given_up_only_on_the_third_failed_attempt() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let key = "uploads/VEND001/poison.csv";
    let id = stuck(&mem, key, 2, 2, false).await;
    edit_history(&mem, &id, |h| h.total = 3);
    mem.mark_parsed(&id).await.expect("parsed");
    // Row 3's item exists but does not read as an item.
    mem.unreadable
        .lock()
        .expect("lock")
        .push((id.clone(), record_id(3), RecordStatus::PendingValidation));

    for run in 1..=2 {
        let report = reconciler(&mem, &failed).run(now()).await.expect("run");
        assert_eq!(
            report.rows_given_up, 0,
            "run {run}: never given up before the third failure"
        );
        assert_eq!(
            mem.counters(&id),
            Some((1, 1, UploadStatus::Processing)),
            "run {run}"
        );
    }
    let third = reconciler(&mem, &failed).run(now()).await.expect("run");
    assert_eq!(third.rows_given_up, 1);
    assert_eq!(mem.counters(&id), Some((1, 2, UploadStatus::Partial)));
    let codes: Vec<(i64, ErrorCode)> = mem
        .error_lines(&id)
        .iter()
        .map(|l| (l.row_number, l.error_type))
        .collect();
    assert_eq!(
        codes,
        vec![(2, ErrorCode::InvalidPrice), (3, ErrorCode::ProcessingFailed)]
    );
    assert_eq!(
        mem.item(&id, 3).map(|i| (i.status, i.error_type)),
        Some((RecordStatus::Error, Some(ErrorCode::ProcessingFailed))),
        "the poison item is replaced by its verdict"
    );
    // The replacement expires like any item: RECORD_TTL_DAYS from now, not in the past.
    let ttl = mem.item(&id, 3).map(|i| i.ttl).unwrap_or_default();
    let expected = (chrono::Utc::now() + chrono::Duration::days(30)).timestamp();
    assert!(
        (expected - 60..=expected).contains(&ttl),
        "ttl {ttl}, expected about {expected}"
    );
}

#[tokio::test]
async fn a_fault_that_passes_is_retried_and_never_counted() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let key = "uploads/VEND001/flaky.csv";
    let id = stuck(&mem, key, 3, 3, true).await;
    // The batch's commit fails once; each row alone then goes through.
    mem.fail("commit_verdicts", Some(&id), 1);

    let report = reconciler(&mem, &failed).run(now()).await.expect("run");

    assert_eq!(mem.counters(&id), Some((2, 1, UploadStatus::Partial)));
    assert!(
        mem.attempts.lock().expect("lock").is_empty(),
        "no attempt counted"
    );
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(report.rows_validated, 3, "each row alone counts: {report:?}");
}

#[tokio::test]
async fn a_fault_that_lasts_gives_every_row_processing_failed_after_three_runs() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let key = "uploads/VEND001/down.csv";
    let id = stuck(&mem, key, 3, 3, true).await;
    mem.fail("commit_verdicts", Some(&id), usize::MAX);

    for _ in 0..2 {
        reconciler(&mem, &failed).run(now()).await.expect("run");
        assert_eq!(mem.counters(&id), Some((0, 0, UploadStatus::Processing)));
    }
    let third = reconciler(&mem, &failed).run(now()).await.expect("run");
    assert_eq!(third.rows_given_up, 3);
    assert_eq!(mem.counters(&id), Some((0, 3, UploadStatus::Failed)));
}

#[tokio::test]
async fn failed_parser_events_are_delivered_again_and_stream_messages_acknowledged() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let key = "uploads/VEND001/lost.csv";
    mem.put_object(BUCKET, key, csv(&ROWS));
    let put = testkit::events::s3_put(BUCKET, key, "00D1");
    let record = serde_json::json!({
        "version": "1.0",
        "requestContext": { "condition": "RetriesExhausted", "approximateInvokeCount": 3 },
        "requestPayload": put.json(),
    });
    failed.push(FailureSource::Parser, record.to_string());
    failed.push(FailureSource::Stream, r#"{"DDBStreamBatchInfo": {}}"#);
    failed.push(FailureSource::Parser, "not an event at all");

    let report = reconciler(&mem, &failed).run(now()).await.expect("run");

    assert_eq!(report.events_redriven, 1);
    assert_eq!(report.messages_acknowledged, 3);
    assert!(failed.is_empty());
    let id = mem
        .db
        .lock()
        .expect("lock")
        .history
        .keys()
        .next()
        .cloned()
        .expect("the upload exists now");
    assert_eq!(mem.items_of(&id).len(), 3);
}

#[tokio::test]
async fn an_upload_the_reconciler_ends_is_announced_once_and_a_failed_announcement_is_retried() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let key = "uploads/VEND001/told.csv";
    let id = stuck(&mem, key, 3, 3, true).await;
    // The topic refuses the first publish: the upload ends, its notification stays pending.
    mem.topic.fail(1);
    let first = reconciler(&mem, &failed).run(now()).await.expect("run");
    assert_eq!(first.uploads_ended, 1);
    assert_eq!(mem.topic.defaults(&id).len(), 0, "not published yet");

    // Later runs publish what is pending, once (the grace lets an announcer in flight finish).
    edit_history(&mem, &id, |h| {
        h.completed_at = Some(chrono::Utc::now() - chrono::Duration::minutes(5))
    });
    // The topic refuses once more: the run says so, and the next one publishes.
    mem.topic.fail(1);
    let refused = reconciler(&mem, &failed).run(now()).await.expect("run");
    assert_eq!(refused.notifications_published, 0);
    assert_eq!(refused.failures, ["1 notification(s) still unpublished"]);
    let second = reconciler(&mem, &failed).run(now()).await.expect("run");
    let third = reconciler(&mem, &failed).run(now()).await.expect("run");
    assert_eq!(
        (second.notifications_published, third.notifications_published),
        (1, 0)
    );
    assert!(second.failures.is_empty(), "{:?}", second.failures);
    let sent = mem.topic.defaults(&id);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["status"], "partial");
}

#[tokio::test]
async fn rows_whose_items_say_validated_without_a_verdict_are_validated_again_and_the_upload_ends() {
    let mem = memory();
    let failed = MemoryFailedDeliveries::default();
    let id = stuck(&mem, "uploads/VEND001/restored.csv", 3, 3, true).await;
    // The items of rows 1 and 3 say validated, but the ledger holds no verdict for them
    // (a database restored to before those commits): nothing would write them again.
    for (_, item) in mem.items.lock().expect("items").iter_mut() {
        if item.row_number != 2 {
            item.status = RecordStatus::Validated;
        }
    }

    let report = reconciler(&mem, &failed).run(now()).await.expect("run");

    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // Row 2 as a pending item, rows 1 and 3 through the validator again.
    assert_eq!(report.rows_validated, 3);
    assert_eq!((report.rows_given_up, report.uploads_ended), (0, 1));
    assert_eq!(mem.counters(&id), Some((2, 1, UploadStatus::Partial)));
    assert!(mem.undecided_rows(&id, 0, 10).await.expect("rows").is_empty());
    let skus: Vec<String> = mem
        .db
        .lock()
        .expect("db")
        .products
        .values()
        .filter(|(_, upload)| upload == &id)
        .map(|(p, _)| p.sku.as_str().to_string())
        .collect();
    assert_eq!(skus.len(), 2, "{skus:?}");
    let again = reconciler(&mem, &failed).run(now()).await.expect("run");
    assert_eq!(again.stuck_uploads, 0);
}
