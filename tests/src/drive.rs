//! Drives uploads to the end with the pipeline's own code: devstack's event source
//! mappings (the template's settings: batch size, partial failures, retries, bisection,
//! the on-failure log) around handlers the test builds over its own ports (e.g. a
//! database through a proxy), and the reconciler (`--older-than 0s`).

use adapters::config::{DatabaseConfig, SessionLimits};
use adapters::dynamodb::DynamoRecords;
use adapters::postgres::PgCatalog;
use adapters::s3::S3Objects;
use adapters::sns::SnsNotifier;
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use devstack::esm::{self, BatchHandler, Consumer, DrainOptions, DrainReport, StreamPosition};
use devstack::reconcile::LocalFailureLogs;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a Lambda handler answers with when it fails as a whole.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// The tests of one binary that touch uploads run one at a time: the reconciler takes up
/// every upload processing in the database, so another test's upload in flight would be
/// driven by it.
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// The stack's `DATABASE_URL` (a test's proxies retarget it).
pub fn database_url() -> String {
    crate::stack::var("DATABASE_URL")
}

/// `sql`'s single count, for one upload (`$1`).
pub async fn count(db: &tokio_postgres::Client, sql: &str, upload_id: &str) -> i64 {
    db.query_one(sql, &[&upload_id]).await.expect("count").get(0)
}

/// A catalog pool on `url` with these session limits (as a pipeline function builds it).
pub async fn catalog(url: &str, limits: SessionLimits) -> PgCatalog {
    let pool = adapters::postgres::pool(
        &DatabaseConfig::Url(url.to_string()),
        &limits,
        &crate::stack::aws().await,
    )
    .await
    .expect("pool");
    PgCatalog::new(pool)
}

/// The ports of a stream consumer, some of them the test's.
pub struct Ports {
    pub catalog: PgCatalog,
    pub records: DynamoRecords,
    pub objects: S3Objects,
    pub bucket: String,
    pub notifier: SnsNotifier,
    pub vendor_api_url: String,
}

impl Ports {
    /// The stack's S3, and the catalog and records given (e.g. through a proxy).
    pub async fn new(catalog: PgCatalog, records: DynamoRecords) -> Arc<Ports> {
        let sdk = crate::stack::aws().await;
        let notifications = adapters::config::NotificationConfig::from_source(&adapters::config::ProcessEnv)
            .expect("notification settings");
        Arc::new(Ports {
            catalog,
            records,
            objects: S3Objects::new(adapters::s3::client(&sdk)),
            bucket: crate::stack::var("UPLOAD_BUCKET"),
            notifier: SnsNotifier::new(adapters::sns::client(&sdk), notifications.upload_topic_arn),
            vendor_api_url: notifications.vendor_api_url,
        })
    }

    /// The catalog on `url`, the stack's UploadRecords.
    pub async fn with_database(url: &str) -> Arc<Ports> {
        let records = records(&adapters::dynamodb::client(&crate::stack::aws().await));
        Self::new(catalog(url, SessionLimits::default()).await, records).await
    }

    pub fn validator(
        &self,
    ) -> stream_validator::Validator<'_, PgCatalog, PgCatalog, DynamoRecords, S3Objects> {
        stream_validator::Validator {
            catalog: &self.catalog,
            ledger: &self.catalog,
            records: &self.records,
            objects: &self.objects,
            bucket: &self.bucket,
            notify: self.notify(),
        }
    }

    /// The finaliser's announcement over the catalog's outbox and the stack's topic.
    pub fn notify(&self) -> domain::notify::Notify<'_> {
        domain::notify::Notify {
            outbox: &self.catalog,
            notifier: &self.notifier,
            vendor_api_url: &self.vendor_api_url,
        }
    }

    pub fn error_processor(&self) -> error_processor::ErrorProcessor<'_, PgCatalog, S3Objects> {
        error_processor::ErrorProcessor {
            ledger: &self.catalog,
            objects: &self.objects,
            bucket: &self.bucket,
            notify: self.notify(),
        }
    }
}

/// UploadRecords through `client`.
pub fn records(client: &aws_sdk_dynamodb::Client) -> DynamoRecords {
    DynamoRecords::new(client.clone(), crate::stack::var("UPLOAD_RECORDS_TABLE"))
}

/// csv-parser's settings as the stack configures them.
pub fn parser_settings() -> csv_parser::Settings {
    crate::stack::load_env();
    let config = adapters::config::PipelineConfig::from_env().expect("pipeline settings");
    csv_parser::Settings {
        max_upload_bytes: config.max_upload_bytes,
        record_ttl_days: config.record_ttl_days,
        parse_lease: config.parse_lease,
    }
}

/// csv-parser as the stack builds it (its S3, settings and topic) over records and a
/// catalog of the test's (e.g. through a fault).
pub struct ParserPorts<'s> {
    stack: &'s devstack::upload::Stack,
    objects: S3Objects,
    settings: csv_parser::Settings,
}

impl<'s> ParserPorts<'s> {
    pub async fn new(stack: &'s devstack::upload::Stack) -> ParserPorts<'s> {
        let sdk = crate::stack::aws().await;
        ParserPorts {
            stack,
            objects: S3Objects::new(adapters::s3::client(&sdk)),
            settings: parser_settings(),
        }
    }

    pub fn over<'a, R>(
        &'a self,
        records: &'a R,
        ledger: &'a PgCatalog,
    ) -> csv_parser::Parser<'a, S3Objects, R, PgCatalog> {
        csv_parser::Parser {
            objects: &self.objects,
            records,
            ledger,
            settings: &self.settings,
            notify: domain::notify::Notify {
                outbox: ledger,
                notifier: &self.stack.notifier,
                vendor_api_url: &self.stack.vendor_api_url,
            },
        }
    }
}

/// What a handler was given and answered, tallied for the test.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub invocations: usize,
    /// Answers without a batch item failure.
    pub clean: usize,
    /// Answers reporting batch item failures, or failing as a whole.
    pub failed: usize,
    /// INSERT records delivered, by record_id (redeliveries included).
    pub inserts: HashMap<String, usize>,
    /// The sequence number of each record_id's INSERT.
    pub sequence_numbers: HashMap<String, String>,
    /// The batch item failures of each answer that reported some.
    pub reported: Vec<Vec<String>>,
}

/// `inner`, tallied; `after` sees the tally after each answer (e.g. to end an outage).
pub fn observed(
    inner: Arc<dyn BatchHandler>,
    tally: Arc<Mutex<Tally>>,
    after: impl Fn(&Tally) + Send + Sync + 'static,
) -> Arc<dyn BatchHandler> {
    let after: Arc<dyn Fn(&Tally) + Send + Sync> = Arc::new(after);
    esm::handler_fn(move |event: Event| {
        let (inner, tally, after) = (inner.clone(), tally.clone(), after.clone());
        let inserted: Vec<(String, String)> = event
            .records
            .iter()
            .filter(|r| r.event_name == "INSERT")
            .filter_map(|r| Some((key(r, "record_id")?, r.change.sequence_number.clone()?)))
            .collect();
        async move {
            let answer = inner.handle(event).await;
            let snapshot = tally.lock().ok().map(|mut t| {
                t.invocations += 1;
                match &answer {
                    Ok(r) if r.batch_item_failures.is_empty() => t.clean += 1,
                    Ok(r) => {
                        t.failed += 1;
                        let ids = r.batch_item_failures.iter();
                        t.reported
                            .push(ids.filter_map(|f| f.item_identifier.clone()).collect());
                    }
                    Err(_) => t.failed += 1,
                }
                for (id, seq) in inserted {
                    *t.inserts.entry(id.clone()).or_default() += 1;
                    t.sequence_numbers.insert(id, seq);
                }
                t.clone()
            });
            if let Some(t) = snapshot {
                after(&t);
            }
            answer
        }
    })
}

/// stream-validator over these ports.
pub fn validator_handler(ports: Arc<Ports>) -> Arc<dyn BatchHandler> {
    esm::handler_fn(move |event: Event| {
        let ports = ports.clone();
        async move { Ok::<DynamoDbEventResponse, HandlerError>(ports.validator().handle(&event).await) }
    })
}

/// error-processor over these ports.
pub fn error_handler(ports: Arc<Ports>) -> Arc<dyn BatchHandler> {
    esm::handler_fn(move |event: Event| {
        let ports = ports.clone();
        async move { Ok::<DynamoDbEventResponse, HandlerError>(ports.error_processor().handle(&event).await) }
    })
}

/// The two mappings of the template on UploadRecords' stream, with these handlers.
pub fn consumers(validator: Arc<dyn BatchHandler>, errors: Arc<dyn BatchHandler>) -> Vec<Consumer> {
    vec![
        Consumer::new(
            "stream-validator",
            esm::settings_for("StreamValidatorFunction").expect("the validator's mapping"),
            validator,
        ),
        Consumer::new(
            "error-processor",
            esm::settings_for("ErrorProcessorFunction").expect("the error processor's mapping"),
            errors,
        ),
    ]
}

/// Where the stream ends now: a drain from here delivers what is written later.
pub async fn snapshot(stack: &crate::pipeline::TestStack) -> StreamPosition {
    let arn = stack.stream_arn().await.expect("stream");
    esm::snapshot_tip(&stack.streams, &arn).await.expect("stream tip")
}

/// Delivers these uploads' records written after `from` until the stream is idle;
/// batches whose retries run out are described in `on_failure_log`.
pub async fn drain(
    stack: &crate::pipeline::TestStack,
    from: &StreamPosition,
    uploads: &[&str],
    consumers: &mut [Consumer],
    on_failure_log: Option<&Path>,
) -> DrainReport {
    let arn = stack.stream_arn().await.expect("stream");
    let wanted: HashSet<String> = uploads.iter().map(|u| u.to_string()).collect();
    let options = DrainOptions {
        record_filter: Some(Arc::new(move |r: &serde_json::Value| {
            devstack::esm::convert::string_key(r, "upload_id").is_some_and(|u| wanted.contains(u))
        })),
        on_failure_log: on_failure_log.map(Path::to_path_buf),
        // DynamoDB Local slows down as it fills (DESIGN.md §6).
        timeout: Duration::from_secs(1_800),
        ..DrainOptions::default()
    };
    esm::drain(&stack.streams, &arn, from, consumers, &options)
        .await
        .expect("drain")
}

/// On-failure logs of the test's own (so other tests' messages never mix in), removed
/// at the end.
pub struct TempLogs {
    dir: PathBuf,
    pub parser: PathBuf,
    pub stream: PathBuf,
}

impl TempLogs {
    pub fn new(tag: &str) -> TempLogs {
        let dir = std::env::temp_dir().join(crate::stack::unique(&format!("e2e-logs-{tag}")));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempLogs {
            parser: dir.join("parser-on-failure.jsonl"),
            stream: dir.join("on-failure.jsonl"),
            dir,
        }
    }

    pub fn logs(&self) -> LocalFailureLogs {
        LocalFailureLogs {
            parser: self.parser.clone(),
            stream: self.stream.clone(),
        }
    }
}

impl Drop for TempLogs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The messages of an on-failure log (none when it does not exist).
pub fn log_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("an on-failure message is JSON"))
        .collect()
}

/// upload-reconciler over the stack, as `devstack reconcile` builds it, with the test's
/// on-failure logs.
pub struct LocalReconciler {
    adapters: adapters::pipeline::PipelineAdapters,
    settings: csv_parser::Settings,
    logs: LocalFailureLogs,
}

impl LocalReconciler {
    pub async fn new(logs: LocalFailureLogs) -> LocalReconciler {
        crate::stack::load_env();
        LocalReconciler {
            adapters: adapters::pipeline::PipelineAdapters::from_env()
                .await
                .expect("pipeline adapters"),
            settings: parser_settings(),
            logs,
        }
    }

    /// One run over every upload processing now (`--older-than 0s`).
    pub async fn run(&self) -> upload_reconciler::Report {
        let a = &self.adapters;
        upload_reconciler::Reconciler {
            objects: &a.objects,
            records: &a.records,
            ledger: &a.catalog,
            failed: &self.logs,
            settings: &self.settings,
            bucket: &a.config.upload_bucket,
            notify: a.notify(),
        }
        .run(chrono::Utc::now())
        .await
        .expect("a reconciler run")
    }
}

/// A string attribute of the record's key (`upload_id`, `record_id`).
fn key(record: &EventRecord, name: &str) -> Option<String> {
    match record.change.keys.get(name)? {
        serde_dynamo::AttributeValue::S(s) => Some(s.clone()),
        _ => None,
    }
}

/// `devstack reconcile --older-than 0s`, the built binary in a process of its own (with
/// `.local/env`'s settings), and the JSON report it prints.
pub async fn devstack_reconcile() -> serde_json::Value {
    crate::stack::load_env();
    let bin = crate::runtime_api::binary("devstack", "devstack");
    let out = tokio::process::Command::new(&bin)
        .args(["reconcile", "--older-than", "0s"])
        .output()
        .await
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "devstack reconcile failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().rfind(|l| !l.trim().is_empty()).unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("the report is one JSON object ({e}): {stdout}"))
}
