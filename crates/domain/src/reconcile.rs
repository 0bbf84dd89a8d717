//! What the reconciler decides, pure: when an upload counts as stuck, and when a row
//! that keeps failing gets the one verdict a fault may produce, `PROCESSING_FAILED`.
//!
//! A row is never given up on at its first failure: the stream consumers retry it, then
//! the reconciler tries it again on each run (every 5 minutes in AWS), and only after
//! [`MAX_ATTEMPTS`] failed reconciler attempts is it recorded as `PROCESSING_FAILED`,
//! so that its upload can end with exact counts.

use crate::codes::ErrorCode;
use crate::model::RowError;
use chrono::{DateTime, Duration, Utc};

/// Failed reconciler attempts on one row before it is given up.
pub const MAX_ATTEMPTS: u32 = 3;

/// How long an upload may stay `processing` before the reconciler takes it up (the
/// contract's default `RECONCILE_AFTER`).
pub const DEFAULT_RECONCILE_AFTER: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Uploads that started before this instant and are still processing are stuck.
pub fn stuck_before(now: DateTime<Utc>, reconcile_after: std::time::Duration) -> DateTime<Utc> {
    let after = Duration::from_std(reconcile_after).unwrap_or(Duration::MAX);
    now.checked_sub_signed(after).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Whether a row that has now failed `attempts` reconciler attempts is given up.
pub fn gives_up(attempts: u32) -> bool {
    attempts >= MAX_ATTEMPTS
}

/// The verdict of a row the pipeline could not process.
pub fn processing_failed() -> RowError {
    RowError::new(
        ErrorCode::ProcessingFailed,
        "",
        "This row could not be processed; nothing was imported from it. Upload the row again \
         (alone or in a new file); if it fails again, contact vendor support with the upload id.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_row_is_given_up_only_after_three_failed_attempts() {
        assert!(!gives_up(0));
        assert!(!gives_up(1));
        assert!(!gives_up(2));
        assert!(gives_up(3));
        assert!(gives_up(4));
    }

    #[test]
    fn stuck_means_started_before_now_minus_the_delay() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 6, 12, 0, 0)
            .single()
            .unwrap_or_default();
        let cutoff = stuck_before(now, DEFAULT_RECONCILE_AFTER);
        assert_eq!(
            cutoff,
            Utc.with_ymd_and_hms(2026, 12, 6, 11, 45, 0)
                .single()
                .unwrap_or_default()
        );
        assert_eq!(stuck_before(now, std::time::Duration::ZERO), now);
    }

    #[test]
    fn the_verdict_is_processing_failed_with_no_column() {
        let e = processing_failed();
        assert_eq!(e.error_type, ErrorCode::ProcessingFailed);
        assert!(e.column.is_empty());
        assert!(e.message.contains("nothing was imported"), "{}", e.message);
    }
}
