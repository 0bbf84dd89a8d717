//! "Every upload ends" (DESIGN.md §3) when PostgreSQL fails the stream consumers: it
//! stops in the middle of a large upload, a function times out in the middle of a
//! batch (in the handler, and the built binary killed), another session holds the
//! upload's lock. Each test ends with exact counts.
//!
//! PostgreSQL "stops" for one component only: the validator and the error processor
//! reach it through a TCP proxy the test switches off ([`e2e::faults::Proxy`]), while
//! the shared server keeps serving the parser, the test's own checks and other tests.

use aws_lambda_events::event::dynamodb::Event;
use domain::model::RecordStatus;
use e2e::drive::{
    catalog, consumers, count, database_url, drain, error_handler, log_lines, observed, records, serial,
    snapshot, validator_handler, HandlerError, LocalReconciler, Ports, Tally, TempLogs,
};
use e2e::exact::{assert_exact, csv_file, Expect};
use e2e::faults::database_proxy;
use e2e::pipeline::{field, insert_batch_json, items, pg, put_with_event, stack, unique, TestStack};
use e2e::runtime_api::{binary, invoke_binary, Outcome};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The first line of the validator's write: one statement per batch that records its
/// verdicts and products and commits as it ends (`adapters::postgres` prepares it once
/// per connection). The proxy fires on the Bind that executes it.
const COMMIT_BATCH: &str = "-- commit_batch\n";

/// Invocations of one batch before the mapping gives up on it (MaximumRetryAttempts + 1).
fn attempts_per_batch() -> usize {
    let settings = devstack::esm::settings_for("StreamValidatorFunction").expect("mapping");
    settings.maximum_retry_attempts.expect("a bounded retry count") as usize + 1
}

/// `.local/env`'s settings for a function binary, with this `DATABASE_URL`.
fn env_with_database(url: &str) -> Vec<(String, String)> {
    e2e::stack::load_env()
        .iter()
        .map(|(k, v)| match k.as_str() {
            "DATABASE_URL" => (k.clone(), url.to_string()),
            _ => (k.clone(), v.clone()),
        })
        .collect()
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// An upload of 40 rows (every 8th in error) from `vendor`, parsed and not yet
/// validated: the stream's ARN and position before it, its id, its pending items, and
/// what it must end with.
struct Parsed {
    arn: String,
    from: devstack::esm::StreamPosition,
    upload_id: String,
    pending: Vec<domain::model::UploadRecord>,
    expect: Expect,
}

async fn parsed_upload(stack: &TestStack, tag: &str, vendor: &str) -> Parsed {
    let p = unique(tag);
    let file = csv_file(&p, 40, 8, 0);
    let arn = stack.stream_arn().await.expect("stream");
    let from = snapshot(stack).await;
    let (event, upload_id) = put_with_event(stack, &format!("uploads/{vendor}/{p}.csv"), file.body).await;
    stack.invoke_parser(&event).await.expect("parse");
    let pending = items(stack, &upload_id).await;
    assert_eq!(pending.len(), 40);
    Parsed {
        arn,
        from,
        upload_id,
        pending,
        expect: file.expect,
    }
}

/// Another session's transaction holding the upload's history row, as a long
/// transaction would.
async fn hold_history_row<'a>(
    other: &'a mut tokio_postgres::Client,
    upload_id: &str,
) -> tokio_postgres::Transaction<'a> {
    let lock = other.transaction().await.expect("begin");
    lock.query_one(
        "SELECT 1 FROM upload_history WHERE upload_id = $1 FOR UPDATE",
        &[&upload_id],
    )
    .await
    .expect("lock");
    lock
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_in_the_middle_of_a_20000_row_validation_ends_every_row_exactly_once() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    let logs = TempLogs::new("pgdown");
    let p = unique("PGDOWN");
    // 10 prices the validator refuses, 2 rows the parser finds malformed.
    let file = csv_file(&p, 20_000, 2_000, 6_667);
    assert_eq!((file.expect.valid, file.expect.errors), (19_988, 12));

    let from = snapshot(&stack).await;
    let (event, upload_id) = put_with_event(&stack, &format!("uploads/VEND002/{p}.csv"), file.body).await;
    let started = Instant::now();
    stack.invoke_parser(&event).await.expect("parse");
    eprintln!("parse of 20,000 rows: {:.1} s", started.elapsed().as_secs_f64());

    let (proxy, url) = database_proxy().await;
    let proxy = Arc::new(proxy);
    let ports = Ports::with_database(&url).await;
    let attempts = attempts_per_batch();
    let tally = Arc::new(Mutex::new(Tally::default()));
    let outage = proxy.clone();
    let validator = observed(validator_handler(ports.clone()), tally.clone(), move |t| {
        // 30 batches in, the database stops while the next batch's write is being
        // sent: the connection is cut before the message holding the rows' values (the
        // Bind) has reached the server whole, so the write (one statement, atomic)
        // never runs. Its text is the same for every batch: the trigger is a value of
        // the rows, an image URL.
        if t.clean == 30 && t.failed == 0 {
            outage.go_down_when_sent("https://example.com/");
        }
        // ...and starts again once two batches have spent every retry.
        if t.failed == 2 * attempts {
            outage.set_up(true);
        }
    });
    let mut consumers = consumers(validator, error_handler(ports.clone()));
    let started = Instant::now();
    let report = drain(&stack, &from, &[&upload_id], &mut consumers, Some(&logs.stream)).await;
    eprintln!(
        "drain through the outage: {:.1} s; {:?}",
        started.elapsed().as_secs_f64(),
        report.consumers
    );
    assert_eq!(proxy.fired(), 1, "the database stopped in the middle of a batch");

    // The event sources gave up on exactly two validator batches; their rows, and only
    // theirs, are still pending, with no verdict anywhere.
    let messages = log_lines(&logs.stream);
    let given_up: Vec<&serde_json::Value> = messages
        .iter()
        .filter(|m| m["consumer"] == "stream-validator")
        .collect();
    assert_eq!(given_up.len(), 2, "{messages:#?}");
    for m in &given_up {
        assert_eq!(m["requestContext"]["condition"], "RetryAttemptsExhausted", "{m}");
    }
    let in_log: u64 = given_up
        .iter()
        .map(|m| m["DDBStreamBatchInfo"]["batchSize"].as_u64().expect("batchSize"))
        .sum();
    let pending: Vec<u64> = items(&stack, &upload_id)
        .await
        .iter()
        .filter(|i| i.status == RecordStatus::PendingValidation)
        .map(|i| i.row_number)
        .collect();
    assert_eq!(pending.len() as u64, in_log, "the rows of the batches given up");
    let decided_pending: i64 = db
        .query_one(
            "SELECT count(*) FROM upload_rows WHERE upload_id = $1 AND row_number = ANY($2)",
            &[
                &upload_id,
                &pending.iter().map(|n| *n as i32).collect::<Vec<i32>>(),
            ],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(decided_pending, 0, "the interrupted write left nothing");
    let h = stack.history(&upload_id).await.expect("history");
    assert_eq!(field(&h, "status"), "processing", "{h}");

    // The reconciler finishes the job and acknowledges what the event sources gave up.
    let started = Instant::now();
    let run = LocalReconciler::new(logs.logs()).await.run().await;
    eprintln!(
        "reconciler run: {:.1} s; {run:?}",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(run.messages_acknowledged, messages.len(), "{run:?}");
    assert!(log_lines(&logs.stream).is_empty(), "every message acknowledged");
    assert!(run.rows_validated >= pending.len(), "{run:?}");
    // The run takes up every stuck upload of the stack, so only this upload's part of
    // its report is this test's: no failure, and no verdict from the fault.
    assert!(
        run.failures.iter().all(|f| !f.starts_with(upload_id.as_str())),
        "{run:?}"
    );
    let given_up = count(
        &db,
        "SELECT count(*) FROM validation_errors WHERE upload_id = $1 AND error_type = 'PROCESSING_FAILED'",
        &upload_id,
    )
    .await;
    assert_eq!(given_up, 0, "a fault alone is never a verdict: {run:?}");
    assert_exact(&stack, &db, &upload_id, file.expect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_timeout_in_the_middle_of_a_batch_is_redelivered_and_completes_exactly() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    let p = unique("TIMEOUT");
    let file = csv_file(&p, 150, 10, 0);

    let from = snapshot(&stack).await;
    let (event, upload_id) = put_with_event(&stack, &format!("uploads/VEND001/{p}.csv"), file.body).await;
    stack.invoke_parser(&event).await.expect("parse");

    // The first batch's write (one statement, named `commit_batch` on its first line,
    // committed as it ends) reaches the database, but its answer is held: the invocation
    // runs out of time with its verdicts durable and none of its items marked.
    let (proxy, url) = database_proxy().await;
    let proxy = Arc::new(proxy);
    proxy.hold_answers_after(COMMIT_BATCH);
    let ports = Ports::with_database(&url).await;
    let timeouts = Arc::new(AtomicUsize::new(0));
    let at_timeout: Arc<Mutex<Option<(i64, usize)>>> = Arc::default();
    let (p2, t2, seen, id) = (
        proxy.clone(),
        timeouts.clone(),
        at_timeout.clone(),
        upload_id.clone(),
    );
    let (dynamodb, table) = (stack.dynamodb.clone(), stack.table.clone());
    let validator = devstack::esm::handler_fn(move |event: Event| {
        let (ports, proxy, timeouts, seen, id) =
            (ports.clone(), p2.clone(), t2.clone(), seen.clone(), id.clone());
        let (dynamodb, table) = (dynamodb.clone(), table.clone());
        async move {
            let limit = Duration::from_secs(5);
            match tokio::time::timeout(limit, ports.validator().handle(&event)).await {
                Ok(answer) => Ok(answer),
                Err(_) => {
                    timeouts.fetch_add(1, Ordering::SeqCst);
                    let db = pg().await;
                    let decided =
                        count(&db, "SELECT count(*) FROM upload_rows WHERE upload_id = $1", &id).await;
                    let pending = e2e::stack::query_items(&dynamodb, &table, &id)
                        .await
                        .iter()
                        .filter(|i| i.status == RecordStatus::PendingValidation)
                        .count();
                    if let Ok(mut s) = seen.lock() {
                        *s = Some((decided, pending));
                    }
                    // Lambda ends a timed-out environment: its connections die with it.
                    proxy.set_up(false);
                    proxy.release();
                    proxy.set_up(true);
                    Err::<_, HandlerError>("Task timed out after 5.00 seconds".into())
                }
            }
        }
    });
    let direct = Ports::with_database(&database_url()).await;
    let mut consumers = consumers(validator, error_handler(direct));
    let report = drain(&stack, &from, &[&upload_id], &mut consumers, None).await;

    assert_eq!(proxy.fired(), 1);
    assert_eq!(timeouts.load(Ordering::SeqCst), 1, "{:?}", report.consumers);
    let at_timeout = at_timeout.lock().map(|s| *s).ok().flatten();
    assert_eq!(
        at_timeout,
        Some((100, 150)),
        "timed out in the middle: the first batch's verdicts committed, no item marked"
    );
    let validator = report.consumer("stream-validator").expect("validator report");
    assert!(
        validator.bisections >= 1,
        "a function error is bisected: {validator:?}"
    );
    assert_eq!(validator.on_failure_batches, 0, "{validator:?}");
    assert_exact(&stack, &db, &upload_id, file.expect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_by_another_session_fails_the_batch_promptly_and_the_redelivery_completes_exactly() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    let Parsed {
        arn,
        from,
        upload_id,
        pending,
        expect,
    } = parsed_upload(&stack, "LOCK", "VEND003").await;

    let limits = adapters::config::SessionLimits {
        lock_timeout_ms: 300,
        ..Default::default()
    };
    let ports = Ports::new(catalog(&database_url(), limits).await, records(&stack.dynamodb)).await;
    let validator = ports.validator();
    let batch: Event = serde_json::from_value(insert_batch_json(&pending)).expect("a stream event");
    let all: Vec<String> = batch
        .records
        .iter()
        .filter_map(|r| r.change.sequence_number.clone())
        .collect();

    let mut other = pg().await;
    let lock = hold_history_row(&mut other, &upload_id).await;

    // A guard, not a measurement: without a lock timeout the validator would wait here
    // until the other session ends.
    let guard = Duration::from_secs(60);
    let err = tokio::time::timeout(guard, validator.validate_items(&upload_id, &pending))
        .await
        .expect("the validator gave up on the lock instead of waiting for it")
        .expect_err("the upload's row is locked");
    assert!(err.is_transient(), "a lock not available is retried: {err}");
    assert!(
        err.to_string().contains("55P03"),
        "lock_timeout's SQLSTATE: {err}"
    );
    let response = tokio::time::timeout(guard, validator.handle(&batch))
        .await
        .expect("the batch ended while the lock was held");
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, all, "every record of the batch is reported for retry");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM upload_rows WHERE upload_id = $1",
            &upload_id
        )
        .await,
        0,
        "no verdict while the lock was held"
    );
    assert!(items(&stack, &upload_id)
        .await
        .iter()
        .all(|i| i.status == RecordStatus::PendingValidation));

    // The lock is released: the redelivery completes, and another changes nothing.
    lock.rollback().await.expect("release the lock");
    for _ in 0..2 {
        let response = validator.handle(&batch).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{:?}",
            response.batch_item_failures
        );
    }
    // The error rows' MODIFY events reach the error processor through the real stream.
    stack.drain(&arn, &from, &upload_id, false).await.expect("drain");
    assert_exact(&stack, &db, &upload_id, expect).await;
}

/// Two deliveries of one batch at once (a retry while the first still runs, a bisected
/// half beside the whole): both read the batch's context before either writes; the
/// second write waits on the upload's lock, finds every row decided, and takes the
/// verdicts that stand from what the first committed. Each row is recorded and counted
/// once, and both deliveries succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliveries_of_one_batch_at_once_record_and_count_each_row_once() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    let Parsed {
        arn,
        from,
        upload_id,
        pending,
        expect,
    } = parsed_upload(&stack, "TWICE", "VEND001").await;

    // Another session holds the upload's row until both writes wait on it, so neither
    // delivery can write before the other has read.
    let mut other = pg().await;
    let lock = hold_history_row(&mut other, &upload_id).await;
    // A lock timeout past the wait below, so a slow machine fails on that wait's message.
    let limits = adapters::config::SessionLimits {
        lock_timeout_ms: 90_000,
        ..Default::default()
    };
    let ports =
        || async { Ports::new(catalog(&database_url(), limits).await, records(&stack.dynamodb)).await };
    let (first, second) = (ports().await, ports().await);
    let release = async {
        let waiting = "SELECT count(*) FROM pg_stat_activity
                       WHERE wait_event_type = 'Lock' AND query LIKE $1 || '%'";
        let both_wait = async {
            while db
                .query_one(waiting, &[&COMMIT_BATCH])
                .await
                .expect("activity")
                .get::<_, i64>(0)
                < 2
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(60), both_wait)
            .await
            .expect("both writes wait on the upload's lock");
        // The holder updates the row before it commits: the first write's lock then
        // reads the newer version, and its count is added to that.
        lock.execute(
            "UPDATE upload_history SET metadata = metadata WHERE upload_id = $1",
            &[&upload_id],
        )
        .await
        .expect("update");
        lock.commit().await.expect("release the lock");
    };
    let (one, two) = (first.validator(), second.validator());
    let (one, two, ()) = tokio::join!(
        one.validate_items(&upload_id, &pending),
        two.validate_items(&upload_id, &pending),
        release,
    );
    one.expect("the first delivery");
    two.expect("the second delivery");
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM upload_rows WHERE upload_id = $1",
            &upload_id
        )
        .await,
        40,
        "one verdict per row"
    );

    // The error rows' MODIFY events reach the error processor through the real stream.
    stack.drain(&arn, &from, &upload_id, false).await.expect("drain");
    assert_exact(&stack, &db, &upload_id, expect).await;
}

/// The built stream-validator, as Lambda runs it: killed when its invocation runs out of
/// time (its process, pool and open connections gone), then the same batch redelivered
/// to a fresh process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_validator_binary_killed_at_its_timeout_mid_batch_and_the_redelivered_batch_completes_exactly() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    let p = unique("KILLED");
    let file = csv_file(&p, 100, 10, 0);

    let arn = stack.stream_arn().await.expect("stream");
    let from = snapshot(&stack).await;
    let (event, upload_id) = put_with_event(&stack, &format!("uploads/VEND001/{p}.csv"), file.body).await;
    stack.invoke_parser(&event).await.expect("parse");
    let pending = items(&stack, &upload_id).await;
    assert_eq!(pending.len(), 100);
    let batch = insert_batch_json(&pending);

    // Its write reaches the database and commits, the answer never reaches the function:
    // the invocation runs out of time with its verdicts durable and no item marked.
    let (proxy, url) = database_proxy().await;
    proxy.hold_answers_after(COMMIT_BATCH);
    let (proxied, direct) = (env_with_database(&url), env_with_database(&database_url()));
    let validator = binary("stream-validator", "stream-validator");
    // Lambda's timeout strikes while the function waits for that answer: once the
    // write is seen (however slow the machine), the invocation is dropped and with it
    // the process (`kill_on_drop`).
    let commit_seen = async {
        while proxy.fired() == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let guard = Duration::from_secs(120);
    let proxied = pairs(&proxied);
    tokio::select! {
        outcome = invoke_binary(&validator, &proxied, batch.clone(), None) => {
            panic!("the invocation was to time out: {outcome:?}")
        }
        _ = tokio::time::timeout(guard, commit_seen) => {}
    }
    proxy.release();
    assert_eq!(proxy.fired(), 1);
    let decided = "SELECT count(*) FROM upload_rows WHERE upload_id = $1";
    assert_eq!(
        count(&db, decided, &upload_id).await,
        100,
        "the verdicts committed"
    );
    assert!(
        items(&stack, &upload_id)
            .await
            .iter()
            .all(|i| i.status == RecordStatus::PendingValidation),
        "no item marked"
    );
    let h = stack.history(&upload_id).await.expect("history");
    assert_eq!(field(&h, "status"), "processing", "{h}");

    // Redelivered to a fresh process: every item decided, nothing counted twice; a
    // second redelivery changes nothing.
    let mut after = None;
    for delivery in 1..=2 {
        let outcome = invoke_binary(&validator, &pairs(&direct), batch.clone(), None).await;
        assert_eq!(
            outcome,
            Outcome::Response(serde_json::json!({ "batchItemFailures": [] })),
            "redelivery {delivery}"
        );
        let decided_items = items(&stack, &upload_id).await;
        let by_status = |s: RecordStatus| decided_items.iter().filter(|i| i.status == s).count();
        assert_eq!(
            (by_status(RecordStatus::Validated), by_status(RecordStatus::Error)),
            (90, 10),
            "redelivery {delivery}"
        );
        assert_eq!(count(&db, decided, &upload_id).await, 100);
        let products = "SELECT count(*) FROM products WHERE upload_id = $1";
        assert_eq!(count(&db, products, &upload_id).await, 90);
        let h = stack.history(&upload_id).await.expect("history");
        if let Some(before) = after.replace(h.clone()) {
            assert_eq!(h, before, "the second redelivery changed nothing");
        }
    }
    // The error rows' MODIFY events reach the error processor through the real stream.
    stack.drain(&arn, &from, &upload_id, false).await.expect("drain");
    assert_exact(&stack, &db, &upload_id, file.expect).await;
}
