//! The upload-finished topic on SNS.

use crate::classify::from_sdk;
use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use domain::ports::{Notification, UploadNotifier};
use domain::PortError;

/// The SDK reads `AWS_ENDPOINT_URL_SNS` itself (moto locally).
pub fn client(config: &aws_config::SdkConfig) -> aws_sdk_sns::Client {
    aws_sdk_sns::Client::new(config)
}

#[derive(Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        SnsNotifier {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[async_trait]
impl UploadNotifier for SnsNotifier {
    async fn publish(&self, n: &Notification) -> Result<String, PortError> {
        let mut request = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(&n.subject)
            .message_structure("json")
            .message(&n.message);
        for (name, value) in &n.attributes {
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| PortError::rejected("SNS", e))?;
            request = request.message_attributes(name, attribute);
        }
        let out = request.send().await.map_err(|e| from_sdk("SNS", e))?;
        Ok(out.message_id.unwrap_or_default())
    }
}
