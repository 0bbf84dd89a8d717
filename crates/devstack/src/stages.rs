//! `devstack stages UPLOAD_ID`: when each stage of an upload happened, from what the
//! pipeline already records in PostgreSQL, as one JSON object (timestamps, and seconds
//! since the upload's event).
//!
//! - `uploaded`: the S3 event's time; `history_created`: csv-parser's first pass done
//!   (row count and claims registered, history row created);
//! - `first_verdict` / `last_verdict`: the validator's first and last committed batch
//!   (`upload_rows.decided_at`, a transaction's start);
//! - `first_error_recorded` / `last_error_recorded`: error-processor's
//!   (`validation_errors.created_at`);
//! - `completed`: the finaliser; `notified`: the vendor's notification published.

use anyhow::Context;

const QUERY: &str = "
    SELECT json_build_object(
        'upload_id', h.upload_id,
        'status', h.status,
        'total_records', h.total_records,
        'uploaded', h.upload_timestamp,
        'history_created', h.processing_started_at,
        'first_verdict', r.first_verdict,
        'last_verdict', r.last_verdict,
        'first_error_recorded', e.first_error,
        'last_error_recorded', e.last_error,
        'completed', h.processing_completed_at,
        'notified', h.notification_published_at,
        'seconds_since_upload', json_build_object(
            'history_created', extract(epoch FROM h.processing_started_at - h.upload_timestamp),
            'first_verdict', extract(epoch FROM r.first_verdict - h.upload_timestamp),
            'last_verdict', extract(epoch FROM r.last_verdict - h.upload_timestamp),
            'last_error_recorded', extract(epoch FROM e.last_error - h.upload_timestamp),
            'completed', extract(epoch FROM h.processing_completed_at - h.upload_timestamp),
            'notified', extract(epoch FROM h.notification_published_at - h.upload_timestamp)))
    FROM upload_history h,
         LATERAL (SELECT min(decided_at) AS first_verdict, max(decided_at) AS last_verdict
                  FROM upload_rows WHERE upload_id = h.upload_id) r,
         LATERAL (SELECT min(created_at) AS first_error, max(created_at) AS last_error
                  FROM validation_errors WHERE upload_id = h.upload_id) e
    WHERE h.upload_id = $1";

/// The stage timestamps of one upload, or `None` when it has no history row.
pub async fn stages(
    client: &tokio_postgres::Client,
    upload_id: &str,
) -> anyhow::Result<Option<serde_json::Value>> {
    let row = client
        .query_opt(QUERY, &[&upload_id])
        .await
        .context("reading the upload's stage timestamps")?;
    Ok(row.map(|r| r.get(0)))
}

pub async fn run(upload_id: &str) -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL (source .local/env)")?;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    let task = tokio::spawn(connection);
    let found = stages(&client, upload_id).await?;
    drop(client);
    let _ = task.await;
    match found {
        Some(stages) => {
            println!("{stages}");
            Ok(())
        }
        None => anyhow::bail!("no upload_history row for {upload_id}"),
    }
}
