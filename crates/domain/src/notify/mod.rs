//! Telling the vendor that an upload ended (DESIGN.md §7). Whoever makes an upload
//! final (the finaliser, csv-parser's file-level failure, the reconciler) calls
//! [`Notify::announce`]; the reconciler also calls [`publish_pending`].
//!
//! Never lost, rarely repeated: the final status and "not yet published" are one
//! durable state (the outbox columns of `upload_history`, set in the same statement as
//! the status). Publishing takes a short claim first, so racing finalisers publish once;
//! a crash between publishing and recording it repeats the message later (the receiver
//! de-duplicates on `upload_id`), a failed publish leaves it pending for the next try.

pub mod message;

use crate::error::PortError;
use crate::ports::{NotificationOutbox, UploadNotifier};
use chrono::{Duration, Utc};

/// How long a claim holds off other publishers: far longer than one SNS call, short
/// enough that a crashed claimant's message goes out on the reconciler's next run.
pub const CLAIM_LEASE: Duration = Duration::minutes(2);
/// How many pending notifications [`publish_pending`] reads per query.
const PENDING_BATCH: usize = 200;
/// Upper bound on the batches of one [`publish_pending`] run.
const PENDING_ROUNDS: usize = 50;

/// What a finaliser needs to announce an upload: the outbox, the topic, and the vendor
/// API's base URL (`VENDOR_API_URL`) the report link points at.
#[derive(Clone, Copy)]
pub struct Notify<'a> {
    pub outbox: &'a dyn NotificationOutbox,
    pub notifier: &'a dyn UploadNotifier,
    pub vendor_api_url: &'a str,
}

impl Notify<'_> {
    /// Publishes the upload's notification if the upload is final and nobody else has
    /// published or is publishing it. Never fails its caller: the final status is
    /// already durable, and a notification that could not be published stays in the
    /// outbox for [`publish_pending`].
    pub async fn announce(&self, upload_id: &str) {
        match self.publish_one(upload_id).await {
            Ok(Some(message_id)) => tracing::info!(upload_id, message_id, "upload notification published"),
            Ok(None) => tracing::debug!(
                upload_id,
                "no notification to publish (not final, or taken care of)"
            ),
            Err(e) => tracing::warn!(
                upload_id,
                error = %e,
                transient = e.is_transient(),
                "upload notification not published; it stays pending for the reconciler"
            ),
        }
    }

    /// Claims, publishes and records one notification; `Ok(None)` when there was nothing
    /// for this caller to publish. Returns the topic's message id.
    pub async fn publish_one(&self, upload_id: &str) -> Result<Option<String>, PortError> {
        let until = Utc::now() + CLAIM_LEASE;
        let Some(upload) = self.outbox.claim_notification(upload_id, until).await? else {
            return Ok(None);
        };
        let published = match message::render(&upload, self.vendor_api_url) {
            Ok(notification) => self.notifier.publish(&notification).await,
            Err(e) => Err(e),
        };
        match published {
            Ok(message_id) => {
                // If this fails the claim expires and the message goes out again: a
                // repeat, which `upload_id` lets the receiver ignore, never a loss.
                self.outbox.mark_published(upload_id, &message_id).await?;
                Ok(Some(message_id))
            }
            Err(e) => {
                if let Err(release) = self.outbox.release_notification(upload_id).await {
                    tracing::warn!(upload_id, error = %release, "claim not released; it expires by itself");
                }
                Err(e)
            }
        }
    }
}

/// What one [`publish_pending`] run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PendingReport {
    /// Notifications published by this run.
    pub published: usize,
    /// Notifications this run found pending but could not publish (still pending).
    pub failed: usize,
}

/// For the reconciler: publishes every final upload whose notification is still
/// unpublished and that ended more than `older_than` ago (so an announcement in flight
/// is left to its finaliser). A failed publish is logged and counted, and stays pending
/// for the next run; only a failure to read the outbox is an error.
pub async fn publish_pending(notify: &Notify<'_>, older_than: Duration) -> Result<PendingReport, PortError> {
    let mut report = PendingReport::default();
    // A notification that failed once this run is not tried again this run.
    let mut tried = std::collections::HashSet::new();
    for _ in 0..PENDING_ROUNDS {
        let before = Utc::now() - older_than;
        let pending = notify.outbox.unpublished(before, PENDING_BATCH).await?;
        let mut progressed = false;
        for upload_id in &pending {
            if !tried.insert(upload_id.clone()) {
                continue;
            }
            progressed = true;
            match notify.publish_one(upload_id).await {
                Ok(Some(_)) => report.published += 1,
                Ok(None) => {}
                Err(e) => {
                    report.failed += 1;
                    tracing::warn!(upload_id, error = %e, "pending notification not published");
                }
            }
        }
        if pending.len() < PENDING_BATCH || !progressed {
            break;
        }
    }
    if report != PendingReport::default() {
        tracing::info!(
            published = report.published,
            failed = report.failed,
            "pending notifications"
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
