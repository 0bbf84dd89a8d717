//! What the vendor API reads (one vendor's uploads and errors, always filtered by the
//! vendor) and the URLs it hands out (presigned S3 requests).

use crate::error::PortError;
use crate::upload::UploadStatus;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An `upload_history` row as a vendor sees it (no internal metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadView {
    pub upload_id: String,
    pub vendor_id: String,
    pub file_name: String,
    pub s3_key: String,
    pub total_records: i64,
    pub valid_records: i64,
    pub error_records: i64,
    pub status: UploadStatus,
    pub error_file_s3_key: Option<String>,
    pub upload_timestamp: DateTime<Utc>,
    pub processing_started_at: Option<DateTime<Utc>>,
    pub processing_completed_at: Option<DateTime<Utc>>,
    pub processing_duration_seconds: Option<Decimal>,
}

impl UploadView {
    /// Where the listing resumes after this upload.
    pub fn position(&self) -> UploadPosition {
        UploadPosition {
            upload_timestamp_us: self.upload_timestamp.timestamp_micros(),
            upload_id: self.upload_id.clone(),
        }
    }
}

/// The filters of a listing; the vendor always comes from the verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFilter {
    pub vendor_id: String,
    pub status: Option<UploadStatus>,
    /// Inclusive bounds on `upload_timestamp`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// Keyset position in "newest first" order: `(upload_timestamp, upload_id)`, both
/// descending. Microseconds, PostgreSQL's precision, so the position is exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadPosition {
    #[serde(rename = "t")]
    pub upload_timestamp_us: i64,
    #[serde(rename = "u")]
    pub upload_id: String,
}

/// One `validation_errors` row as a vendor sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorView {
    pub row_number: i64,
    pub error_type: String,
    pub error_field: String,
    pub error_message: String,
}

/// Keyset position in row order: `(row_number, error_id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorPosition {
    #[serde(rename = "r")]
    pub row_number: i64,
    #[serde(rename = "e")]
    pub error_id: i64,
}

/// `upload_history` and `validation_errors`, read for one vendor.
#[async_trait]
pub trait UploadHistory: Send + Sync {
    /// Newest first, strictly after `after`, at most `limit`.
    async fn list_uploads(
        &self,
        filter: &UploadFilter,
        after: Option<&UploadPosition>,
        limit: usize,
    ) -> Result<Vec<UploadView>, PortError>;
    /// The vendor's upload; `None` when it does not exist or is another vendor's.
    async fn get_upload(&self, vendor_id: &str, upload_id: &str) -> Result<Option<UploadView>, PortError>;
    /// The upload's errors in row order, strictly after `after`, at most `limit`. The
    /// caller has checked that the upload is the vendor's; the query filters on the
    /// vendor as well.
    async fn list_errors(
        &self,
        vendor_id: &str,
        upload_id: &str,
        after: Option<&ErrorPosition>,
        limit: usize,
    ) -> Result<Vec<(ErrorPosition, ErrorView)>, PortError>;
}

/// A presigned S3 request: what the client must send, exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedRequest {
    pub method: String,
    pub url: String,
    /// Headers that are part of the signature (lower-case names).
    pub headers: Vec<(String, String)>,
}

/// Presigns S3 requests with the function's own credentials.
#[async_trait]
pub trait UrlSigner: Send + Sync {
    /// A PUT of exactly `content_length` bytes of `content_type` at `key`.
    async fn presign_put(
        &self,
        bucket: &str,
        key: &str,
        content_length: u64,
        content_type: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, PortError>;
    /// A GET of `key`.
    async fn presign_get(
        &self,
        bucket: &str,
        key: &str,
        expires_in: Duration,
    ) -> Result<PresignedRequest, PortError>;
}
