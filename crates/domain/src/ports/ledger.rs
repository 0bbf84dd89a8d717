//! The upload's bookkeeping in PostgreSQL (history, claims, verdict ledger, errors),
//! cut by consumer: the parser's intake, the error processor's error rows, and the
//! finaliser's completion. One database serves all three, so a verdict one of them
//! records is a counter the others read.

use crate::codes::ErrorCode;
use crate::error::PortError;
use crate::model::{CellsByName, ProductData, RowError, UploadRecord};
use crate::report::ReportLine;
use crate::text::for_storage;
use crate::upload::{UploadEvent, UploadStatus};
use crate::validation::{owned_cell, CLAIMED_COLUMNS};
use crate::vendor::VendorStatus;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// `vendors`.
#[async_trait]
pub trait VendorDirectory: Send + Sync {
    /// The vendor's status, `None` when no such vendor is registered.
    async fn vendor_status(&self, vendor_id: &str) -> Result<Option<VendorStatus>, PortError>;
}

/// A value a row carries in a column whose values must be unique within the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Claim {
    pub column: &'static str,
    pub value: String,
    pub row_number: u64,
}

impl Claim {
    /// The values row `row_number` owns in the columns that must be unique within the
    /// file ([`CLAIMED_COLUMNS`]), as [`crate::validation::owned_value`] decides them (so never a value
    /// with a control character, nor one longer than the column allows).
    pub fn of_row<C: CellsByName>(row_number: u64, cells: &C) -> impl Iterator<Item = Claim> + '_ {
        CLAIMED_COLUMNS.into_iter().filter_map(move |column| {
            owned_cell(cells.cell(column)?).map(|value| Claim {
                column,
                value: value.to_string(),
                row_number,
            })
        })
    }
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
    /// The header's names as written (BOM removed, not trimmed), one per column: the
    /// report's header.
    pub header: Vec<String>,
    pub uploaded_at: DateTime<Utc>,
    /// The PUT being parsed, kept so that an interrupted parse can be resumed.
    pub source: UploadEvent,
}

/// Who parses an upload. Only the holder of the upload's parse lease writes its items,
/// so two deliveries of one event never write side by side; a lease outlives the
/// parser's own timeout, so a holder that died (a crash, a timeout) is past its lease
/// before anyone resumes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOutcome {
    /// First delivery: the history row is created and this parse holds the lease.
    Created,
    /// An earlier parse stopped half-way and its lease is over: this one holds it now.
    Resume,
    /// Another parse holds the lease (running, or died less than a lease ago).
    Busy,
    /// Every item is already written.
    Parsed,
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

/// csv-parser's side of the ledger.
#[async_trait]
pub trait UploadIntake: Send + Sync {
    /// Registers, per (column, value), the lowest row carrying it.
    async fn register_claims(&self, upload_id: &str, claims: &[Claim]) -> Result<(), PortError>;
    /// Creates the `processing` history row with the exact total, once, and takes the
    /// parse lease for `lease` when no live parse holds it.
    async fn start_upload(
        &self,
        start: &UploadStart,
        lease: std::time::Duration,
    ) -> Result<StartOutcome, PortError>;
    /// This parse stopped on an error it reported: the next delivery may resume at once.
    async fn release_parse(&self, upload_id: &str) -> Result<(), PortError>;
    /// Every item of the upload is written (and the lease is released).
    async fn mark_parsed(&self, upload_id: &str) -> Result<(), PortError>;
    /// Records a file-level failure: `failed` history with zero counts and its row-0 error.
    async fn fail_upload(&self, failure: &FileFailure) -> Result<(), PortError>;
}

/// A row the error processor records. Its text is as PostgreSQL stores it and the
/// report shows it: control characters replaced ([`for_storage`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorRow {
    pub row_number: u64,
    pub vendor_product_id: Option<String>,
    pub errors: Vec<RowError>,
    /// `None` for rows whose cells could not be read (malformed, not UTF-8, too large).
    pub original: Option<ProductData>,
}

impl ErrorRow {
    /// The row of an `error` item as it is recorded. An item marked `error` without
    /// reasons still counts, with what is known of it. Every string is passed through
    /// [`for_storage`]: the item keeps the raw cells, PostgreSQL (which refuses NUL)
    /// and the report get U+FFFD in place of each control character.
    pub fn from_item(item: &UploadRecord) -> ErrorRow {
        let mut errors = item.error_reason.clone();
        if errors.is_empty() {
            let code = item.error_type.unwrap_or(ErrorCode::MalformedRow);
            errors.push(RowError::new(
                code,
                "",
                format!("Row {} could not be processed ({code}).", item.row_number),
            ));
        }
        let unreadable = errors.iter().any(|e| e.error_type.leaves_cells_unread());
        let stored = |s: &str| for_storage(s).into_owned();
        ErrorRow {
            row_number: item.row_number,
            vendor_product_id: item.product_data.get("vendor_product_id").map(|v| stored(v)),
            errors: errors
                .into_iter()
                .map(|e| RowError {
                    error_type: e.error_type,
                    message: stored(&e.message),
                    column: stored(&e.column),
                })
                .collect(),
            original: (!unreadable).then(|| {
                item.product_data
                    .iter()
                    .map(|(k, v)| (stored(k), stored(v)))
                    .collect()
            }),
        }
    }
}

/// error-processor's side of the ledger.
#[async_trait]
pub trait ErrorLedger: Send + Sync {
    /// Records the errors of rows not yet recorded; returns how many rows were new.
    async fn record_errors(
        &self,
        upload_id: &str,
        vendor_id: &str,
        rows: &[ErrorRow],
    ) -> Result<u64, PortError>;
}

/// Where a report line stands: (row number, the error's recording order).
pub type ReportCursor = (i64, i64);

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
    /// The header's names as written, one per column (the report's header); empty when
    /// the upload did not keep them ([`ReportWriter::named`](crate::report::ReportWriter::named)
    /// then shows `columns`).
    pub header: Vec<String>,
    /// Every item of the upload is written.
    pub parsed: bool,
    /// The PUT it was parsed from (absent for file-level failures and old uploads).
    pub source: Option<UploadEvent>,
}

/// The finaliser's side of the ledger.
#[async_trait]
pub trait UploadCompletion: Send + Sync {
    async fn state(&self, upload_id: &str) -> Result<Option<UploadState>, PortError>;
    /// Up to `limit` errors of the upload in report order (row, then recording order),
    /// after `after`: each with the cursor to continue after it.
    async fn report_page(
        &self,
        upload_id: &str,
        after: Option<ReportCursor>,
        limit: usize,
    ) -> Result<Vec<(ReportCursor, ReportLine)>, PortError>;
    /// Sets the final status if the upload is still processing and complete; false otherwise.
    async fn finish(
        &self,
        upload_id: &str,
        status: UploadStatus,
        report_key: Option<&str>,
    ) -> Result<bool, PortError>;
}

/// The reconciler's side of the ledger.
#[async_trait]
pub trait Reconciliation: Send + Sync {
    /// Uploads still `processing` that started before `started_before`, oldest first.
    async fn stuck_uploads(
        &self,
        started_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<UploadState>, PortError>;
    /// Counts one more failed reconciler attempt on each of these rows; returns each
    /// row's count after this one.
    async fn count_failed_attempt(
        &self,
        upload_id: &str,
        row_numbers: &[u64],
        reason: &str,
    ) -> Result<std::collections::HashMap<u64, u32>, PortError>;
    /// The upload's data rows after `after` (1 to `total_records`) that have no verdict
    /// yet, ascending, at most `limit` of them.
    async fn undecided_rows(&self, upload_id: &str, after: u64, limit: usize) -> Result<Vec<u64>, PortError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RecordStatus;

    fn item(data: &[(&str, &str)], errors: Vec<RowError>) -> UploadRecord {
        let cells = data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        UploadRecord {
            status: RecordStatus::Error,
            error_type: errors.first().map(|e| e.error_type),
            error_reason: errors,
            ..crate::model::sample_item(7, cells)
        }
    }

    #[test]
    fn claims_skip_values_with_control_characters_and_values_too_long_to_own() {
        let data: ProductData = [("sku", " S-1\u{0}"), ("vendor_product_id", " VP-1 ")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let claims: Vec<Claim> = Claim::of_row(3, &data).collect();
        assert_eq!(
            claims,
            [Claim {
                column: "vendor_product_id",
                value: "VP-1".into(),
                row_number: 3
            }]
        );
        let long: ProductData = [("sku".to_string(), "S".repeat(101))].into_iter().collect();
        assert_eq!(Claim::of_row(1, &long).count(), 0);
    }

    #[test]
    fn an_error_row_carries_no_control_character_to_postgresql() {
        let i = item(
            &[
                ("vendor_product_id", "VP\u{0}1"),
                ("product_name", "Mou\u{1}se\tpad"),
            ],
            vec![RowError::new(
                ErrorCode::InvalidCharacter,
                "vendor_product_id",
                "vendor_product_id \"VP\\u{0}1\" contains …",
            )],
        );
        let row = ErrorRow::from_item(&i);
        assert_eq!(row.vendor_product_id.as_deref(), Some("VP\u{FFFD}1"));
        let original = row.original.unwrap_or_default();
        assert_eq!(
            original.get("product_name").map(String::as_str),
            Some("Mou\u{FFFD}se\tpad")
        );
        assert_eq!(
            row.errors[0].message,
            "vendor_product_id \"VP\\u{0}1\" contains …"
        );
        // The item itself keeps the raw cells (DynamoDB stores them as given).
        assert_eq!(
            i.product_data.get("vendor_product_id").map(String::as_str),
            Some("VP\u{0}1")
        );
    }

    #[test]
    fn a_row_too_large_is_recorded_without_cells() {
        let row = ErrorRow::from_item(&item(
            &[],
            vec![RowError::new(
                ErrorCode::RowTooLarge,
                "",
                "row is 70000 bytes long",
            )],
        ));
        assert_eq!(row.original, None);
        assert_eq!(row.vendor_product_id, None);
    }
}
