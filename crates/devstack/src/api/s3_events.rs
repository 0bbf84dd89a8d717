//! The bucket's S3 notification, emulated: moto delivers `s3:ObjectCreated:*` under
//! `uploads/` `.csv` to an SQS queue (`devstack setup` configured it with the
//! template's filter); this poller reads it and does what Lambda does with the bucket
//! notification in AWS, for the PUTs made through URLs the vendor API issued:
//!
//! 1. skip S3's `s3:TestEvent`;
//! 2. HeadObject, and undo a PUT S3 would have refused (see `issued`);
//! 3. rebuild the notification in S3's real shape (moto's lacks `userIdentity`,
//!    `sequencer` and `versionId`, and does not deserialize as `S3Event`);
//! 4. invoke csv-parser and drain the streams through the two mappings, exactly as
//!    `devstack upload` does, then delete the message.
//!
//! Objects put some other way (`devstack upload`, the tests) are left to whoever put
//! them: they deliver their own events.

use super::issued::{self, PutCheck};
use crate::upload::{sequencer, Stack};
use anyhow::Context;
use chrono::{DateTime, Utc};
use domain::upload::decode_event_key;
use serde_json::Value;
use std::time::Duration;
use testkit::events::S3Put;

/// Long enough for a large file's parse and drain before another poller may see the
/// message again.
const VISIBILITY_SECONDS: i32 = 900;
const WAIT_SECONDS: i32 = 2;

/// One ObjectCreated record of moto's notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub bucket: String,
    /// Decoded.
    pub key: String,
    pub event_time: DateTime<Utc>,
}

/// The ObjectCreated records of a notification body (none for `s3:TestEvent`).
pub fn created(body: &str) -> Vec<Created> {
    let Ok(message) = serde_json::from_str::<Value>(body) else {
        return Vec::new();
    };
    message["Records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["eventName"]
                .as_str()
                .is_some_and(|n| n.starts_with("ObjectCreated:"))
        })
        .filter_map(|r| {
            Some(Created {
                bucket: r["s3"]["bucket"]["name"].as_str()?.to_string(),
                // moto encodes like quote_plus (`/` as %2F), S3 like a form: both decode.
                key: decode_event_key(r["s3"]["object"]["key"].as_str()?),
                event_time: DateTime::parse_from_rfc3339(r["eventTime"].as_str()?)
                    .ok()?
                    .with_timezone(&Utc),
            })
        })
        .collect()
}

pub struct Poller {
    pub stack: Stack,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl Poller {
    /// Polls until the process ends; a failure is logged and the loop goes on.
    pub async fn run(self) {
        loop {
            if let Err(e) = self.poll_once().await {
                tracing::warn!(error = format!("{e:#}"), "S3 notification poll failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    async fn poll_once(&self) -> anyhow::Result<()> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(VISIBILITY_SECONDS)
            .wait_time_seconds(WAIT_SECONDS)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
        for message in out.messages.unwrap_or_default() {
            for record in created(message.body().unwrap_or_default()) {
                // Like an asynchronous invocation that exhausted its retries: logged (the
                // on-failure destination), and the message is not retried forever.
                if let Err(e) = self.deliver(&record).await {
                    tracing::error!(key = %record.key, error = format!("{e:#}"), "S3 event not processed");
                }
            }
            if let Some(handle) = message.receipt_handle() {
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))?;
            }
        }
        Ok(())
    }

    async fn deliver(&self, record: &Created) -> anyhow::Result<()> {
        let issued = issued::for_key(&record.key).context("reading the issued-URL log")?;
        if issued.is_empty() {
            tracing::debug!(key = %record.key, "not put through a vendor API URL; left to whoever put it");
            return Ok(());
        }
        let s3 = &self.stack.s3;
        let head = match s3
            .head_object()
            .bucket(&record.bucket)
            .key(&record.key)
            .send()
            .await
        {
            Ok(head) => head,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
                tracing::info!(key = %record.key, "object gone before it was processed");
                return Ok(());
            }
            Err(e) => return Err(anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e))),
        };
        let size = head.content_length().unwrap_or(0).max(0) as u64;
        let stored_at = head
            .last_modified()
            .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
            .unwrap_or(record.event_time);
        match issued::check(&issued, size, stored_at) {
            PutCheck::NotOurs => return Ok(()),
            PutCheck::Refused(why) => {
                // S3 would have answered the PUT with 403 and stored nothing.
                let mut delete = s3.delete_object().bucket(&record.bucket).key(&record.key);
                if let Some(v) = head.version_id() {
                    delete = delete.version_id(v);
                }
                delete
                    .send()
                    .await
                    .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))?;
                tracing::warn!(key = %record.key, size, reason = %why, "PUT refused as S3 would refuse it; object removed");
                return Ok(());
            }
            PutCheck::Accepted => {}
        }
        let sequencer = sequencer(record.event_time);
        let etag = head.e_tag().unwrap_or_default();
        let event = S3Put {
            region: &self.stack.region,
            bucket: &record.bucket,
            key: &record.key,
            size: size as i64,
            etag,
            version_id: head.version_id(),
            sequencer: &sequencer,
            at: record.event_time,
        }
        .event()
        .context("the rebuilt S3 event")?;
        let upload_id = domain::upload::upload_id(
            &record.bucket,
            &record.key,
            &sequencer,
            head.version_id(),
            record.event_time,
        );
        let stream_arn = self.stack.stream_arn().await?;
        let from = crate::esm::snapshot_tip(&self.stack.streams, &stream_arn).await?;
        self.stack
            .parse_and_drain_through(
                self.stack.invoke_parser(&event),
                &stream_arn,
                &from,
                std::slice::from_ref(&upload_id),
                false,
                |_, handler| handler,
            )
            .await?;
        tracing::info!(key = %record.key, upload_id, "vendor upload processed");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn motos_notifications_are_read_and_test_events_skipped() {
        let body = r#"{"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2026-12-06T07:31:40.027Z", "eventName": "ObjectCreated:Put",
            "s3": {"s3SchemaVersion": "1.0", "configurationId": "uploads",
                   "bucket": {"name": "notif", "arn": "arn:aws:s3:::notif"},
                   "object": {"key": "uploads%2FVEND001%2Fa+b%2Bc.csv", "size": 8, "eTag": "344f"}}}]}"#;
        let got = created(body);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].key, "uploads/VEND001/a b+c.csv");
        assert_eq!(got[0].bucket, "notif");
        assert!(
            created(r#"{"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "notif"}"#).is_empty()
        );
        assert!(created("garbage").is_empty());
    }
}
