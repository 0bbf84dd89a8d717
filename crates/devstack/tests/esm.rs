//! The stream event source mapping emulation against DynamoDB Local (`make up`).
//! Each test makes its own table with a stream and deletes it at the end.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot set up should stop there

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use devstack::esm::{
    drain, handler_fn, latest_stream_arn, snapshot_tip, BatchHandler, Consumer, DrainOptions, DrainReport,
    EsmSettings, FilterPattern, StreamPosition,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Local {
    ddb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
}

fn local_env() -> HashMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.local/env");
    let Ok(text) = std::fs::read_to_string(path) else {
        panic!("{path} is missing: run make up first");
    };
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_owned(),
                v.trim().trim_matches('"').trim_matches('\'').to_owned(),
            )
        })
        .collect()
}

async fn local() -> Local {
    let env = local_env();
    let get = |k: &str| {
        env.get(k)
            .cloned()
            .unwrap_or_else(|| panic!("{k} missing from .local/env: run make up first"))
    };
    let endpoint = get("AWS_ENDPOINT_URL_DYNAMODB");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(get("AWS_REGION")))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            get("AWS_ACCESS_KEY_ID"),
            get("AWS_SECRET_ACCESS_KEY"),
            None,
            None,
            "local-env",
        ))
        .endpoint_url(&endpoint)
        .http_client(adapters::aws::https_client())
        .load()
        .await;
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    if ddb.list_tables().limit(1).send().await.is_err() {
        panic!("DynamoDB Local does not answer at {endpoint}: run make up first");
    }
    Local {
        ddb,
        streams: aws_sdk_dynamodbstreams::Client::new(&config),
    }
}

/// A fresh table `EsmTest_<name>_<nanos>` (hash key `pk`) with a NEW_IMAGE stream.
async fn table(local: &Local, name: &str) -> (String, String) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let table = format!("EsmTest_{name}_{nanos}");
    let out = local
        .ddb
        .create_table()
        .table_name(&table)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewImage)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let arn = out
        .table_description
        .and_then(|d| d.latest_stream_arn)
        .expect("table has a stream");
    (table, arn)
}

async fn put(local: &Local, table: &str, pk: &str, status: &str) {
    local
        .ddb
        .put_item()
        .table_name(table)
        .item("pk", AttributeValue::S(pk.to_owned()))
        .item("status", AttributeValue::S(status.to_owned()))
        .item("n", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
}

async fn drop_table(local: &Local, table: &str) {
    let _ = local.ddb.delete_table().table_name(table).send().await;
}

/// What a handler answers, given the batch's keys and how many calls came before.
type Behaviour = Box<dyn Fn(&[String], usize) -> Result<Vec<String>, String> + Send + Sync>;

/// Records every batch (as keys `pk`) and answers as `behaviour` says: `Ok(keys)`
/// reports those keys as batch item failures; `Err` is a function error.
struct Recorder {
    calls: Mutex<Vec<Vec<String>>>,
    events: Mutex<Vec<Event>>,
    behaviour: Behaviour,
}

impl Recorder {
    fn new(
        behaviour: impl Fn(&[String], usize) -> Result<Vec<String>, String> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            calls: Mutex::new(Vec::new()),
            events: Mutex::new(Vec::new()),
            behaviour: Box::new(behaviour),
        })
    }

    fn ok() -> Arc<Self> {
        Self::new(|_, _| Ok(Vec::new()))
    }

    fn calls(&self) -> Vec<Vec<String>> {
        self.calls.lock().unwrap().clone()
    }

    fn delivered(&self) -> Vec<String> {
        self.calls().concat()
    }
}

#[async_trait]
impl BatchHandler for Recorder {
    async fn handle(&self, event: Event) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
        let keys: Vec<String> = event
            .records
            .iter()
            .map(|r| match r.change.keys.get("pk") {
                Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
                other => panic!("unexpected key {other:?}"),
            })
            .collect();
        let seq: HashMap<String, String> = event
            .records
            .iter()
            .zip(&keys)
            .map(|(r, k)| (k.clone(), r.change.sequence_number.clone().unwrap_or_default()))
            .collect();
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(keys.clone());
            calls.len() - 1
        };
        self.events.lock().unwrap().push(event);
        let failed = (self.behaviour)(&keys, n).map_err(lambda_runtime::Error::from)?;
        let mut response = DynamoDbEventResponse::default();
        for key in failed {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(seq.get(&key).cloned().unwrap_or(key));
            response.batch_item_failures.push(failure);
        }
        Ok(response)
    }
}

fn settings(batch_size: usize, retries: u32, bisect: bool) -> EsmSettings {
    EsmSettings {
        batch_size,
        maximum_retry_attempts: Some(retries),
        bisect_batch_on_function_error: bisect,
        report_batch_item_failures: true,
        ..EsmSettings::default()
    }
}

fn opts() -> DrainOptions {
    DrainOptions {
        idle_rounds: 2,
        poll_interval: Duration::from_millis(50),
        timeout: Duration::from_secs(60),
        ..DrainOptions::default()
    }
}

async fn run(
    local: &Local,
    arn: &str,
    from: &StreamPosition,
    consumers: &mut [Consumer],
    opts: &DrainOptions,
) -> DrainReport {
    match drain(&local.streams, arn, from, consumers, opts).await {
        Ok(report) => report,
        Err(e) => panic!("drain failed: {e:#}"),
    }
}

fn keys(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("{prefix}{i:02}")).collect()
}

#[tokio::test]
async fn snapshot_filters_batch_size_and_independent_consumers() {
    let local = local().await;
    let (table, arn) = table(&local, "filters").await;
    for k in keys("old", 0..3) {
        put(&local, &table, &k, "pending_validation").await;
    }
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    let mut expected_pending = Vec::new();
    for (i, k) in keys("new", 0..10).into_iter().enumerate() {
        let status = if i % 3 == 2 {
            "validated"
        } else {
            "pending_validation"
        };
        if status == "pending_validation" {
            expected_pending.push(k.clone());
        }
        put(&local, &table, &k, status).await;
    }

    let pending_only = Recorder::ok();
    let everything = Recorder::ok();
    let filtered = EsmSettings {
        filters: vec![FilterPattern::parse(
            r#"{"eventName":["INSERT"],"dynamodb":{"NewImage":{"status":{"S":["pending_validation"]}}}}"#,
        )
        .unwrap()],
        ..settings(3, 1, false)
    };
    let mut consumers = vec![
        Consumer::new("validator", filtered, pending_only.clone()),
        Consumer::new("all", settings(4, 1, false), everything.clone()),
    ];
    let report = run(&local, &arn, &from, &mut consumers, &opts()).await;
    assert_eq!(latest_stream_arn(&local.ddb, &table).await.unwrap(), arn);

    // Records written before the snapshot are not delivered; filtering and order hold.
    assert_eq!(pending_only.delivered(), expected_pending);
    assert!(
        pending_only.calls().iter().all(|b| !b.is_empty() && b.len() <= 3),
        "{:?}",
        pending_only.calls()
    );
    assert_eq!(
        pending_only.calls().len(),
        3,
        "7 matching records in batches of 3: {:?}",
        pending_only.calls()
    );
    assert_eq!(everything.delivered(), keys("new", 0..10));
    assert_eq!(
        everything.calls().iter().map(Vec::len).collect::<Vec<_>>(),
        vec![4, 4, 2]
    );
    let v = report.consumer("validator").unwrap();
    assert_eq!(
        (
            v.batches,
            v.records_delivered,
            v.filtered_out,
            v.retries,
            v.on_failure_batches
        ),
        (3, 7, 3, 0, 0)
    );
    assert_eq!(report.records_read, 10);
    assert!(consumers[0]
        .checkpoint(from.shard_ids().next().unwrap())
        .is_some());

    // The event is Lambda's: source, version, ARN, sequence numbers in order.
    let events = pending_only.events.lock().unwrap().clone();
    let first = &events[0].records[0];
    assert_eq!(first.event_source.as_deref(), Some("aws:dynamodb"));
    assert_eq!(first.event_version.as_deref(), Some("1.1"));
    assert_eq!(first.event_source_arn.as_deref(), Some(arn.as_str()));
    assert_eq!(first.event_name, "INSERT");
    let seqs: Vec<u128> = events
        .iter()
        .flat_map(|e| e.records.iter())
        .map(|r| r.change.sequence_number.as_deref().unwrap().parse().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));

    // The same snapshot drained again with an extra restriction (record_filter).
    let first_half = Recorder::ok();
    let mut again = vec![Consumer::new(
        "restricted",
        settings(10, 1, false),
        first_half.clone(),
    )];
    let restricted = DrainOptions {
        record_filter: Some(Arc::new(
            |r| matches!(devstack::esm::convert::string_key(r, "pk"), Some(pk) if pk < "new05"),
        )),
        ..opts()
    };
    let report = run(&local, &arn, &from, &mut again, &restricted).await;
    assert_eq!(first_half.delivered(), keys("new", 0..5));
    assert_eq!(report.consumer("restricted").unwrap().filtered_out, 5);

    drop_table(&local, &table).await;
}

#[tokio::test]
async fn partial_failure_redelivers_from_the_lowest_failed_record() {
    let local = local().await;
    let (table, arn) = table(&local, "partial").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    let all = keys("k", 0..6);
    for k in &all {
        put(&local, &table, k, "pending_validation").await;
    }
    // First call: k04 and k02 fail (reported out of order); afterwards all succeed.
    let handler = Recorder::new(|_, n| {
        Ok(if n == 0 {
            vec!["k04".into(), "k02".into()]
        } else {
            vec![]
        })
    });
    let mut consumers = vec![Consumer::new("c", settings(10, 3, true), handler.clone())];
    let report = run(&local, &arn, &from, &mut consumers, &opts()).await;
    assert_eq!(handler.calls(), vec![all.clone(), all[2..].to_vec()]);
    let c = report.consumer("c").unwrap();
    assert_eq!(
        (c.batches, c.retries, c.on_failure_batches, c.bisections),
        (2, 1, 0, 0)
    );
    drop_table(&local, &table).await;
}

#[tokio::test]
async fn invalid_item_identifier_fails_the_whole_batch() {
    let local = local().await;
    let (table, arn) = table(&local, "badid").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    let all = keys("k", 0..3);
    for k in &all {
        put(&local, &table, k, "x").await;
    }
    // "nope" is not a sequence number of the batch: the whole batch is retried.
    let handler = Recorder::new(|_, n| Ok(if n == 0 { vec!["nope".into()] } else { vec![] }));
    let mut consumers = vec![Consumer::new("c", settings(10, 3, false), handler.clone())];
    run(&local, &arn, &from, &mut consumers, &opts()).await;
    assert_eq!(handler.calls(), vec![all.clone(), all]);
    drop_table(&local, &table).await;
}

#[tokio::test]
async fn always_failing_batch_goes_to_the_on_failure_log_after_the_retries() {
    let local = local().await;
    let (table, arn) = table(&local, "dlq").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    let all = keys("k", 0..4);
    for k in &all {
        put(&local, &table, k, "x").await;
    }
    let log_dir = std::env::temp_dir().join(&table);
    let log = log_dir.join("on-failure.jsonl");
    let handler = Recorder::new(|_, _| Err("database unavailable".into()));
    let mut consumers = vec![Consumer::new(
        "always-fails",
        settings(10, 2, false),
        handler.clone(),
    )];
    let started = Instant::now();
    let report = run(
        &local,
        &arn,
        &from,
        &mut consumers,
        &DrainOptions {
            on_failure_log: Some(log.clone()),
            ..opts()
        },
    )
    .await;
    // 1 try + 2 retries, with backoff between them (200 ms, 400 ms).
    assert_eq!(handler.calls(), vec![all.clone(), all.clone(), all.clone()]);
    assert!(started.elapsed() >= Duration::from_millis(600));
    let c = report.consumer("always-fails").unwrap();
    assert_eq!(
        (c.batches, c.retries, c.on_failure_batches, c.on_failure_records),
        (3, 2, 1, 4)
    );

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    let entry = &lines[0];
    assert_eq!(entry["consumer"], "always-fails");
    assert_eq!(entry["reason"], "RetryAttemptsExhausted");
    assert!(entry["lastError"]
        .as_str()
        .unwrap()
        .contains("database unavailable"));
    let info = &entry["DDBStreamBatchInfo"];
    assert_eq!(info["batchSize"], 4);
    assert_eq!(info["streamArn"], arn.as_str());
    let seqs: Vec<String> = handler.events.lock().unwrap()[0]
        .records
        .iter()
        .map(|r| r.change.sequence_number.clone().unwrap())
        .collect();
    assert_eq!(info["startSequenceNumber"], seqs[0].as_str());
    assert_eq!(info["endSequenceNumber"], seqs[3].as_str());
    assert_eq!(info["shardId"], from.shard_ids().next().unwrap());
    let _ = std::fs::remove_dir_all(&log_dir);
    drop_table(&local, &table).await;
}

#[tokio::test]
async fn bisection_isolates_a_poison_record() {
    let local = local().await;
    let (table, arn) = table(&local, "bisect").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    let all = keys("k", 0..8);
    for k in &all {
        put(&local, &table, k, "x").await;
    }
    let handler = Recorder::new(|batch, _| {
        if batch.iter().any(|k| k == "k05") {
            Err("poison".into())
        } else {
            Ok(vec![])
        }
    });
    let mut consumers = vec![Consumer::new("c", settings(8, 1, true), handler.clone())];
    let report = run(&local, &arn, &from, &mut consumers, &opts()).await;
    // [0..8] fails → [0..4] ok, [4..8] fails → [4..6] fails → [4] ok, [5] fails, retried once, discarded → [6..8] ok.
    assert_eq!(
        handler.calls(),
        vec![
            all.clone(),
            all[0..4].to_vec(),
            all[4..8].to_vec(),
            all[4..6].to_vec(),
            vec!["k04".to_string()],
            vec!["k05".to_string()],
            vec!["k05".to_string()],
            all[6..8].to_vec(),
        ]
    );
    let c = report.consumer("c").unwrap();
    assert_eq!(
        (
            c.bisections,
            c.on_failure_batches,
            c.on_failure_records,
            c.retries
        ),
        (3, 1, 1, 7)
    );
    assert_eq!(report.on_failure[0]["DDBStreamBatchInfo"]["batchSize"], 1);
    drop_table(&local, &table).await;
}

#[tokio::test]
async fn transient_failure_is_retried_until_it_succeeds() {
    let local = local().await;
    let (table, arn) = table(&local, "transient").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    let all = keys("k", 0..3);
    for k in &all {
        put(&local, &table, k, "x").await;
    }
    // The "database" is down for the first two invocations: every record is reported
    // failed until it is back (counted in calls, not time: a loaded machine may take
    // longer than any fixed outage to make the first call).
    let handler = Recorder::new(move |batch, call| Ok(if call < 2 { batch.to_vec() } else { vec![] }));
    let mut consumers = vec![Consumer::new("c", settings(10, 10, true), handler.clone())];
    let report = run(&local, &arn, &from, &mut consumers, &opts()).await;
    assert_eq!(handler.calls(), vec![all.clone(), all.clone(), all.clone()]);
    let c = report.consumer("c").unwrap();
    assert_eq!(c.on_failure_batches, 0);
    assert_eq!(c.retries, 2);
    drop_table(&local, &table).await;
}

#[tokio::test]
async fn replay_invokes_every_batch_twice_identically() {
    let local = local().await;
    let (table, arn) = table(&local, "replay").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    let all = keys("k", 0..4);
    for k in &all {
        put(&local, &table, k, "x").await;
    }
    let handler = Recorder::ok();
    let mut consumers = vec![Consumer::new("c", settings(2, 1, false), handler.clone())];
    let report = run(
        &local,
        &arn,
        &from,
        &mut consumers,
        &DrainOptions {
            replay_batches: true,
            ..opts()
        },
    )
    .await;
    assert_eq!(
        handler.calls(),
        vec![
            all[0..2].to_vec(),
            all[0..2].to_vec(),
            all[2..4].to_vec(),
            all[2..4].to_vec()
        ]
    );
    let events = handler.events.lock().unwrap().clone();
    assert_eq!(events[0], events[1]);
    assert_eq!(events[2], events[3]);
    let c = report.consumer("c").unwrap();
    assert_eq!((c.batches, c.invocations, c.records_delivered), (2, 4, 4));
    drop_table(&local, &table).await;
}

#[tokio::test]
async fn trim_horizon_position_reads_everything_and_closed_shards_end() {
    let local = local().await;
    let (table, arn) = table(&local, "horizon").await;
    let all = keys("k", 0..5);
    for k in &all {
        put(&local, &table, k, "x").await;
    }
    let handler = Recorder::ok();
    let mut consumers = vec![Consumer::new("c", settings(100, 0, false), handler.clone())];
    run(
        &local,
        &arn,
        &StreamPosition::trim_horizon(&arn),
        &mut consumers,
        &opts(),
    )
    .await;
    assert_eq!(handler.delivered(), all);
    // Deleting the table closes its shard; a snapshot then has nothing new to deliver.
    drop_table(&local, &table).await;
    let closed = snapshot_tip(&local.streams, &arn).await.unwrap();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let late = handler_fn(move |_event| {
        counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { Ok(DynamoDbEventResponse::default()) }
    });
    let mut consumers = vec![Consumer::new("c", settings(100, 0, false), late)];
    run(&local, &arn, &closed, &mut consumers, &opts()).await;
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn many_pages_two_consumers_and_a_retry_in_the_middle() {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    let local = local().await;
    let (table, arn) = table(&local, "pages").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    let all: Vec<String> = (0..1200).map(|i| format!("k{i:04}")).collect();
    for chunk in all.chunks(25) {
        let writes = chunk
            .iter()
            .map(|k| {
                let put = PutRequest::builder()
                    .item("pk", AttributeValue::S(k.clone()))
                    .item("status", AttributeValue::S("pending_validation".into()))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        local
            .ddb
            .batch_write_item()
            .request_items(&table, writes)
            .send()
            .await
            .unwrap();
    }
    // One consumer fails k0700 once (as an item failure); the other never fails.
    let flaky = Recorder::new(|batch, _| {
        static FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let hit =
            batch.iter().any(|k| k == "k0700") && !FAILED.swap(true, std::sync::atomic::Ordering::SeqCst);
        Ok(if hit { vec!["k0700".into()] } else { vec![] })
    });
    let steady = Recorder::ok();
    let mut consumers = vec![
        Consumer::new("flaky", settings(100, 2, true), flaky.clone()),
        Consumer::new("steady", settings(100, 2, true), steady.clone()),
    ];
    let report = run(&local, &arn, &from, &mut consumers, &opts()).await;
    assert_eq!(report.records_read, 1200);
    assert_eq!(steady.delivered(), all);
    let mut seen = flaky.delivered();
    // k0700..k0799 were delivered twice, in order, and nothing else was.
    let retried: Vec<String> = all[700..800].to_vec();
    let position = seen.iter().position(|k| k == "k0800").unwrap();
    let redelivered: Vec<String> = seen.drain(position - 100..position).collect();
    assert_eq!(redelivered, retried);
    assert_eq!(seen, all);
    drop_table(&local, &table).await;
}

#[tokio::test]
async fn snapshot_of_an_empty_shard_survives_writes_to_other_tables() {
    // DynamoDB Local shares one sequence counter between tables: a LATEST iterator on
    // an empty shard answers TrimmedDataAccessException once another table has
    // written before this one. The drain must still deliver exactly the new records.
    let local = local().await;
    let (other, _) = table(&local, "emptysnap_other").await;
    let (table, arn) = table(&local, "emptysnap").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    put(&local, &other, "elsewhere", "x").await;
    let all = keys("k", 0..3);
    for k in &all {
        put(&local, &table, k, "x").await;
    }
    let handler = Recorder::ok();
    let mut consumers = vec![Consumer::new("c", settings(10, 0, false), handler.clone())];
    // One idle round is enough to end: the round whose iterator was refused read
    // nothing, and must not count as idle.
    let opts = DrainOptions {
        idle_rounds: 1,
        ..opts()
    };
    run(&local, &arn, &from, &mut consumers, &opts).await;
    assert_eq!(handler.delivered(), all);
    drop_table(&local, &table).await;
    drop_table(&local, &other).await;
}

#[tokio::test]
async fn records_older_than_the_maximum_age_are_discarded_unseen() {
    let local = local().await;
    let (table, arn) = table(&local, "age").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    for k in keys("k", 0..3) {
        put(&local, &table, &k, "x").await;
    }
    // DynamoDB Local rounds ApproximateCreationDateTime down to the minute, so every
    // record is older than a millisecond.
    let strict = EsmSettings {
        maximum_record_age: Some(Duration::from_millis(1)),
        ..settings(10, 5, false)
    };
    let handler = Recorder::ok();
    let mut consumers = vec![Consumer::new("c", strict, handler.clone())];
    let report = run(&local, &arn, &from, &mut consumers, &opts()).await;
    assert!(handler.calls().is_empty());
    let c = report.consumer("c").unwrap();
    assert_eq!((c.batches, c.on_failure_batches, c.on_failure_records), (0, 1, 3));
    assert_eq!(report.on_failure[0]["reason"], "RecordAgeExceeded");
    drop_table(&local, &table).await;
}

/// What happened, in order: the handler's calls and the stream reads that finished.
#[derive(Clone, Default, Debug)]
struct Timeline(Arc<Mutex<Vec<&'static str>>>);

impl Timeline {
    fn log(&self, event: &'static str) {
        self.0.lock().unwrap().push(event);
    }

    /// Whether a stream read finished while a handler call was running.
    fn read_during_a_call(&self) -> bool {
        let events = self.0.lock().unwrap();
        let mut in_call = false;
        events.iter().any(|e| {
            match *e {
                "call" => in_call = true,
                "returned" => in_call = false,
                _ => {}
            }
            in_call && *e == "stream read"
        })
    }
}

impl aws_sdk_dynamodbstreams::config::Intercept for Timeline {
    fn name(&self) -> &'static str {
        "Timeline"
    }

    fn read_after_execution(
        &self,
        _context: &aws_sdk_dynamodbstreams::config::interceptors::FinalizerInterceptorContextRef<'_>,
        _components: &aws_sdk_dynamodbstreams::config::RuntimeComponents,
        _cfg: &mut aws_sdk_dynamodbstreams::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.log("stream read");
        Ok(())
    }
}

struct SlowHandler(Timeline);

#[async_trait]
impl BatchHandler for SlowHandler {
    async fn handle(&self, _event: Event) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
        self.0.log("call");
        // Long beside a GetRecords on DynamoDB Local (milliseconds).
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.0.log("returned");
        Ok(DynamoDbEventResponse::default())
    }
}

#[tokio::test]
async fn the_stream_is_read_ahead_while_a_batch_is_in_the_handler() {
    let local = local().await;
    let (table, arn) = table(&local, "readahead").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    for k in keys("k", 0..3) {
        put(&local, &table, &k, "x").await;
    }
    let timeline = Timeline::default();
    let config = local
        .streams
        .config()
        .to_builder()
        .interceptor(timeline.clone())
        .build();
    let streams = aws_sdk_dynamodbstreams::Client::from_conf(config);
    let mut consumers = vec![Consumer::new(
        "slow",
        settings(1, 0, false),
        Arc::new(SlowHandler(timeline.clone())),
    )];
    let report = drain(&streams, &arn, &from, &mut consumers, &opts())
        .await
        .unwrap();
    assert_eq!(report.consumer("slow").unwrap().invocations, 3);
    // Lambda's pollers read ahead of the function; a drain that read, then delivered,
    // round after round, would never be reading while a batch is in the handler.
    assert!(timeline.read_during_a_call(), "{timeline:?}");
    drop_table(&local, &table).await;
}

#[tokio::test]
async fn the_drain_does_not_end_while_a_writer_is_busy() {
    let local = local().await;
    let (table, arn) = table(&local, "busy").await;
    let from = snapshot_tip(&local.streams, &arn).await.unwrap();
    let recorder = Recorder::ok();
    let mut consumers = vec![Consumer::new("all", settings(10, 1, false), recorder.clone())];
    let busy = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let options = DrainOptions {
        writers_busy: Some(busy.clone()),
        ..opts()
    };
    // The writer starts only after many times the idle rounds that end a drain.
    let writer = async {
        tokio::time::sleep(Duration::from_millis(600)).await;
        for k in keys("late", 0..4) {
            put(&local, &table, &k, "pending_validation").await;
        }
        busy.store(false, std::sync::atomic::Ordering::Release);
    };
    let (report, ()) = tokio::join!(run(&local, &arn, &from, &mut consumers, &options), writer);
    assert_eq!(recorder.delivered(), keys("late", 0..4));
    assert_eq!(report.consumer("all").unwrap().records_delivered, 4);
    drop_table(&local, &table).await;
}
