//! A batch given up on, and the message the on-failure destination receives for it.

use crate::esm::convert::ConvertedRecord;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// A failed batch whose retries are spent.
pub(crate) const RETRY_ATTEMPTS_EXHAUSTED: &str = "RetryAttemptsExhausted";
/// Records older than `MaximumRecordAgeInSeconds`, discarded unseen.
pub(crate) const RECORD_AGE_EXCEEDED: &str = "RecordAgeExceeded";

/// A discarded batch: what Lambda's `DDBStreamBatchInfo` describes (the records
/// themselves are not sent, only where they are in the shard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OnFailure {
    pub(crate) condition: &'static str,
    /// Invocations that failed (`approximateInvokeCount`).
    pub(crate) attempts: u32,
    pub(crate) last_error: String,
    pub(crate) start_sequence_number: String,
    pub(crate) end_sequence_number: String,
    pub(crate) first_arrival: DateTime<Utc>,
    pub(crate) last_arrival: DateTime<Utc>,
    pub(crate) batch_size: usize,
}

impl OnFailure {
    /// `None` for an empty batch: there is nothing to describe.
    pub(crate) fn of(
        records: &[&ConvertedRecord],
        condition: &'static str,
        attempts: u32,
        last_error: String,
    ) -> Option<Self> {
        let (first, last) = (records.first()?, records.last()?);
        let arrival = |r: &ConvertedRecord| r.created;
        Some(Self {
            condition,
            attempts,
            last_error,
            start_sequence_number: first.sequence_number.clone(),
            end_sequence_number: last.sequence_number.clone(),
            first_arrival: arrival(first),
            last_arrival: arrival(last),
            batch_size: records.len(),
        })
    }

    /// The SQS on-failure destination's message, plus `consumer`, `reason` and
    /// `lastError`, which Lambda does not send but a reader of the log needs.
    pub(crate) fn message(
        &self,
        consumer: &str,
        shard_id: &str,
        stream_arn: &str,
        at: DateTime<Utc>,
    ) -> Value {
        json!({
            "consumer": consumer,
            "reason": self.condition,
            "lastError": self.last_error,
            "version": "1.0",
            "timestamp": at.to_rfc3339(),
            "requestContext": { "condition": self.condition, "approximateInvokeCount": self.attempts },
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": self.start_sequence_number,
                "endSequenceNumber": self.end_sequence_number,
                "approximateArrivalOfFirstRecord": self.first_arrival.to_rfc3339(),
                "approximateArrivalOfLastRecord": self.last_arrival.to_rfc3339(),
                "batchSize": self.batch_size,
                "streamArn": stream_arn,
            },
        })
    }
}
