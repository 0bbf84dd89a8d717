//! The event source mapping loop: each round asks every consumer's `Lane` on every
//! shard what to deliver of what is buffered, invokes the handlers and hands their
//! answers back, while the stream's next pages are read (`StreamReader`), until the
//! stream is idle.

pub use super::options::DrainOptions;
pub use super::report::{ConsumerReport, DrainReport};

use super::consumer::Consumer;
use super::convert::{batch_event, ConvertedRecord};
use super::delivery::{judge, stricter, Lane, Now, OnFailure, Outcome, Rules, Settled, Step};
use super::on_failure_log;
use super::position::StreamPosition;
use super::reader::{fetch, ShardState, StreamReader};
use anyhow::{bail, Context};
use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodbstreams::Client;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    let mut run = Drain::new(
        StreamReader::new(client, stream_arn, from),
        stream_arn,
        consumers,
        opts,
    );
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
        // The round that may end the drain looks for new shards first.
        let last_idle_round = idle + 1 >= idle_needed;
        // Read before the round: a writer done by then wrote all it will before it.
        let busy = opts.writers_busy();
        let (read, delivered) = run.round(consumers, last_idle_round).await?;
        let next_retry = run.next_retry();
        if read == 0 && !delivered && next_retry.is_none() && !run.has_backlog() && !busy {
            idle += 1;
            if idle >= idle_needed {
                break;
            }
        } else {
            idle = 0;
        }
        if !delivered && read == 0 {
            tokio::time::sleep(pause(next_retry, opts.poll_interval)).await;
        }
    }
    Ok(run.report)
}

/// A round with nothing to do waits for the next poll, or less if a retry is due.
fn pause(next_retry: Option<Instant>, poll_interval: Duration) -> Duration {
    next_retry.map_or(poll_interval, |at| {
        at.saturating_duration_since(Instant::now()).min(poll_interval)
    })
}

struct Drain<'a> {
    reader: StreamReader<'a>,
    stream_arn: &'a str,
    opts: &'a DrainOptions,
    deadline: Instant,
    /// Per consumer: shard id → lane.
    lanes: Vec<HashMap<String, Lane>>,
    report: DrainReport,
}

impl<'a> Drain<'a> {
    fn new(
        reader: StreamReader<'a>,
        stream_arn: &'a str,
        consumers: &[Consumer],
        opts: &'a DrainOptions,
    ) -> Self {
        let report = |c: &Consumer| ConsumerReport {
            name: c.name.clone(),
            ..Default::default()
        };
        Self {
            reader,
            stream_arn,
            opts,
            deadline: Instant::now() + opts.timeout,
            lanes: consumers.iter().map(|_| HashMap::new()).collect(),
            report: DrainReport {
                consumers: consumers.iter().map(report).collect(),
                ..Default::default()
            },
        }
    }

    /// Delivers what each consumer can of what is buffered while the stream's next
    /// pages are read, as Lambda's pollers read ahead of the function. Returns how many
    /// records were read and whether anything was delivered or an iterator replaced.
    async fn round(&mut self, consumers: &mut [Consumer], discover: bool) -> anyhow::Result<(u64, bool)> {
        self.report.rounds += 1;
        self.reader.discover(discover).await?;
        let reading = fetch(self.reader.client(), self.reader.cursors());
        let (fetched, delivered) = tokio::join!(reading, self.deliver_all(consumers));
        // What was delivered stays delivered (and checkpointed) whatever the read did; a
        // failed delivery ends the drain before what was read is buffered (an iterator
        // can be read again).
        let delivered = delivered?;
        let applied = self.reader.apply(fetched?).await?;
        self.report.records_read += applied.records;
        self.trim_buffers();
        // A replaced iterator has yet to read what the refused one would have: not idle.
        Ok((applied.records, delivered || applied.reacquired))
    }

    async fn deliver_all(&mut self, consumers: &mut [Consumer]) -> anyhow::Result<bool> {
        let mut delivered = false;
        for (c, consumer) in consumers.iter_mut().enumerate() {
            for s in 0..self.reader.shards.len() {
                delivered |= self.deliver(c, consumer, s).await?;
            }
        }
        Ok(delivered)
    }

    /// Delivers what consumer `c` can on shard `s` now. Returns whether a handler
    /// was called or a record was consumed.
    async fn deliver(&mut self, c: usize, consumer: &mut Consumer, s: usize) -> anyhow::Result<bool> {
        if self.blocked_by_parent(c, &self.reader.shards[s]) {
            return Ok(false);
        }
        let shard_id = self.reader.shards[s].id.clone();
        let mut lane = self.lanes[c].remove(&shard_id).unwrap_or_default();
        let result = self.deliver_lane(c, consumer, s, &mut lane).await;
        // Even on error: what was done before it stays done.
        if let Some(seq) = lane.checkpoint() {
            consumer.checkpoints.insert(shard_id.clone(), seq.to_owned());
        }
        self.lanes[c].insert(shard_id, lane);
        result
    }

    async fn deliver_lane(
        &mut self,
        c: usize,
        consumer: &Consumer,
        s: usize,
        lane: &mut Lane,
    ) -> anyhow::Result<bool> {
        let opts = self.opts;
        let rules = Rules {
            settings: &consumer.settings,
            record_filter: opts.record_filter.as_ref(),
        };
        let mut progressed = false;
        while Instant::now() < self.deadline {
            let shard = &self.reader.shards[s];
            let step = lane
                .next_step(
                    &shard.buffer,
                    &rules,
                    Now::current(),
                    &mut self.report.consumers[c],
                )
                .with_context(|| format!("shard {}", shard.id))?;
            let discarded = match step {
                Step::Idle => return Ok(progressed),
                Step::Discard(entry) => Some(entry),
                Step::Deliver(batch) => {
                    match self.deliver_batch(c, consumer, s, lane, &batch, &rules).await? {
                        Settled::RetryAt(_) => return Ok(true),
                        Settled::GaveUp(entry) => Some(entry),
                        Settled::Done | Settled::Bisected => None,
                    }
                }
            };
            progressed = true;
            if let Some(entry) = discarded {
                self.send_to_on_failure(&consumer.name, s, &entry).await?;
            }
        }
        Ok(progressed)
    }

    async fn deliver_batch(
        &mut self,
        c: usize,
        consumer: &Consumer,
        s: usize,
        lane: &mut Lane,
        batch: &[Arc<ConvertedRecord>],
        rules: &Rules<'_>,
    ) -> anyhow::Result<Settled> {
        let outcome = self.invoke(c, consumer, batch).await?;
        let report = &mut self.report.consumers[c];
        Ok(lane.settle(
            outcome,
            &self.reader.shards[s].buffer,
            rules,
            Instant::now(),
            report,
        ))
    }

    /// Calls the handler (twice with `replay_batches`) and judges the answer.
    async fn invoke(
        &mut self,
        c: usize,
        consumer: &Consumer,
        batch: &[Arc<ConvertedRecord>],
    ) -> anyhow::Result<Outcome> {
        let event = batch_event(batch)?;
        let replay = self.opts.replay_batches.then(|| event.clone());
        let mut outcome = answer(consumer, event, batch).await;
        self.report.consumers[c].invocations += 1;
        if let Some(event) = replay {
            let again = answer(consumer, event, batch).await;
            self.report.consumers[c].invocations += 1;
            outcome = stricter(outcome, again);
        }
        Ok(outcome)
    }

    async fn send_to_on_failure(
        &mut self,
        consumer: &str,
        s: usize,
        entry: &OnFailure,
    ) -> anyhow::Result<()> {
        let shard_id = &self.reader.shards[s].id;
        tracing::warn!(consumer, shard = %shard_id, condition = entry.condition, start = %entry.start_sequence_number, end = %entry.end_sequence_number, "batch sent to the on-failure destination");
        let message = entry.message(consumer, shard_id, self.stream_arn, chrono::Utc::now());
        if let Some(path) = &self.opts.on_failure_log {
            on_failure_log::append(path, &message).await?;
        }
        self.report.on_failure.push(message);
        Ok(())
    }

    /// A child shard waits until the consumer is done with its parent.
    fn blocked_by_parent(&self, c: usize, shard: &ShardState) -> bool {
        let Some(parent_id) = &shard.parent else {
            return false;
        };
        let Some(parent) = self.reader.shards.iter().find(|s| &s.id == parent_id) else {
            return false;
        };
        let end = parent.buffer.end();
        let lane = self.lanes[c].get(parent_id);
        !(parent.read_out() && lane.is_none_or(|l| l.is_done_up_to(end)))
    }

    /// Drops buffered records every consumer is done with.
    fn trim_buffers(&mut self) {
        for shard in &mut self.reader.shards {
            let base = shard.buffer.base();
            let low = self
                .lanes
                .iter()
                .map(|lanes| lanes.get(&shard.id).map_or(base, Lane::low_water))
                .min()
                .unwrap_or(shard.buffer.end());
            shard.buffer.drop_before(low);
        }
    }

    fn next_retry(&self) -> Option<Instant> {
        let now = Instant::now();
        self.lanes
            .iter()
            .flat_map(HashMap::values)
            .filter_map(|lane| lane.retry_due(now))
            .min()
    }

    /// Records some consumer has not looked at yet.
    fn has_backlog(&self) -> bool {
        self.reader.shards.iter().any(|shard| {
            let end = shard.buffer.end();
            end > shard.buffer.base()
                && self
                    .lanes
                    .iter()
                    .any(|lanes| lanes.get(&shard.id).is_none_or(|l| !l.has_taken_up_to(end)))
        })
    }

    fn progress(&self) -> String {
        let pending: usize = self
            .lanes
            .iter()
            .flat_map(HashMap::values)
            .map(Lane::pending_batches)
            .sum();
        format!(
            "{} records read, {} batches awaiting retry, report so far {:?}",
            self.report.records_read, pending, self.report.consumers
        )
    }
}

/// One handler call, judged.
async fn answer(consumer: &Consumer, event: Event, batch: &[Arc<ConvertedRecord>]) -> Outcome {
    let answer = consumer.handler.handle(event).await.map_err(|e| e.to_string());
    judge(&answer, batch, consumer.settings.report_batch_item_failures)
}
