//! Reading the stream and driving consumers: the event source mapping loop.

use super::consumer::{BatchHandler, Consumer, RecordFilter};
use super::convert::{batch_event, convert_record, ConvertedRecord};
use super::filter::matches_any;
use super::position::{describe_shards, ShardTip, StreamPosition};
use super::settings::EsmSettings;
use anyhow::{anyhow, bail, Context};
use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodbstreams::error::SdkError;
use aws_sdk_dynamodbstreams::operation::get_records::GetRecordsError;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_dynamodbstreams::Client;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::AsyncWriteExt;

/// How a drain runs.
#[derive(Clone)]
pub struct DrainOptions {
    /// `--redeliver`: invoke every delivered batch a second time, identical, and act
    /// on both answers (the stricter one wins).
    pub replay_batches: bool,
    /// The drain ends after this many consecutive rounds (over every shard) in which
    /// nothing new was read, nothing was delivered, and nothing awaits a retry.
    pub idle_rounds: u32,
    /// Pause between rounds that found nothing to do.
    pub poll_interval: Duration,
    /// The whole drain fails after this long.
    pub timeout: Duration,
    /// Records it rejects are treated like records no filter matches.
    pub record_filter: Option<RecordFilter>,
    /// JSON lines describing discarded batches (the SQS on-failure destination).
    pub on_failure_log: Option<PathBuf>,
}

impl Default for DrainOptions {
    fn default() -> Self {
        Self {
            replay_batches: false,
            idle_rounds: 3,
            poll_interval: Duration::from_millis(250),
            timeout: Duration::from_secs(600),
            record_filter: None,
            on_failure_log: None,
        }
    }
}

impl std::fmt::Debug for DrainOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrainOptions")
            .field("replay_batches", &self.replay_batches)
            .field("idle_rounds", &self.idle_rounds)
            .field("poll_interval", &self.poll_interval)
            .field("timeout", &self.timeout)
            .field("record_filter", &self.record_filter.as_ref().map(|_| "<fn>"))
            .field("on_failure_log", &self.on_failure_log)
            .finish()
    }
}

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

/// The result of [`drain`].
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

/// Delivers everything written after `from` to every consumer, as Lambda's event
/// source mappings would, until the stream is idle. See the module documentation
/// for exactly what is emulated.
pub async fn drain(
    client: &Client,
    stream_arn: &str,
    from: &StreamPosition,
    consumers: &mut [Consumer],
    opts: &DrainOptions,
) -> anyhow::Result<DrainReport> {
    if from.stream_arn != stream_arn {
        bail!(
            "the stream position was taken on {}, not on {stream_arn}",
            from.stream_arn
        );
    }
    let region = client
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".to_owned());
    let mut run = Drain {
        client,
        stream_arn,
        region,
        from,
        opts,
        deadline: Instant::now() + opts.timeout,
        shards: Vec::new(),
        lanes: consumers.iter().map(|_| HashMap::new()).collect(),
        report: DrainReport {
            consumers: consumers
                .iter()
                .map(|c| ConsumerReport {
                    name: c.name.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
    };
    let idle_needed = opts.idle_rounds.max(1);
    let mut idle = 0;
    loop {
        if Instant::now() >= run.deadline {
            bail!(
                "stream drain timed out after {:?}: {}",
                opts.timeout,
                run.progress()
            );
        }
        run.report.rounds += 1;
        run.discover_shards().await?;
        let read = run.read_shards().await?;
        let mut delivered = false;
        for (index, consumer) in consumers.iter_mut().enumerate() {
            for shard_index in 0..run.shards.len() {
                delivered |= run.deliver(index, consumer, shard_index).await?;
            }
        }
        run.trim_buffers();
        let next_retry = run.next_retry();
        let backlog = run.has_backlog();
        if read == 0 && !delivered && next_retry.is_none() && !backlog {
            idle += 1;
            if idle >= idle_needed {
                break;
            }
        } else {
            idle = 0;
        }
        if !delivered && read == 0 {
            let pause = match next_retry {
                Some(at) => at
                    .saturating_duration_since(Instant::now())
                    .min(opts.poll_interval),
                None => opts.poll_interval,
            };
            tokio::time::sleep(pause).await;
        }
    }
    Ok(run.report)
}

/// Backoff between retries of a failed batch: 200 ms doubling, at most 2 s.
fn backoff(consecutive_failures: u32) -> Duration {
    let exp = consecutive_failures.saturating_sub(1).min(4);
    Duration::from_millis(200u64 << exp).min(Duration::from_secs(2))
}

struct ShardState {
    id: String,
    parent: Option<String>,
    /// The iterator for the next `GetRecords`; `None` once a closed shard is read out.
    iterator: Option<String>,
    /// Whether `iterator` is still the snapshot's `LATEST` iterator.
    at_snapshot_iterator: bool,
    last_read: Option<String>,
    /// After re-reading from `TRIM_HORIZON`, records up to this one were seen already.
    skip_through: Option<String>,
    /// After an expired snapshot: only records created at or after this epoch second.
    created_since: Option<i64>,
    /// Absolute index of `buffer[0]`.
    base: usize,
    buffer: VecDeque<ConvertedRecord>,
}

impl ShardState {
    fn end(&self) -> usize {
        self.base + self.buffer.len()
    }

    fn get(&self, index: usize) -> Option<&ConvertedRecord> {
        index.checked_sub(self.base).and_then(|i| self.buffer.get(i))
    }

    fn read_out(&self) -> bool {
        self.iterator.is_none()
    }
}

/// A consumer's progress on one shard.
#[derive(Default)]
struct Lane {
    /// Absolute index of the next record not yet put in a batch.
    next: usize,
    /// Batches taken but not yet done with, in order (a bisected batch is two).
    pending: VecDeque<Segment>,
    not_before: Option<Instant>,
    consecutive_failures: u32,
}

struct Segment {
    /// Absolute indices of the records in this batch.
    records: Vec<usize>,
    /// Failed invocations that counted against `MaximumRetryAttempts`.
    attempts: u32,
    /// Delivered at least once already.
    retry: bool,
    last_error: String,
}

enum Outcome {
    Success,
    /// Position in the batch of the lowest reported failure.
    Partial(usize),
    Failed(String),
}

struct Drain<'a> {
    client: &'a Client,
    stream_arn: &'a str,
    region: String,
    from: &'a StreamPosition,
    opts: &'a DrainOptions,
    deadline: Instant,
    /// In discovery order; a child shard comes after its parent when both are known.
    shards: Vec<ShardState>,
    /// Per consumer: shard id → lane.
    lanes: Vec<HashMap<String, Lane>>,
    report: DrainReport,
}

impl Drain<'_> {
    fn progress(&self) -> String {
        let pending: usize = self
            .lanes
            .iter()
            .flat_map(|l| l.values())
            .map(|l| l.pending.len())
            .sum();
        format!(
            "{} records read, {} batches awaiting retry, report so far {:?}",
            self.report.records_read, pending, self.report.consumers
        )
    }

    async fn discover_shards(&mut self) -> anyhow::Result<()> {
        for shard in describe_shards(self.client, self.stream_arn).await? {
            let Some(id) = shard.shard_id.clone() else {
                continue;
            };
            if self.shards.iter().any(|s| s.id == id) {
                continue;
            }
            let (iterator, at_snapshot_iterator) = match self.from.shards.get(&id) {
                Some(ShardTip::Closed) => (None, false),
                Some(ShardTip::Open { latest_iterator }) => (Some(latest_iterator.clone()), true),
                // Created after the snapshot (or no snapshot): everything in it is new.
                None => (
                    Some(self.iterator(&id, ShardIteratorType::TrimHorizon, None).await?),
                    false,
                ),
            };
            self.shards.push(ShardState {
                id,
                parent: shard.parent_shard_id.clone(),
                iterator,
                at_snapshot_iterator,
                last_read: None,
                skip_through: None,
                created_since: None,
                base: 0,
                buffer: VecDeque::new(),
            });
        }
        Ok(())
    }

    async fn iterator(
        &self,
        shard_id: &str,
        kind: ShardIteratorType,
        after: Option<&str>,
    ) -> anyhow::Result<String> {
        let out = self
            .client
            .get_shard_iterator()
            .stream_arn(self.stream_arn)
            .shard_id(shard_id)
            .shard_iterator_type(kind.clone())
            .set_sequence_number(after.map(str::to_owned))
            .send()
            .await
            .with_context(|| format!("GetShardIterator {kind:?} for {shard_id}"))?;
        out.shard_iterator
            .ok_or_else(|| anyhow!("GetShardIterator {kind:?} for {shard_id} returned no iterator"))
    }

    /// A fresh iterator for shard `i` after `GetRecords` refused the current one:
    /// expired (`lost == false`) or pointing at trimmed data (`lost == true`).
    ///
    /// DynamoDB Local answers `TrimmedDataAccessException` for a `LATEST` iterator
    /// taken on an empty shard once the shard's first record has a later sequence
    /// number than the iterator's position (another table wrote in between: the
    /// counter is shared). Every record of the shard is then newer than the
    /// snapshot, so `TRIM_HORIZON` is exact; in DynamoDB it is also where Lambda goes
    /// when its position was trimmed away.
    async fn reacquire(&mut self, i: usize, lost: bool) -> anyhow::Result<()> {
        let shard = &self.shards[i];
        let (id, last_read, at_snapshot) = (
            shard.id.clone(),
            shard.last_read.clone(),
            shard.at_snapshot_iterator,
        );
        let fresh = match (&last_read, lost) {
            (Some(seq), false) => {
                self.iterator(&id, ShardIteratorType::AfterSequenceNumber, Some(seq))
                    .await?
            }
            (Some(seq), true) => {
                tracing::warn!(shard = %id, after = %seq, "stream position trimmed; re-reading from TRIM_HORIZON, skipping what was read");
                self.shards[i].skip_through = Some(seq.clone());
                self.iterator(&id, ShardIteratorType::TrimHorizon, None).await?
            }
            (None, true) => self.iterator(&id, ShardIteratorType::TrimHorizon, None).await?,
            (None, false) if !at_snapshot => self.iterator(&id, ShardIteratorType::TrimHorizon, None).await?,
            (None, false) => {
                // The snapshot's LATEST iterator expired (15 minutes, in DynamoDB Local
                // too) before anything was read. Its exact position is lost: re-read the
                // shard and keep what was created from the snapshot's minute on
                // (creation times are rounded down to the minute). Records of that
                // minute written before the snapshot are delivered too: at least once.
                let since = from_minute(self.from.taken_at);
                tracing::warn!(shard = %id, since, "snapshot iterator expired; re-reading from TRIM_HORIZON by creation time");
                self.shards[i].created_since = Some(since);
                self.iterator(&id, ShardIteratorType::TrimHorizon, None).await?
            }
        };
        let shard = &mut self.shards[i];
        shard.iterator = Some(fresh);
        shard.at_snapshot_iterator = false;
        Ok(())
    }

    /// Reads every shard to its current end (at most 10 pages a round each).
    async fn read_shards(&mut self) -> anyhow::Result<u64> {
        let mut total = 0;
        for i in 0..self.shards.len() {
            for _page in 0..10 {
                let Some(iterator) = self.shards[i].iterator.clone() else {
                    break;
                };
                let result = self
                    .client
                    .get_records()
                    .shard_iterator(iterator)
                    .limit(1000)
                    .send()
                    .await;
                let out = match result {
                    Ok(out) => out,
                    Err(SdkError::ServiceError(e)) => {
                        let lost = match e.err() {
                            GetRecordsError::ExpiredIteratorException(_) => false,
                            GetRecordsError::TrimmedDataAccessException(_) => true,
                            GetRecordsError::LimitExceededException(_)
                            | GetRecordsError::InternalServerError(_) => {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                                continue;
                            }
                            _ => {
                                let id = self.shards[i].id.clone();
                                return Err(
                                    anyhow::Error::new(e.into_err()).context(format!("GetRecords on {id}"))
                                );
                            }
                        };
                        self.reacquire(i, lost).await?;
                        continue;
                    }
                    Err(e) => {
                        return Err(
                            anyhow::Error::new(e).context(format!("GetRecords on {}", self.shards[i].id))
                        )
                    }
                };
                let records = out.records.unwrap_or_default();
                let n = records.len();
                let mut kept = 0;
                for record in &records {
                    let converted = convert_record(record, self.stream_arn, &self.region)?;
                    let shard = &mut self.shards[i];
                    if shard
                        .skip_through
                        .as_deref()
                        .is_some_and(|done| !seq_after(&converted.sequence_number, done))
                    {
                        continue;
                    }
                    let created = converted.record.change.approximate_creation_date_time.timestamp();
                    if shard.created_since.is_some_and(|since| created < since) {
                        continue;
                    }
                    shard.last_read = Some(converted.sequence_number.clone());
                    shard.buffer.push_back(converted);
                    kept += 1;
                }
                let shard = &mut self.shards[i];
                shard.iterator = out.next_shard_iterator;
                if n > 0 {
                    shard.at_snapshot_iterator = false;
                }
                total += kept;
                if n == 0 {
                    break;
                }
            }
        }
        self.report.records_read += total;
        Ok(total)
    }

    /// A child shard waits until the consumer is done with its parent.
    fn blocked_by_parent(&self, consumer: usize, shard: &ShardState) -> bool {
        let Some(parent_id) = &shard.parent else {
            return false;
        };
        let Some(parent) = self.shards.iter().find(|s| &s.id == parent_id) else {
            return false;
        };
        let lane = self.lanes[consumer].get(parent_id);
        let done = parent.read_out() && lane.is_none_or(|l| l.pending.is_empty() && l.next >= parent.end());
        !done
    }

    /// Delivers what this consumer can on this shard now. Returns whether a handler
    /// was called or a record was consumed.
    async fn deliver(&mut self, c: usize, consumer: &mut Consumer, s: usize) -> anyhow::Result<bool> {
        if self.blocked_by_parent(c, &self.shards[s]) {
            return Ok(false);
        }
        let shard_id = self.shards[s].id.clone();
        let mut lane = self.lanes[c].remove(&shard_id).unwrap_or_default();
        let result = self.deliver_lane(c, consumer, s, &mut lane).await;
        self.lanes[c].insert(shard_id, lane);
        result
    }

    async fn deliver_lane(
        &mut self,
        c: usize,
        consumer: &mut Consumer,
        s: usize,
        lane: &mut Lane,
    ) -> anyhow::Result<bool> {
        if let Some(at) = lane.not_before {
            if Instant::now() < at {
                return Ok(false);
            }
            lane.not_before = None;
        }
        if lane.next < self.shards[s].base {
            lane.next = self.shards[s].base;
        }
        let settings = consumer.settings.clone();
        let mut progressed = false;
        loop {
            if Instant::now() >= self.deadline {
                return Ok(progressed);
            }
            if lane.pending.is_empty() && !self.take_batch(c, consumer, s, lane, &settings) {
                return Ok(progressed);
            }
            progressed = true;
            let Some(segment) = lane.pending.front_mut() else {
                return Ok(progressed);
            };

            // Records past MaximumRecordAge are discarded before the invocation.
            if let Some(max_age) = settings.maximum_record_age {
                let shard = &self.shards[s];
                let expired = segment
                    .records
                    .iter()
                    .take_while(|&&i| shard.get(i).is_some_and(|r| record_age(r) > max_age))
                    .count();
                if expired > 0 {
                    let old: Vec<usize> = segment.records.drain(..expired).collect();
                    let attempts = segment.attempts;
                    self.send_to_on_failure(
                        c,
                        consumer,
                        s,
                        &old,
                        "RecordAgeExceeded",
                        attempts,
                        "record older than MaximumRecordAgeInSeconds",
                    )
                    .await?;
                    if lane.pending.front().is_some_and(|seg| seg.records.is_empty()) {
                        lane.pending.pop_front();
                    }
                    continue;
                }
            }

            let shard = &self.shards[s];
            let records: Vec<ConvertedRecord> = segment
                .records
                .iter()
                .filter_map(|&i| shard.get(i).cloned())
                .collect();
            if records.len() != segment.records.len() {
                bail!(
                    "internal error: a batch of shard {} refers to records no longer buffered",
                    shard.id
                );
            }
            let report = &mut self.report.consumers[c];
            report.batches += 1;
            report.records_delivered += records.len() as u64;
            if segment.retry {
                report.retries += 1;
            }
            let event = batch_event(&records);
            let mut outcome = invoke(&*consumer.handler, event.clone(), &records, &settings).await;
            report.invocations += 1;
            if self.opts.replay_batches {
                let again = invoke(&*consumer.handler, event, &records, &settings).await;
                report.invocations += 1;
                outcome = stricter(outcome, again);
            }
            segment.retry = true;
            match outcome {
                Outcome::Success => {
                    if let Some(last) = records.last() {
                        consumer
                            .checkpoints
                            .insert(self.shards[s].id.clone(), last.sequence_number.clone());
                    }
                    lane.pending.pop_front();
                    lane.consecutive_failures = 0;
                }
                Outcome::Partial(position) => {
                    // Checkpoint just before the lowest failure; it and everything after
                    // it in the batch are retried (with bisection on, Lambda splits the
                    // batch at that record, which is the same remainder).
                    if let Some(done) = position.checked_sub(1).and_then(|p| records.get(p)) {
                        consumer
                            .checkpoints
                            .insert(self.shards[s].id.clone(), done.sequence_number.clone());
                    }
                    segment.records.drain(..position);
                    segment.last_error =
                        format!("batchItemFailures reported {}", records[position].sequence_number);
                    if !self.count_attempt_or_discard(c, consumer, s, lane).await? {
                        return Ok(true);
                    }
                }
                Outcome::Failed(reason) => {
                    segment.last_error = reason;
                    if settings.bisect_batch_on_function_error && segment.records.len() > 1 {
                        // Splitting does not consume the retry quota; halves go at once.
                        let second_half = segment.records.split_off(segment.records.len() / 2);
                        let half = Segment {
                            records: second_half,
                            attempts: segment.attempts,
                            retry: true,
                            last_error: segment.last_error.clone(),
                        };
                        lane.pending.insert(1, half);
                        self.report.consumers[c].bisections += 1;
                        continue;
                    }
                    if !self.count_attempt_or_discard(c, consumer, s, lane).await? {
                        return Ok(true);
                    }
                }
            }
        }
    }

    /// After a failed invocation of the front batch: counts the attempt; if the retry
    /// quota is spent, discards the batch to the on-failure log and returns `true`
    /// (carry on with the next batch), otherwise schedules the retry and returns
    /// `false` (this lane waits).
    async fn count_attempt_or_discard(
        &mut self,
        c: usize,
        consumer: &mut Consumer,
        s: usize,
        lane: &mut Lane,
    ) -> anyhow::Result<bool> {
        let Some(segment) = lane.pending.front_mut() else {
            return Ok(true);
        };
        segment.attempts += 1;
        lane.consecutive_failures += 1;
        let exhausted = consumer
            .settings
            .maximum_retry_attempts
            .is_some_and(|max| segment.attempts > max);
        if exhausted {
            let records = segment.records.clone();
            let (attempts, error) = (segment.attempts, segment.last_error.clone());
            lane.pending.pop_front();
            self.send_to_on_failure(
                c,
                consumer,
                s,
                &records,
                "RetryAttemptsExhausted",
                attempts,
                &error,
            )
            .await?;
            return Ok(true);
        }
        lane.not_before = Some(Instant::now() + backoff(lane.consecutive_failures));
        Ok(false)
    }

    /// Forms the next batch: up to `BatchSize` records that pass the filters,
    /// skipping (and checkpointing) the ones that do not.
    fn take_batch(
        &mut self,
        c: usize,
        consumer: &mut Consumer,
        s: usize,
        lane: &mut Lane,
        settings: &EsmSettings,
    ) -> bool {
        let shard = &self.shards[s];
        let mut batch = Vec::new();
        let mut skipped_to: Option<&str> = None;
        while lane.next < shard.end() && batch.len() < settings.batch_size {
            let Some(record) = shard.get(lane.next) else { break };
            let wanted = matches_any(&settings.filters, &record.json)
                && self
                    .opts
                    .record_filter
                    .as_ref()
                    .is_none_or(|keep| keep(&record.record));
            if wanted {
                batch.push(lane.next);
            } else {
                self.report.consumers[c].filtered_out += 1;
                if batch.is_empty() {
                    skipped_to = Some(&record.sequence_number);
                }
            }
            lane.next += 1;
        }
        if let Some(seq) = skipped_to {
            consumer.checkpoints.insert(shard.id.clone(), seq.to_owned());
        }
        if batch.is_empty() {
            return false;
        }
        lane.pending.push_back(Segment {
            records: batch,
            attempts: 0,
            retry: false,
            last_error: String::new(),
        });
        true
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_to_on_failure(
        &mut self,
        c: usize,
        consumer: &mut Consumer,
        s: usize,
        records: &[usize],
        condition: &str,
        attempts: u32,
        error: &str,
    ) -> anyhow::Result<()> {
        let shard = &self.shards[s];
        let batch: Vec<&ConvertedRecord> = records.iter().filter_map(|&i| shard.get(i)).collect();
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(());
        };
        let arrival = |r: &ConvertedRecord| r.record.change.approximate_creation_date_time.to_rfc3339();
        let entry = json!({
            "consumer": consumer.name,
            "reason": condition,
            "lastError": error,
            "version": "1.0",
            "timestamp": chrono::Utc::now().to_rfc3339(),
            "requestContext": { "condition": condition, "approximateInvokeCount": attempts },
            "DDBStreamBatchInfo": {
                "shardId": shard.id,
                "startSequenceNumber": first.sequence_number,
                "endSequenceNumber": last.sequence_number,
                "approximateArrivalOfFirstRecord": arrival(first),
                "approximateArrivalOfLastRecord": arrival(last),
                "batchSize": batch.len(),
                "streamArn": self.stream_arn,
            },
        });
        consumer
            .checkpoints
            .insert(shard.id.clone(), last.sequence_number.clone());
        let report = &mut self.report.consumers[c];
        report.on_failure_batches += 1;
        report.on_failure_records += batch.len() as u64;
        tracing::warn!(consumer = %consumer.name, shard = %shard.id, condition, start = %first.sequence_number, end = %last.sequence_number, "batch sent to the on-failure destination");
        if let Some(path) = &self.opts.on_failure_log {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                tokio::fs::create_dir_all(dir)
                    .await
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let mut file = tokio::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .await
                .with_context(|| format!("opening on-failure log {}", path.display()))?;
            let mut line = serde_json::to_vec(&entry)?;
            line.push(b'\n');
            file.write_all(&line)
                .await
                .with_context(|| format!("writing on-failure log {}", path.display()))?;
        }
        self.report.on_failure.push(entry);
        Ok(())
    }

    /// Drops buffered records every consumer is done with.
    fn trim_buffers(&mut self) {
        for shard in &mut self.shards {
            let low = self
                .lanes
                .iter()
                .map(|lanes| match lanes.get(&shard.id) {
                    None => shard.base,
                    Some(lane) => lane
                        .pending
                        .front()
                        .and_then(|seg| seg.records.first().copied())
                        .unwrap_or(lane.next)
                        .min(lane.next),
                })
                .min()
                .unwrap_or(shard.end());
            while shard.base < low && !shard.buffer.is_empty() {
                shard.buffer.pop_front();
                shard.base += 1;
            }
        }
    }

    fn next_retry(&self) -> Option<Instant> {
        self.lanes
            .iter()
            .flat_map(|l| l.values())
            .filter(|l| !l.pending.is_empty())
            .map(|l| l.not_before.unwrap_or_else(Instant::now))
            .min()
    }

    /// Records some consumer has not looked at yet.
    fn has_backlog(&self) -> bool {
        self.shards.iter().any(|shard| {
            shard.end() > shard.base
                && self
                    .lanes
                    .iter()
                    .any(|lanes| lanes.get(&shard.id).is_none_or(|lane| lane.next < shard.end()))
        })
    }
}

async fn invoke(
    handler: &dyn BatchHandler,
    event: Event,
    records: &[ConvertedRecord],
    settings: &EsmSettings,
) -> Outcome {
    match handler.handle(event).await {
        Err(e) => Outcome::Failed(format!("function error: {e}")),
        Ok(_) if !settings.report_batch_item_failures => Outcome::Success,
        Ok(response) if response.batch_item_failures.is_empty() => Outcome::Success,
        Ok(response) => {
            let mut lowest: Option<usize> = None;
            for failure in &response.batch_item_failures {
                let id = failure.item_identifier.as_deref().unwrap_or_default();
                match records
                    .iter()
                    .position(|r| !id.is_empty() && r.sequence_number == id)
                {
                    Some(p) => lowest = Some(lowest.map_or(p, |l| l.min(p))),
                    None => {
                        return Outcome::Failed(format!(
                            "batchItemFailures has an itemIdentifier not in the batch: {id:?}"
                        ))
                    }
                }
            }
            lowest.map_or(Outcome::Success, Outcome::Partial)
        }
    }
}

/// The answer a double delivery acts on: a failure beats a partial failure, which
/// beats success; of two partial failures the lower position wins.
fn stricter(a: Outcome, b: Outcome) -> Outcome {
    match (a, b) {
        (Outcome::Failed(r), _) | (_, Outcome::Failed(r)) => Outcome::Failed(r),
        (Outcome::Partial(x), Outcome::Partial(y)) => Outcome::Partial(x.min(y)),
        (Outcome::Partial(x), Outcome::Success) | (Outcome::Success, Outcome::Partial(x)) => {
            Outcome::Partial(x)
        }
        (Outcome::Success, Outcome::Success) => Outcome::Success,
    }
}

/// `at` in epoch seconds, rounded down to the minute.
fn from_minute(at: SystemTime) -> i64 {
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    i64::try_from(secs - secs % 60).unwrap_or(i64::MAX)
}

/// Whether sequence number `a` comes after `b` (decimal strings of any length).
fn seq_after(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    (a.len(), a) > (b.len(), b)
}

fn record_age(record: &ConvertedRecord) -> Duration {
    let created = record.record.change.approximate_creation_date_time;
    (chrono::Utc::now() - created).to_std().unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_200ms_and_caps_at_2s() {
        let got: Vec<u64> = (1..=7).map(|n| backoff(n).as_millis() as u64).collect();
        assert_eq!(got, vec![200, 400, 800, 1600, 2000, 2000, 2000]);
    }

    #[test]
    fn expired_snapshots_fall_back_to_the_minute() {
        let at = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_059);
        assert_eq!(from_minute(at), 1_700_000_040);
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(seq_after("000000000000000000010", "000000000000000000009"));
        assert!(seq_after("4421584500000000017450439092", "000000000000000000009"));
        assert!(!seq_after("000000000000000000009", "9"));
        assert!(!seq_after("8", "9"));
    }

    #[test]
    fn double_delivery_acts_on_the_stricter_answer() {
        assert!(matches!(
            stricter(Outcome::Success, Outcome::Success),
            Outcome::Success
        ));
        assert!(matches!(
            stricter(Outcome::Success, Outcome::Partial(3)),
            Outcome::Partial(3)
        ));
        assert!(matches!(
            stricter(Outcome::Partial(4), Outcome::Partial(2)),
            Outcome::Partial(2)
        ));
        assert!(matches!(
            stricter(Outcome::Partial(1), Outcome::Failed("x".into())),
            Outcome::Failed(_)
        ));
    }
}
