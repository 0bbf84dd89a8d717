//! The `error_type` values of the contract (DESIGN.md §3), with their stable names.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every verdict the pipeline can record about a file or a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    // File level (row_number 0).
    EmptyFile,
    MissingColumns,
    FileTooLarge,
    UnknownVendor,
    InactiveVendor,
    // File or row level: a header or row that is not UTF-8.
    InvalidEncoding,
    // Row level.
    MalformedRow,
    MissingRequiredField,
    FieldTooLong,
    InvalidPrice,
    InvalidStock,
    InvalidCategory,
    InvalidSku,
    InvalidUrl,
    InvalidNumber,
    DuplicateSku,
    DuplicateInFile,
    /// The one verdict a fault may produce: the reconciler gave up on the row after
    /// repeated failed attempts, so the upload can end.
    ProcessingFailed,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::EmptyFile,
        ErrorCode::MissingColumns,
        ErrorCode::FileTooLarge,
        ErrorCode::UnknownVendor,
        ErrorCode::InactiveVendor,
        ErrorCode::InvalidEncoding,
        ErrorCode::MalformedRow,
        ErrorCode::MissingRequiredField,
        ErrorCode::FieldTooLong,
        ErrorCode::InvalidPrice,
        ErrorCode::InvalidStock,
        ErrorCode::InvalidCategory,
        ErrorCode::InvalidSku,
        ErrorCode::InvalidUrl,
        ErrorCode::InvalidNumber,
        ErrorCode::DuplicateSku,
        ErrorCode::DuplicateInFile,
        ErrorCode::ProcessingFailed,
    ];

    /// The name stored in `error_type` columns and attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::EmptyFile => "EMPTY_FILE",
            ErrorCode::MissingColumns => "MISSING_COLUMNS",
            ErrorCode::FileTooLarge => "FILE_TOO_LARGE",
            ErrorCode::UnknownVendor => "UNKNOWN_VENDOR",
            ErrorCode::InactiveVendor => "INACTIVE_VENDOR",
            ErrorCode::InvalidEncoding => "INVALID_ENCODING",
            ErrorCode::MalformedRow => "MALFORMED_ROW",
            ErrorCode::MissingRequiredField => "MISSING_REQUIRED_FIELD",
            ErrorCode::FieldTooLong => "FIELD_TOO_LONG",
            ErrorCode::InvalidPrice => "INVALID_PRICE",
            ErrorCode::InvalidStock => "INVALID_STOCK",
            ErrorCode::InvalidCategory => "INVALID_CATEGORY",
            ErrorCode::InvalidSku => "INVALID_SKU",
            ErrorCode::InvalidUrl => "INVALID_URL",
            ErrorCode::InvalidNumber => "INVALID_NUMBER",
            ErrorCode::DuplicateSku => "DUPLICATE_SKU",
            ErrorCode::DuplicateInFile => "DUPLICATE_IN_FILE",
            ErrorCode::ProcessingFailed => "PROCESSING_FAILED",
        }
    }

    pub fn parse(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// A row with this error could not be read into cells: it owns no value for
    /// duplicate purposes and its report line leaves the original columns empty.
    pub fn leaves_cells_unread(self) -> bool {
        matches!(
            self,
            ErrorCode::MalformedRow | ErrorCode::InvalidEncoding | ErrorCode::ProcessingFailed
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_name_and_as_str_agree_for_every_code() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::parse("NOPE"), None);
    }
}
