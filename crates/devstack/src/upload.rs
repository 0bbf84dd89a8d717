//! `devstack upload`: what S3 and Lambda would do with a vendor's CSV, driving the real
//! handlers in-process.
//!
//! 1. put the file at `uploads/{vendor}/{name}` and build the S3 `ObjectCreated:Put`
//!    notification exactly as S3 sends it (URL-encoded key, sequencer, eTag), applying
//!    the bucket notification's prefix/suffix filter;
//! 2. invoke csv-parser with it as an asynchronous invocation would (retried twice on
//!    error, like Lambda's default), and meanwhile
//! 3. drain the UploadRecords stream through the two event source mappings of the
//!    template (filters, batch size, partial batch failures, retries): as in AWS, the
//!    validator gets an upload's first rows while the parser still writes its last.
//!    The drain ends when the parser has returned and the stream is idle;
//! 4. read the upload's `upload_history` row.
//!
//! `--redeliver` delivers the S3 event twice and replays every stream batch.

use crate::esm::{self, BatchHandler, Consumer, DrainOptions};
use crate::UploadArgs;
use anyhow::{bail, Context};
use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use testkit::events::S3Put;

/// Everything `upload` needs, built once from the environment (`.local/env`).
pub struct Stack {
    pub parser: csv_parser::Wiring,
    pub validator: Arc<stream_validator::Wiring>,
    pub errors: Arc<error_processor::Wiring>,
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    pub bucket: String,
    pub table: String,
    pub region: String,
    pub database_url: String,
    /// The upload-finished topic, for handlers a caller wires by hand.
    pub notifier: adapters::sns::SnsNotifier,
    /// `VENDOR_API_URL`: where notifications link reports.
    pub vendor_api_url: String,
}

impl Stack {
    pub async fn from_env() -> anyhow::Result<Stack> {
        let config = adapters::config::PipelineConfig::from_env()?;
        let notifications = adapters::config::NotificationConfig::from_source(&adapters::config::ProcessEnv)?;
        let aws = adapters::aws::sdk_config().await;
        let database_url = match &config.database {
            adapters::config::DatabaseConfig::Url(url) => url.clone(),
            other => bail!("devstack needs DATABASE_URL, not {other:?}"),
        };
        Ok(Stack {
            parser: csv_parser::Wiring::from_env()
                .await
                .map_err(|e| anyhow::anyhow!(e))?,
            validator: Arc::new(
                stream_validator::Wiring::from_env()
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?,
            ),
            errors: Arc::new(
                error_processor::Wiring::from_env()
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?,
            ),
            s3: adapters::s3::client(&aws),
            dynamodb: adapters::dynamodb::client(&aws),
            streams: streams_client(&aws),
            bucket: config.upload_bucket.clone(),
            table: config.upload_records_table.clone(),
            region: aws
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "us-east-1".into()),
            database_url,
            notifier: adapters::sns::SnsNotifier::new(
                adapters::sns::client(&aws),
                notifications.upload_topic_arn.clone(),
            ),
            vendor_api_url: notifications.vendor_api_url,
        })
    }

    /// Puts `body` at `uploads/{vendor}/{name}`, delivers the event, drains the
    /// streams, and returns the upload's `upload_history` row as JSON.
    pub async fn upload(
        &self,
        vendor: &str,
        name: &str,
        body: Vec<u8>,
        redeliver: bool,
    ) -> anyhow::Result<serde_json::Value> {
        let put = self.put(vendor, name, body).await?;
        let _progress = crate::progress::wanted()
            .then(|| crate::progress::start(self.database_url.clone(), put.upload_id.clone()));
        let deliveries = if redeliver { 2 } else { 1 };
        let parse = async {
            for _ in 0..deliveries {
                self.invoke_parser(&put.event).await?;
            }
            Ok(())
        };
        self.parse_and_drain(parse, &put, redeliver).await?;
        self.history(&put.upload_id).await
    }

    /// Puts `body` at `uploads/{vendor}/{name}` and returns the S3 notification for it,
    /// delivering nothing yet (`upload` and `make bench` drive the stages).
    pub async fn put(&self, vendor: &str, name: &str, body: Vec<u8>) -> anyhow::Result<PutUpload> {
        let key = format!("uploads/{vendor}/{name}");
        if !(key.starts_with("uploads/") && key.ends_with(".csv")) {
            bail!("{key} does not match the bucket notification (prefix uploads/, suffix .csv): S3 would not invoke csv-parser");
        }
        let stream_arn = self.stream_arn().await?;
        let from = esm::snapshot_tip(&self.streams, &stream_arn).await?;

        let size = body.len() as i64;
        let put = self
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type("text/csv")
            .body(body.into())
            .send()
            .await
            .with_context(|| format!("putting s3://{}/{key}", self.bucket))?;
        let event_time = Utc::now();
        let sequencer = sequencer(event_time);
        let event = S3Put {
            region: &self.region,
            bucket: &self.bucket,
            key: &key,
            size,
            etag: put.e_tag().unwrap_or_default(),
            version_id: put.version_id(),
            sequencer: &sequencer,
            at: event_time,
        }
        .event()
        .context("the S3 event does not match aws_lambda_events::S3Event")?;
        let upload_id = domain::upload::upload_id(
            &self.bucket,
            &key,
            event.records[0].s3.object.sequencer.as_deref().unwrap_or(""),
            put.version_id(),
            event_time,
        );
        Ok(PutUpload {
            event,
            upload_id,
            stream_arn,
            from,
        })
    }

    /// An asynchronous invocation: Lambda retries a failed one twice, then gives up.
    pub async fn invoke_parser(&self, event: &S3Event) -> anyhow::Result<()> {
        let mut last = None;
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
            match self.parser.parser().handle(event).await {
                Ok(outcomes) => {
                    tracing::info!(?outcomes, "csv-parser succeeded");
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(attempt, error = %e, "csv-parser failed; Lambda would retry");
                    last = Some(e);
                }
            }
        }
        let error = last.map(|e| e.to_string()).unwrap_or_default();
        let record = parser_failure(event, &error);
        crate::esm::append_on_failure(&crate::reconcile::parser_failure_log(), &record).await?;
        bail!("csv-parser failed 3 times; the event is in its on-failure destination: {error}")
    }

    /// Runs `parse` (csv-parser's invocations for `put`) while both mappings drain the
    /// stream, as in AWS, where the pollers deliver an upload's first rows while the
    /// parser still writes its last. The drain ends once `parse` has returned and the
    /// stream is idle; the parse's error comes first.
    pub async fn parse_and_drain(
        &self,
        parse: impl std::future::Future<Output = anyhow::Result<()>>,
        put: &PutUpload,
        replay: bool,
    ) -> anyhow::Result<esm::DrainReport> {
        self.parse_and_drain_through(
            parse,
            &put.stream_arn,
            &put.from,
            std::slice::from_ref(&put.upload_id),
            replay,
            |_, handler| handler,
        )
        .await
    }

    /// `parse_and_drain` for several uploads' items, each mapping's handler wrapped as
    /// in [`Stack::drain_through`].
    pub async fn parse_and_drain_through(
        &self,
        parse: impl std::future::Future<Output = anyhow::Result<()>>,
        stream_arn: &str,
        from: &esm::StreamPosition,
        upload_ids: &[String],
        replay: bool,
        wrap: impl Fn(&str, Arc<dyn BatchHandler>) -> Arc<dyn BatchHandler>,
    ) -> anyhow::Result<esm::DrainReport> {
        let busy = Arc::new(AtomicBool::new(true));
        let parse = async {
            let parsed = parse.await;
            busy.store(false, Ordering::Release);
            parsed
        };
        let drain = self.drain_while(stream_arn, from, upload_ids, replay, wrap, Some(busy.clone()));
        let (parsed, drained) = tokio::join!(parse, drain);
        parsed?;
        drained
    }

    /// Drains the stream through both mappings of the template, for this upload's items.
    pub async fn drain(
        &self,
        stream_arn: &str,
        from: &esm::StreamPosition,
        upload_id: &str,
        replay: bool,
    ) -> anyhow::Result<esm::DrainReport> {
        self.drain_through(
            stream_arn,
            from,
            &[upload_id.to_string()],
            replay,
            |_, handler| handler,
        )
        .await
    }

    /// `drain` for the items of several uploads (their records interleave on the
    /// stream), each mapping's handler wrapped by `wrap(function name, handler)` (for
    /// instance to time it).
    pub async fn drain_through(
        &self,
        stream_arn: &str,
        from: &esm::StreamPosition,
        upload_ids: &[String],
        replay: bool,
        wrap: impl Fn(&str, Arc<dyn BatchHandler>) -> Arc<dyn BatchHandler>,
    ) -> anyhow::Result<esm::DrainReport> {
        self.drain_while(stream_arn, from, upload_ids, replay, wrap, None)
            .await
    }

    /// `drain_through`, not ending while `writers_busy` is set.
    async fn drain_while(
        &self,
        stream_arn: &str,
        from: &esm::StreamPosition,
        upload_ids: &[String],
        replay: bool,
        wrap: impl Fn(&str, Arc<dyn BatchHandler>) -> Arc<dyn BatchHandler>,
        writers_busy: Option<Arc<AtomicBool>>,
    ) -> anyhow::Result<esm::DrainReport> {
        let mut consumers = vec![
            Consumer::new(
                "stream-validator",
                esm::settings_for("StreamValidatorFunction")?,
                wrap(
                    "stream-validator",
                    Arc::new(ValidatorHandler(self.validator.clone())),
                ),
            ),
            Consumer::new(
                "error-processor",
                esm::settings_for("ErrorProcessorFunction")?,
                wrap("error-processor", Arc::new(ErrorHandler(self.errors.clone()))),
            ),
        ];
        let wanted: std::collections::HashSet<String> = upload_ids.iter().cloned().collect();
        let options = DrainOptions {
            replay_batches: replay,
            record_filter: Some(Arc::new(move |r: &serde_json::Value| {
                esm::convert::string_key(r, "upload_id").is_some_and(|id| wanted.contains(id))
            })),
            on_failure_log: Some(crate::reconcile::stream_failure_log()),
            // Large files on a long-lived, filled-up DynamoDB Local are slow (DESIGN.md §6).
            timeout: Duration::from_secs(1_800),
            writers_busy,
            ..DrainOptions::default()
        };
        esm::drain(&self.streams, stream_arn, from, &mut consumers, &options).await
    }

    pub async fn stream_arn(&self) -> anyhow::Result<String> {
        let table = self
            .dynamodb
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .with_context(|| format!("describing table {}", self.table))?;
        table
            .table
            .and_then(|t| t.latest_stream_arn)
            .with_context(|| format!("table {} has no stream", self.table))
    }

    /// The upload's `upload_history` row, every column, as one JSON object.
    pub async fn history(&self, upload_id: &str) -> anyhow::Result<serde_json::Value> {
        let (client, connection) = tokio_postgres::connect(&self.database_url, tokio_postgres::NoTls)
            .await
            .context("connecting to PostgreSQL")?;
        let task = tokio::spawn(connection);
        let row = client
            .query_opt(
                "SELECT row_to_json(h) FROM upload_history h WHERE upload_id = $1",
                &[&upload_id],
            )
            .await?;
        drop(client);
        let _ = task.await;
        match row {
            Some(row) => Ok(row.get(0)),
            None => bail!("no upload_history row for {upload_id}: see the log above"),
        }
    }
}

/// What Lambda's asynchronous on-failure destination receives when csv-parser failed an
/// S3 event three times (the reconciler re-drives it). Tests that fail a parse their own
/// way write the same message.
pub fn parser_failure(event: &S3Event, error: &str) -> serde_json::Value {
    serde_json::json!({
        "version": "1.0",
        "timestamp": Utc::now().to_rfc3339(),
        "requestContext": { "condition": "RetriesExhausted", "approximateInvokeCount": 3 },
        "requestPayload": event,
        "responsePayload": { "errorMessage": error },
    })
}

/// An object put where a vendor uploads, with its S3 notification not yet delivered.
pub struct PutUpload {
    pub event: S3Event,
    pub upload_id: String,
    pub stream_arn: String,
    /// The stream's tip before the put: the drain reads from here.
    pub from: esm::StreamPosition,
}

/// The clone's `.local/` folder, where the local stack keeps its state.
pub use crate::env::local_dir;

struct ValidatorHandler(Arc<stream_validator::Wiring>);
struct ErrorHandler(Arc<error_processor::Wiring>);

#[async_trait]
impl BatchHandler for ValidatorHandler {
    async fn handle(&self, event: Event) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
        Ok(self.0.handle(&event).await)
    }
}

#[async_trait]
impl BatchHandler for ErrorHandler {
    async fn handle(&self, event: Event) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
        Ok(self.0.handle(&event).await)
    }
}

/// DynamoDB Streams has no endpoint variable of its own locally: it is served by the
/// DynamoDB endpoint.
pub fn streams_client(aws: &aws_config::SdkConfig) -> aws_sdk_dynamodbstreams::Client {
    let mut builder = aws_sdk_dynamodbstreams::config::Builder::from(aws);
    if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB") {
        if !endpoint.is_empty() {
            builder = builder.endpoint_url(endpoint);
        }
    }
    aws_sdk_dynamodbstreams::Client::from_conf(builder.build())
}

/// S3 sequencers are hexadecimal and grow with time for a key.
pub fn sequencer(at: DateTime<Utc>) -> String {
    format!("{:016X}", at.timestamp_nanos_opt().unwrap_or_default())
}

pub async fn run(args: UploadArgs) -> anyhow::Result<()> {
    let name = match &args.name {
        Some(n) => n.clone(),
        None => args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .context("FILE has no file name; pass --name")?,
    };
    let body = tokio::fs::read(&args.file)
        .await
        .with_context(|| format!("reading {}", args.file.display()))?;
    let stack = Stack::from_env().await?;
    let history = stack.upload(&args.vendor, &name, body, args.redeliver).await?;
    println!("{}", serde_json::to_string(&history)?);
    Ok(())
}
