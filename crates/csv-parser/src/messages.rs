//! File-level and parse-level messages: sentences a vendor can act on.

use domain::codes::ErrorCode;
use domain::csv_input::{HeaderIssue, MAX_COLUMNS, MAX_RECORD_BYTES};
use domain::model::RowError;
use domain::validation::messages::{display_column, display_value};
use domain::validation::REQUIRED_COLUMNS;
use domain::vendor::{VendorIdIssue, VendorStatus};

pub fn unknown_vendor(vendor_id: &str) -> RowError {
    RowError::new(
        ErrorCode::UnknownVendor,
        "",
        format!(
            "Vendor \"{}\" is not registered on the platform; upload under your own vendor id \
             (uploads/<your vendor id>/<file>.csv) or contact vendor support to register.",
            display_value(vendor_id)
        ),
    )
}

/// A key whose vendor segment cannot be a vendor id: `UNKNOWN_VENDOR` without asking.
pub fn invalid_vendor_segment(segment: &str, issue: &VendorIdIssue) -> RowError {
    RowError::new(
        ErrorCode::UnknownVendor,
        "",
        format!(
            "The vendor part of the file's path, \"{}\", {issue}, so no vendor can have it; upload \
             under your own vendor id (uploads/<your vendor id>/<file>.csv).",
            display_value(segment)
        ),
    )
}

pub fn invalid_header(issue: &HeaderIssue) -> RowError {
    let message = match issue {
        HeaderIssue::TooManyColumns { columns } => format!(
            "The header has {columns} columns; a file may have at most {MAX_COLUMNS}. Remove the \
             columns you do not need (often empty columns a spreadsheet exported) and upload it again."
        ),
        HeaderIssue::TooLarge { bytes } => format!(
            "The header row is {bytes} bytes long; it may have at most {MAX_RECORD_BYTES} bytes \
             (64 KiB). Shorten the column names or remove columns, and check for a double quote \
             that is opened but never closed."
        ),
        HeaderIssue::ControlCharacter { position, character } => format!(
            "The name of column {position} of the header contains the control character U+{:04X}; \
             remove it and upload the file again.",
            u32::from(*character)
        ),
        HeaderIssue::Duplicate { name, first, second } => format!(
            "The header has the column {} twice (columns {first} and {second}; names are compared \
             trimmed and ignoring case), so its values would be ambiguous; keep one of them.",
            display_column(name)
        ),
    };
    RowError::new(ErrorCode::InvalidHeader, issue.column(), message)
}

/// More rows than the catalog's counters can hold.
pub fn too_many_rows(limit: u64) -> RowError {
    RowError::new(
        ErrorCode::FileTooLarge,
        "",
        format!("The file has more than {limit} rows; split it into smaller files and upload each one."),
    )
}

pub fn inactive_vendor(vendor_id: &str, status: VendorStatus) -> RowError {
    RowError::new(
        ErrorCode::InactiveVendor,
        "",
        format!(
            "Vendor {vendor_id:?} is {status} and may not upload products; only active vendors can \
             upload. Contact vendor support to activate the account."
        ),
    )
}

pub fn file_too_large(size: u64, limit: u64) -> RowError {
    let mb = |b: u64| b as f64 / (1024.0 * 1024.0);
    RowError::new(
        ErrorCode::FileTooLarge,
        "",
        format!(
            "The file is {:.1} MB ({size} bytes); the limit is {:.1} MB ({limit} bytes). Split it into \
             smaller files and upload each one.",
            mb(size),
            mb(limit)
        ),
    )
}

pub fn empty_file() -> RowError {
    RowError::new(
        ErrorCode::EmptyFile,
        "",
        "The file has no product rows; put the header on the first line and one product per line below it.",
    )
}

pub fn invalid_header_encoding() -> RowError {
    RowError::new(
        ErrorCode::InvalidEncoding,
        "",
        "The header row is not valid UTF-8; save the file as UTF-8 (in Excel: \"CSV UTF-8\") and upload it again.",
    )
}

pub fn missing_columns(missing: &[String]) -> RowError {
    RowError::new(
        ErrorCode::MissingColumns,
        missing.join(","),
        format!(
            "The header is missing the required column(s) {}; the header must include {}.",
            missing.join(", "),
            REQUIRED_COLUMNS.join(", ")
        ),
    )
}
