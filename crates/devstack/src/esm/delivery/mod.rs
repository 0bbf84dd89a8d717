//! Lambda's delivery rules for one consumer on one shard, as a state machine with no
//! I/O: given the records already read and the function's answers, it decides what
//! to deliver next, what to checkpoint, when to bisect, retry or give up, and when a
//! retry is due. The time is an input ([`Now`]), so every rule is testable without a
//! stream, a handler or a clock.
//!
//! The driver ([`drain`](super::drain)) asks a [`Lane`] for its [`Step`], invokes the
//! function on a [`Step::Deliver`], hands the [`judge`]d answer to [`Lane::settle`],
//! and sends every [`OnFailure`] it is given to the on-failure destination.

mod answer;
mod batch;
mod lane;
mod on_failure;
mod retry;
#[cfg(test)]
mod tests;

pub(crate) use answer::{judge, stricter, Outcome};
pub(crate) use lane::{Lane, Settled, Step};
pub(crate) use on_failure::OnFailure;

use super::consumer::RecordFilter;
use super::convert::ConvertedRecord;
use super::filter::matches_any;
use super::settings::EsmSettings;
use chrono::{DateTime, Utc};
use std::time::Instant;

/// The time a decision is made at: monotonic for retry deadlines, wall-clock for
/// record ages (`ApproximateCreationDateTime` is wall-clock).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Now {
    pub(crate) instant: Instant,
    pub(crate) wall: DateTime<Utc>,
}

impl Now {
    pub(crate) fn current() -> Self {
        Self {
            instant: Instant::now(),
            wall: Utc::now(),
        }
    }
}

/// What a consumer's deliveries obey: its mapping's settings and the drain's extra
/// record filter.
#[derive(Clone, Copy)]
pub(crate) struct Rules<'a> {
    pub(crate) settings: &'a EsmSettings,
    pub(crate) record_filter: Option<&'a RecordFilter>,
}

impl Rules<'_> {
    /// Whether `record` goes into a batch; the others are skipped as processed.
    fn wants(&self, record: &ConvertedRecord) -> bool {
        matches_any(&self.settings.filters, &record.json)
            && self.record_filter.is_none_or(|keep| keep(&record.json))
    }
}
