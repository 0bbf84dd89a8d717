//! Local emulation of Lambda's event source mapping (ESM) for DynamoDB streams.
//!
//! `devstack upload` takes a [`snapshot_tip`] of the UploadRecords stream, runs the
//! csv-parser in-process, and meanwhile [`drain`]s the stream through one [`Consumer`]
//! per function (stream-validator, error-processor), each configured from
//! `infra/template.yaml` by [`settings_for`]. Handlers are called in-process through
//! [`BatchHandler`] with the same `aws_lambda_events` types Lambda would give them.
//!
//! # What is emulated
//! - **Order.** Per shard, in sequence order; each consumer has its own position per
//!   shard. A child shard is delivered only after the consumer is done with its
//!   parent. `ParallelizationFactor` is read but not applied: strict shard order is
//!   one of the orders Lambda may produce (it only keeps per-key order).
//! - **Filtering** (`FilterCriteria`, see [`filter`]) before batching: records no
//!   filter matches (or that `DrainOptions::record_filter` rejects) are skipped and
//!   count as processed.
//! - **Batching.** Up to `BatchSize` matching records per invocation, from what is
//!   buffered; `MaximumBatchingWindowInSeconds` is never waited for.
//! - **Function error** (handler `Err`, or a `batchItemFailures` entry whose
//!   `itemIdentifier` is empty or not a sequence number of the batch): the whole batch
//!   failed. With `BisectBatchOnFunctionError` and more than one record, the batch is
//!   split in two halves delivered at once, first half first; splitting does not
//!   consume the retry quota (as Lambda documents). Otherwise the batch is retried
//!   after a backoff, and the attempt counts.
//! - **Partial failure** (`ReportBatchItemFailures` on, valid identifiers): the
//!   checkpoint moves to just before the lowest failed sequence number and the rest of
//!   the batch, from that record on, is retried (later records are redelivered too),
//!   counting one attempt. Without `ReportBatchItemFailures` the response body is
//!   ignored and any `Ok` is success, as in Lambda.
//! - **Retry quota.** A batch (or remainder, or half) that has failed
//!   `MaximumRetryAttempts + 1` times is written as one JSON line to
//!   `DrainOptions::on_failure_log` (the SQS on-failure destination's message:
//!   `DDBStreamBatchInfo` with shard and start/end sequence numbers, `requestContext`,
//!   plus `consumer`, `reason` and `lastError`) and skipped. `-1` retries forever.
//!   Records older than `MaximumRecordAgeInSeconds` (by `ApproximateCreationDateTime`)
//!   are discarded the same way (`RecordAgeExceeded`) before an invocation.
//! - **Backoff** between retries: 200 ms doubling to at most 2 s per consumer and
//!   shard; while it waits, that consumer is blocked on that shard (ordering) but other
//!   consumers and shards go on.
//! - **Redelivery** (`replay_batches`): every delivery is invoked twice with an
//!   identical event; the stricter of the two answers is acted on.
//! - **End.** `idle_rounds` consecutive rounds with nothing read, nothing delivered
//!   and no retry pending, counted only once `writers_busy` (the parser still
//!   writing) is clear; `timeout` is an error.
//! - **Shards.** `DescribeStream` every round; a shard that appears after the snapshot
//!   is read from `TRIM_HORIZON`; a closed shard is read to its end. `GetRecords` with
//!   `Limit` 1000 (at most 10 pages per shard a round), following `NextShardIterator`;
//!   an expired iterator is re-acquired `AFTER_SEQUENCE_NUMBER` of the last record
//!   read; `TrimmedDataAccessException` re-reads from `TRIM_HORIZON` skipping what was
//!   read; throttling waits 200 ms. The stream is read once per round into a buffer
//!   shared by the consumers; records leave it when every consumer is done with them.
//!   Like Lambda's pollers, the drain reads ahead: a round's `GetRecords` run while
//!   the handlers work on what earlier rounds buffered.
//! - **Not emulated**: tumbling windows, `ParallelizationFactor` concurrency,
//!   `StartingPosition` (a drain starts where its [`StreamPosition`] says), the
//!   invocation payload limit (6 MB) and function timeouts.
//!
//! # Layout
//! `reader` reads the stream into one buffer per shard (its `fetch` borrows only the
//! client, so it runs beside delivery; `apply` then buffers what it read); `delivery`
//! holds the rules above as a state machine without I/O (one `Lane` per consumer and
//! shard, unit-tested without DynamoDB Local); [`poller`]'s [`drain`] runs rounds of
//! the two and calls the handlers.
//!
//! # DynamoDB Local's streams, as measured (DynamoDB Local 2026-01-16, 2 cores)
//! - **One shard per table**, `shardId-<20 digits>-<8 hex>`, open (no
//!   `EndingSequenceNumber`). 3,000 writes did not roll it; deleting the table
//!   closes it (`EndingSequenceNumber` set, `StreamStatus` DISABLED) and the stream
//!   stays describable. Rolling shards (about every 4 hours in DynamoDB) was not
//!   observed; the code handles them anyway.
//! - **Sequence numbers** are 21-digit zero-padded decimals from one counter shared by
//!   every table of the instance, so they increase within a shard but have gaps. A
//!   shard's `StartingSequenceNumber` is not its first record's number.
//! - **`LATEST` works**: an iterator taken before writes returns those writes. Its
//!   token is `<stream arn>|001|base64(<shard id>|<next sequence number>|<epoch ms>)`,
//!   a position, not a cursor: the same iterator used twice returns the same records.
//!   So [`snapshot_tip`] is one `LATEST` iterator per open shard and costs the same
//!   however long the stream is (reading to the end from `TRIM_HORIZON` would cost a
//!   70–85 ms page per 1,000 records).
//! - **Quirk**: a `LATEST` iterator taken on an *empty* shard fails with
//!   `TrimmedDataAccessException` once that shard's first record has a higher number
//!   than the iterator's position, i.e. whenever another table wrote in between (the
//!   counter is shared). Every record of that shard is then newer than the snapshot,
//!   so the drain re-reads it from `TRIM_HORIZON`, which is exact (and, in DynamoDB,
//!   where Lambda resumes when its position was trimmed). A test pins this.
//! - **`AFTER_SEQUENCE_NUMBER` / `AT_SEQUENCE_NUMBER` are exact** for every record
//!   tried (after record k returns exactly the later ones, at k includes k).
//! - **Speed**: an empty `GetRecords` takes about 9 ms; a full page of 1,000 small
//!   records 70–85 ms; `Limit` is honoured. 3,000 items by `BatchWriteItem` took 1.6 s
//!   on a fresh instance.
//! - **Records** carry `eventID` (a UUID), `eventVersion` 1.1, `eventSource`
//!   aws:dynamodb, `awsRegion` "ddblocal" (replaced here by the client's region, where
//!   AWS would put the real one), and an `ApproximateCreationDateTime` rounded down to
//!   the minute, so ages are overstated by up to 60 s: harmless against the template's
//!   6-hour `MaximumRecordAgeInSeconds`. `MODIFY` and `REMOVE` records come as in AWS
//!   (a `REMOVE` has only `Keys` under `NEW_IMAGE`).
//! - **Iterators expire after 15 minutes**, as in DynamoDB: a `LATEST` iterator and
//!   a `NextShardIterator` both worked at 14.8 minutes and answered
//!   `ExpiredIteratorException` at 15.3. Each `GetRecords` hands out a fresh
//!   `NextShardIterator`, so only the gap between [`snapshot_tip`] and the first round
//!   of [`drain`] matters (the csv-parser run); see [`snapshot_tip`] for the fallback.

pub mod consumer;
pub mod convert;
pub mod filter;
pub mod poller;
pub mod position;
pub mod settings;

mod buffer;
mod delivery;
mod on_failure_log;
mod options;
mod reader;
mod report;

pub use consumer::{handler_fn, BatchHandler, Consumer, RecordFilter};
pub use filter::FilterPattern;
pub use on_failure_log::append as append_on_failure;
pub use poller::{drain, ConsumerReport, DrainOptions, DrainReport};
pub use position::{latest_stream_arn, snapshot_tip, StreamPosition};
pub use settings::{settings_for, settings_from_template, EsmSettings, StartingPosition};
