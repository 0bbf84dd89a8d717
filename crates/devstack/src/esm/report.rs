//! What a drain reports.

use serde::Serialize;
use serde_json::Value;

/// What one consumer went through during a drain.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ConsumerReport {
    pub name: String,
    /// Deliveries of a batch (first tries, retries and bisected halves; replays excluded).
    pub batches: u64,
    /// Handler calls, replays included.
    pub invocations: u64,
    /// Records over all deliveries (a retried record counts again).
    pub records_delivered: u64,
    /// Deliveries that were retries of a failed batch or of its remainder.
    pub retries: u64,
    /// Failed batches split in two (`BisectBatchOnFunctionError`).
    pub bisections: u64,
    /// Batches written to the on-failure log (retries exhausted or records too old).
    pub on_failure_batches: u64,
    pub on_failure_records: u64,
    /// Records no filter matched (or `record_filter` rejected): skipped, checkpointed.
    pub filtered_out: u64,
}

/// The result of [`drain`](super::drain).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DrainReport {
    pub consumers: Vec<ConsumerReport>,
    /// Stream records read after the snapshot.
    pub records_read: u64,
    pub rounds: u64,
    /// The on-failure entries written during this drain.
    pub on_failure: Vec<Value>,
}

impl DrainReport {
    pub fn consumer(&self, name: &str) -> Option<&ConsumerReport> {
        self.consumers.iter().find(|c| c.name == name)
    }
}
