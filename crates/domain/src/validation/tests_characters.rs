//! `INVALID_CHARACTER` and what a row owns for duplicate purposes (DESIGN.md §3,
//! "Hostile and oversized input").

use super::tests::with as row;
use super::*;
use crate::codes::ErrorCode::{self, *};

fn header(extra: &[&str]) -> Vec<String> {
    KNOWN_COLUMNS
        .iter()
        .copied()
        .chain(extra.iter().copied())
        .map(str::to_string)
        .collect()
}

fn verdict_with(data: &ProductData, header: &[String], dups: &DuplicateFacts) -> Vec<(String, ErrorCode)> {
    match validate_row(data, header, &CategorySet::new(["Electronics"]), dups) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| (e.column, e.error_type)).collect(),
    }
}

fn verdict(data: &ProductData) -> Vec<(String, ErrorCode)> {
    verdict_with(data, &header(&["colour"]), &DuplicateFacts::default())
}

fn pairs(expected: &[(&str, ErrorCode)]) -> Vec<(String, ErrorCode)> {
    expected.iter().map(|(c, e)| (c.to_string(), *e)).collect()
}

#[test]
fn a_control_character_in_any_column_is_invalid_character_for_that_column() {
    for c in [
        '\0', '\u{1}', '\u{8}', '\u{B}', '\u{1B}', '\u{7F}', '\u{85}', '\u{9F}',
    ] {
        for column in KNOWN_COLUMNS.iter().chain(&["colour"]) {
            let value = format!("A{c}B");
            let data = row(&[(column, &value)]);
            assert_eq!(
                verdict(&data),
                pairs(&[(column, InvalidCharacter)]),
                "{column} with {c:?}"
            );
        }
    }
}

#[test]
fn tab_lf_and_cr_are_not_control_characters_for_the_rule() {
    let data = row(&[
        ("product_name", "Wireless\tMouse\r\nsecond line"),
        ("colour", "\tred\n"),
    ]);
    assert_eq!(verdict(&data), Vec::new());
}

#[test]
fn invalid_character_comes_before_missing_too_long_and_the_columns_own_code() {
    let long_name = format!("{}\u{0}", "N".repeat(300));
    let cases: &[(&str, &str)] = &[
        // A value that trims to empty still holds the character (a vertical tab is
        // white space): not "missing".
        ("product_name", "\u{B}"),
        ("product_name", &long_name),
        ("price", "12.345\u{0}"),
        ("stock_quantity", "ten\u{1}"),
        ("category", "Gadgets\u{0}"),
        ("sku", "BAD SKU\u{0}"),
        ("image_url", "ftp://x\u{0}"),
        ("weight_kg", "heavy\u{0}"),
        ("compare_at_price", "1.00\u{0}"),
    ];
    for (column, value) in cases {
        assert_eq!(
            verdict(&row(&[(column, value)])),
            pairs(&[(column, InvalidCharacter)]),
            "{column}"
        );
    }
}

#[test]
fn a_column_with_a_control_character_has_no_other_error_and_others_keep_theirs() {
    let data = row(&[
        ("sku", "A\u{0}"),
        ("price", "abc"),
        ("colour", "\u{1}"),
        ("product_name", ""),
    ]);
    assert_eq!(
        verdict(&data),
        pairs(&[
            ("product_name", MissingRequiredField),
            ("sku", InvalidCharacter),
            ("price", InvalidPrice),
            ("colour", InvalidCharacter),
        ])
    );
}

#[test]
fn errors_follow_the_files_column_order_unknown_columns_included() {
    let header: Vec<String> = [
        "colour",
        "sku",
        "vendor_product_id",
        "product_name",
        "category",
        "price",
        "stock_quantity",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    let data = row(&[("colour", "\u{0}"), ("sku", "\u{0}")]);
    assert_eq!(
        verdict_with(&data, &header, &DuplicateFacts::default()),
        pairs(&[("colour", InvalidCharacter), ("sku", InvalidCharacter)])
    );
}

#[test]
fn a_value_with_a_control_character_owns_nothing() {
    let data = row(&[("sku", " S-1\u{0} "), ("vendor_product_id", "VP\u{7F}")]);
    assert_eq!(owned_value(&data, "sku"), None);
    assert_eq!(owned_value(&data, "vendor_product_id"), None);
    let clean = row(&[("sku", "  S-1 ")]);
    assert_eq!(owned_value(&clean, "sku"), Some("S-1"));
    assert_eq!(owned_value(&clean, "vendor_product_id"), Some("VP-1"));
}

#[test]
fn a_value_longer_than_its_column_allows_owns_nothing_and_changes_no_verdict() {
    let long = "S".repeat(101);
    let data = row(&[("sku", &long)]);
    assert_eq!(owned_value(&data, "sku"), None);
    assert_eq!(
        owned_value(&row(&[("sku", &"S".repeat(100))]), "sku"),
        Some(&*"S".repeat(100))
    );
    // Such a value is too long in every row that carries it, which decides its column.
    let dups = DuplicateFacts {
        sku_taken_earlier_in_file: Some(1),
        vendor_product_id_taken_earlier_in_file: None,
        sku_owned_by_other_product: true,
    };
    assert_eq!(
        verdict_with(&data, &header(&[]), &dups),
        pairs(&[("sku", FieldTooLong)])
    );
}

#[test]
fn duplicate_facts_are_ignored_for_a_column_with_a_control_character() {
    let dups = DuplicateFacts {
        sku_taken_earlier_in_file: Some(1),
        vendor_product_id_taken_earlier_in_file: Some(1),
        sku_owned_by_other_product: true,
    };
    let data = row(&[("sku", "S\u{0}"), ("vendor_product_id", "V\u{0}")]);
    assert_eq!(
        verdict_with(&data, &header(&[]), &dups),
        pairs(&[("vendor_product_id", InvalidCharacter), ("sku", InvalidCharacter)])
    );
}

#[test]
fn no_message_carries_a_control_character() {
    let data = row(&[
        ("product_name", "\u{0}"),
        ("colour", "x\u{1B}[31m"),
        ("sku", "\u{7F}\u{85}"),
        ("price", "\u{0}12"),
    ]);
    let Err(errors) = validate_row(
        &data,
        &header(&["colour"]),
        &CategorySet::new(["Electronics"]),
        &DuplicateFacts::default(),
    ) else {
        panic!("expected errors");
    };
    assert_eq!(errors.len(), 4);
    for e in errors {
        assert!(
            !e.message.chars().any(crate::text::is_forbidden),
            "{:?}",
            e.message
        );
        assert!(e.message.contains(&e.column), "{:?}", e.message);
    }
}
