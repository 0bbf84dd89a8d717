//! The notification outbox in memory: the outbox columns of `upload_history`, with the
//! same claim semantics as PostgreSQL's conditional UPDATE.

use super::{lock, Memory};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{FinishedUpload, NotificationOutbox};
use domain::PortError;

#[async_trait]
impl NotificationOutbox for Memory {
    async fn claim_notification(
        &self,
        upload_id: &str,
        until: DateTime<Utc>,
    ) -> Result<Option<FinishedUpload>, PortError> {
        self.trip("claim_notification", upload_id)?;
        let mut db = lock(&self.db)?;
        let Some(h) = db.history.get_mut(upload_id) else {
            return Ok(None);
        };
        let now = Utc::now();
        let claimable = h.status.is_final()
            && h.notification.published.is_none()
            && h.notification.claimed_until.is_none_or(|t| t < now);
        if !claimable {
            return Ok(None);
        }
        h.notification.claimed_until = Some(until);
        Ok(Some(FinishedUpload {
            upload_id: upload_id.to_string(),
            vendor_id: h.vendor_id.clone(),
            file_name: h.file_name.clone(),
            status: h.status,
            total_records: h.total,
            valid_records: h.valid,
            error_records: h.errors,
            error_file_s3_key: h.report_key.clone(),
            completed_at: h.completed_at.unwrap_or(now),
        }))
    }

    async fn mark_published(&self, upload_id: &str, message_id: &str) -> Result<(), PortError> {
        self.trip("mark_published", upload_id)?;
        if let Some(h) = lock(&self.db)?.history.get_mut(upload_id) {
            h.notification.published = Some(message_id.to_string());
        }
        Ok(())
    }

    async fn release_notification(&self, upload_id: &str) -> Result<(), PortError> {
        self.trip("release_notification", upload_id)?;
        if let Some(h) = lock(&self.db)?.history.get_mut(upload_id) {
            if h.notification.published.is_none() {
                h.notification.claimed_until = None;
            }
        }
        Ok(())
    }

    async fn unpublished(
        &self,
        finished_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, PortError> {
        self.trip("unpublished", "")?;
        let db = lock(&self.db)?;
        let mut pending: Vec<(DateTime<Utc>, String)> = db
            .history
            .iter()
            .filter(|(_, h)| h.status.is_final() && h.notification.published.is_none())
            .filter_map(|(id, h)| {
                h.completed_at
                    .filter(|t| *t < finished_before)
                    .map(|t| (t, id.clone()))
            })
            .collect();
        pending.sort();
        Ok(pending.into_iter().take(limit).map(|(_, id)| id).collect())
    }
}

impl Memory {
    /// The upload's outbox state.
    pub fn outbox(&self, upload_id: &str) -> Option<super::Outbox> {
        let db = self.db.lock().ok()?;
        db.history.get(upload_id).map(|h| h.notification.clone())
    }
}
