//! The on-failure destinations on SQS: csv-parser's async-invoke destination and the two
//! stream mappings' destinations, drained by the reconciler.

use crate::classify::from_sdk;
use async_trait::async_trait;
use domain::ports::{FailedDeliveries, FailedDelivery, FailureSource};
use domain::PortError;

/// SQS hands out at most 10 messages per receive.
const RECEIVE_MAX: i32 = 10;

pub fn client(config: &aws_config::SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

/// The queues, each with what its messages are.
pub struct SqsFailedDeliveries {
    client: aws_sdk_sqs::Client,
    queues: Vec<(FailureSource, String)>,
}

impl SqsFailedDeliveries {
    pub fn new(client: aws_sdk_sqs::Client, queues: Vec<(FailureSource, String)>) -> Self {
        SqsFailedDeliveries { client, queues }
    }
}

/// `{queue index}|{receipt handle}`: acknowledge must know which queue to delete from.
fn receipt(queue: usize, handle: &str) -> String {
    format!("{queue}|{handle}")
}

#[async_trait]
impl FailedDeliveries for SqsFailedDeliveries {
    async fn receive(&self, max: usize) -> Result<Vec<FailedDelivery>, PortError> {
        let mut out = Vec::new();
        for (q, (source, url)) in self.queues.iter().enumerate() {
            while out.len() < max {
                let wanted = i32::try_from(max - out.len())
                    .unwrap_or(RECEIVE_MAX)
                    .min(RECEIVE_MAX);
                let got = self
                    .client
                    .receive_message()
                    .queue_url(url)
                    .max_number_of_messages(wanted)
                    .wait_time_seconds(0)
                    .send()
                    .await
                    .map_err(|e| from_sdk("SQS", e))?;
                let messages = got.messages.unwrap_or_default();
                if messages.is_empty() {
                    break;
                }
                for m in messages {
                    let (Some(handle), Some(body)) = (m.receipt_handle, m.body) else {
                        continue;
                    };
                    out.push(FailedDelivery {
                        receipt: receipt(q, &handle),
                        source: *source,
                        body,
                    });
                }
            }
        }
        Ok(out)
    }

    async fn acknowledge(&self, delivery: &FailedDelivery) -> Result<(), PortError> {
        let (queue, handle) = delivery
            .receipt
            .split_once('|')
            .and_then(|(q, h)| Some((q.parse::<usize>().ok()?, h)))
            .ok_or_else(|| PortError::rejected("SQS", "a receipt this adapter did not hand out"))?;
        let (_, url) = self
            .queues
            .get(queue)
            .ok_or_else(|| PortError::rejected("SQS", "a receipt for an unknown queue"))?;
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(handle)
            .send()
            .await
            .map_err(|e| from_sdk("SQS", e))?;
        Ok(())
    }
}
