//! The on-failure destinations: what the event sources gave up on. csv-parser's
//! asynchronous invocations that failed every retry land there with their S3 event;
//! stream batches that failed every retry land there as a pointer to their records.

use crate::error::PortError;
use async_trait::async_trait;

/// Which destination a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureSource {
    /// csv-parser's async-invoke destination: the body holds the S3 event
    /// (`requestPayload`), to deliver again.
    Parser,
    /// A stream mapping's destination: the body only points at the batch; its items are
    /// found by status, so the message just needs acknowledging.
    Stream,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedDelivery {
    /// What `acknowledge` needs (an SQS receipt handle, a line of a local log).
    pub receipt: String,
    pub source: FailureSource,
    pub body: String,
}

#[async_trait]
pub trait FailedDeliveries: Send + Sync {
    /// Up to `max` messages not yet acknowledged.
    async fn receive(&self, max: usize) -> Result<Vec<FailedDelivery>, PortError>;
    /// The message was handled: it will not be received again.
    async fn acknowledge(&self, delivery: &FailedDelivery) -> Result<(), PortError>;
}
