//! The sentences a vendor reads in the error report. Every message names the column and,
//! when there is one, the (trimmed) value, so the vendor can find and fix the cell.

use crate::codes::ErrorCode;
use crate::model::RowError;
use crate::text::cut;

/// Values and column names longer than this many characters are shown cut, ending in `…`.
const SHOWN_CHARS: usize = 60;
/// Column names in shortened messages (see [`shortened`]).
const SHORT_COLUMN_CHARS: usize = 20;

/// The value as shown inside a message: control characters escaped (a stray line break
/// would split the report's cell) and long values cut to [`SHOWN_CHARS`] characters.
pub fn display_value(value: &str) -> String {
    let mut shown = String::new();
    for (i, c) in value.chars().enumerate() {
        if i == SHOWN_CHARS {
            shown.push('…');
            break;
        }
        if c.is_control() {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    shown
}

/// A column name as shown inside a message: cut to [`SHOWN_CHARS`] characters (an
/// unknown column's name can be long; a header name never holds a control character).
pub fn display_column(column: &str) -> std::borrow::Cow<'_, str> {
    cut(column, SHOWN_CHARS)
}

/// `{column} "{value}" {detail}`: the common shape of a message about a value.
pub fn about_value(column: &str, value: &str, detail: &str) -> String {
    format!("{} \"{}\" {detail}", display_column(column), display_value(value))
}

/// A value with NUL or another control character (tab, LF and CR excepted).
/// `position` is the character's 1-based position in the cell.
pub fn invalid_character(column: &str, raw: &str, position: usize, character: char) -> RowError {
    RowError::new(
        ErrorCode::InvalidCharacter,
        column,
        about_value(
            column,
            raw,
            &format!(
                "contains the control character U+{:04X} at position {position}; remove it. Such \
                 characters are invisible in a spreadsheet and usually come from a database export \
                 or a copy-paste.",
                u32::from(character)
            ),
        ),
    )
}

/// `PROCESSING_FAILED`: a row the pipeline could not process after its retries (the
/// reconciler's verdict, so that the upload can end).
pub fn processing_failed() -> RowError {
    RowError::new(
        ErrorCode::ProcessingFailed,
        "",
        "this row could not be processed; nothing was imported from it. Upload it again in a \
         new file; if it fails again, contact vendor support with the upload id and row number.",
    )
}

/// The short form of a column's message, for a row whose every message does not fit
/// in its `UploadRecords` item (hundreds of columns in error): the column, cut, and
/// what to do, without the value. Row-level messages (no column) are short already
/// and are kept.
pub fn shortened(error: &RowError) -> String {
    if error.column.is_empty() {
        return error.message.clone();
    }
    let hint = match error.error_type {
        ErrorCode::InvalidCharacter => "contains a control character; remove it.",
        ErrorCode::MissingRequiredField => "is required but empty.",
        ErrorCode::FieldTooLong => "is too long; shorten it.",
        ErrorCode::InvalidPrice => "is not a valid price; use a decimal above 0 with at most 2 decimals.",
        ErrorCode::InvalidStock => "is not a whole number from 0 to 1000000.",
        ErrorCode::InvalidCategory => "is not an active category.",
        ErrorCode::InvalidSku => "may only contain letters, digits, '-', '_' and '.'.",
        ErrorCode::InvalidUrl => "is not an absolute http(s) URL.",
        ErrorCode::InvalidNumber => "is not a decimal above 0 with at most 2 decimals.",
        ErrorCode::DuplicateInFile => "repeats a value of an earlier row of this file.",
        ErrorCode::DuplicateSku => "already belongs to another product in the catalog.",
        _ => "has a value that was refused.",
    };
    format!("{} {hint}", cut(&error.column, SHORT_COLUMN_CHARS))
}

pub fn missing(column: &str) -> RowError {
    RowError::new(
        ErrorCode::MissingRequiredField,
        column,
        format!("{column} is required but empty."),
    )
}

pub fn too_long_detail(chars: usize, limit: usize) -> String {
    format!("is {chars} characters long; the limit is {limit}.")
}

pub fn duplicate_in_file(column: &str, value: &str, earlier_row: u64) -> RowError {
    RowError::new(
        ErrorCode::DuplicateInFile,
        column,
        about_value(
            column,
            value,
            &format!(
                "already appears in row {earlier_row} of this file; only the first occurrence \
                 is imported, so give each product its own {column}."
            ),
        ),
    )
}

pub fn duplicate_sku(value: &str) -> RowError {
    RowError::new(
        ErrorCode::DuplicateSku,
        "sku",
        about_value(
            "sku",
            value,
            "already belongs to another product in the catalog; use a sku that is unique on \
             the platform.",
        ),
    )
}

pub fn invalid_category(value: &str, examples: &[String]) -> RowError {
    let hint = if examples.is_empty() {
        "use one of the catalog's active categories.".to_string()
    } else {
        format!(
            "use one of the catalog's categories (e.g. {}).",
            examples.join(", ")
        )
    };
    RowError::new(
        ErrorCode::InvalidCategory,
        "category",
        about_value("category", value, &format!("is not an active category; {hint}")),
    )
}

pub fn compare_below_price(value: &str, price: &str) -> RowError {
    RowError::new(
        ErrorCode::InvalidPrice,
        "compare_at_price",
        about_value(
            "compare_at_price",
            value,
            &format!("is below the price {price}; it must be at least the price."),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_at_sixty_characters() {
        let long = "é".repeat(61);
        let shown = display_value(&long);
        assert_eq!(shown.chars().count(), 61);
        assert!(shown.ends_with('…'));
        assert_eq!(display_value(&"é".repeat(60)), "é".repeat(60));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(display_value("a\nb\tc"), "a\\nb\\tc");
        assert_eq!(display_value("a\0b"), "a\\u{0}b");
    }

    #[test]
    fn an_invalid_character_message_names_column_value_and_character_without_holding_it() {
        let e = invalid_character("product_name", "Mou\0se", 4, '\0');
        assert_eq!(e.error_type, ErrorCode::InvalidCharacter);
        assert_eq!(e.column, "product_name");
        assert!(
            e.message.starts_with(
                "product_name \"Mou\\u{0}se\" contains the control character U+0000 at position 4;"
            ),
            "{}",
            e.message
        );
        assert!(!e.message.contains('\0'));
    }

    #[test]
    fn long_column_names_are_cut_in_messages() {
        let column = "c".repeat(500);
        let e = invalid_character(&column, "\u{1}", 1, '\u{1}');
        assert_eq!(e.column, column, "error_field keeps the whole name");
        assert!(
            e.message.starts_with(&format!("{}… ", "c".repeat(60))),
            "{}",
            e.message
        );
        let short = shortened(&e);
        assert_eq!(
            short,
            format!("{}… contains a control character; remove it.", "c".repeat(20))
        );
    }

    /// Each column code keeps what to do in its short form; a row-level message is kept
    /// whole.
    #[test]
    fn every_short_form_says_what_is_wrong_with_the_column() {
        let short = |code: ErrorCode| shortened(&RowError::new(code, "price", "the long message"));
        let cases = [
            (
                ErrorCode::InvalidCharacter,
                "contains a control character; remove it.",
            ),
            (ErrorCode::MissingRequiredField, "is required but empty."),
            (ErrorCode::FieldTooLong, "is too long; shorten it."),
            (
                ErrorCode::InvalidPrice,
                "is not a valid price; use a decimal above 0 with at most 2 decimals.",
            ),
            (
                ErrorCode::InvalidStock,
                "is not a whole number from 0 to 1000000.",
            ),
            (ErrorCode::InvalidCategory, "is not an active category."),
            (
                ErrorCode::InvalidSku,
                "may only contain letters, digits, '-', '_' and '.'.",
            ),
            (ErrorCode::InvalidUrl, "is not an absolute http(s) URL."),
            (
                ErrorCode::InvalidNumber,
                "is not a decimal above 0 with at most 2 decimals.",
            ),
            (
                ErrorCode::DuplicateInFile,
                "repeats a value of an earlier row of this file.",
            ),
            (
                ErrorCode::DuplicateSku,
                "already belongs to another product in the catalog.",
            ),
            (ErrorCode::MalformedRow, "has a value that was refused."),
        ];
        for (code, hint) in cases {
            assert_eq!(short(code), format!("price {hint}"), "{code}");
        }
        let row_level = RowError::new(ErrorCode::MalformedRow, "", "Row 3 has 2 fields.");
        assert_eq!(shortened(&row_level), "Row 3 has 2 fields.");
    }

    #[test]
    fn processing_failed_says_nothing_was_imported_and_what_to_do() {
        let e = processing_failed();
        assert_eq!(e.error_type, ErrorCode::ProcessingFailed);
        assert_eq!(e.column, "");
        assert!(e
            .message
            .starts_with("this row could not be processed; nothing was imported from it."));
        assert!(e.message.contains("Upload it again"));
    }
}
