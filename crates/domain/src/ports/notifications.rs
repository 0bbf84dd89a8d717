//! The "upload finished" notification: the outbox that remembers whether it was
//! published (in `upload_history`, next to the final status it announces) and the
//! topic it is published to.

use crate::error::PortError;
use crate::upload::UploadStatus;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A final upload, as its notification tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedUpload {
    pub upload_id: String,
    pub vendor_id: String,
    pub file_name: String,
    pub status: UploadStatus,
    pub total_records: i64,
    pub valid_records: i64,
    pub error_records: i64,
    pub error_file_s3_key: Option<String>,
    pub completed_at: DateTime<Utc>,
}

/// One message for the topic: the e-mail subject, the `MessageStructure: json` body
/// (`default` and `email`), and the attributes subscriptions filter on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub upload_id: String,
    pub subject: String,
    /// `{"default": "<json>", "email": "<text>"}`, as a string.
    pub message: String,
    /// `(name, value)`, all of type String.
    pub attributes: Vec<(String, String)>,
}

/// The topic (SNS).
#[async_trait]
pub trait UploadNotifier: Send + Sync {
    /// Publishes the message; returns the topic's message id.
    async fn publish(&self, notification: &Notification) -> Result<String, PortError>;
}

/// The outbox: which final uploads are announced. A claim is a lease, so two
/// finalisers racing (or a finaliser and the reconciler) publish once, and a claim
/// left by a crash expires and is retried.
#[async_trait]
pub trait NotificationOutbox: Send + Sync {
    /// Takes the upload's notification when the upload is final, its notification not
    /// published and not claimed by someone else (or their claim expired); the claim
    /// lasts until `until`. `None`: nothing to do for this caller.
    async fn claim_notification(
        &self,
        upload_id: &str,
        until: DateTime<Utc>,
    ) -> Result<Option<FinishedUpload>, PortError>;
    /// Records that it was published (with the topic's message id).
    async fn mark_published(&self, upload_id: &str, message_id: &str) -> Result<(), PortError>;
    /// Gives a claim back after a failed publish, so the next attempt need not wait.
    async fn release_notification(&self, upload_id: &str) -> Result<(), PortError>;
    /// Final uploads that ended before `finished_before` and whose notification is not
    /// published, oldest first, at most `limit`.
    async fn unpublished(
        &self,
        finished_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, PortError>;
}
