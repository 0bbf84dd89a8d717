//! `devstack notifications UPLOAD_ID [--wait SECONDS] [--envelope]`: the messages the
//! upload-finished topic delivered for one upload, read from the queue `make up`
//! subscribed to it.
//!
//! A queue hands each message to one reader, so every reader first moves what the queue
//! holds into a log shared by all (`.local/devstack/notifications.jsonl`, one line per
//! message: appended, then deleted from the queue) and answers from the log. A reader
//! waits while another holds messages in flight, so none is missed.

use crate::upload::local_dir;
use crate::vendor_loop::{queue_url, sqs, VendorLoopSettings};
use anyhow::Context;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Seconds a received message stays hidden from other readers before it is offered
/// again (a reader that died before logging it).
const VISIBILITY_SECONDS: i32 = 10;
/// How long to wait for other readers' messages in flight.
const IN_FLIGHT_PATIENCE: Duration = Duration::from_secs(30);

pub fn log_path() -> PathBuf {
    local_dir().join("devstack/notifications.jsonl")
}

/// Prints the `default` JSON (or, with `envelope`, subject, attributes and message) of
/// every message for the upload, one per line, waiting up to `wait` for the first.
pub async fn run(upload_id: &str, wait: Duration, envelope: bool) -> anyhow::Result<()> {
    for record in collect(upload_id, wait).await? {
        let line = if envelope {
            record
        } else {
            record["message"].clone()
        };
        println!("{}", serde_json::to_string(&line)?);
    }
    Ok(())
}

/// The logged messages of the upload (`{"message_id", "subject", "attributes",
/// "message"}`), after moving the queue's messages into the log. Besides `wait`, it
/// waits (up to [`IN_FLIGHT_PATIENCE`]) while the upload's notification is being
/// published: final a moment ago, or claimed by a publisher, and not yet recorded.
pub async fn collect(upload_id: &str, wait: Duration) -> anyhow::Result<Vec<Value>> {
    let settings = VendorLoopSettings::from_env()?;
    let sdk = adapters::aws::sdk_config().await;
    let sqs = sqs(&sdk);
    let url = queue_url(&sqs, &settings.notifications_queue).await?;
    let database_url = std::env::var("DATABASE_URL").ok();
    let started = Instant::now();
    loop {
        drain(&sqs, &url).await?;
        let found = logged(upload_id)?;
        if !found.is_empty() {
            return Ok(found);
        }
        let in_flight = match &database_url {
            Some(db) if started.elapsed() < IN_FLIGHT_PATIENCE => publishing(db, upload_id).await?,
            _ => false,
        };
        if !in_flight && started.elapsed() >= wait {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Whether the upload's notification is on its way: the upload became final in the last
/// few seconds, or a publisher holds a live claim, and it is not recorded as published.
async fn publishing(database_url: &str, upload_id: &str) -> anyhow::Result<bool> {
    let (client, connection) = tokio_postgres::connect(database_url, tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL (DATABASE_URL)")?;
    let task = tokio::spawn(connection);
    let row = client
        .query_opt(
            "SELECT COALESCE(status <> 'processing' AND notification_published_at IS NULL
                    AND (processing_completed_at > now() - interval '5 seconds'
                         OR notification_claimed_until > now()), false)
             FROM upload_history WHERE upload_id = $1",
            &[&upload_id],
        )
        .await;
    drop(client);
    let _ = task.await;
    Ok(row?.map(|r| r.get::<_, bool>(0)).unwrap_or(false))
}

/// Moves every message of the queue into the log; returns when the queue is empty and
/// no other reader holds one in flight (or after [`IN_FLIGHT_PATIENCE`]).
async fn drain(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(VISIBILITY_SECONDS)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))
            .context("ReceiveMessage")?;
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            if in_flight(sqs, url).await? == 0 || started.elapsed() > IN_FLIGHT_PATIENCE {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        for m in messages {
            if let Some(record) = m.body().and_then(record_of) {
                append(&record)?;
            }
            if let Some(handle) = m.receipt_handle() {
                sqs.delete_message()
                    .queue_url(url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))
                    .context("DeleteMessage")?;
            }
        }
    }
}

async fn in_flight(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<u64> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
    Ok(out
        .attributes
        .and_then(|a| {
            a.get(&QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                .cloned()
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0))
}

/// An SNS envelope (`Type: Notification`) as one log record; anything else is dropped.
pub fn record_of(body: &str) -> Option<Value> {
    let envelope: Value = serde_json::from_str(body).ok()?;
    if envelope.get("Type")?.as_str()? != "Notification" {
        return None;
    }
    let text = envelope.get("Message")?.as_str()?;
    let message = serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_string()));
    let attributes: serde_json::Map<String, Value> = envelope
        .get("MessageAttributes")
        .and_then(Value::as_object)
        .map(|a| {
            a.iter()
                .map(|(k, v)| (k.clone(), v.get("Value").cloned().unwrap_or(Value::Null)))
                .collect()
        })
        .unwrap_or_default();
    Some(json!({
        "message_id": envelope.get("MessageId"),
        "topic_arn": envelope.get("TopicArn"),
        "subject": envelope.get("Subject"),
        "timestamp": envelope.get("Timestamp"),
        "attributes": attributes,
        "message": message,
    }))
}

/// One write of one whole line: concurrent appenders never interleave.
fn append(record: &Value) -> anyhow::Result<()> {
    let path = log_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_vec(record)?;
    line.push(b'\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    file.write_all(&line)?;
    Ok(())
}

/// The logged records of the upload, each SNS message once.
fn logged(upload_id: &str) -> anyhow::Result<Vec<Value>> {
    let text = match std::fs::read_to_string(log_path()) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e.into()),
    };
    let mut seen = HashSet::new();
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["message"]["upload_id"].as_str() == Some(upload_id))
        .filter(|r| seen.insert(r["message_id"].to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sns_envelope_becomes_a_record_and_other_bodies_are_dropped() {
        let body = json!({
            "Type": "Notification", "MessageId": "m-1", "TopicArn": "arn:t", "Subject": "Product upload failed: a.csv (0% valid)",
            "Message": "{\"type\":\"UPLOAD_FINISHED\",\"upload_id\":\"U1\"}", "Timestamp": "2026-01-01T00:00:00.000Z",
            "MessageAttributes": {"vendor_id": {"Type": "String", "Value": "VEND001"}, "status": {"Type": "String", "Value": "failed"}}
        });
        let r = record_of(&body.to_string()).unwrap_or_default();
        assert_eq!(r["message"]["upload_id"], "U1");
        assert_eq!(
            r["attributes"],
            json!({"vendor_id": "VEND001", "status": "failed"})
        );
        assert_eq!(r["subject"], "Product upload failed: a.csv (0% valid)");
        assert_eq!(
            record_of("{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\"}"),
            None
        );
        assert_eq!(record_of("not json"), None);
    }
}
