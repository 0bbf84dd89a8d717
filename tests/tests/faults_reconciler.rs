//! "Every upload ends" (DESIGN.md §3) through upload-reconciler, run as the built
//! `devstack reconcile --older-than 0s` in a process of its own, reading devstack's own
//! on-failure logs: a poison stream record fails alone, reaches the stream mappings'
//! on-failure log, and its row gets `PROCESSING_FAILED` on the third run (never before);
//! csv-parser's event that failed every retry is re-driven from its on-failure log; a
//! parse that crashed half-way is resumed; rows whose items are gone (expired) get
//! `PROCESSING_FAILED` on the third run; a run with nothing to do changes nothing.
//!
//! The reconciler takes up every upload processing in the stack, so each test starts
//! from a settled stack (runs until nothing is processing and both logs are empty) and
//! can assert each run's report whole.

use aws_sdk_dynamodb::types::AttributeValue;
use devstack::reconcile::{parser_failure_log, stream_failure_log};
use e2e::drive::{
    catalog, consumers, count, database_url, devstack_reconcile, drain, error_handler, log_lines, observed,
    records, serial, snapshot, validator_handler, ParserPorts, Ports, Tally,
};
use e2e::exact::{assert_exact, csv_file, raw_statuses, Expect};
use e2e::faults::database_proxy;
use e2e::interpose::{At, Interposed, PoisonRow};
use e2e::pipeline::{errors, field, items, pg, put_with_event, stack, unique, TestStack};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Instant;

async fn processing_uploads(db: &tokio_postgres::Client) -> Vec<String> {
    db.query(
        "SELECT upload_id FROM upload_history WHERE status = 'processing'",
        &[],
    )
    .await
    .expect("processing uploads")
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// `devstack reconcile` until whatever earlier runs of the suite left is done (a row
/// failing every attempt ends on the last one), then asserts that nothing is processing
/// and both on-failure logs are empty.
async fn settle(db: &tokio_postgres::Client) {
    let mut reports = Vec::new();
    for _ in 0..domain::reconcile::MAX_ATTEMPTS {
        reports.push(devstack_reconcile().await);
        let logs_empty =
            log_lines(&parser_failure_log()).is_empty() && log_lines(&stream_failure_log()).is_empty();
        if logs_empty && processing_uploads(db).await.is_empty() {
            return;
        }
    }
    panic!(
        "uploads processing or on-failure messages left before this test: {:?}, {reports:#?}",
        processing_uploads(db).await
    );
}

/// A run's report as `devstack reconcile` prints it: every counter zero but those given.
fn report(counters: Value) -> Value {
    let mut r = json!({
        "events_redriven": 0,
        "messages_acknowledged": 0,
        "stuck_uploads": 0,
        "parses_resumed": 0,
        "rows_validated": 0,
        "rows_recorded": 0,
        "rows_given_up": 0,
        "uploads_ended": 0,
        "notifications_published": 0,
        "failures": [],
    });
    if let (Some(r), Some(given)) = (r.as_object_mut(), counters.as_object()) {
        for (k, v) in given {
            assert!(r.contains_key(k), "no counter {k} in a report");
            r.insert(k.clone(), v.clone());
        }
    }
    r
}

/// `devstack reconcile`, timed.
async fn reconcile_timed(what: &str) -> Value {
    let started = Instant::now();
    let r = devstack_reconcile().await;
    eprintln!(
        "devstack reconcile ({what}): {:.1} s",
        started.elapsed().as_secs_f64()
    );
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_record_fails_alone_and_devstack_reconcile_ends_its_upload_with_processing_failed_on_the_third_run(
) {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    settle(&db).await;
    let p = unique("POISON");
    let file = csv_file(&p, 150, 0, 0);
    let poison_row = 60;

    // Row 60's item is written as one the validator cannot decode, among its neighbours.
    let ledger = catalog(&database_url(), Default::default()).await;
    let poisoned = PoisonRow {
        inner: records(&stack.dynamodb),
        client: stack.dynamodb.clone(),
        table: stack.table.clone(),
        row: poison_row,
    };
    let parts = ParserPorts::new(&stack).await;
    let from = snapshot(&stack).await;
    let (event, upload_id) = put_with_event(&stack, &format!("uploads/VEND002/{p}.csv"), file.body).await;
    parts
        .over(&poisoned, &ledger)
        .handle(&event)
        .await
        .expect("parse");

    // The template's mappings, with devstack's own on-failure log (the one the CLI reads).
    let ports = Ports::with_database(&database_url()).await;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut consumers = consumers(
        observed(validator_handler(ports.clone()), tally.clone(), |_| {}),
        error_handler(ports),
    );
    let started = Instant::now();
    drain(
        &stack,
        &from,
        &[&upload_id],
        &mut consumers,
        Some(&stream_failure_log()),
    )
    .await;
    eprintln!("drain: {:.1} s", started.elapsed().as_secs_f64());

    // It failed alone: every answer named it and only it, and every other row is decided.
    let t = tally.lock().map(|t| t.clone()).expect("tally");
    let poison_seq = t
        .sequence_numbers
        .get(&domain::model::record_id(poison_row))
        .cloned()
        .expect("the poison record was delivered");
    let settings = devstack::esm::settings_for("StreamValidatorFunction").expect("mapping");
    let attempts = settings.maximum_retry_attempts.expect("bounded") as usize + 1;
    assert_eq!(t.reported.len(), attempts, "{:?}", t.reported);
    assert!(
        t.reported.iter().all(|r| *r == [poison_seq.clone()]),
        "only the poison record is reported: {:?}",
        t.reported
    );
    let statuses = raw_statuses(&stack, &upload_id).await;
    assert_eq!(statuses.len(), 150);
    for (row, status) in &statuses {
        let expected = if *row == poison_row {
            "pending_validation"
        } else {
            "validated"
        };
        assert_eq!(status, expected, "row {row}");
    }
    // After the retry limit it is in devstack's on-failure log, alone.
    let messages = log_lines(&stream_failure_log());
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert_eq!(messages[0]["consumer"], "stream-validator");
    assert_eq!(
        messages[0]["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    assert_eq!(
        messages[0]["DDBStreamBatchInfo"]["startSequenceNumber"], poison_seq,
        "the batch given up starts at the poison record"
    );
    let h = stack.history(&upload_id).await.expect("history");
    assert_eq!(field(&h, "status"), "processing", "{h}");
    assert_eq!(field(&h, "valid_records"), 149, "{h}");

    // Each run fails the row once more; the third gives it PROCESSING_FAILED and the
    // upload ends. The first run also acknowledges the on-failure message.
    for run in 1..=3i64 {
        let mut got = reconcile_timed(&format!("poison, run {run}")).await;
        let attempts = count(
            &db,
            "SELECT COALESCE(max(attempts), 0)::bigint FROM reconcile_attempts WHERE upload_id = $1",
            &upload_id,
        )
        .await;
        assert_eq!(attempts, run, "one failed attempt per run: {got}");
        let failures = std::mem::replace(&mut got["failures"], json!([]));
        let failures = failures.as_array().cloned().unwrap_or_default();
        assert_eq!(failures.len(), 1, "run {run}: {failures:?}");
        let failure = failures[0].as_str().unwrap_or_default();
        assert!(
            failure.starts_with(&format!("{upload_id}: 1 row(s) failed, e.g. row {poison_row}:")),
            "run {run}: {failure}"
        );
        let expected = match run {
            1 => report(json!({ "messages_acknowledged": 1, "stuck_uploads": 1 })),
            2 => report(json!({ "stuck_uploads": 1 })),
            // The given-up item is an `error` item now: the error processor's code
            // records it (already recorded: a no-op) before the upload is finalised.
            _ => report(json!({
                "stuck_uploads": 1, "rows_recorded": 1, "rows_given_up": 1, "uploads_ended": 1,
            })),
        };
        assert_eq!(got, expected, "run {run}");
        if run < 3 {
            assert!(
                errors(&db, &upload_id).await.is_empty(),
                "never a verdict before the third run"
            );
            let h = stack.history(&upload_id).await.expect("history");
            assert_eq!(field(&h, "status"), "processing", "run {run}: {h}");
        }
        assert!(log_lines(&stream_failure_log()).is_empty(), "run {run}");
    }
    assert_eq!(
        errors(&db, &upload_id).await,
        vec![(poison_row as i32, "PROCESSING_FAILED".to_string(), String::new())]
    );
    let h = assert_exact(
        &stack,
        &db,
        &upload_id,
        Expect {
            total: 150,
            valid: 149,
            errors: 1,
        },
    )
    .await;
    assert_eq!(field(&h, "status"), "partial", "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devstack_reconcile_redrives_a_csv_parser_event_that_failed_every_retry_and_the_upload_ends_exactly()
{
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    settle(&db).await;
    let p = unique("REDRIVE");
    let file = csv_file(&p, 120, 12, 0);
    let parts = ParserPorts::new(&stack).await;

    // csv-parser fails the S3 event three times (its database unreachable), as Lambda
    // invokes it asynchronously; the event lands in its on-failure log. Nothing of the
    // upload exists.
    let from = snapshot(&stack).await;
    let (event, upload_id) = put_with_event(&stack, &format!("uploads/VEND002/{p}.csv"), file.body).await;
    let (proxy, url) = database_proxy().await;
    proxy.set_up(false);
    let unreachable = catalog(&url, Default::default()).await;
    let direct = records(&stack.dynamodb);
    let parser = parts.over(&direct, &unreachable);
    let mut last = None;
    for _ in 0..3 {
        let err = parser
            .handle(&event)
            .await
            .expect_err("the database is unreachable");
        assert!(err.is_transient(), "{err}");
        last = Some(err.to_string());
    }
    let message = devstack::upload::parser_failure(&event, &last.unwrap_or_default());
    devstack::esm::append_on_failure(&parser_failure_log(), &message)
        .await
        .expect("on-failure log");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM upload_history WHERE upload_id = $1",
            &upload_id
        )
        .await,
        0
    );
    assert!(items(&stack, &upload_id).await.is_empty());

    // The run re-drives it: the parse creates the upload and writes every item, and the
    // message is acknowledged. The upload started after the run's cutoff: it is not
    // taken up as stuck by the same run.
    let got = reconcile_timed("re-drive").await;
    assert_eq!(
        got,
        report(json!({ "events_redriven": 1, "messages_acknowledged": 1 }))
    );
    assert!(log_lines(&parser_failure_log()).is_empty());
    let h = stack
        .history(&upload_id)
        .await
        .expect("the re-driven parse created the upload");
    assert_eq!(field(&h, "status"), "processing", "{h}");
    assert_eq!(field(&h, "total_records"), 120, "{h}");
    assert_eq!(items(&stack, &upload_id).await.len(), 120);

    // Its rows reach the validator through the stream, as after any parse.
    let ports = Ports::with_database(&database_url()).await;
    let mut consumers = consumers(validator_handler(ports.clone()), error_handler(ports));
    drain(&stack, &from, &[&upload_id], &mut consumers, None).await;
    let expect = file.expect;
    assert_eq!(
        expect,
        Expect {
            total: 120,
            valid: 110,
            errors: 10
        }
    );
    assert_exact(&stack, &db, &upload_id, expect).await;
    assert_eq!(
        errors(&db, &upload_id).await,
        (1..=10)
            .map(|i| (i * 12, "INVALID_PRICE".to_string(), "price".to_string()))
            .collect::<Vec<_>>()
    );

    // A run with nothing to do changes nothing.
    let before = stack.history(&upload_id).await.expect("history");
    assert_eq!(reconcile_timed("nothing to do").await, report(json!({})));
    assert_eq!(stack.history(&upload_id).await.expect("history"), before);
    assert_exact(&stack, &db, &upload_id, expect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devstack_reconcile_resumes_a_parse_that_crashed_half_way_and_the_upload_ends_exactly() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    settle(&db).await;
    let p = unique("RESUME");
    let file = csv_file(&p, 300, 20, 0);
    let ledger = catalog(&database_url(), Default::default()).await;
    let parts = ParserPorts::new(&stack).await;

    // The parse crashes after its first writes (its future dropped while its fifth
    // waits: at most 4 are in flight, so one has returned): the upload is processing,
    // partly written, its lease still held.
    let (event, upload_id) = put_with_event(&stack, &format!("uploads/VEND001/{p}.csv"), file.body).await;
    let table = records(&stack.dynamodb);
    let crashing = Interposed::new(&table, At::Pause(4));
    let parser = parts.over(&crashing, &ledger);
    tokio::select! {
        r = parser.handle(&event) => panic!("the parse was to crash half-way: {r:?}"),
        _ = crashing.gate.reached() => {}
    }
    let written = items(&stack, &upload_id).await.len();
    assert!((1..300).contains(&written), "{written} items written");
    let lease_held = count(
        &db,
        "SELECT count(*) FROM upload_history WHERE upload_id = $1 AND status = 'processing'
           AND NOT (metadata->>'parsed')::boolean AND parse_lease_until > now()",
        &upload_id,
    )
    .await;
    assert_eq!(lease_held, 1, "the crashed parse still holds its lease");
    // Time passes: the lease (longer than the function's timeout) runs out.
    db.execute(
        "UPDATE upload_history SET parse_lease_until = now() - interval '1 second' WHERE upload_id = $1",
        &[&upload_id],
    )
    .await
    .expect("expire the lease");

    // One run resumes the parse (writing only the missing items), validates every row,
    // records the 15 refused ones and ends the upload.
    let got = reconcile_timed("resume").await;
    assert_eq!(
        got,
        report(json!({
            "stuck_uploads": 1,
            "parses_resumed": 1,
            "rows_validated": 300,
            "rows_recorded": 15,
            "uploads_ended": 1,
        }))
    );
    assert_exact(&stack, &db, &upload_id, file.expect).await;
    assert_eq!(errors(&db, &upload_id).await.len(), 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_whose_items_expired_get_processing_failed_on_the_third_devstack_reconcile_and_the_upload_ends()
{
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    settle(&db).await;
    // The parse writes every item; before any is decided, DynamoDB's TTL (or anyone)
    // deletes rows 10 and 20. No parse will write them again: the upload is parsed.
    let upload_id = parsed_30_rows(&stack, "EXPIRED").await;
    for row in [10, 20] {
        stack
            .dynamodb
            .delete_item()
            .table_name(&stack.table)
            .key("upload_id", AttributeValue::S(upload_id.clone()))
            .key("record_id", AttributeValue::S(domain::model::record_id(row)))
            .send()
            .await
            .unwrap_or_else(|e| panic!("delete row {row}: {e}"));
    }
    assert_eq!(items(&stack, &upload_id).await.len(), 28);

    // The first run validates the 28 items; each run counts a failed attempt on the two
    // missing rows, and only the third gives them PROCESSING_FAILED, ending the upload.
    let failure = format!(
        "{upload_id}: 2 row(s) failed, e.g. row 10: the row has no item in UploadRecords, and no parse will \
         write it"
    );
    for run in 1..=3 {
        let got = reconcile_timed(&format!("expired items, run {run}")).await;
        let expected = match run {
            1 => json!({ "stuck_uploads": 1, "rows_validated": 28, "failures": [failure] }),
            2 => json!({ "stuck_uploads": 1, "failures": [failure] }),
            _ => json!({ "stuck_uploads": 1, "rows_given_up": 2, "uploads_ended": 1, "failures": [failure] }),
        };
        assert_eq!(got, report(expected), "run {run}");
        if run < 3 {
            assert!(
                errors(&db, &upload_id).await.is_empty(),
                "never a verdict before the third run"
            );
        }
    }
    assert_eq!(
        errors(&db, &upload_id).await,
        [10, 20]
            .map(|row| (row, "PROCESSING_FAILED".to_string(), String::new()))
            .to_vec()
    );
    // Exact: 28 products, 2 errors, an item per row (the given-up rows' stand-ins), the report.
    let h = assert_exact(
        &stack,
        &db,
        &upload_id,
        Expect {
            total: 30,
            valid: 28,
            errors: 2,
        },
    )
    .await;
    assert_eq!(field(&h, "status"), "partial", "{h}");
    assert_eq!(reconcile_timed("nothing to do").await, report(json!({})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_whose_items_say_validated_without_a_verdict_are_validated_again_by_devstack_reconcile() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    settle(&db).await;
    // The parse writes every item; then the items of rows 10 and 20 say validated while
    // PostgreSQL holds no verdict for them, as after a restore of the database to a
    // point before those commits. Nothing will write those items again.
    let upload_id = parsed_30_rows(&stack, "AHEAD").await;
    for row in [10, 20] {
        stack
            .dynamodb
            .update_item()
            .table_name(&stack.table)
            .key("upload_id", AttributeValue::S(upload_id.clone()))
            .key("record_id", AttributeValue::S(domain::model::record_id(row)))
            .update_expression("SET #s = :v")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":v", AttributeValue::S("validated".into()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("mark row {row}: {e}"));
    }

    // One run: the 28 pending items and the 2 items ahead of the ledger go through the
    // validator; the upload ends with every row counted once.
    let got = reconcile_timed("items ahead of the ledger").await;
    assert_eq!(
        got,
        report(json!({ "stuck_uploads": 1, "rows_validated": 30, "uploads_ended": 1 }))
    );
    let h = assert_exact(
        &stack,
        &db,
        &upload_id,
        Expect {
            total: 30,
            valid: 30,
            errors: 0,
        },
    )
    .await;
    assert_eq!(field(&h, "status"), "completed", "{h}");
    assert_eq!(reconcile_timed("nothing to do").await, report(json!({})));
}

/// A 30-row upload named after `tag`, every item written by the parse, none decided yet.
async fn parsed_30_rows(stack: &TestStack, tag: &str) -> String {
    let p = unique(tag);
    let file = csv_file(&p, 30, 0, 0);
    let ledger = catalog(&database_url(), Default::default()).await;
    let (event, upload_id) = put_with_event(stack, &format!("uploads/VEND001/{p}.csv"), file.body).await;
    ParserPorts::new(stack)
        .await
        .over(&records(&stack.dynamodb), &ledger)
        .handle(&event)
        .await
        .expect("parse");
    upload_id
}
