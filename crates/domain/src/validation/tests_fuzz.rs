//! Properties of the row rules over arbitrary cells: never a panic, at most one error
//! per column, `INVALID_CHARACTER` exactly where a cell holds a control character, no
//! control character in any message or in anything bound for PostgreSQL, and every
//! decided item within DynamoDB's limit. Bounded case counts: a few seconds.

use super::*;
use crate::codes::ErrorCode;
use crate::model::{item_size, UploadRecord, ITEM_LIMIT_BYTES};
use crate::ports::ErrorRow;
use crate::proptest_cases as cases;
use crate::text::{for_storage, is_forbidden};
use proptest::prelude::*;

/// Characters that stress the rules: digits and separators of numbers, control
/// characters (allowed and forbidden), white space, multi-byte text.
const CHARS: &[char] = &[
    '0', '1', '9', '.', '-', '+', 'e', 'a', 'Z', ' ', '_', '/', ':', '\t', '\n', '\r', '\0', '\u{1}',
    '\u{B}', '\u{1B}', '\u{7F}', '\u{85}', '\u{9F}', 'é', '日', '\u{FFFD}', '\u{FEFF}', '=',
];

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::collection::vec(prop::sample::select(CHARS), 0..12).prop_map(|c| c.into_iter().collect()),
        2 => "[ -~]{0,30}",
        1 => Just("https://example.com/a.png".to_string()),
        1 => Just("Electronics".to_string()),
        1 => (prop::sample::select(CHARS), 90usize..2_100).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

fn columns() -> Vec<String> {
    KNOWN_COLUMNS
        .iter()
        .copied()
        .chain(["colour", "notes"])
        .map(str::to_string)
        .collect()
}

fn row() -> impl Strategy<Value = ProductData> {
    prop::collection::vec(prop::option::weighted(0.8, cell()), KNOWN_COLUMNS.len() + 2).prop_map(|cells| {
        columns()
            .into_iter()
            .zip(cells)
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    })
}

fn facts() -> impl Strategy<Value = DuplicateFacts> {
    (
        prop::option::of(1u64..5),
        prop::option::of(1u64..5),
        any::<bool>(),
    )
        .prop_map(|(s, v, o)| DuplicateFacts {
            sku_taken_earlier_in_file: s,
            vendor_product_id_taken_earlier_in_file: v,
            sku_owned_by_other_product: o,
        })
}

fn item(data: ProductData, row_number: u64) -> UploadRecord {
    crate::model::sample_item(row_number, data)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), max_shrink_iters: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn every_row_gets_a_product_or_coded_errors_one_per_column(data in row(), dups in facts()) {
        let header = columns();
        let verdict = validate_row(&data, &header, &CategorySet::new(["Electronics"]), &dups);
        let errors = match verdict {
            Ok(product) => {
                // A valid product holds no forbidden character (PostgreSQL gets it as is).
                for v in [&product.vendor_product_id, &product.product_name, product.sku.as_str()] {
                    prop_assert!(!v.chars().any(is_forbidden));
                }
                Vec::new()
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                errors
            }
        };
        let mut seen = std::collections::HashSet::new();
        for e in &errors {
            prop_assert!(seen.insert(e.column.clone()), "two errors for {}", e.column);
            prop_assert!(!e.message.chars().any(is_forbidden), "{:?}", e.message);
            prop_assert!(e.message.len() < 1_000, "{} bytes", e.message.len());
        }
        for (column, raw) in &data {
            let forbidden = raw.chars().any(is_forbidden);
            let code = errors.iter().find(|e| &e.column == column).map(|e| e.error_type);
            if forbidden {
                prop_assert_eq!(code, Some(ErrorCode::InvalidCharacter), "{}", column);
            } else {
                prop_assert_ne!(code, Some(ErrorCode::InvalidCharacter), "{}", column);
            }
        }
        // Errors come in the file's column order.
        let ranks: Vec<usize> = errors
            .iter()
            .map(|e| header.iter().position(|h| *h == e.column).unwrap_or(usize::MAX))
            .collect();
        prop_assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{ranks:?}");

        // The owned values are clean and short; what goes to PostgreSQL has no NUL.
        for column in CLAIMED_COLUMNS {
            if let Some(v) = owned_value(&data, column) {
                prop_assert!(!v.chars().any(is_forbidden));
                prop_assert!(v.chars().count() <= 100);
            }
        }
        let decided = item(data, 3).decided((!errors.is_empty()).then_some(errors.as_slice()), "now");
        prop_assert!(item_size(&decided) <= ITEM_LIMIT_BYTES);
        let stored = ErrorRow::from_item(&decided);
        let texts = stored
            .errors
            .iter()
            .flat_map(|e| [e.message.as_str(), e.column.as_str()])
            .chain(stored.vendor_product_id.as_deref())
            .chain(stored.original.iter().flatten().flat_map(|(k, v)| [k.as_str(), v.as_str()]));
        for t in texts {
            prop_assert!(!t.chars().any(is_forbidden), "{t:?}");
        }
    }

    #[test]
    fn storage_form_replaces_exactly_the_forbidden_characters(s in any::<String>()) {
        let stored = for_storage(&s);
        prop_assert_eq!(stored.chars().count(), s.chars().count());
        prop_assert!(!stored.chars().any(is_forbidden));
        for (a, b) in s.chars().zip(stored.chars()) {
            prop_assert_eq!(b, if is_forbidden(a) { '\u{FFFD}' } else { a });
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(24), max_shrink_iters: 100, ..ProptestConfig::default() })]

    /// Rows as wide and as hostile as the reader lets through (up to 1,000 columns
    /// whose names fill 64 KiB, a control character in many cells): the decided item
    /// always fits DynamoDB's limit, with one error per column in error.
    #[test]
    fn the_widest_rows_still_fit_in_an_item(
        columns in 1usize..=1_000,
        name_char in prop::sample::select(vec!['c', 'é', 'ⱥ', '日', '𝄞']),
        every in 1usize..4,
        cell_len in 1usize..60,
    ) {
        // Names as long as the header's 64 KiB allows.
        let per_name = (65_536 / columns).saturating_sub(6) / name_char.len_utf8();
        let names: Vec<String> = (0..columns)
            .map(|i| format!("{i:04}{}", std::iter::repeat_n(name_char, per_name.max(1)).collect::<String>()))
            .collect();
        let row_budget = 65_536 / columns;
        let cell: String = std::iter::repeat_n('\u{1}', cell_len.min(row_budget.saturating_sub(1)).max(1)).collect();
        let data: ProductData = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), if i % every == 0 { cell.clone() } else { "x".into() }))
            .collect();
        let errors = match validate_row(&data, &names, &CategorySet::new(["Electronics"]), &DuplicateFacts::default()) {
            Ok(_) => Vec::new(),
            Err(e) => e,
        };
        let in_error = errors.iter().filter(|e| e.error_type == ErrorCode::InvalidCharacter).count();
        prop_assert_eq!(in_error, columns.div_ceil(every));
        let decided = item(data, 1).decided(Some(&errors), "now");
        prop_assert!(item_size(&decided) <= ITEM_LIMIT_BYTES, "{} bytes", item_size(&decided));
        prop_assert_eq!(decided.error_reason.len(), errors.len());
    }
}
