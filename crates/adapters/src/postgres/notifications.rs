//! The notification outbox: three columns of `upload_history` (V5). "Final and not
//! published" is one durable state with the final status itself, so an upload can end
//! without its notification only until someone publishes it.

use super::{status_from, PgCatalog};
use crate::classify::from_pg;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ports::{FinishedUpload, NotificationOutbox};
use domain::PortError;

#[async_trait]
impl NotificationOutbox for PgCatalog {
    async fn claim_notification(
        &self,
        upload_id: &str,
        until: DateTime<Utc>,
    ) -> Result<Option<FinishedUpload>, PortError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "UPDATE upload_history SET notification_claimed_until = $2
                 WHERE upload_id = $1 AND status <> 'processing'
                   AND notification_published_at IS NULL
                   AND (notification_claimed_until IS NULL OR notification_claimed_until < now())
                 RETURNING vendor_id, file_name, status, total_records, valid_records, error_records,
                           error_file_s3_key, processing_completed_at",
                &[&upload_id, &until],
            )
            .await
            .map_err(from_pg)?;
        let Some(row) = row else { return Ok(None) };
        let completed_at: Option<DateTime<Utc>> = row.get(7);
        Ok(Some(FinishedUpload {
            upload_id: upload_id.to_string(),
            vendor_id: row.get(0),
            file_name: row.get(1),
            status: status_from(row.get(2))?,
            total_records: i64::from(row.get::<_, i32>(3)),
            valid_records: i64::from(row.get::<_, i32>(4)),
            error_records: i64::from(row.get::<_, i32>(5)),
            error_file_s3_key: row.get(6),
            // A final row always has it (a CHECK of V1); now() is only a fallback.
            completed_at: completed_at.unwrap_or_else(Utc::now),
        }))
    }

    async fn mark_published(&self, upload_id: &str, message_id: &str) -> Result<(), PortError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE upload_history
                 SET notification_published_at = now(), notification_message_id = $2,
                     notification_claimed_until = NULL
                 WHERE upload_id = $1",
                &[&upload_id, &message_id],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn release_notification(&self, upload_id: &str) -> Result<(), PortError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE upload_history SET notification_claimed_until = NULL
                 WHERE upload_id = $1 AND notification_published_at IS NULL",
                &[&upload_id],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn unpublished(
        &self,
        finished_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<String>, PortError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT upload_id FROM upload_history
                 WHERE status <> 'processing' AND notification_published_at IS NULL
                   AND processing_completed_at < $1
                   AND (notification_claimed_until IS NULL OR notification_claimed_until < now())
                 ORDER BY processing_completed_at, upload_id
                 LIMIT $2",
                &[&finished_before, &limit],
            )
            .await
            .map_err(from_pg)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
