//! How a drain runs.

use super::consumer::RecordFilter;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

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
    /// The whole drain fails after this long, counted from its start (in `devstack
    /// upload`, with the parse, which runs meanwhile).
    pub timeout: Duration,
    /// Records it rejects are treated like records no filter matches.
    pub record_filter: Option<RecordFilter>,
    /// JSON lines describing discarded batches (the SQS on-failure destination).
    pub on_failure_log: Option<PathBuf>,
    /// Set while something still writes what the drain delivers (csv-parser, in
    /// `devstack upload`): until it is cleared, idle rounds do not end the drain.
    pub writers_busy: Option<Arc<AtomicBool>>,
}

impl DrainOptions {
    /// Whether a writer the drain waits for is still at work.
    pub fn writers_busy(&self) -> bool {
        self.writers_busy
            .as_ref()
            .is_some_and(|busy| busy.load(Ordering::Acquire))
    }
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
            writers_busy: None,
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
            .field("writers_busy", &self.writers_busy())
            .finish()
    }
}
