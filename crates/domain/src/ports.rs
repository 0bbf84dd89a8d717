//! Ports: the narrow traits the handlers are generic over. Adapters implement them on
//! S3, DynamoDB and PostgreSQL (`adapters`), and in memory for unit tests.

use crate::codes::ErrorCode;
use crate::error::PortError;
use crate::model::{ProductData, RowError, UploadRecord};
use crate::report::ReportLine;
use crate::upload::UploadStatus;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::pin::Pin;

pub type ObjectReader = Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// What S3 says about an object before we read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub size: u64,
    pub etag: Option<String>,
}

/// The upload bucket.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// `None` when the object no longer exists.
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PortError>;
    /// Streams the object (the same version `head` saw, where the store can pin it).
    async fn open(&self, bucket: &str, key: &str, info: &ObjectInfo) -> Result<ObjectReader, PortError>;
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> Result<(), PortError>;
}

/// The `UploadRecords` table.
#[async_trait]
pub trait RecordStore: Send + Sync {
    /// Writes the items (new ones, or a status change of existing ones), retrying
    /// throttled and unprocessed items; an error means some items may not be written.
    async fn put_all(&self, records: &[UploadRecord]) -> Result<(), PortError>;
    /// Which of these record ids of the upload already exist.
    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError>;
}

/// `vendors`.
#[async_trait]
pub trait VendorDirectory: Send + Sync {
    /// The vendor's status, `None` when no such vendor is registered.
    async fn vendor_status(&self, vendor_id: &str) -> Result<Option<String>, PortError>;
}

/// A value a row carries in a column whose values must be unique within the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Claim {
    pub column: &'static str,
    pub value: String,
    pub row_number: u64,
}

/// What the parser knows when an upload starts.
#[derive(Debug, Clone)]
pub struct UploadStart {
    pub upload_id: String,
    pub vendor_id: String,
    pub file_name: String,
    pub s3_key: String,
    pub total_records: u64,
    pub columns: Vec<String>,
    pub uploaded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOutcome {
    /// First delivery of this upload.
    Created,
    /// A redelivery; `parsed` says whether every item was already written.
    Existing { parsed: bool },
}

/// A file-level failure (row 0).
#[derive(Debug, Clone)]
pub struct FileFailure {
    pub upload_id: String,
    pub vendor_id: String,
    pub file_name: String,
    pub s3_key: String,
    pub columns: Vec<String>,
    pub error: RowError,
    pub report_key: String,
    pub uploaded_at: DateTime<Utc>,
}

/// `upload_history` as the finaliser sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadState {
    pub upload_id: String,
    pub vendor_id: String,
    pub status: UploadStatus,
    pub total_records: i64,
    pub valid_records: i64,
    pub error_records: i64,
    pub error_file_s3_key: Option<String>,
    pub columns: Vec<String>,
}

/// A row the error processor records.
#[derive(Debug, Clone)]
pub struct ErrorRow {
    pub row_number: u64,
    pub vendor_product_id: Option<String>,
    pub errors: Vec<RowError>,
    /// `None` for rows whose cells could not be read (malformed, not UTF-8).
    pub original: Option<ProductData>,
}

/// The upload's bookkeeping in PostgreSQL: history, claims, verdict ledger, errors.
#[async_trait]
pub trait UploadLedger: Send + Sync {
    async fn register_claims(&self, upload_id: &str, claims: &[Claim]) -> Result<(), PortError>;
    async fn start_upload(&self, start: &UploadStart) -> Result<StartOutcome, PortError>;
    async fn mark_parsed(&self, upload_id: &str) -> Result<(), PortError>;
    /// Records a file-level failure: `failed` history with zero counts and its row-0 error.
    async fn fail_upload(&self, failure: &FileFailure) -> Result<(), PortError>;
    /// Records the errors of rows not yet recorded; returns how many rows were new.
    async fn record_errors(
        &self,
        upload_id: &str,
        vendor_id: &str,
        rows: &[ErrorRow],
    ) -> Result<u64, PortError>;
    async fn state(&self, upload_id: &str) -> Result<Option<UploadState>, PortError>;
    async fn report_lines(&self, upload_id: &str) -> Result<Vec<ReportLine>, PortError>;
    /// Sets the final status if the upload is still processing and complete; false otherwise.
    async fn finish(
        &self,
        upload_id: &str,
        status: UploadStatus,
        report_key: Option<&str>,
    ) -> Result<bool, PortError>;
}

/// A verdict on one data row.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Valid(Box<crate::validation::ValidProduct>),
    Error(Vec<RowError>),
}

impl Verdict {
    pub fn errors(&self) -> &[RowError] {
        match self {
            Verdict::Valid(_) => &[],
            Verdict::Error(errors) => errors,
        }
    }
}

/// A verdict as the ledger stores it (the product itself lives in `products`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredVerdict {
    Valid,
    Error(Vec<RowError>),
}

/// Everything the validator needs from PostgreSQL for one batch of one upload.
#[derive(Debug, Clone, Default)]
pub struct BatchContext {
    /// Verdicts already decided for rows of this batch (redelivery).
    pub decided: HashMap<u64, StoredVerdict>,
    /// (column, trimmed value) → lowest row number of the file carrying it.
    pub owners: HashMap<(String, String), u64>,
    /// sku → (vendor_id, vendor_product_id) of the catalog product holding it.
    pub sku_holders: HashMap<String, (String, String)>,
    /// Active category names, canonical spelling.
    pub categories: Vec<String>,
    /// The file's normalised header, in file order (errors are reported in this order).
    pub columns: Vec<String>,
}

/// The catalog side of validation.
#[async_trait]
pub trait CatalogStore: Send + Sync {
    /// One constant set of queries per batch, whatever its size.
    async fn batch_context(
        &self,
        upload_id: &str,
        row_numbers: &[u64],
        values: &[String],
    ) -> Result<BatchContext, PortError>;
    /// In one transaction: records the verdicts not yet recorded, upserts the newly
    /// valid products and counts them. Returns the verdict that stands for each row
    /// (a concurrent delivery may have decided a row first).
    async fn commit_verdicts(
        &self,
        upload_id: &str,
        vendor_id: &str,
        verdicts: &[(u64, Verdict)],
    ) -> Result<HashMap<u64, StoredVerdict>, PortError>;
}

/// The first error type of a row in column order.
pub fn first_error_type(errors: &[RowError]) -> Option<ErrorCode> {
    errors.first().map(|e| e.error_type)
}
