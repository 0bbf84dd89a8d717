//! When a failed batch is tried again, and when it is given up on.

use std::time::Duration;

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Backoff before the next try after `consecutive_failures` failures in a row:
/// 200 ms doubling, at most 2 s.
pub(crate) fn backoff(consecutive_failures: u32) -> Duration {
    // 200 ms << 4 is already past the cap; the bound keeps the shift from overflowing.
    let exp = consecutive_failures.saturating_sub(1).min(4);
    FIRST_BACKOFF.saturating_mul(1 << exp).min(MAX_BACKOFF)
}

/// Whether a batch that failed `attempts` times has used up `MaximumRetryAttempts`
/// (`None` is `-1`: retry forever). The first try is not a retry, hence `>`.
pub(crate) fn exhausted(attempts: u32, maximum_retry_attempts: Option<u32>) -> bool {
    maximum_retry_attempts.is_some_and(|max| attempts > max)
}
