//! The sentences a vendor reads in the error report. Every message names the column and,
//! when there is one, the (trimmed) value, so the vendor can find and fix the cell.

use crate::codes::ErrorCode;
use crate::model::RowError;

/// Values longer than this many characters are shown cut, ending in `…`.
const SHOWN_CHARS: usize = 60;

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

/// `{column} "{value}" {detail}`: the common shape of a message about a value.
pub fn about_value(column: &str, value: &str, detail: &str) -> String {
    format!("{column} \"{}\" {detail}", display_value(value))
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
    }
}
