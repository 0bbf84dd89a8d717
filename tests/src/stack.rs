//! The local stack as the tests see it. `make up` writes `.local/env`; the test
//! process need not have sourced it: [`load_env`] reads it into the environment once,
//! so the SDK and `adapters::config` find the same variables the functions get.

use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// `.local/env` of this clone.
pub fn env_file() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/env"))
}

/// `export K=V` / `K=V` lines; comments and blank lines skipped, one level of
/// surrounding quotes removed.
pub fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let l = l.strip_prefix("export ").unwrap_or(l).trim_start();
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

static LOADED: OnceLock<Vec<(String, String)>> = OnceLock::new();

/// Loads `.local/env` into the process environment (once; its values win over
/// what the shell had, since the tests target the local stack). Panics when the file
/// is missing.
pub fn load_env() -> &'static [(String, String)] {
    LOADED.get_or_init(|| {
        let path = env_file();
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}; run `make up` first", path.display()));
        let vars = parse_env(&text);
        assert!(
            vars.iter().any(|(k, _)| k == "DATABASE_URL"),
            "{} has no DATABASE_URL; run `make up` again",
            path.display()
        );
        for (k, v) in &vars {
            std::env::set_var(k, v);
        }
        vars
    })
}

/// A variable of `.local/env` (after [`load_env`]).
pub fn var(name: &str) -> String {
    load_env();
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set in .local/env; run `make up` again"))
}

/// An id no earlier run used: `{prefix}_{epoch millis}_{pid}_{counter}`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!(
        "{prefix}_{millis}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// The shared SDK configuration, pointed at the local endpoints.
pub async fn aws() -> aws_config::SdkConfig {
    load_env();
    adapters::aws::sdk_config().await
}

/// Every UploadRecords item of an upload, in record order (consistent reads).
pub async fn query_items(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    upload_id: &str,
) -> Vec<domain::model::UploadRecord> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = dynamodb
            .query()
            .table_name(table)
            .key_condition_expression("upload_id = :u")
            .expression_attribute_values(":u", aws_sdk_dynamodb::types::AttributeValue::S(upload_id.into()))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("query UploadRecords");
        for item in page.items.unwrap_or_default() {
            out.push(serde_dynamo::from_item(item).expect("an UploadRecord"));
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    out
}

/// Every UploadRecords item of an upload, with a client of its own.
pub async fn items_of(
    sdk: &aws_config::SdkConfig,
    table: &str,
    upload_id: &str,
) -> Vec<domain::model::UploadRecord> {
    query_items(&adapters::dynamodb::client(sdk), table, upload_id).await
}

/// DynamoDB Local serves Streams on its own endpoint; the SDK would otherwise look
/// for `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`.
pub fn streams(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodbstreams::Client {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB_STREAMS")
        .unwrap_or_else(|_| var("AWS_ENDPOINT_URL_DYNAMODB"));
    let conf = aws_sdk_dynamodbstreams::config::Builder::from(sdk)
        .endpoint_url(endpoint)
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(conf)
}

/// A connection to the catalog database (`DATABASE_URL`).
pub async fn pg() -> tokio_postgres::Client {
    let url = var("DATABASE_URL");
    let (client, connection) = tokio::time::timeout(
        Duration::from_secs(15),
        tokio_postgres::connect(&url, tokio_postgres::NoTls),
    )
    .await
    .unwrap_or_else(|_| panic!("PostgreSQL at {url} did not answer in 15 s; run `make up`"))
    .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}; run `make up`"));
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A stream record: its event name (`INSERT`, `MODIFY`, `REMOVE`) and new image.
#[derive(Debug, Clone)]
pub struct StreamRecord {
    pub event_name: String,
    pub new_image: HashMap<String, StreamValue>,
}

/// Reads `table`'s stream from the start of every shard until `found` accepts a
/// record or `timeout` passes. Later passes resume after the last record seen, so a
/// long stream is read once.
pub async fn find_in_stream(
    sdk: &aws_config::SdkConfig,
    table: &str,
    timeout: Duration,
    found: impl Fn(&StreamRecord) -> bool,
) -> Option<StreamRecord> {
    let dynamodb = adapters::dynamodb::client(sdk);
    let streams = streams(sdk);
    let arn = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "DescribeTable {table}: {}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )
        })
        .table()
        .and_then(|t| t.latest_stream_arn())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("table {table} has no stream"));
    let started = Instant::now();
    // Last sequence number read per shard.
    let mut positions: HashMap<String, Option<String>> = HashMap::new();
    while started.elapsed() < timeout {
        let mut shards = Vec::new();
        let mut start_after: Option<String> = None;
        loop {
            let page = streams
                .describe_stream()
                .stream_arn(&arn)
                .set_exclusive_start_shard_id(start_after.clone())
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "DescribeStream: {}",
                        aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
                    )
                });
            let description = page.stream_description();
            shards.extend(
                description
                    .map(|d| d.shards())
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|s| s.shard_id().map(str::to_string)),
            );
            start_after = description
                .and_then(|d| d.last_evaluated_shard_id())
                .map(str::to_string);
            if start_after.is_none() {
                break;
            }
        }
        for shard in shards {
            let position = positions.entry(shard.clone()).or_default();
            let request = streams.get_shard_iterator().stream_arn(&arn).shard_id(&shard);
            let request = match position.as_deref() {
                Some(seq) => request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(seq),
                None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let Ok(out) = request.send().await else {
                continue; // a shard trimmed away since DescribeStream
            };
            let mut iterator = out.shard_iterator().map(str::to_string);
            while let Some(it) = iterator.take() {
                if started.elapsed() >= timeout {
                    return None;
                }
                let page = streams
                    .get_records()
                    .shard_iterator(it)
                    .limit(1000)
                    .send()
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "GetRecords: {}",
                            aws_sdk_dynamodbstreams::error::DisplayErrorContext(e)
                        )
                    });
                for record in page.records() {
                    let Some(change) = record.dynamodb() else { continue };
                    if let Some(seq) = change.sequence_number() {
                        *position = Some(seq.to_string());
                    }
                    let candidate = StreamRecord {
                        event_name: record
                            .event_name()
                            .map(|e| e.as_str().to_string())
                            .unwrap_or_default(),
                        new_image: change.new_image().cloned().unwrap_or_default(),
                    };
                    if found(&candidate) {
                        return Some(candidate);
                    }
                }
                if page.records().is_empty() {
                    break; // caught up with this shard for now
                }
                iterator = page.next_shard_iterator().map(str::to_string);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_export_lines_comments_and_quotes() {
        let vars = parse_env("# comment\n\nexport A=1\nB='two words'\nexport C=\"x=y\"\n");
        assert_eq!(
            vars,
            vec![
                ("A".to_string(), "1".to_string()),
                ("B".to_string(), "two words".to_string()),
                ("C".to_string(), "x=y".to_string()),
            ]
        );
    }
}
