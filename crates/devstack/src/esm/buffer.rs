//! A shard's records between the reader and the consumers.

use super::convert::ConvertedRecord;
use std::collections::VecDeque;

/// Records read from one shard and not yet released by every consumer. Records keep
/// their absolute index (position in the shard since the drain began), so consumers
/// can refer to them while the front is dropped.
#[derive(Debug, Default)]
pub(crate) struct ShardBuffer {
    /// Absolute index of `records[0]`.
    base: usize,
    records: VecDeque<ConvertedRecord>,
}

impl ShardBuffer {
    pub(crate) fn base(&self) -> usize {
        self.base
    }

    /// Absolute index one past the last record read.
    pub(crate) fn end(&self) -> usize {
        self.base + self.records.len()
    }

    pub(crate) fn get(&self, index: usize) -> Option<&ConvertedRecord> {
        index.checked_sub(self.base).and_then(|i| self.records.get(i))
    }

    pub(crate) fn push(&mut self, record: ConvertedRecord) {
        self.records.push_back(record);
    }

    /// Releases the records before absolute index `low`.
    pub(crate) fn drop_before(&mut self, low: usize) {
        while self.base < low && !self.records.is_empty() {
            self.records.pop_front();
            self.base += 1;
        }
    }
}
