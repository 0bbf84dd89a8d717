//! Reading the stream: shard discovery, iterators and `GetRecords` into per-shard
//! buffers. Knows nothing about consumers; what the buffers hold is every record
//! written after the drain's [`StreamPosition`].

use super::buffer::ShardBuffer;
use super::convert::convert_record;
use super::position::{describe_shards, ShardTip, StreamPosition};
use anyhow::{anyhow, Context};
use aws_sdk_dynamodbstreams::error::SdkError;
use aws_sdk_dynamodbstreams::operation::get_records::{GetRecordsError, GetRecordsOutput};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use aws_sdk_dynamodbstreams::Client;
use std::time::{Duration, SystemTime};

/// Lambda reads at most this many records per `GetRecords`.
const PAGE_LIMIT: i32 = 1000;
/// Bounds one round's reading of a shard, so one busy shard cannot starve delivery.
const PAGES_PER_ROUND: usize = 10;
const THROTTLE_PAUSE: Duration = Duration::from_millis(200);

/// One shard as the reader sees it.
pub(crate) struct ShardState {
    pub(crate) id: String,
    pub(crate) parent: Option<String>,
    /// The iterator for the next `GetRecords`; `None` once a closed shard is read out.
    iterator: Option<String>,
    /// Whether `iterator` is still the snapshot's `LATEST` iterator.
    at_snapshot_iterator: bool,
    last_read: Option<String>,
    /// After re-reading from `TRIM_HORIZON`, records up to this one were seen already.
    skip_through: Option<String>,
    /// After an expired snapshot: only records created at or after this epoch second.
    created_since: Option<i64>,
    pub(crate) buffer: ShardBuffer,
}

impl ShardState {
    fn new(id: String, parent: Option<String>, iterator: Option<String>, at_snapshot: bool) -> Self {
        Self {
            id,
            parent,
            iterator,
            at_snapshot_iterator: at_snapshot,
            last_read: None,
            skip_through: None,
            created_since: None,
            buffer: ShardBuffer::default(),
        }
    }

    /// A closed shard whose every record has been read.
    pub(crate) fn read_out(&self) -> bool {
        self.iterator.is_none()
    }
}

/// Where one shard's next read starts, owned: a read needs nothing else, so it can
/// run while the buffers are being delivered.
pub(crate) struct Cursor {
    shard: usize,
    id: String,
    iterator: String,
}

/// What one shard's read brought back: its pages in order, and what ended it early.
pub(crate) struct Fetched {
    shard: usize,
    pages: Vec<GetRecordsOutput>,
    refused: Option<Refused>,
}

/// What [`StreamReader::apply`] did.
#[derive(Default)]
pub(crate) struct Applied {
    /// Records added to the buffers.
    pub(crate) records: u64,
    /// Whether an iterator was refused and replaced: what it would have read is still
    /// to come, so the round was not idle.
    pub(crate) reacquired: bool,
}

/// `GetRecords` refused the shard's iterator: a fresh one is taken before the next read.
enum Refused {
    Expired,
    Trimmed,
}

/// Reads every cursor's shard to its current end (at most [`PAGES_PER_ROUND`] pages
/// each), one shard after the other, as one poller does. Borrows only the client.
pub(crate) async fn fetch(client: &Client, cursors: Vec<Cursor>) -> anyhow::Result<Vec<Fetched>> {
    let mut fetched = Vec::with_capacity(cursors.len());
    for Cursor { shard, id, iterator } in cursors {
        let mut read = Fetched {
            shard,
            pages: Vec::new(),
            refused: None,
        };
        let mut next = Some(iterator);
        for _page in 0..PAGES_PER_ROUND {
            let Some(iterator) = next.take() else {
                break;
            };
            let page = client
                .get_records()
                .shard_iterator(iterator.clone())
                .limit(PAGE_LIMIT)
                .send()
                .await;
            match page {
                Ok(out) => {
                    let read_nothing = out.records.as_ref().is_none_or(Vec::is_empty);
                    next = out.next_shard_iterator.clone();
                    read.pages.push(out);
                    if read_nothing {
                        break;
                    }
                }
                Err(e) => match refusal(e).with_context(|| format!("GetRecords on {id}"))? {
                    Some(refused) => {
                        read.refused = Some(refused);
                        break;
                    }
                    // Throttled: the same iterator again, after a pause.
                    None => {
                        tokio::time::sleep(THROTTLE_PAUSE).await;
                        next = Some(iterator);
                    }
                },
            }
        }
        fetched.push(read);
    }
    Ok(fetched)
}

/// A `GetRecords` error: the iterator refused, `None` when throttled, or a failure.
fn refusal(error: SdkError<GetRecordsError>) -> anyhow::Result<Option<Refused>> {
    match error {
        SdkError::ServiceError(e) => match e.into_err() {
            GetRecordsError::ExpiredIteratorException(_) => Ok(Some(Refused::Expired)),
            GetRecordsError::TrimmedDataAccessException(_) => Ok(Some(Refused::Trimmed)),
            GetRecordsError::LimitExceededException(_) | GetRecordsError::InternalServerError(_) => Ok(None),
            other => Err(anyhow::Error::new(other)),
        },
        other => Err(anyhow::Error::new(other)),
    }
}

/// Reads a stream from a [`StreamPosition`] on.
pub(crate) struct StreamReader<'a> {
    client: &'a Client,
    stream_arn: &'a str,
    /// Stands in for DynamoDB Local's `awsRegion` ("ddblocal") in the records.
    region: String,
    from: &'a StreamPosition,
    /// In discovery order; a child shard comes after its parent when both are known.
    pub(crate) shards: Vec<ShardState>,
    /// Whether `shards` may miss one: before the first `DescribeStream`, and after a
    /// shard was read to its end (DynamoDB opens a child when it closes one).
    stale: bool,
}

impl<'a> StreamReader<'a> {
    pub(crate) fn new(client: &'a Client, stream_arn: &'a str, from: &'a StreamPosition) -> Self {
        let region = client
            .config()
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_owned());
        Self {
            client,
            stream_arn,
            region,
            from,
            shards: Vec::new(),
            stale: true,
        }
    }

    /// Adds the shards `DescribeStream` lists that are not known yet, when they may have
    /// changed or when `force`d (the drain asks before it calls the stream idle). Like
    /// Lambda's event source mapping, it does not describe the stream on every poll.
    pub(crate) async fn discover(&mut self, force: bool) -> anyhow::Result<()> {
        if !(self.stale || force) {
            return Ok(());
        }
        for shard in describe_shards(self.client, self.stream_arn).await? {
            let Some(id) = shard.shard_id.clone() else {
                continue;
            };
            if self.shards.iter().any(|s| s.id == id) {
                continue;
            }
            let (iterator, at_snapshot) = match self.from.shards.get(&id) {
                Some(ShardTip::Closed) => (None, false),
                Some(ShardTip::Open { latest_iterator }) => (Some(latest_iterator.clone()), true),
                // Created after the snapshot (or no snapshot): everything in it is new.
                None => (Some(self.trim_horizon(&id).await?), false),
            };
            let parent = shard.parent_shard_id.clone();
            self.shards
                .push(ShardState::new(id, parent, iterator, at_snapshot));
        }
        self.stale = false;
        Ok(())
    }

    pub(crate) fn client(&self) -> &'a Client {
        self.client
    }

    /// Where each shard that is not read out reads next.
    pub(crate) fn cursors(&self) -> Vec<Cursor> {
        let open = self.shards.iter().enumerate();
        open.filter_map(|(shard, s)| {
            let iterator = s.iterator.clone()?;
            Some(Cursor {
                shard,
                id: s.id.clone(),
                iterator,
            })
        })
        .collect()
    }

    /// Buffers what [`fetch`] read and moves each shard's iterator on; a refused iterator
    /// is replaced.
    pub(crate) async fn apply(&mut self, fetched: Vec<Fetched>) -> anyhow::Result<Applied> {
        let mut applied = Applied::default();
        for Fetched {
            shard,
            pages,
            refused,
        } in fetched
        {
            for page in pages {
                applied.records += self.keep(shard, page)?;
            }
            match refused {
                Some(Refused::Expired) => self.reacquire(shard, false).await?,
                Some(Refused::Trimmed) => self.reacquire(shard, true).await?,
                None => continue,
            }
            applied.reacquired = true;
        }
        Ok(applied)
    }

    /// Buffers a page's records, minus those a re-read has to skip, and moves the
    /// shard's iterator on. Returns how many were buffered.
    fn keep(&mut self, i: usize, out: GetRecordsOutput) -> anyhow::Result<u64> {
        let records = out.records.unwrap_or_default();
        let mut kept = 0;
        for record in &records {
            let converted = convert_record(record, self.stream_arn, &self.region)?;
            let shard = &mut self.shards[i];
            let seen = shard
                .skip_through
                .as_deref()
                .is_some_and(|done| !seq_after(&converted.sequence_number, done));
            let created = converted.created.timestamp();
            if seen || shard.created_since.is_some_and(|since| created < since) {
                continue;
            }
            shard.last_read = Some(converted.sequence_number.clone());
            shard.buffer.push(converted);
            kept += 1;
        }
        let shard = &mut self.shards[i];
        shard.iterator = out.next_shard_iterator;
        self.stale |= shard.iterator.is_none();
        if !records.is_empty() {
            shard.at_snapshot_iterator = false;
        }
        Ok(kept)
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
        let id = shard.id.clone();
        let fresh = match (shard.last_read.clone(), lost) {
            (Some(seq), false) => {
                self.iterator(&id, ShardIteratorType::AfterSequenceNumber, Some(&seq))
                    .await?
            }
            (Some(seq), true) => {
                tracing::warn!(shard = %id, after = %seq, "stream position trimmed; re-reading from TRIM_HORIZON, skipping what was read");
                self.shards[i].skip_through = Some(seq);
                self.trim_horizon(&id).await?
            }
            (None, false) if shard.at_snapshot_iterator => self.after_expired_snapshot(i).await?,
            (None, _) => self.trim_horizon(&id).await?,
        };
        let shard = &mut self.shards[i];
        shard.iterator = Some(fresh);
        shard.at_snapshot_iterator = false;
        Ok(())
    }

    /// The snapshot's `LATEST` iterator expired (15 minutes, in DynamoDB Local too)
    /// before anything was read. Its exact position is lost: re-read the shard and
    /// keep what was created from the snapshot's minute on (creation times are
    /// rounded down to the minute). Records of that minute written before the
    /// snapshot are delivered too: at least once.
    async fn after_expired_snapshot(&mut self, i: usize) -> anyhow::Result<String> {
        let since = from_minute(self.from.taken_at);
        let id = self.shards[i].id.clone();
        tracing::warn!(shard = %id, since, "snapshot iterator expired; re-reading from TRIM_HORIZON by creation time");
        self.shards[i].created_since = Some(since);
        self.trim_horizon(&id).await
    }

    async fn trim_horizon(&self, shard_id: &str) -> anyhow::Result<String> {
        self.iterator(shard_id, ShardIteratorType::TrimHorizon, None)
            .await
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
