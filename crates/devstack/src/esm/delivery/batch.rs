//! Forming batches: up to `BatchSize` records the filters let through.

use super::Rules;
use crate::esm::buffer::ShardBuffer;
use crate::esm::convert::ConvertedRecord;

/// A batch taken from the shard and not yet done with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    /// Absolute indices of the records in this batch.
    pub(crate) records: Vec<usize>,
    /// Failed invocations that counted against `MaximumRetryAttempts`.
    pub(crate) attempts: u32,
    /// Delivered at least once already.
    pub(crate) retry: bool,
    pub(crate) last_error: String,
}

impl Segment {
    fn new(records: Vec<usize>) -> Self {
        Self {
            records,
            attempts: 0,
            retry: false,
            last_error: String::new(),
        }
    }

    /// Cuts off the second half (`BisectBatchOnFunctionError`). Both halves keep the
    /// attempts so far: Lambda documents that splitting does not consume the quota.
    pub(crate) fn split_off_second_half(&mut self) -> Segment {
        Segment {
            records: self.records.split_off(self.records.len() / 2),
            attempts: self.attempts,
            retry: true,
            last_error: self.last_error.clone(),
        }
    }

    /// The buffered records of this batch, in order.
    pub(crate) fn records_in<'b>(&self, shard: &'b ShardBuffer) -> Vec<&'b ConvertedRecord> {
        self.records.iter().filter_map(|&i| shard.get(i)).collect()
    }
}

/// What [`take`] found.
pub(crate) struct Taken {
    /// `None` when nothing from `from` to the end of the buffer was wanted.
    pub(crate) segment: Option<Segment>,
    /// Absolute index of the first record not looked at.
    pub(crate) next: usize,
    pub(crate) filtered_out: u64,
    /// Filtered-out records before the batch count as processed: the last of them.
    pub(crate) skipped_to: Option<String>,
}

/// The next batch from absolute index `from` on.
pub(crate) fn take(shard: &ShardBuffer, from: usize, rules: &Rules<'_>) -> Taken {
    let mut batch = Vec::new();
    let (mut next, mut filtered_out, mut skipped_to) = (from, 0, None);
    while batch.len() < rules.settings.batch_size {
        let Some(record) = shard.get(next) else { break };
        if rules.wants(record) {
            batch.push(next);
        } else {
            filtered_out += 1;
            if batch.is_empty() {
                skipped_to = Some(record.sequence_number.clone());
            }
        }
        next += 1;
    }
    Taken {
        segment: (!batch.is_empty()).then(|| Segment::new(batch)),
        next,
        filtered_out,
        skipped_to,
    }
}
