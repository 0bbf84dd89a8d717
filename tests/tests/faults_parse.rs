//! "Every upload ends" (DESIGN.md §3) when csv-parser's world misbehaves: DynamoDB
//! stops in the middle of its writes or throttles them, the key is overwritten under a
//! retry, the same S3 event is parsed twice at once. Each test ends with exact counts.
//!
//! DynamoDB "stops" or throttles for one client only: the one built on an
//! [`e2e::http_faults::HttpFaultProxy`]; the stream, the test's reads and other tests
//! reach DynamoDB Local directly.

use csv_parser::Outcome;
use e2e::drive::{
    catalog, consumers, database_url, drain, error_handler, observed, records, serial, snapshot,
    validator_handler, ParserPorts, Ports, Tally,
};
use e2e::exact::{assert_exact, csv_file};
use e2e::http_faults::{Fault, HttpFaultProxy};
use e2e::interpose::{At, Interposed};
use e2e::pipeline::{items, pg, put_with_event, stack, unique};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_stopped_during_the_parse_fails_the_invocation_and_the_retry_writes_every_item_once() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    let p = unique("DDBDOWN");
    let file = csv_file(&p, 300, 25, 40);

    // The parser's first four BatchWriteItem calls go through; the fifth reaches the
    // table but its answer is lost; then DynamoDB is gone until the test brings it back.
    let down = Arc::new(AtomicBool::new(false));
    let d = down.clone();
    let proxy = HttpFaultProxy::dynamodb(move |call| {
        if d.load(Ordering::SeqCst) {
            return Fault::Cut;
        }
        if call.operation == "BatchWriteItem" && call.nth == 4 {
            d.store(true, Ordering::SeqCst);
            return Fault::ForwardThenCut;
        }
        Fault::Forward
    })
    .await
    .expect("proxy");
    let sdk = e2e::stack::aws().await;
    let (records, ledger) = (
        records(&proxy.client(&sdk)),
        catalog(&database_url(), Default::default()).await,
    );
    let parts = ParserPorts::new(&stack).await;
    let parser = parts.over(&records, &ledger);

    let from = snapshot(&stack).await;
    let (event, upload_id) = put_with_event(&stack, &format!("uploads/VEND001/{p}.csv"), file.body).await;
    let started = Instant::now();
    let err = parser
        .handle(&event)
        .await
        .expect_err("the invocation fails while DynamoDB is down");
    eprintln!("failed invocation: {:.1} s", started.elapsed().as_secs_f64());
    assert!(err.is_transient(), "{err}");
    assert_eq!(proxy.applied(Fault::ForwardThenCut), 1);
    assert!(proxy.applied(Fault::Cut) > 0);
    let written = items(&stack, &upload_id).await.len();
    assert!(
        (100..300).contains(&written),
        "cut in the middle: {written} items written"
    );

    // DynamoDB is back; Lambda retries the event.
    down.store(false, Ordering::SeqCst);
    let outcomes = parser.handle(&event).await.expect("the retry");
    assert_eq!(
        outcomes,
        vec![Outcome::Parsed {
            upload_id: upload_id.clone(),
            total_records: 300
        }]
    );

    let ports = Ports::with_database(&database_url()).await;
    let (validated, recorded) = (
        Arc::new(Mutex::new(Tally::default())),
        Arc::new(Mutex::new(Tally::default())),
    );
    let mut consumers = consumers(
        observed(validator_handler(ports.clone()), validated.clone(), |_| {}),
        observed(error_handler(ports), recorded.clone(), |_| {}),
    );
    let report = drain(&stack, &from, &[&upload_id], &mut consumers, None).await;
    assert!(
        report.consumers.iter().all(|c| c.retries == 0),
        "{:?}",
        report.consumers
    );
    // Each row's item was created once: one INSERT per row, whichever mapping took it.
    let mut inserts = validated.lock().map(|t| t.inserts.clone()).unwrap_or_default();
    for (id, n) in recorded.lock().map(|t| t.inserts.clone()).unwrap_or_default() {
        *inserts.entry(id).or_default() += n;
    }
    assert_eq!(inserts.len(), 300);
    let doubled: Vec<_> = inserts.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "items created twice: {doubled:?}");
    assert_exact(&stack, &db, &upload_id, file.expect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_and_partial_batch_writes_are_retried_with_backoff_and_nothing_is_lost() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    let p = unique("THROTTLE");
    let file = csv_file(&p, 300, 30, 0);

    // Of every four BatchWriteItem calls: one throttled, one half written (the rest
    // handed back as UnprocessedItems), two written whole.
    let proxy = HttpFaultProxy::dynamodb(|call| match (call.operation, call.nth % 4) {
        ("BatchWriteItem", 0) => Fault::Throttle,
        ("BatchWriteItem", 1) => Fault::Halve,
        _ => Fault::Forward,
    })
    .await
    .expect("proxy");
    let sdk = e2e::stack::aws().await;
    let throttled = proxy.client(&sdk);
    let ledger = catalog(&database_url(), Default::default()).await;
    let parser_records = records(&throttled);
    let parts = ParserPorts::new(&stack).await;
    let parser = parts.over(&parser_records, &ledger);

    let from = snapshot(&stack).await;
    let (event, upload_id) = put_with_event(&stack, &format!("uploads/VEND002/{p}.csv"), file.body).await;
    let started = Instant::now();
    let outcomes = parser
        .handle(&event)
        .await
        .expect("throttling is retried, not failed");
    eprintln!("throttled parse: {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(
        outcomes,
        vec![Outcome::Parsed {
            upload_id: upload_id.clone(),
            total_records: 300
        }]
    );
    let (throttles, halves) = (proxy.applied(Fault::Throttle), proxy.applied(Fault::Halve));
    assert!(
        throttles >= 3 && halves >= 3,
        "faults injected: {throttles} throttled, {halves} halved"
    );

    // The validator marks its items through the same throttling.
    let validating = Ports::new(
        catalog(&database_url(), Default::default()).await,
        records(&throttled),
    )
    .await;
    let direct = Ports::with_database(&database_url()).await;
    let mut consumers = consumers(validator_handler(validating), error_handler(direct));
    let before = proxy.calls("BatchWriteItem");
    drain(&stack, &from, &[&upload_id], &mut consumers, None).await;
    assert!(
        proxy.calls("BatchWriteItem") > before,
        "the validator wrote through the proxy"
    );
    assert_exact(&stack, &db, &upload_id, file.expect).await;
}

/// README: the first write of an upload is BatchWriteItem, 25 items a call, 4 calls in
/// flight. Every call is held a while (a slow table) so that all the calls the parser
/// keeps in flight are seen in flight at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parse_writes_25_items_a_call_with_4_calls_in_flight() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    let p = unique("INFLIGHT");
    let file = csv_file(&p, 1_000, 0, 0);

    let proxy = HttpFaultProxy::dynamodb(|call| match call.operation {
        "BatchWriteItem" => Fault::Slow,
        _ => Fault::Forward,
    })
    .await
    .expect("proxy");
    let sdk = e2e::stack::aws().await;
    let (slow, ledger) = (
        records(&proxy.client(&sdk)),
        catalog(&database_url(), Default::default()).await,
    );
    let parts = ParserPorts::new(&stack).await;
    let parser = parts.over(&slow, &ledger);

    let from = snapshot(&stack).await;
    let (event, upload_id) = put_with_event(&stack, &format!("uploads/VEND001/{p}.csv"), file.body).await;
    let outcomes = parser.handle(&event).await.expect("parsed");
    assert_eq!(
        outcomes,
        vec![Outcome::Parsed {
            upload_id: upload_id.clone(),
            total_records: 1_000
        }]
    );
    assert_eq!(proxy.batch_writes(), vec![25; 40], "1,000 items, 25 a call");
    assert_eq!(proxy.peak_in_flight("BatchWriteItem"), 4);

    let ports = Ports::with_database(&database_url()).await;
    let mut consumers = consumers(validator_handler(ports.clone()), error_handler(ports));
    drain(&stack, &from, &[&upload_id], &mut consumers, None).await;
    assert_exact(&stack, &db, &upload_id, file.expect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_quick_puts_of_one_key_are_two_uploads_and_a_retry_after_an_overwrite_reads_what_was_uploaded() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    let p = unique("VERSION");
    let key = format!("uploads/VEND001/{p}.csv");
    let first = csv_file(&format!("{p}A"), 4, 4, 0);
    let second = csv_file(&format!("{p}B"), 6, 0, 0);

    let from = snapshot(&stack).await;
    let (event_a, upload_a) = put_with_event(&stack, &key, first.body).await;
    let (event_b, upload_b) = put_with_event(&stack, &key, second.body).await;
    assert_ne!(upload_a, upload_b, "two PUTs of one key are two uploads");

    // The first upload's parse fails at its first write, after the key was overwritten;
    // Lambda's retry comes later still.
    let ledger = catalog(&database_url(), Default::default()).await;
    let table = records(&stack.dynamodb);
    let failing = Interposed::new(&table, At::Fail(0));
    let parts = ParserPorts::new(&stack).await;
    let parser = parts.over(&failing, &ledger);
    let err = parser
        .handle(&event_a)
        .await
        .expect_err("the first attempt fails");
    assert!(err.is_transient(), "{err}");
    stack.invoke_parser(&event_a).await.expect("the retry");
    stack.invoke_parser(&event_b).await.expect("the second upload");

    let ports = Ports::with_database(&database_url()).await;
    let mut consumers = consumers(validator_handler(ports.clone()), error_handler(ports));
    drain(&stack, &from, &[&upload_a, &upload_b], &mut consumers, None).await;
    // Each upload holds its own version's rows (assert_exact compares the catalog with
    // the items, and the counts with what each file holds).
    assert_exact(&stack, &db, &upload_a, first.expect).await;
    assert_exact(&stack, &db, &upload_b, second.expect).await;
    let names: Vec<String> = db
        .query(
            "SELECT vendor_product_id FROM products WHERE upload_id = $1 ORDER BY vendor_product_id",
            &[&upload_a],
        )
        .await
        .expect("products")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, [1, 2, 3].map(|i| format!("{p}A-P{i}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_concurrent_parse_is_busy_and_never_resets_a_decided_item() {
    let _serial = serial().await;
    let stack = stack().await;
    let db = pg().await;
    let p = unique("TWICE");
    let file = csv_file(&p, 150, 15, 0);

    let ledger = catalog(&database_url(), Default::default()).await;
    // The first invocation's first write (rows 1-25) waits at the gate, so its parse
    // does not end; its other writes go on meanwhile.
    let table = records(&stack.dynamodb);
    let slow = Interposed::new(&table, At::Pause(0));
    let gate = slow.gate.clone();
    let parts = ParserPorts::new(&stack).await;
    let first = parts.over(&slow, &ledger);
    let second = stack.parser.parser();
    let ports = Ports::with_database(&database_url()).await;

    let from = snapshot(&stack).await;
    let (event, upload_id) = put_with_event(&stack, &format!("uploads/VEND003/{p}.csv"), file.body).await;
    let (a, (b, later)) = tokio::join!(first.handle(&event), async {
        gate.reached().await;
        let b = second.handle(&event).await;
        // Whatever is written by now is validated before the first one's held write
        // goes out: a write over a decided item would reset it for good (the
        // validator's mapping only sees INSERTs).
        let mut c = consumers(validator_handler(ports.clone()), error_handler(ports.clone()));
        drain(&stack, &from, &[&upload_id], &mut c, None).await;
        let later = snapshot(&stack).await;
        gate.open();
        (b, later)
    });
    assert_eq!(
        b.expect("second"),
        vec![Outcome::Busy {
            upload_id: upload_id.clone()
        }]
    );
    assert_eq!(
        a.expect("first"),
        vec![Outcome::Parsed {
            upload_id: upload_id.clone(),
            total_records: 150
        }]
    );
    let mut c = consumers(validator_handler(ports.clone()), error_handler(ports));
    drain(&stack, &later, &[&upload_id], &mut c, None).await;
    // A third delivery, after the fact, changes nothing.
    assert_eq!(
        second.handle(&event).await.expect("third"),
        vec![Outcome::AlreadyParsed {
            upload_id: upload_id.clone()
        }]
    );
    assert_exact(&stack, &db, &upload_id, file.expect).await;
}
