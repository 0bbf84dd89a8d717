//! Table-driven tests of `validate_row` against DESIGN.md §3.

use super::*;
use crate::codes::ErrorCode::{self, *};
use crate::model::first_error_type;
use std::str::FromStr;

/// Cells to change in the valid row, and the (column, code) pairs expected.
type Changes<'a> = &'a [(&'a str, &'a str)];
type Expected<'a> = &'a [(&'a str, ErrorCode)];
/// Owned changes (some values are built), the column and the code expected.
type Case = (Vec<(&'static str, String)>, &'static str, ErrorCode);

fn categories() -> CategorySet {
    CategorySet::new(["Electronics", "Home & Garden", "Books"])
}

fn header() -> Vec<String> {
    KNOWN_COLUMNS.iter().map(|c| c.to_string()).collect()
}

fn valid_row() -> ProductData {
    [
        ("vendor_product_id", "VP-1"),
        ("product_name", "Wireless Mouse"),
        ("category", "Electronics"),
        ("sku", "WM-001"),
        ("price", "19.99"),
        ("stock_quantity", "10"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub(super) fn with(changes: &[(&str, &str)]) -> ProductData {
    let mut row = valid_row();
    for (k, v) in changes {
        row.insert(k.to_string(), v.to_string());
    }
    row
}

fn run(row: &ProductData, dups: &DuplicateFacts) -> Result<ValidProduct, Vec<RowError>> {
    validate_row(row, &header(), &categories(), dups)
}

/// (column, code) of every error, in the order returned.
fn verdict(row: &ProductData, dups: &DuplicateFacts) -> Vec<(String, ErrorCode)> {
    match run(row, dups) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| (e.column, e.error_type)).collect(),
    }
}

fn messages_of(row: &ProductData) -> Vec<String> {
    match run(row, &DuplicateFacts::default()) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| e.message).collect(),
    }
}

#[test]
fn a_valid_row_becomes_a_product_with_defaults() {
    let product = run(&valid_row(), &DuplicateFacts::default());
    let Ok(p) = product else {
        panic!("expected valid: {product:?}");
    };
    assert_eq!(p.vendor_product_id, "VP-1");
    assert_eq!(p.category, "Electronics");
    assert_eq!(p.sku.as_str(), "WM-001");
    assert_eq!(p.price.value(), Decimal::from_str("19.99").unwrap_or_default());
    assert_eq!(p.stock_quantity, 10);
    assert_eq!(p.unit, "piece");
    assert_eq!(p.subcategory, None);
    assert_eq!(p.compare_at_price, None);
    assert_eq!(p.weight_kg, None);
    assert_eq!(p.image_url, None);
}

#[test]
fn every_row_level_code_on_its_column() {
    let long = |n: usize| "x".repeat(n);
    let cases: Vec<Case> = vec![
        (
            vec![("product_name", "   ".into())],
            "product_name",
            MissingRequiredField,
        ),
        (
            vec![("vendor_product_id", "".into())],
            "vendor_product_id",
            MissingRequiredField,
        ),
        (
            vec![("vendor_product_id", long(101))],
            "vendor_product_id",
            FieldTooLong,
        ),
        (vec![("product_name", long(201))], "product_name", FieldTooLong),
        (vec![("subcategory", long(101))], "subcategory", FieldTooLong),
        (vec![("brand", long(101))], "brand", FieldTooLong),
        (vec![("description", long(2001))], "description", FieldTooLong),
        (vec![("unit", long(21))], "unit", FieldTooLong),
        (vec![("dimensions_cm", long(51))], "dimensions_cm", FieldTooLong),
        (vec![("sku", long(101))], "sku", FieldTooLong),
        (vec![("price", "abc".into())], "price", InvalidPrice),
        (vec![("price", "0".into())], "price", InvalidPrice),
        (vec![("price", "-3".into())], "price", InvalidPrice),
        (vec![("price", "1000000.00".into())], "price", InvalidPrice),
        (vec![("price", "12.345".into())], "price", InvalidPrice),
        (vec![("price", "+12".into())], "price", InvalidPrice),
        (
            vec![("compare_at_price", "9.99".into())],
            "compare_at_price",
            InvalidPrice,
        ),
        (
            vec![("compare_at_price", "1e2".into())],
            "compare_at_price",
            InvalidPrice,
        ),
        (
            vec![("stock_quantity", "1000001".into())],
            "stock_quantity",
            InvalidStock,
        ),
        (
            vec![("stock_quantity", "-1".into())],
            "stock_quantity",
            InvalidStock,
        ),
        (
            vec![("stock_quantity", "10.0".into())],
            "stock_quantity",
            InvalidStock,
        ),
        (vec![("category", "Gadgets".into())], "category", InvalidCategory),
        (vec![("sku", "AB 12".into())], "sku", InvalidSku),
        (
            vec![("image_url", "ftp://example.com/a.png".into())],
            "image_url",
            InvalidUrl,
        ),
        (vec![("image_url", "/a.png".into())], "image_url", InvalidUrl),
        (
            vec![("image_url", format!("https://example.com/{}", long(490)))],
            "image_url",
            FieldTooLong,
        ),
        (vec![("weight_kg", "heavy".into())], "weight_kg", InvalidNumber),
        (vec![("weight_kg", "0".into())], "weight_kg", InvalidNumber),
        (vec![("weight_kg", "1.234".into())], "weight_kg", InvalidNumber),
        (vec![("weight_kg", "1000000".into())], "weight_kg", InvalidNumber),
    ];
    for (changes, column, code) in cases {
        let changes: Vec<(&str, &str)> = changes.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            verdict(&with(&changes), &DuplicateFacts::default()),
            vec![(column.to_string(), code)],
            "changes {changes:?}"
        );
    }
}

#[test]
fn a_required_column_absent_from_the_map_is_missing() {
    let mut row = valid_row();
    row.remove("stock_quantity");
    assert_eq!(
        verdict(&row, &DuplicateFacts::default()),
        vec![("stock_quantity".to_string(), MissingRequiredField)]
    );
}

#[test]
fn duplicates_in_file_and_in_catalog() {
    let earlier = DuplicateFacts {
        sku_taken_earlier_in_file: Some(3),
        vendor_product_id_taken_earlier_in_file: Some(2),
        sku_owned_by_other_product: true,
    };
    // One DUPLICATE_IN_FILE per column, and not DUPLICATE_SKU.
    assert_eq!(
        verdict(&valid_row(), &earlier),
        vec![
            ("vendor_product_id".to_string(), DuplicateInFile),
            ("sku".to_string(), DuplicateInFile),
        ]
    );
    let catalog = DuplicateFacts {
        sku_owned_by_other_product: true,
        ..DuplicateFacts::default()
    };
    assert_eq!(
        verdict(&valid_row(), &catalog),
        vec![("sku".to_string(), DuplicateSku)]
    );
    let messages: Vec<String> = match run(&valid_row(), &earlier) {
        Ok(_) => Vec::new(),
        Err(e) => e.into_iter().map(|e| e.message).collect(),
    };
    assert!(messages[0].contains("row 2"), "{messages:?}");
    assert!(messages[1].starts_with("sku \"WM-001\""), "{messages:?}");
    assert!(messages[1].contains("row 3"), "{messages:?}");
}

#[test]
fn precedence_within_a_column() {
    let all_dups = DuplicateFacts {
        sku_taken_earlier_in_file: Some(1),
        vendor_product_id_taken_earlier_in_file: Some(1),
        sku_owned_by_other_product: true,
    };
    let cases: &[(Changes<'_>, Expected<'_>)] = &[
        // missing beats everything
        (
            &[("sku", " ")],
            &[
                ("vendor_product_id", DuplicateInFile),
                ("sku", MissingRequiredField),
            ],
        ),
        // too long beats malformed and duplicates
        (
            &[("sku", &"A B".repeat(40))],
            &[("vendor_product_id", DuplicateInFile), ("sku", FieldTooLong)],
        ),
        // malformed beats duplicates
        (
            &[("sku", "A B")],
            &[("vendor_product_id", DuplicateInFile), ("sku", InvalidSku)],
        ),
        (
            &[("vendor_product_id", &"v".repeat(101))],
            &[("vendor_product_id", FieldTooLong), ("sku", DuplicateInFile)],
        ),
    ];
    for (changes, expected) in cases {
        let expected: Vec<(String, ErrorCode)> = expected.iter().map(|(c, e)| (c.to_string(), *e)).collect();
        assert_eq!(verdict(&with(changes), &all_dups), expected, "{changes:?}");
    }
    // An invalid sku is not looked up in the catalog.
    let catalog = DuplicateFacts {
        sku_owned_by_other_product: true,
        ..DuplicateFacts::default()
    };
    assert_eq!(
        verdict(&with(&[("sku", "A#")]), &catalog),
        vec![("sku".to_string(), InvalidSku)]
    );
}

#[test]
fn several_errors_come_back_in_the_files_column_order() {
    let header: Vec<String> = [
        "stock_quantity",
        "image_url",
        "sku",
        "extra",
        "price",
        "category",
        "product_name",
        "vendor_product_id",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut row = with(&[
        ("stock_quantity", "lots"),
        ("image_url", "www.example.com/x.png"),
        ("sku", "bad sku"),
        ("extra", "ignored"),
        ("price", "0"),
        ("category", "Gadgets"),
        ("product_name", ""),
        // not in the header: sorted after, in canonical order
        ("weight_kg", "-1"),
        ("brand", &"b".repeat(101)),
    ]);
    row.remove("vendor_product_id");
    let errors = match validate_row(&row, &header, &categories(), &DuplicateFacts::default()) {
        Ok(p) => panic!("expected errors, got {p:?}"),
        Err(e) => e,
    };
    let got: Vec<(&str, ErrorCode)> = errors.iter().map(|e| (e.column.as_str(), e.error_type)).collect();
    assert_eq!(
        got,
        vec![
            ("stock_quantity", InvalidStock),
            ("image_url", InvalidUrl),
            ("sku", InvalidSku),
            ("price", InvalidPrice),
            ("category", InvalidCategory),
            ("product_name", MissingRequiredField),
            ("vendor_product_id", MissingRequiredField),
            ("brand", FieldTooLong),
            ("weight_kg", InvalidNumber),
        ]
    );
    assert_eq!(first_error_type(&errors), Some(InvalidStock));
    assert_eq!(first_error_type(&[]), None);
}

/// With no header to follow (a validator that found no columns for the upload), errors
/// come in canonical column order, `vendor_product_id` (the first column) first.
#[test]
fn without_a_header_errors_come_in_canonical_column_order() {
    let mut row = with(&[("price", "free"), ("stock_quantity", "lots")]);
    row.remove("vendor_product_id");
    let errors = match validate_row(&row, &[], &categories(), &DuplicateFacts::default()) {
        Ok(p) => panic!("expected errors, got {p:?}"),
        Err(e) => e,
    };
    let got: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
    assert_eq!(got, vec!["vendor_product_id", "price", "stock_quantity"]);
}

#[test]
fn compare_at_price_rules() {
    let ok = run(
        &with(&[("compare_at_price", "19.99")]),
        &DuplicateFacts::default(),
    );
    assert_eq!(
        ok.map(|p| p.compare_at_price.map(|c| c.to_string())),
        Ok(Some("19.99".to_string()))
    );
    // Below the price.
    assert_eq!(
        verdict(
            &with(&[("compare_at_price", "19.98")]),
            &DuplicateFacts::default()
        ),
        vec![("compare_at_price".to_string(), InvalidPrice)]
    );
    // Price invalid: compare_at_price is checked on its own, not against the price.
    assert_eq!(
        verdict(
            &with(&[("price", "abc"), ("compare_at_price", "5.00")]),
            &DuplicateFacts::default()
        ),
        vec![("price".to_string(), InvalidPrice)]
    );
    assert_eq!(
        verdict(
            &with(&[("price", "2000000"), ("compare_at_price", "5.00")]),
            &DuplicateFacts::default()
        ),
        vec![("price".to_string(), InvalidPrice)]
    );
    // Both invalid: one error each, no comparison.
    assert_eq!(
        verdict(
            &with(&[("price", "1.999"), ("compare_at_price", "x")]),
            &DuplicateFacts::default()
        ),
        vec![
            ("price".to_string(), InvalidPrice),
            ("compare_at_price".to_string(), InvalidPrice)
        ]
    );
    let msg = messages_of(&with(&[("compare_at_price", "9.99")]));
    assert_eq!(
        msg,
        vec!["compare_at_price \"9.99\" is below the price 19.99; it must be at least the price."]
    );
}

#[test]
fn boundaries() {
    let ok = |changes: &[(&str, &str)]| run(&with(changes), &DuplicateFacts::default()).is_ok();
    assert!(ok(&[("price", "999999.99")]));
    assert!(!ok(&[("price", "1000000.00")]));
    assert!(!ok(&[("price", "0")]));
    assert!(!ok(&[("price", "0.00")]));
    assert!(ok(&[("price", "0.01")]));
    assert!(ok(&[("stock_quantity", "0")]));
    assert!(ok(&[("stock_quantity", "1000000")]));
    assert!(!ok(&[("stock_quantity", "1000001")]));
    assert!(!ok(&[("stock_quantity", "-1")]));
    assert!(ok(&[("weight_kg", "999999.99")]));
    assert!(ok(&[("weight_kg", "0.01")]));
    assert!(ok(&[("vendor_product_id", &"v".repeat(100))]));
    assert!(ok(&[("product_name", &"n".repeat(200))]));
    assert!(ok(&[("description", &"d".repeat(2000))]));
    assert!(ok(&[("unit", &"u".repeat(20))]));
    assert!(ok(&[("dimensions_cm", &"1".repeat(50))]));
    assert!(ok(&[("sku", &"S".repeat(100))]));
}

#[test]
fn values_are_trimmed_and_blank_optionals_are_absent() {
    let row = with(&[
        ("vendor_product_id", "  VP-9 \t"),
        ("sku", " WM-9 "),
        ("price", " 5 "),
        ("stock_quantity", " 7\r"),
        ("category", "  electronics "),
        ("unit", "   "),
        ("brand", " Acme "),
        ("weight_kg", "  "),
        ("image_url", " https://example.com/a.png "),
    ]);
    let p = match run(&row, &DuplicateFacts::default()) {
        Ok(p) => p,
        Err(e) => panic!("expected valid: {e:?}"),
    };
    assert_eq!(p.vendor_product_id, "VP-9");
    assert_eq!(p.sku.as_str(), "WM-9");
    assert_eq!(p.price.to_string(), "5.00");
    assert_eq!(p.stock_quantity, 7);
    assert_eq!(p.category, "Electronics");
    assert_eq!(p.unit, "piece");
    assert_eq!(p.brand.as_deref(), Some("Acme"));
    assert_eq!(p.weight_kg, None);
    assert_eq!(p.image_url.as_deref(), Some("https://example.com/a.png"));
    // Length is measured after trimming.
    let padded = format!("  {}  ", "n".repeat(200));
    assert!(run(&with(&[("product_name", &padded)]), &DuplicateFacts::default()).is_ok());
}

#[test]
fn category_is_matched_case_insensitively_and_stored_canonical() {
    for given in ["home & garden", "HOME & GARDEN", " Home & Garden "] {
        let got = run(&with(&[("category", given)]), &DuplicateFacts::default());
        assert_eq!(
            got.map(|p| p.category),
            Ok("Home & Garden".to_string()),
            "{given}"
        );
    }
}

#[test]
fn lengths_count_characters_not_bytes() {
    let name = "é".repeat(200);
    assert_eq!(name.len(), 400);
    assert!(run(&with(&[("product_name", &name)]), &DuplicateFacts::default()).is_ok());
    assert_eq!(
        verdict(
            &with(&[("product_name", &"é".repeat(201))]),
            &DuplicateFacts::default()
        ),
        vec![("product_name".to_string(), FieldTooLong)]
    );
}

#[test]
fn unit_and_optional_fields_are_kept() {
    let row = with(&[
        ("unit", "box"),
        ("subcategory", "Mice"),
        ("description", "A mouse."),
        ("weight_kg", "0.25"),
        ("dimensions_cm", "10x6x4"),
        ("compare_at_price", "25"),
    ]);
    let p = match run(&row, &DuplicateFacts::default()) {
        Ok(p) => p,
        Err(e) => panic!("expected valid: {e:?}"),
    };
    assert_eq!(p.unit, "box");
    assert_eq!(p.subcategory.as_deref(), Some("Mice"));
    assert_eq!(p.description.as_deref(), Some("A mouse."));
    assert_eq!(p.weight_kg.map(|w| w.to_string()), Some("0.25".to_string()));
    assert_eq!(p.dimensions_cm.as_deref(), Some("10x6x4"));
    assert_eq!(
        p.compare_at_price.map(|c| c.to_string()),
        Some("25.00".to_string())
    );
}

#[test]
fn messages_name_the_column_and_the_value() {
    let cases: &[(Changes<'_>, &str)] = &[
        (
            &[("price", "12.345")],
            "price \"12.345\" has more than 2 decimal places; use at most 2, e.g. 12.35.",
        ),
        (
            &[("category", "Gadgets")],
            "category \"Gadgets\" is not an active category; use one of the catalog's \
             categories (e.g. Books, Electronics, Home & Garden).",
        ),
        (
            &[("sku", "AB 12")],
            "sku \"AB 12\" may only contain letters, digits, '-', '_' and '.' (found ' ').",
        ),
        (&[("product_name", "")], "product_name is required but empty."),
        (
            &[("price", "1000000")],
            "price \"1000000\" exceeds the maximum of 999999.99.",
        ),
        (&[("price", "0")], "price \"0\" must be greater than 0."),
        (
            &[("stock_quantity", "-1")],
            "stock_quantity \"-1\" is out of range; use a whole number from 0 to 1000000.",
        ),
        (
            &[("stock_quantity", "10.0")],
            "stock_quantity \"10.0\" is not a whole number; use digits only, e.g. 25.",
        ),
    ];
    for (changes, expected) in cases {
        assert_eq!(
            messages_of(&with(changes)),
            vec![expected.to_string()],
            "{changes:?}"
        );
    }
    let description = "d".repeat(2150);
    let msg = messages_of(&with(&[("description", &description)]));
    assert_eq!(
        msg,
        vec![format!(
            "description \"{}…\" is 2150 characters long; the limit is 2000.",
            "d".repeat(60)
        )]
    );
}

#[test]
fn dedup_key_is_the_trimmed_non_empty_value() {
    let row = with(&[("sku", "  AB-1 "), ("vendor_product_id", "   ")]);
    assert_eq!(dedup_key(&row, "sku"), Some("AB-1"));
    assert_eq!(dedup_key(&row, "vendor_product_id"), None);
    assert_eq!(dedup_key(&row, "nope"), None);
}
