//! Ending an upload. Whoever records the last row (the validator for a valid row, the
//! error processor for an error row, the parser when every row was decided before it
//! finished) calls `finalise`; it is idempotent and safe to race.
//!
//! An upload with errors becomes final only after its report is in S3, so a final
//! status always comes with `error_file_s3_key`. The report is rendered from
//! `validation_errors` in a fixed order, so two racing finalisers write the same bytes,
//! a page at a time (`report_upload`), so memory never holds the whole report.

use crate::error::PortError;
use crate::notify::Notify;
use crate::ports::{ObjectStore, UploadCompletion, UploadState};
use crate::report_upload;
use crate::upload::{report_key, UploadStatus};

/// Returns the final status if this call (or an earlier one) ended the upload.
pub async fn finalise(
    ledger: &(impl UploadCompletion + ?Sized),
    objects: &(impl ObjectStore + ?Sized),
    bucket: &str,
    upload_id: &str,
    notify: Notify<'_>,
) -> Result<Option<UploadStatus>, PortError> {
    let Some(state) = ledger.state(upload_id).await? else {
        return Ok(None);
    };
    finalise_from(ledger, objects, bucket, state, notify).await
}

/// [`finalise`] from a state already read: the one a transaction that counted rows
/// committed, read under the upload's lock ([`crate::ports::Committed`]).
pub async fn finalise_from(
    ledger: &(impl UploadCompletion + ?Sized),
    objects: &(impl ObjectStore + ?Sized),
    bucket: &str,
    state: UploadState,
    notify: Notify<'_>,
) -> Result<Option<UploadStatus>, PortError> {
    let upload_id = state.upload_id.as_str();
    if state.status != UploadStatus::Processing {
        return Ok(Some(state.status));
    }
    if state.valid_records + state.error_records != state.total_records {
        return Ok(None);
    }
    let status = UploadStatus::final_for(state.valid_records, state.error_records);
    let key = if state.error_records > 0 {
        let key = report_key(&state.vendor_id, upload_id);
        let (columns, names) = (&state.columns, &state.header);
        report_upload::write_report(ledger, objects, bucket, &key, upload_id, columns, names).await?;
        Some(key)
    } else {
        None
    };
    ledger.finish(upload_id, status, key.as_deref()).await?;
    notify.announce(upload_id).await;
    tracing::info!(upload_id, status = status.as_str(), "upload final");
    Ok(Some(status))
}
