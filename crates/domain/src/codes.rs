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
    /// Two columns with one normalised name, more than 1,000 columns, a header record
    /// over 64 KiB, or a header name with a control character.
    InvalidHeader,
    // File or row level: a header or row that is not UTF-8.
    InvalidEncoding,
    // Row level.
    MalformedRow,
    /// A record over 64 KiB of raw bytes: nothing of it is kept.
    RowTooLarge,
    /// A value with NUL or another control character other than tab, LF and CR.
    InvalidCharacter,
    /// A row that still could not be processed after the reconciler's attempts.
    ProcessingFailed,
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
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 21] = [
        ErrorCode::EmptyFile,
        ErrorCode::MissingColumns,
        ErrorCode::FileTooLarge,
        ErrorCode::UnknownVendor,
        ErrorCode::InactiveVendor,
        ErrorCode::InvalidHeader,
        ErrorCode::InvalidEncoding,
        ErrorCode::MalformedRow,
        ErrorCode::RowTooLarge,
        ErrorCode::InvalidCharacter,
        ErrorCode::ProcessingFailed,
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
    ];

    /// The name stored in `error_type` columns and attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::EmptyFile => "EMPTY_FILE",
            ErrorCode::MissingColumns => "MISSING_COLUMNS",
            ErrorCode::FileTooLarge => "FILE_TOO_LARGE",
            ErrorCode::UnknownVendor => "UNKNOWN_VENDOR",
            ErrorCode::InactiveVendor => "INACTIVE_VENDOR",
            ErrorCode::InvalidHeader => "INVALID_HEADER",
            ErrorCode::InvalidEncoding => "INVALID_ENCODING",
            ErrorCode::MalformedRow => "MALFORMED_ROW",
            ErrorCode::RowTooLarge => "ROW_TOO_LARGE",
            ErrorCode::InvalidCharacter => "INVALID_CHARACTER",
            ErrorCode::ProcessingFailed => "PROCESSING_FAILED",
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
            ErrorCode::MalformedRow | ErrorCode::InvalidEncoding | ErrorCode::RowTooLarge
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

    #[test]
    fn the_hostile_input_codes_have_their_contract_names() {
        let names: Vec<&str> = [
            ErrorCode::InvalidHeader,
            ErrorCode::RowTooLarge,
            ErrorCode::InvalidCharacter,
            ErrorCode::ProcessingFailed,
        ]
        .iter()
        .map(|c| c.as_str())
        .collect();
        assert_eq!(
            names,
            [
                "INVALID_HEADER",
                "ROW_TOO_LARGE",
                "INVALID_CHARACTER",
                "PROCESSING_FAILED"
            ]
        );
        assert!(ErrorCode::RowTooLarge.leaves_cells_unread());
        assert!(!ErrorCode::InvalidCharacter.leaves_cells_unread());
        assert!(!ErrorCode::ProcessingFailed.leaves_cells_unread());
    }
}
