//! The row rules of DESIGN.md §3, pure and synchronous: [`validate_row`] turns the raw
//! cells of a row into a [`ValidProduct`] or the list of every error of the row, at most
//! one per column, sorted in the file's column order.
//!
//! Per column the first problem of this order is its error: a control character
//! (`INVALID_CHARACTER`, checked on the raw cell of every column, unknown ones
//! included), missing, too long, malformed (`INVALID_*`), `DUPLICATE_IN_FILE`,
//! `DUPLICATE_SKU`. The facts about duplicates come from the caller
//! ([`DuplicateFacts`]), who knows the earlier rows and the catalog; use
//! [`owned_value`] to get the value they are decided on.
//!
//! Why a control character comes first, before even "missing" and "too long": the
//! character says the cell is not what the vendor meant (a binary export, a stray
//! byte), it cannot be stored as given, and until it is removed its length means
//! nothing; the vendor's one fix is to remove it.

mod categories;
pub mod fields;
pub mod messages;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_characters;
#[cfg(test)]
mod tests_fuzz;

pub use categories::{Categories, CategorySet};
pub use fields::{FieldIssue, Price, Sku};

use crate::model::{ProductData, RowError};
use crate::text::first_forbidden;
use rust_decimal::Decimal;
use std::collections::HashSet;

/// The columns a file must have, in canonical order.
pub const REQUIRED_COLUMNS: [&str; 6] = [
    "vendor_product_id",
    "product_name",
    "category",
    "sku",
    "price",
    "stock_quantity",
];

/// Every column the rules know, in canonical order (the table of DESIGN.md §3).
pub const KNOWN_COLUMNS: [&str; 14] = [
    "vendor_product_id",
    "product_name",
    "category",
    "sku",
    "price",
    "stock_quantity",
    "subcategory",
    "brand",
    "description",
    "compare_at_price",
    "unit",
    "weight_kg",
    "dimensions_cm",
    "image_url",
];

pub const DEFAULT_UNIT: &str = "piece";

/// The columns whose values must be unique within a file (`DUPLICATE_IN_FILE`).
pub const CLAIMED_COLUMNS: [&str; 2] = ["sku", "vendor_product_id"];

/// vendor_product_id: 1–100 characters.
pub const VENDOR_PRODUCT_ID_MAX_CHARS: usize = 100;
/// The longest value a claimed column accepts (`Sku::MAX_CHARS`,
/// [`VENDOR_PRODUCT_ID_MAX_CHARS`]).
const CLAIMED_MAX_CHARS: usize = 100;

/// A row that passed every rule; its fields cannot hold bad values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidProduct {
    pub vendor_product_id: String,
    pub product_name: String,
    /// The canonical category name.
    pub category: String,
    pub sku: Sku,
    pub price: Price,
    pub stock_quantity: i32,
    pub subcategory: Option<String>,
    pub brand: Option<String>,
    pub description: Option<String>,
    pub compare_at_price: Option<Price>,
    /// `piece` when absent.
    pub unit: String,
    /// Scale 2, > 0, ≤ 999999.99.
    pub weight_kg: Option<Decimal>,
    pub dimensions_cm: Option<String>,
    /// As given (trimmed), known to be an absolute http(s) URL.
    pub image_url: Option<String>,
}

/// What the caller knows about the row's sku and vendor_product_id beyond the row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DuplicateFacts {
    /// The row number of an earlier row of this file carrying the same (trimmed) sku.
    pub sku_taken_earlier_in_file: Option<u64>,
    /// The row number of an earlier row of this file carrying the same (trimmed)
    /// vendor_product_id.
    pub vendor_product_id_taken_earlier_in_file: Option<u64>,
    /// The sku belongs to a catalog product with a different
    /// `(vendor_id, vendor_product_id)`.
    pub sku_owned_by_other_product: bool,
}

/// The trimmed, non-empty value of `column`: what every rule sees. `None` when the
/// column is absent or blank.
pub fn dedup_key<'a>(data: &'a ProductData, column: &str) -> Option<&'a str> {
    data.get(column).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The value row `data` owns in a claimed column ([`CLAIMED_COLUMNS`]) for duplicate
/// purposes: the trimmed value, unless the cell holds a control character
/// (`INVALID_CHARACTER` owns nothing) or is longer than the column allows (such a value
/// is `FIELD_TOO_LONG` in every row that carries it, which comes before
/// `DUPLICATE_IN_FILE`, so owning it could never decide anything). The one definition
/// used by the parser's claims and the validator's duplicate facts.
pub fn owned_value<'a>(data: &'a ProductData, column: &str) -> Option<&'a str> {
    owned_cell(data.get(column)?)
}

/// [`owned_value`] of a cell's raw value.
pub fn owned_cell(raw: &str) -> Option<&str> {
    if first_forbidden(raw).is_some() {
        return None;
    }
    Some(raw.trim()).filter(|v| !v.is_empty() && v.chars().count() <= CLAIMED_MAX_CHARS)
}

/// Collects at most one error per column.
struct Check<'a> {
    data: &'a ProductData,
    errors: Vec<RowError>,
    /// Columns already in error for a control character: no other rule looks at them.
    invalid_characters: HashSet<&'a str>,
}

impl<'a> Check<'a> {
    fn new(data: &'a ProductData) -> Check<'a> {
        let mut check = Check {
            data,
            errors: Vec::new(),
            invalid_characters: HashSet::new(),
        };
        for (column, raw) in data {
            if let Some((position, character)) = first_forbidden(raw) {
                check
                    .errors
                    .push(messages::invalid_character(column, raw, position, character));
                check.invalid_characters.insert(column.as_str());
            }
        }
        check
    }

    fn value(&self, column: &str) -> Option<&'a str> {
        if self.invalid_characters.contains(column) {
            return None;
        }
        dedup_key(self.data, column)
    }

    /// The value of a required column; `None` when absent (with `MISSING_REQUIRED_FIELD`
    /// recorded) or already in error for a control character.
    fn present(&mut self, column: &str) -> Option<&'a str> {
        if self.invalid_characters.contains(column) {
            return None;
        }
        let value = self.value(column);
        if value.is_none() {
            self.errors.push(messages::missing(column));
        }
        value
    }

    /// A required column: `None` (with an error recorded) when absent or refused.
    fn required<T>(&mut self, column: &str, parse: impl FnOnce(&str) -> Result<T, FieldIssue>) -> Option<T> {
        let value = self.present(column)?;
        self.record(column, value, parse(value))
    }

    /// An optional column: `Some(None)` when absent, `None` when refused.
    fn optional<T>(
        &mut self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, FieldIssue>,
    ) -> Option<Option<T>> {
        if self.invalid_characters.contains(column) {
            return None;
        }
        match self.value(column) {
            None => Some(None),
            Some(value) => self.record(column, value, parse(value)).map(Some),
        }
    }

    fn record<T>(&mut self, column: &str, value: &str, parsed: Result<T, FieldIssue>) -> Option<T> {
        match parsed {
            Ok(v) => Some(v),
            Err(issue) => {
                self.errors.push(issue.into_row_error(column, value));
                None
            }
        }
    }

    fn sorted(mut self, header_order: &[String]) -> Vec<RowError> {
        self.errors.sort_by_key(|e| column_rank(&e.column, header_order));
        self.errors
    }
}

/// Header position first; columns not in the header after, in canonical order.
fn column_rank(column: &str, header_order: &[String]) -> (usize, usize) {
    match header_order.iter().position(|h| h == column) {
        Some(i) => (0, i),
        None => (
            1,
            KNOWN_COLUMNS
                .iter()
                .position(|c| *c == column)
                .unwrap_or(KNOWN_COLUMNS.len()),
        ),
    }
}

fn text(limit: usize) -> impl FnOnce(&str) -> Result<String, FieldIssue> {
    move |v| fields::bounded_text(v, limit)
}

/// Apply every rule of DESIGN.md §3 to one row.
///
/// `data` holds the raw cells keyed by normalised header name; `header_order` is the
/// file's normalised header, which orders the errors returned.
pub fn validate_row(
    data: &ProductData,
    header_order: &[String],
    categories: &impl Categories,
    dups: &DuplicateFacts,
) -> Result<ValidProduct, Vec<RowError>> {
    let mut check = Check::new(data);

    let vendor_product_id = check.required("vendor_product_id", text(VENDOR_PRODUCT_ID_MAX_CHARS));
    if vendor_product_id.is_some() {
        if let (Some(row), Some(value)) = (
            dups.vendor_product_id_taken_earlier_in_file,
            check.value("vendor_product_id"),
        ) {
            check
                .errors
                .push(messages::duplicate_in_file("vendor_product_id", value, row));
        }
    }
    let product_name = check.required("product_name", text(200));
    let category = match check.present("category") {
        None => None,
        Some(value) => {
            let canonical = categories.canonical(value);
            if canonical.is_none() {
                let examples = categories.examples(3);
                check.errors.push(messages::invalid_category(value, &examples));
            }
            canonical
        }
    };
    let sku = check.required("sku", Sku::parse);
    if let (Some(_), Some(value)) = (&sku, check.value("sku")) {
        if let Some(row) = dups.sku_taken_earlier_in_file {
            check.errors.push(messages::duplicate_in_file("sku", value, row));
        } else if dups.sku_owned_by_other_product {
            check.errors.push(messages::duplicate_sku(value));
        }
    }
    let price = check.required("price", Price::parse);
    let stock_quantity = check.required("stock_quantity", fields::parse_stock);
    let subcategory = check.optional("subcategory", text(100));
    let brand = check.optional("brand", text(100));
    let description = check.optional("description", text(2000));
    let compare_at_price = check.optional("compare_at_price", Price::parse);
    if let (Some(p), Some(Some(c)), Some(value)) = (price, compare_at_price, check.value("compare_at_price"))
    {
        if c < p {
            check
                .errors
                .push(messages::compare_below_price(value, &p.to_string()));
        }
    }
    let unit = check.optional("unit", text(20));
    let weight_kg = check.optional("weight_kg", fields::parse_weight);
    let dimensions_cm = check.optional("dimensions_cm", text(50));
    let image_url = check.optional("image_url", fields::parse_image_url);

    if !check.errors.is_empty() {
        return Err(check.sorted(header_order));
    }
    match (
        vendor_product_id,
        product_name,
        category,
        sku,
        price,
        stock_quantity,
        subcategory,
        brand,
        description,
        compare_at_price,
        unit,
        weight_kg,
        dimensions_cm,
        image_url,
    ) {
        (
            Some(vendor_product_id),
            Some(product_name),
            Some(category),
            Some(sku),
            Some(price),
            Some(stock_quantity),
            Some(subcategory),
            Some(brand),
            Some(description),
            Some(compare_at_price),
            Some(unit),
            Some(weight_kg),
            Some(dimensions_cm),
            Some(image_url),
        ) => Ok(ValidProduct {
            vendor_product_id,
            product_name,
            category,
            sku,
            price,
            stock_quantity,
            subcategory,
            brand,
            description,
            compare_at_price,
            unit: unit.unwrap_or_else(|| DEFAULT_UNIT.to_string()),
            weight_kg,
            dimensions_cm,
            image_url,
        }),
        // Every `None` above recorded an error, so this arm is never taken.
        _ => Err(check.sorted(header_order)),
    }
}
