//! The delivery rules, driven by hand: records are made up, answers are given, and
//! time only moves when a test moves it.

use super::on_failure::{RECORD_AGE_EXCEEDED, RETRY_ATTEMPTS_EXHAUSTED};
use super::retry::backoff;
use super::*;
use crate::esm::buffer::ShardBuffer;
use crate::esm::report::ConsumerReport;
use crate::esm::FilterPattern;
use aws_lambda_events::event::dynamodb::EventRecord;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn wall() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).expect("a valid time")
}

/// Record `n`'s sequence number; there are gaps, as DynamoDB Local's counter is
/// shared by every table.
fn seq(n: usize) -> String {
    format!("{:021}", 1000 + 7 * n)
}

fn seqs(ns: impl IntoIterator<Item = usize>) -> Vec<String> {
    ns.into_iter().map(seq).collect()
}

fn record(n: usize, created: DateTime<Utc>) -> ConvertedRecord {
    let mut record = EventRecord::default();
    record.event_name = "INSERT".to_owned();
    record.change.sequence_number = Some(seq(n));
    record.change.approximate_creation_date_time = created;
    let json = json!({
        "eventName": "INSERT",
        "dynamodb": { "SequenceNumber": seq(n), "NewImage": { "n": { "N": n.to_string() } } },
    });
    ConvertedRecord {
        sequence_number: seq(n),
        created,
        json,
        typed: record.into(),
    }
}

/// Records `ns` as a delivered batch holds them.
fn shared(ns: std::ops::Range<usize>) -> Vec<Arc<ConvertedRecord>> {
    ns.map(|n| Arc::new(record(n, wall()))).collect()
}

fn settings(batch_size: usize, retries: Option<u32>, bisect: bool) -> EsmSettings {
    EsmSettings {
        batch_size,
        maximum_retry_attempts: retries,
        bisect_batch_on_function_error: bisect,
        report_batch_item_failures: true,
        ..EsmSettings::default()
    }
}

fn item_failures(ids: &[Option<&str>]) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    for id in ids {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = id.map(str::to_owned);
        response.batch_item_failures.push(failure);
    }
    response
}

fn failed() -> Outcome {
    Outcome::Failed("function error: database unavailable".to_owned())
}

/// One lane on one shard, with a clock that only moves when told.
struct Harness {
    lane: Lane,
    shard: ShardBuffer,
    settings: EsmSettings,
    report: ConsumerReport,
    now: Instant,
}

impl Harness {
    /// `count` records created just now.
    fn new(settings: EsmSettings, count: usize) -> Self {
        Self::with_records(settings, (0..count).map(|n| record(n, wall())))
    }

    fn with_records(settings: EsmSettings, records: impl IntoIterator<Item = ConvertedRecord>) -> Self {
        let mut shard = ShardBuffer::default();
        records.into_iter().for_each(|r| shard.push(r));
        Self {
            lane: Lane::default(),
            shard,
            settings,
            report: ConsumerReport::default(),
            now: Instant::now(),
        }
    }

    fn step(&mut self) -> Step {
        let rules = Rules {
            settings: &self.settings,
            record_filter: None,
        };
        let now = Now {
            instant: self.now,
            wall: wall(),
        };
        let step = self.lane.next_step(&self.shard, &rules, now, &mut self.report);
        step.expect("every batch refers to buffered records")
    }

    /// The sequence numbers of the batch delivered next; any other step fails the test.
    fn delivered(&mut self) -> Vec<String> {
        match self.step() {
            Step::Deliver(batch) => batch.iter().map(|r| r.sequence_number.clone()).collect(),
            other => panic!("expected a delivery, got {other:?}"),
        }
    }

    fn settle(&mut self, outcome: Outcome) -> Settled {
        let rules = Rules {
            settings: &self.settings,
            record_filter: None,
        };
        self.lane
            .settle(outcome, &self.shard, &rules, self.now, &mut self.report)
    }

    /// Settles a failure that must be retried, and moves the clock to the retry.
    fn fail_and_wait(&mut self, outcome: Outcome) -> Duration {
        match self.settle(outcome) {
            Settled::RetryAt(at) => {
                let delay = at - self.now;
                self.now = at;
                delay
            }
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    fn gave_up(&mut self, outcome: Outcome) -> OnFailure {
        match self.settle(outcome) {
            Settled::GaveUp(entry) => entry,
            other => panic!("expected the batch to be given up on, got {other:?}"),
        }
    }

    fn checkpoint(&self) -> Option<String> {
        self.lane.checkpoint().map(str::to_owned)
    }
}

#[test]
fn batches_hold_at_most_batch_size_records_in_order() {
    let mut h = Harness::new(settings(3, Some(0), false), 7);
    let mut batches = Vec::new();
    while let Step::Deliver(batch) = h.step() {
        batches.push(
            batch
                .iter()
                .map(|r| r.sequence_number.clone())
                .collect::<Vec<_>>(),
        );
        assert_eq!(h.settle(Outcome::Success), Settled::Done);
    }
    assert_eq!(batches, vec![seqs(0..3), seqs(3..6), seqs(6..7)]);
    assert_eq!((h.report.batches, h.report.records_delivered), (3, 7));
}

#[test]
fn full_success_checkpoints_the_last_record_and_moves_on() {
    let mut h = Harness::new(settings(4, Some(0), false), 6);
    assert_eq!(h.delivered(), seqs(0..4));
    assert_eq!(h.checkpoint(), None, "nothing is done before the answer");
    assert_eq!(h.settle(Outcome::Success), Settled::Done);
    assert_eq!(h.checkpoint(), Some(seq(3)));
    assert_eq!(h.delivered(), seqs(4..6));
    assert_eq!(h.report.retries, 0);
}

#[test]
fn partial_failure_checkpoints_before_the_lowest_failure_and_redelivers_the_rest() {
    let mut h = Harness::new(settings(10, Some(3), true), 6);
    let batch = shared(0..6);
    assert_eq!(h.delivered(), seqs(0..6));
    // Reported out of order: the lowest one counts.
    let answer = Ok(item_failures(&[Some(&seq(4)), Some(&seq(2))]));
    let outcome = judge(&answer, &batch, true);
    assert_eq!(outcome, Outcome::Partial(2));
    let delay = h.fail_and_wait(outcome);
    assert_eq!(h.checkpoint(), Some(seq(1)));
    assert_eq!(delay, Duration::from_millis(200));
    assert_eq!(h.delivered(), seqs(2..6), "later records are redelivered too");
    assert_eq!((h.report.retries, h.report.bisections), (1, 0));
    h.settle(Outcome::Success);
    assert_eq!(h.checkpoint(), Some(seq(5)));
}

#[test]
fn partial_failure_of_the_first_record_leaves_the_checkpoint_alone() {
    let mut h = Harness::new(settings(10, Some(3), false), 3);
    h.delivered();
    h.fail_and_wait(Outcome::Partial(0));
    assert_eq!(h.checkpoint(), None);
    assert_eq!(h.delivered(), seqs(0..3));
}

#[test]
fn invalid_or_empty_item_identifier_fails_the_whole_batch() {
    let batch = shared(0..3);
    let valid = seq(1);
    for ids in [
        vec![Some("nope")],
        vec![Some("")],
        vec![None],
        vec![Some(valid.as_str()), Some("nope")],
    ] {
        let outcome = judge(&Ok(item_failures(&ids)), &batch, true);
        assert!(
            matches!(&outcome, Outcome::Failed(why) if why.contains("itemIdentifier")),
            "{ids:?}: {outcome:?}"
        );
    }
    // A record without a sequence number is converted with an empty one; an empty
    // identifier still names no record.
    let mut unnumbered: Vec<ConvertedRecord> = (0..3).map(|n| record(n, wall())).collect();
    unnumbered[1].sequence_number.clear();
    let unnumbered: Vec<Arc<ConvertedRecord>> = unnumbered.into_iter().map(Arc::new).collect();
    let outcome = judge(&Ok(item_failures(&[Some("")])), &unnumbered, true);
    assert!(matches!(outcome, Outcome::Failed(_)), "{outcome:?}");

    let mut h = Harness::new(settings(10, Some(3), false), 3);
    h.delivered();
    h.fail_and_wait(judge(&Ok(item_failures(&[Some("nope")])), &batch, true));
    assert_eq!(h.checkpoint(), None);
    assert_eq!(h.delivered(), seqs(0..3), "the whole batch again");
}

#[test]
fn without_report_batch_item_failures_the_response_body_is_ignored() {
    let batch = shared(0..3);
    let answer = Ok(item_failures(&[Some(&seq(1)), Some("nope")]));
    assert_eq!(judge(&answer, &batch, false), Outcome::Success);
    assert_eq!(
        judge(&answer, &batch, true),
        Outcome::Failed("batchItemFailures has an itemIdentifier not in the batch: \"nope\"".to_owned())
    );
    let error = Err("boom".to_owned());
    assert_eq!(
        judge(&error, &batch, false),
        Outcome::Failed("function error: boom".to_owned())
    );
    assert_eq!(judge(&Ok(item_failures(&[])), &batch, true), Outcome::Success);
}

#[test]
fn bisection_delivers_halves_first_half_first_without_using_the_retry_quota() {
    // With no retries at all, only splitting can get the good records through.
    let mut h = Harness::new(settings(4, Some(0), true), 4);
    assert_eq!(h.delivered(), seqs(0..4));
    assert_eq!(h.settle(failed()), Settled::Bisected);
    assert_eq!(h.delivered(), seqs(0..2), "at once, no backoff");
    assert_eq!(h.settle(failed()), Settled::Bisected);
    assert_eq!(h.delivered(), seqs(0..1));
    assert_eq!(h.settle(Outcome::Success), Settled::Done);
    assert_eq!(h.delivered(), seqs(1..2));
    let entry = h.gave_up(failed());
    assert_eq!(entry.attempts, 1, "the split deliveries did not count");
    assert_eq!(
        (entry.start_sequence_number.clone(), entry.batch_size),
        (seq(1), 1)
    );
    assert_eq!(h.delivered(), seqs(2..4), "the second half comes last");
    h.settle(Outcome::Success);
    assert_eq!(h.checkpoint(), Some(seq(3)));
    let r = &h.report;
    // Every delivery after the first is a retry, halves included.
    assert_eq!((r.bisections, r.retries, r.on_failure_batches), (2, 4, 1));
}

#[test]
fn a_single_record_batch_is_retried_not_bisected() {
    let mut h = Harness::new(settings(1, Some(2), true), 2);
    assert_eq!(h.delivered(), seqs(0..1));
    assert_eq!(h.fail_and_wait(failed()), Duration::from_millis(200));
    assert_eq!(h.report.bisections, 0);
    assert_eq!(h.delivered(), seqs(0..1));
}

#[test]
fn exhausted_retries_send_the_batch_to_on_failure_and_skip_it() {
    let mut h = Harness::new(settings(3, Some(2), false), 5);
    for _ in 0..2 {
        assert_eq!(h.delivered(), seqs(0..3));
        h.fail_and_wait(failed());
    }
    assert_eq!(h.delivered(), seqs(0..3));
    let entry = h.gave_up(failed());
    let expected = OnFailure {
        condition: RETRY_ATTEMPTS_EXHAUSTED,
        attempts: 3,
        last_error: "function error: database unavailable".to_owned(),
        start_sequence_number: seq(0),
        end_sequence_number: seq(2),
        first_arrival: wall(),
        last_arrival: wall(),
        batch_size: 3,
    };
    assert_eq!(entry, expected);
    assert_eq!(h.checkpoint(), Some(seq(2)), "past the discarded batch");
    assert_eq!(h.delivered(), seqs(3..5), "the next batch goes at once");
    let r = &h.report;
    assert_eq!(
        (r.batches, r.retries, r.on_failure_batches, r.on_failure_records),
        (4, 2, 1, 3)
    );
}

#[test]
fn an_exhausted_remainder_is_described_from_its_lowest_failed_record() {
    let mut h = Harness::new(settings(10, Some(0), false), 4);
    h.delivered();
    let entry = h.gave_up(Outcome::Partial(1));
    assert_eq!(
        (
            entry.start_sequence_number,
            entry.end_sequence_number,
            entry.batch_size
        ),
        (seq(1), seq(3), 3)
    );
    assert_eq!(entry.last_error, format!("batchItemFailures reported {}", seq(1)));
    assert_eq!(h.checkpoint(), Some(seq(3)));
    assert!(matches!(h.step(), Step::Idle));
}

#[test]
fn minus_one_retries_forever() {
    let mut h = Harness::new(settings(10, None, false), 2);
    for _ in 0..50 {
        assert_eq!(h.delivered(), seqs(0..2));
        h.fail_and_wait(failed());
    }
    assert_eq!(h.delivered(), seqs(0..2), "still there after 50 failures");
    assert_eq!((h.report.retries, h.report.on_failure_batches), (50, 0));
}

#[test]
fn records_past_the_maximum_age_are_discarded_before_delivery() {
    let max_age = Duration::from_secs(60);
    let old = wall() - chrono::Duration::seconds(120);
    let just_in_time = wall() - chrono::Duration::seconds(60);
    let records = [record(0, old), record(1, old), record(2, just_in_time)];
    let strict = EsmSettings {
        maximum_record_age: Some(max_age),
        ..settings(10, Some(5), false)
    };
    let mut h = Harness::with_records(strict, records);
    let Step::Discard(entry) = h.step() else {
        panic!("old records are discarded before any invocation");
    };
    assert_eq!(entry.condition, RECORD_AGE_EXCEEDED);
    assert_eq!(
        (
            entry.start_sequence_number,
            entry.end_sequence_number,
            entry.batch_size,
            entry.attempts
        ),
        (seq(0), seq(1), 2, 0)
    );
    assert_eq!(entry.first_arrival, old);
    assert_eq!(h.checkpoint(), Some(seq(1)));
    assert_eq!(h.report.batches, 0);
    assert_eq!(
        h.delivered(),
        seqs(2..3),
        "a record exactly at the limit is not too old"
    );
}

#[test]
fn retries_back_off_from_200ms_doubling_to_2s_and_reset_on_success() {
    let expected: Vec<u64> = vec![200, 400, 800, 1600, 2000, 2000, 2000];
    let got: Vec<u64> = (1..=7).map(|n| backoff(n).as_millis() as u64).collect();
    assert_eq!(got, expected);

    let mut h = Harness::new(settings(1, None, false), 2);
    let mut delays = Vec::new();
    for _ in 0..7 {
        h.delivered();
        let Settled::RetryAt(at) = h.settle(failed()) else {
            panic!("-1 retries forever");
        };
        delays.push((at - h.now).as_millis() as u64);
        h.now = at - Duration::from_millis(1);
        assert!(matches!(h.step(), Step::Idle), "the lane waits out the backoff");
        h.now = at;
    }
    assert_eq!(delays, expected);
    h.delivered();
    h.settle(Outcome::Success);
    assert_eq!(h.delivered(), seqs(1..2));
    assert_eq!(h.fail_and_wait(failed()), Duration::from_millis(200));
}

#[test]
fn double_delivery_acts_on_the_stricter_answer() {
    let partial = Outcome::Partial;
    let cases = [
        (Outcome::Success, Outcome::Success, Outcome::Success),
        (Outcome::Success, partial(3), partial(3)),
        (partial(3), Outcome::Success, partial(3)),
        (partial(4), partial(2), partial(2)),
        (partial(1), failed(), failed()),
        (Outcome::Success, failed(), failed()),
        (
            Outcome::Failed("first".into()),
            failed(),
            Outcome::Failed("first".into()),
        ),
    ];
    for (a, b, expected) in cases {
        assert_eq!(stricter(a.clone(), b.clone()), expected, "{a:?} then {b:?}");
    }
    // One answer succeeded, the other failed record 1: record 1 on is redelivered.
    let mut h = Harness::new(settings(10, Some(3), false), 3);
    h.delivered();
    h.fail_and_wait(stricter(Outcome::Success, partial(1)));
    assert_eq!(h.delivered(), seqs(1..3));
}

#[test]
fn filtered_out_records_are_skipped_counted_and_checkpointed() {
    let only_2_and_3 =
        FilterPattern::parse(r#"{"dynamodb":{"NewImage":{"n":{"N":["2","3"]}}}}"#).expect("a valid pattern");
    let filtered = EsmSettings {
        filters: vec![only_2_and_3],
        ..settings(10, Some(0), false)
    };
    let mut h = Harness::new(filtered, 5);
    assert_eq!(h.delivered(), seqs(2..4));
    assert_eq!(h.checkpoint(), Some(seq(1)), "skipped records count as processed");
    assert_eq!(h.report.filtered_out, 3);
}

#[test]
fn the_lane_tells_the_driver_what_it_still_needs() {
    let mut h = Harness::new(settings(10, Some(3), false), 6);
    h.delivered();
    assert!(h.lane.has_taken_up_to(6));
    h.fail_and_wait(Outcome::Partial(2));
    // Records before the failure can leave the buffer; the rest await the retry.
    assert_eq!(h.lane.low_water(), 2);
    assert_eq!(h.lane.pending_batches(), 1);
    assert!(!h.lane.is_done_up_to(6), "a child shard would still wait");
    assert_eq!(h.lane.retry_due(h.now), Some(h.now));
    h.delivered();
    h.settle(Outcome::Success);
    assert!(h.lane.is_done_up_to(6));
    assert_eq!((h.lane.low_water(), h.lane.retry_due(h.now)), (6, None));
}

#[test]
fn the_on_failure_message_describes_the_batch_like_lambda() {
    let entry = OnFailure {
        condition: RETRY_ATTEMPTS_EXHAUSTED,
        attempts: 3,
        last_error: "function error: boom".to_owned(),
        start_sequence_number: seq(0),
        end_sequence_number: seq(2),
        first_arrival: wall(),
        last_arrival: wall(),
        batch_size: 3,
    };
    let message = entry.message("validator", "shardId-1", "arn:stream", wall());
    assert_eq!(message["reason"], RETRY_ATTEMPTS_EXHAUSTED);
    assert_eq!(message["requestContext"]["approximateInvokeCount"], 3);
    let info = &message["DDBStreamBatchInfo"];
    assert_eq!(info["startSequenceNumber"], seq(0));
    assert_eq!(info["endSequenceNumber"], seq(2));
    assert_eq!(info["batchSize"], 3);
    assert_eq!(info["shardId"], "shardId-1");
    assert_eq!(info["approximateArrivalOfFirstRecord"], wall().to_rfc3339());
}
