//! One consumer's progress on one shard: the delivery state machine.

use super::batch::{self, Segment};
use super::on_failure::{OnFailure, RECORD_AGE_EXCEEDED, RETRY_ATTEMPTS_EXHAUSTED};
use super::retry::{backoff, exhausted};
use super::{Now, Outcome, Rules};
use crate::esm::buffer::ShardBuffer;
use crate::esm::convert::ConvertedRecord;
use crate::esm::report::ConsumerReport;
use anyhow::bail;
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A consumer's progress on one shard.
#[derive(Debug, Default)]
pub(crate) struct Lane {
    /// Absolute index of the next record not yet put in a batch.
    next: usize,
    /// Batches taken but not yet done with, in order (a bisected batch is two).
    pending: VecDeque<Segment>,
    not_before: Option<Instant>,
    /// Failures in a row on this lane; the backoff grows with them.
    consecutive_failures: u32,
    /// The last record this lane is done with (delivered, filtered out or discarded).
    checkpoint: Option<String>,
}

/// What a lane wants done next.
#[derive(Debug)]
pub(crate) enum Step {
    /// Nothing to deliver now: caught up with the buffer, or backing off.
    Idle,
    /// Invoke the function with these records, then [`Lane::settle`] its answer.
    Deliver(Vec<Arc<ConvertedRecord>>),
    /// Records too old to deliver: they go to the on-failure destination unseen.
    Discard(OnFailure),
}

/// What became of a delivered batch.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Done with; the next batch can go at once.
    Done,
    /// Split in two; the first half goes next, at once.
    Bisected,
    /// The batch (or what is left of it) is retried at this time; the lane waits.
    RetryAt(Instant),
    /// Retries are spent: the batch goes to the on-failure destination, then the
    /// next batch can go at once.
    GaveUp(OnFailure),
}

impl Lane {
    /// The next thing to do at `now`. A [`Step::Deliver`] must be settled before the
    /// next call.
    pub(crate) fn next_step(
        &mut self,
        shard: &ShardBuffer,
        rules: &Rules<'_>,
        now: Now,
        report: &mut ConsumerReport,
    ) -> anyhow::Result<Step> {
        if self.not_before.is_some_and(|at| now.instant < at) {
            return Ok(Step::Idle);
        }
        self.not_before = None;
        // Records before the buffer's front are gone; there is nothing to take there.
        self.next = self.next.max(shard.base());
        if self.pending.is_empty() && !self.take_batch(shard, rules, report) {
            return Ok(Step::Idle);
        }
        if let Some(discarded) = self.discard_expired(shard, rules, now.wall, report) {
            return Ok(Step::Discard(discarded));
        }
        self.deliver_front(shard, report)
    }

    /// Acts on the function's answer to the batch the last [`Step::Deliver`] carried.
    pub(crate) fn settle(
        &mut self,
        outcome: Outcome,
        shard: &ShardBuffer,
        rules: &Rules<'_>,
        now: Instant,
        report: &mut ConsumerReport,
    ) -> Settled {
        match outcome {
            Outcome::Success => self.succeeded(shard),
            Outcome::Partial(position) => self.partially_failed(position, shard, rules, now, report),
            Outcome::Failed(reason) => self.failed(reason, shard, rules, now, report),
        }
    }

    fn take_batch(&mut self, shard: &ShardBuffer, rules: &Rules<'_>, report: &mut ConsumerReport) -> bool {
        let taken = batch::take(shard, self.next, rules);
        self.next = taken.next;
        report.filtered_out += taken.filtered_out;
        if taken.skipped_to.is_some() {
            self.checkpoint = taken.skipped_to;
        }
        let Some(segment) = taken.segment else {
            return false;
        };
        self.pending.push_back(segment);
        true
    }

    /// Lambda drops records past `MaximumRecordAgeInSeconds` before invoking; only
    /// the front of a batch can be older than the rest (records are in order).
    fn discard_expired(
        &mut self,
        shard: &ShardBuffer,
        rules: &Rules<'_>,
        now: DateTime<Utc>,
        report: &mut ConsumerReport,
    ) -> Option<OnFailure> {
        let max_age = rules.settings.maximum_record_age?;
        let segment = self.pending.front_mut()?;
        let expired = segment
            .records
            .iter()
            .take_while(|&&i| shard.get(i).is_some_and(|r| age(r, now) > max_age))
            .count();
        if expired == 0 {
            return None;
        }
        let old: Vec<usize> = segment.records.drain(..expired).collect();
        let attempts = segment.attempts;
        if segment.records.is_empty() {
            self.pending.pop_front();
        }
        let old = Segment {
            records: old,
            attempts,
            retry: false,
            last_error: "record older than MaximumRecordAgeInSeconds".to_owned(),
        };
        self.give_up(shard, old, RECORD_AGE_EXCEEDED, report)
    }

    fn deliver_front(&mut self, shard: &ShardBuffer, report: &mut ConsumerReport) -> anyhow::Result<Step> {
        let Some(segment) = self.pending.front_mut() else {
            return Ok(Step::Idle);
        };
        let records: Vec<Arc<ConvertedRecord>> = segment
            .records
            .iter()
            .filter_map(|&i| shard.shared(i).cloned())
            .collect();
        if records.len() != segment.records.len() {
            bail!("internal error: a batch refers to records no longer buffered");
        }
        report.batches += 1;
        report.records_delivered += records.len() as u64;
        if segment.retry {
            report.retries += 1;
        }
        segment.retry = true;
        Ok(Step::Deliver(records))
    }

    fn succeeded(&mut self, shard: &ShardBuffer) -> Settled {
        if let Some(segment) = self.pending.pop_front() {
            self.checkpoint_at(shard, segment.records.last());
        }
        self.consecutive_failures = 0;
        Settled::Done
    }

    /// The checkpoint moves to just before the lowest failure; it and everything
    /// after it in the batch are retried (with bisection on, Lambda splits the batch
    /// at that record, which is the same remainder).
    fn partially_failed(
        &mut self,
        position: usize,
        shard: &ShardBuffer,
        rules: &Rules<'_>,
        now: Instant,
        report: &mut ConsumerReport,
    ) -> Settled {
        let Some(segment) = self.pending.front_mut() else {
            return Settled::Done;
        };
        let position = position.min(segment.records.len());
        let done = position
            .checked_sub(1)
            .and_then(|p| segment.records.get(p))
            .copied();
        let lowest = segment.records.get(position).and_then(|&i| shard.get(i));
        segment.last_error = format!(
            "batchItemFailures reported {}",
            lowest.map_or("", |r| r.sequence_number.as_str())
        );
        segment.records.drain(..position);
        self.checkpoint_at(shard, done.as_ref());
        self.count_attempt(shard, rules, now, report)
    }

    fn failed(
        &mut self,
        reason: String,
        shard: &ShardBuffer,
        rules: &Rules<'_>,
        now: Instant,
        report: &mut ConsumerReport,
    ) -> Settled {
        let Some(segment) = self.pending.front_mut() else {
            return Settled::Done;
        };
        segment.last_error = reason;
        if rules.settings.bisect_batch_on_function_error && segment.records.len() > 1 {
            let second_half = segment.split_off_second_half();
            self.pending.insert(1, second_half);
            report.bisections += 1;
            return Settled::Bisected;
        }
        self.count_attempt(shard, rules, now, report)
    }

    /// A failed invocation of the front batch counts against its retry quota.
    fn count_attempt(
        &mut self,
        shard: &ShardBuffer,
        rules: &Rules<'_>,
        now: Instant,
        report: &mut ConsumerReport,
    ) -> Settled {
        let Some(segment) = self.pending.front_mut() else {
            return Settled::Done;
        };
        segment.attempts += 1;
        self.consecutive_failures += 1;
        if !exhausted(segment.attempts, rules.settings.maximum_retry_attempts) {
            let at = now + backoff(self.consecutive_failures);
            self.not_before = Some(at);
            return Settled::RetryAt(at);
        }
        let Some(spent) = self.pending.pop_front() else {
            return Settled::Done;
        };
        self.give_up(shard, spent, RETRY_ATTEMPTS_EXHAUSTED, report)
            .map_or(Settled::Done, Settled::GaveUp)
    }

    /// Discarding a batch checkpoints past it, as Lambda does once the on-failure
    /// destination has the batch's description.
    fn give_up(
        &mut self,
        shard: &ShardBuffer,
        segment: Segment,
        condition: &'static str,
        report: &mut ConsumerReport,
    ) -> Option<OnFailure> {
        let records = segment.records_in(shard);
        let entry = OnFailure::of(&records, condition, segment.attempts, segment.last_error)?;
        self.checkpoint = Some(entry.end_sequence_number.clone());
        report.on_failure_batches += 1;
        report.on_failure_records += entry.batch_size as u64;
        Some(entry)
    }

    fn checkpoint_at(&mut self, shard: &ShardBuffer, index: Option<&usize>) {
        if let Some(record) = index.and_then(|&i| shard.get(i)) {
            self.checkpoint = Some(record.sequence_number.clone());
        }
    }
}

/// What the driver needs to know about a lane, across shards and consumers.
impl Lane {
    /// The last record this lane is done with, if it got anywhere in this drain.
    pub(crate) fn checkpoint(&self) -> Option<&str> {
        self.checkpoint.as_deref()
    }

    pub(crate) fn pending_batches(&self) -> usize {
        self.pending.len()
    }

    /// The lowest absolute index this lane may still deliver: the buffer can drop
    /// everything before it.
    pub(crate) fn low_water(&self) -> usize {
        let front = self.pending.front().and_then(|s| s.records.first().copied());
        front.unwrap_or(self.next).min(self.next)
    }

    /// When this lane has a batch to retry, if it has one.
    pub(crate) fn retry_due(&self, now: Instant) -> Option<Instant> {
        (!self.pending.is_empty()).then(|| self.not_before.unwrap_or(now))
    }

    /// Whether every record before absolute index `end` has been put in a batch.
    pub(crate) fn has_taken_up_to(&self, end: usize) -> bool {
        self.next >= end
    }

    /// Whether every record before `end` is done with (a parent shard is finished).
    pub(crate) fn is_done_up_to(&self, end: usize) -> bool {
        self.pending.is_empty() && self.has_taken_up_to(end)
    }
}

fn age(record: &ConvertedRecord, now: DateTime<Utc>) -> Duration {
    (now - record.created).to_std().unwrap_or(Duration::ZERO)
}
