//! The vendor API's ports in memory: one vendor-filtered view of `upload_history` and
//! `validation_errors`, and a URL signer that signs nothing but shows what it was asked.

use async_trait::async_trait;
use domain::ports::{
    ErrorPosition, ErrorView, PresignedRequest, UploadFilter, UploadHistory, UploadPosition, UploadView,
    UrlSigner,
};
use domain::PortError;
use std::sync::Mutex;
use std::time::Duration;

/// A fault armed for the next call only.
#[derive(Default)]
pub struct FailNext(Mutex<bool>);

impl FailNext {
    pub fn arm(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = true;
    }

    fn take(&self, fault: impl FnOnce() -> PortError) -> Result<(), PortError> {
        let mut armed = self.0.lock().map_err(|e| PortError::rejected("memory", e))?;
        if std::mem::take(&mut *armed) {
            return Err(fault());
        }
        Ok(())
    }
}

#[derive(Default)]
pub struct InMemoryUploadHistory {
    pub uploads: Mutex<Vec<UploadView>>,
    /// `(upload_id, vendor_id, error_id, error)`.
    pub errors: Mutex<Vec<(String, String, i64, ErrorView)>>,
    /// The next call fails transiently (a database blip).
    pub fail_next: FailNext,
}

impl InMemoryUploadHistory {
    pub fn add(&self, upload: UploadView) {
        if let Ok(mut u) = self.uploads.lock() {
            u.push(upload);
        }
    }

    pub fn add_error(&self, upload_id: &str, vendor_id: &str, error: ErrorView) {
        if let Ok(mut e) = self.errors.lock() {
            let id = e.len() as i64 + 1;
            e.push((upload_id.to_string(), vendor_id.to_string(), id, error));
        }
    }

    fn trip(&self) -> Result<(), PortError> {
        self.fail_next
            .take(|| PortError::unavailable("memory PostgreSQL", "injected fault"))
    }
}

fn key(u: &UploadView) -> (i64, String) {
    (u.upload_timestamp.timestamp_micros(), u.upload_id.clone())
}

#[async_trait]
impl UploadHistory for InMemoryUploadHistory {
    async fn list_uploads(
        &self,
        filter: &UploadFilter,
        after: Option<&UploadPosition>,
        limit: usize,
    ) -> Result<Vec<UploadView>, PortError> {
        self.trip()?;
        let uploads = self
            .uploads
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        let mut mine: Vec<UploadView> = uploads
            .iter()
            .filter(|u| u.vendor_id == filter.vendor_id)
            .filter(|u| filter.status.is_none_or(|s| u.status == s))
            .filter(|u| filter.from.is_none_or(|f| u.upload_timestamp >= f))
            .filter(|u| filter.to.is_none_or(|t| u.upload_timestamp <= t))
            .filter(|u| after.is_none_or(|a| key(u) < (a.upload_timestamp_us, a.upload_id.clone())))
            .cloned()
            .collect();
        mine.sort_by_key(|u| std::cmp::Reverse(key(u)));
        mine.truncate(limit);
        Ok(mine)
    }

    async fn get_upload(&self, vendor_id: &str, upload_id: &str) -> Result<Option<UploadView>, PortError> {
        self.trip()?;
        let uploads = self
            .uploads
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        Ok(uploads
            .iter()
            .find(|u| u.upload_id == upload_id && u.vendor_id == vendor_id)
            .cloned())
    }

    async fn list_errors(
        &self,
        vendor_id: &str,
        upload_id: &str,
        after: Option<&ErrorPosition>,
        limit: usize,
    ) -> Result<Vec<(ErrorPosition, ErrorView)>, PortError> {
        self.trip()?;
        let errors = self.errors.lock().map_err(|e| PortError::rejected("memory", e))?;
        let mut rows: Vec<(ErrorPosition, ErrorView)> = errors
            .iter()
            .filter(|(u, v, _, _)| u == upload_id && v == vendor_id)
            .map(|(_, _, id, e)| {
                (
                    ErrorPosition {
                        row_number: e.row_number,
                        error_id: *id,
                    },
                    e.clone(),
                )
            })
            .filter(|(p, _)| after.is_none_or(|a| (p.row_number, p.error_id) > (a.row_number, a.error_id)))
            .collect();
        rows.sort_by_key(|(p, _)| (p.row_number, p.error_id));
        rows.truncate(limit);
        Ok(rows)
    }
}

/// Presigns with nothing: `memory://{bucket}/{key}?expires=..`, with the signed
/// headers as S3's presigner lists them.
#[derive(Default)]
pub struct InMemoryUrlSigner {
    /// The next presign fails (no credentials, say).
    pub fail_next: FailNext,
}

impl InMemoryUrlSigner {
    fn trip(&self) -> Result<(), PortError> {
        self.fail_next
            .take(|| PortError::rejected("memory S3", "injected fault: no credentials"))
    }
}

#[async_trait]
impl UrlSigner for InMemoryUrlSigner {
    async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_length: u64,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, PortError> {
        self.trip()?;
        Ok(PresignedRequest {
            method: "PUT".into(),
            url: format!(
                "memory://{bucket}/{key}?expires={}&signed=content-length;content-type;host",
                expires_in.as_secs()
            ),
            headers: vec![
                ("content-length".into(), content_length.to_string()),
                ("content-type".into(), content_type.to_string()),
            ],
        })
    }

    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, PortError> {
        self.trip()?;
        Ok(PresignedRequest {
            method: "GET".into(),
            url: format!("memory://{bucket}/{key}?expires={}", expires_in.as_secs()),
            headers: Vec::new(),
        })
    }
}
