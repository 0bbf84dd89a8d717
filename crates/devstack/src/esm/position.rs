//! Where a drain starts: a snapshot of every shard's tip.

use anyhow::{anyhow, Context};
use aws_sdk_dynamodbstreams::types::{Shard, ShardIteratorType};
use aws_sdk_dynamodbstreams::Client;
use std::collections::BTreeMap;
use std::time::SystemTime;

/// Where every shard's tip was when the snapshot was taken: records written later
/// are delivered by [`drain`](super::drain), earlier ones are not.
#[derive(Debug, Clone)]
pub struct StreamPosition {
    pub(super) stream_arn: String,
    pub(super) taken_at: SystemTime,
    pub(super) shards: BTreeMap<String, ShardTip>,
}

#[derive(Debug, Clone)]
pub(super) enum ShardTip {
    /// Open at the snapshot: a `LATEST` iterator, i.e. the position just past the tip.
    Open { latest_iterator: String },
    /// Already closed: nothing in it is new.
    Closed,
}

impl StreamPosition {
    /// A position before everything: every shard is read from `TRIM_HORIZON`.
    pub fn trim_horizon(stream_arn: impl Into<String>) -> Self {
        Self {
            stream_arn: stream_arn.into(),
            taken_at: SystemTime::now(),
            shards: BTreeMap::new(),
        }
    }

    pub fn stream_arn(&self) -> &str {
        &self.stream_arn
    }

    pub fn taken_at(&self) -> SystemTime {
        self.taken_at
    }

    /// The shards that existed at the snapshot.
    pub fn shard_ids(&self) -> impl Iterator<Item = &str> {
        self.shards.keys().map(String::as_str)
    }
}

/// The ARN of `table`'s current stream (`DescribeTable` → `LatestStreamArn`).
pub async fn latest_stream_arn(client: &aws_sdk_dynamodb::Client, table: &str) -> anyhow::Result<String> {
    let out = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .with_context(|| format!("DescribeTable {table}"))?;
    out.table.and_then(|t| t.latest_stream_arn).ok_or_else(|| {
        anyhow!("table {table} has no stream; the template gives UploadRecords a NEW_IMAGE stream")
    })
}

/// Takes a [`StreamPosition`] at the current tip of every shard of the stream.
///
/// One `DescribeStream` (paged) and one `GetShardIterator(LATEST)` per open shard;
/// nothing is read. The iterators live 15 minutes (in DynamoDB Local too); [`drain`](super::drain)
/// keeps them fresh once it runs. If one expired before the drain read anything from
/// its shard, the drain re-reads that shard from `TRIM_HORIZON` and keeps records
/// created from the snapshot's minute on (at least once, never fewer).
pub async fn snapshot_tip(client: &Client, stream_arn: &str) -> anyhow::Result<StreamPosition> {
    let taken_at = SystemTime::now();
    let mut shards = BTreeMap::new();
    for shard in describe_shards(client, stream_arn).await? {
        let Some(id) = shard.shard_id.clone() else {
            continue;
        };
        let closed = shard
            .sequence_number_range
            .as_ref()
            .and_then(|r| r.ending_sequence_number.as_ref())
            .is_some();
        let tip = if closed {
            ShardTip::Closed
        } else {
            let out = client
                .get_shard_iterator()
                .stream_arn(stream_arn)
                .shard_id(&id)
                .shard_iterator_type(ShardIteratorType::Latest)
                .send()
                .await
                .with_context(|| format!("GetShardIterator LATEST for {id}"))?;
            let latest_iterator = out
                .shard_iterator
                .ok_or_else(|| anyhow!("no LATEST iterator for open shard {id}"))?;
            ShardTip::Open { latest_iterator }
        };
        shards.insert(id, tip);
    }
    Ok(StreamPosition {
        stream_arn: stream_arn.to_owned(),
        taken_at,
        shards,
    })
}

pub(super) async fn describe_shards(client: &Client, stream_arn: &str) -> anyhow::Result<Vec<Shard>> {
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = client
            .describe_stream()
            .stream_arn(stream_arn)
            .set_exclusive_start_shard_id(start.clone())
            .send()
            .await
            .with_context(|| format!("DescribeStream {stream_arn}"))?;
        let description = out
            .stream_description
            .ok_or_else(|| anyhow!("DescribeStream {stream_arn} returned no description"))?;
        shards.extend(description.shards.unwrap_or_default());
        match description.last_evaluated_shard_id {
            Some(last) if start.as_deref() != Some(last.as_str()) => start = Some(last),
            _ => break,
        }
    }
    // Parents before children, so a child is discovered after its parent.
    let ids: Vec<Option<String>> = shards.iter().map(|s| s.shard_id.clone()).collect();
    let mut ordered = Vec::with_capacity(shards.len());
    let mut remaining = shards;
    while !remaining.is_empty() {
        let before = remaining.len();
        let (ready, rest): (Vec<Shard>, Vec<Shard>) = remaining.into_iter().partition(|s| {
            s.parent_shard_id.as_ref().is_none_or(|p| {
                !ids.iter().any(|id| id.as_deref() == Some(p.as_str()))
                    || ordered
                        .iter()
                        .any(|o: &Shard| o.shard_id.as_deref() == Some(p.as_str()))
            })
        });
        ordered.extend(ready);
        remaining = rest;
        if remaining.len() == before {
            ordered.append(&mut remaining);
        }
    }
    Ok(ordered)
}
