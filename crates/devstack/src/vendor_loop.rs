//! The local side of the vendor loop (DESIGN.md §7): the upload-finished topic with a
//! queue subscribed to it (what `devstack notifications` reads), and the bucket's
//! S3 → SQS notification (what `devstack api` polls to process a vendor's PUT, as the
//! bucket's Lambda notification does in AWS). `devstack setup` creates them; running
//! it again changes nothing.

use adapters::config::{required, ConfigError, ProcessEnv, Source};
use anyhow::{bail, Context};
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;
use tracing::info;

pub const NOTIFICATIONS_QUEUE_ENV: &str = "NOTIFICATIONS_QUEUE";
pub const UPLOAD_EVENTS_QUEUE_ENV: &str = "UPLOAD_EVENTS_QUEUE";
/// The id of the bucket's queue notification: the template's csv-parser filter.
pub const NOTIFICATION_ID: &str = "csv-parser";

/// Names of the local topic, queues and bucket (from `.local/env`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorLoopSettings {
    pub topic_arn: String,
    pub notifications_queue: String,
    pub upload_events_queue: String,
    pub bucket: String,
}

impl VendorLoopSettings {
    pub fn from_source(src: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        Ok(VendorLoopSettings {
            topic_arn: required(
                src,
                adapters::config::UPLOAD_TOPIC_ARN,
                "the upload-finished topic (source .local/env)",
            )?,
            notifications_queue: required(
                src,
                NOTIFICATIONS_QUEUE_ENV,
                "the queue subscribed to the topic (source .local/env)",
            )?,
            upload_events_queue: required(
                src,
                UPLOAD_EVENTS_QUEUE_ENV,
                "the queue of the bucket's S3 notification (source .local/env)",
            )?,
            bucket: required(
                src,
                adapters::config::UPLOAD_BUCKET,
                "the upload bucket (source .local/env)",
            )?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    fn topic_name(&self) -> anyhow::Result<&str> {
        self.topic_arn
            .rsplit(':')
            .next()
            .filter(|n| !n.is_empty())
            .with_context(|| format!("{} is not a topic ARN", self.topic_arn))
    }
}

/// The SQS client; the SDK reads `AWS_ENDPOINT_URL_SQS` (moto).
pub fn sqs(sdk: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk)
}

/// A queue's URL and ARN, creating it when missing.
pub async fn ensure_queue(sqs: &aws_sdk_sqs::Client, name: &str) -> anyhow::Result<(String, String)> {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))
        .with_context(|| format!("CreateQueue {name}"))?
        .queue_url
        .with_context(|| format!("CreateQueue {name} returned no URL"))?;
    let arn = queue_arn(sqs, &url).await?;
    Ok((url, arn))
}

/// The URL of an existing queue.
pub async fn queue_url(sqs: &aws_sdk_sqs::Client, name: &str) -> anyhow::Result<String> {
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))
        .with_context(|| format!("queue {name} not found; run `make up`"))?
        .queue_url
        .with_context(|| format!("no URL for queue {name}"))
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<String> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .with_context(|| format!("no QueueArn for {url}"))
}

/// Topic (encrypted, as in the template), its queue subscription, and the bucket's
/// S3 → SQS notification. Returns what it had to create.
pub async fn setup(sdk: &aws_config::SdkConfig, s3: &aws_sdk_s3::Client) -> anyhow::Result<Vec<String>> {
    let settings = VendorLoopSettings::from_env()?;
    let sns = adapters::sns::client(sdk);
    let sqs = sqs(sdk);
    let mut created = Vec::new();

    let topic = sns
        .create_topic()
        .name(settings.topic_name()?)
        .attributes("KmsMasterKeyId", "alias/aws/sns")
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sns::error::DisplayErrorContext(e)))
        .context("CreateTopic")?
        .topic_arn
        .unwrap_or_default();
    if topic != settings.topic_arn {
        bail!(
            "moto named the topic {topic}, but UPLOAD_TOPIC_ARN is {}: fix .local/env (scripts/stack/up.sh)",
            settings.topic_arn
        );
    }

    let (_, queue) = ensure_queue(&sqs, &settings.notifications_queue).await?;
    let subscriptions = sns
        .list_subscriptions_by_topic()
        .topic_arn(&topic)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_sns::error::DisplayErrorContext(e)))?;
    let subscribed = subscriptions
        .subscriptions()
        .iter()
        .any(|s| s.protocol() == Some("sqs") && s.endpoint() == Some(queue.as_str()));
    if !subscribed {
        // Envelope delivery (not raw): the queue sees Subject, MessageAttributes and the
        // `default` message, as an SQS subscriber in AWS would.
        sns.subscribe()
            .topic_arn(&topic)
            .protocol("sqs")
            .endpoint(&queue)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!(aws_sdk_sns::error::DisplayErrorContext(e)))
            .context("Subscribe")?;
        created.push(format!("subscription {queue}"));
    }

    let (_, events) = ensure_queue(&sqs, &settings.upload_events_queue).await?;
    if !bucket_notifies(s3, &settings.bucket, &events).await? {
        put_bucket_notification(s3, &settings.bucket, &events).await?;
        created.push(format!("bucket notification {} -> {events}", settings.bucket));
    }
    info!(topic = %topic, created = ?created, "vendor loop ready");
    Ok(created)
}

async fn bucket_notifies(s3: &aws_sdk_s3::Client, bucket: &str, queue_arn: &str) -> anyhow::Result<bool> {
    let current = s3
        .get_bucket_notification_configuration()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))?;
    Ok(current
        .queue_configurations()
        .iter()
        .any(|q| q.queue_arn() == queue_arn))
}

/// `s3:ObjectCreated:*` under `uploads/`, `.csv`: the template's csv-parser filter.
async fn put_bucket_notification(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    queue_arn: &str,
) -> anyhow::Result<()> {
    let rule = |name: FilterRuleName, value: &str| FilterRule::builder().name(name).value(value).build();
    let queue = QueueConfiguration::builder()
        .id(NOTIFICATION_ID)
        .queue_arn(queue_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(
            NotificationConfigurationFilter::builder()
                .key(
                    S3KeyFilter::builder()
                        .filter_rules(rule(FilterRuleName::Prefix, "uploads/"))
                        .filter_rules(rule(FilterRuleName::Suffix, ".csv"))
                        .build(),
                )
                .build(),
        )
        .build()
        .context("the queue configuration")?;
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(queue)
                .build(),
        )
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
        .with_context(|| format!("PutBucketNotificationConfiguration {bucket}"))?;
    Ok(())
}
