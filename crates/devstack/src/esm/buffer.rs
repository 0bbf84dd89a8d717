//! A shard's records between the reader and the consumers.

use super::convert::ConvertedRecord;
use std::collections::VecDeque;
use std::sync::Arc;

/// Records read from one shard and not yet released by every consumer. Records keep
/// their absolute index (position in the shard since the drain began), so consumers
/// can refer to them while the front is dropped. Shared, so a batch holds its
/// records without copying them.
#[derive(Debug, Default)]
pub(crate) struct ShardBuffer {
    /// Absolute index of `records[0]`.
    base: usize,
    records: VecDeque<Arc<ConvertedRecord>>,
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
        self.shared(index).map(|r| &**r)
    }

    /// The record at `index`, to keep beyond the buffer's borrow.
    pub(crate) fn shared(&self, index: usize) -> Option<&Arc<ConvertedRecord>> {
        index.checked_sub(self.base).and_then(|i| self.records.get(i))
    }

    pub(crate) fn push(&mut self, record: ConvertedRecord) {
        self.records.push_back(Arc::new(record));
    }

    /// Releases the records before absolute index `low`.
    pub(crate) fn drop_before(&mut self, low: usize) {
        while self.base < low && !self.records.is_empty() {
            self.records.pop_front();
            self.base += 1;
        }
    }
}
