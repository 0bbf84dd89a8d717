//! File-level and parse-level messages: sentences a vendor can act on.

use domain::codes::ErrorCode;
use domain::model::RowError;
use domain::validation::REQUIRED_COLUMNS;
use domain::vendor::VendorStatus;

pub fn unknown_vendor(vendor_id: &str) -> RowError {
    RowError::new(
        ErrorCode::UnknownVendor,
        "",
        format!(
            "Vendor {vendor_id:?} is not registered on the platform; upload under your own vendor id \
             (uploads/<your vendor id>/<file>.csv) or contact vendor support to register."
        ),
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
