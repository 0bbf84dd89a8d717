//! Laws of the report renderer over arbitrary columns, cells and messages: what it
//! writes reads back through a CSV reader as exactly the lines given, each cell as
//! [`neutralise`] gives it (every line as wide as the header, cells in the file's column
//! order, quotes, commas and line breaks inside cells intact), and no cell a spreadsheet
//! would read as a formula, header included.

use super::*;
use crate::proptest_cases as cases;
use proptest::prelude::*;

/// Characters that stress quoting and formula neutralisation.
const CHARS: &[char] = &[
    '=', '+', '-', '@', '\t', '\r', '\n', '"', ',', '\'', ' ', 'a', 'Z', '0', 'é', '日', '\u{FFFD}',
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(CHARS), 0..8).prop_map(|c| c.into_iter().collect())
}

fn codes() -> impl Strategy<Value = ErrorCode> {
    prop::sample::select(vec![
        ErrorCode::InvalidSku,
        ErrorCode::DuplicateInFile,
        ErrorCode::MalformedRow,
        ErrorCode::InvalidEncoding,
        ErrorCode::UnknownVendor,
    ])
}

fn report() -> impl Strategy<Value = (Vec<String>, Vec<ReportLine>)> {
    // A header's names are unique (a repeated one is INVALID_HEADER).
    prop::collection::btree_set(text(), 0..5).prop_flat_map(|columns| {
        let columns: Vec<String> = columns.into_iter().collect();
        let line = (
            0i64..100_000,
            codes(),
            text(),
            prop::option::of(prop::collection::btree_map(
                prop::sample::select(
                    columns
                        .clone()
                        .into_iter()
                        .chain(["other".to_string()])
                        .collect::<Vec<_>>(),
                ),
                text(),
                0..6,
            )),
        )
            .prop_map(|(row_number, error_type, error_message, original)| ReportLine {
                row_number,
                error_type,
                error_message,
                original,
            });
        (Just(columns), prop::collection::vec(line, 0..6))
    })
}

fn read_back(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    reader
        .records()
        .map(|r| r.map(|r| r.iter().map(str::to_string).collect()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("the report does not read back as CSV: {e}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(512), ..ProptestConfig::default() })]

    #[test]
    fn a_report_reads_back_as_its_lines_and_no_cell_is_a_formula((columns, lines) in report()) {
        let bytes = render(&columns, &lines).unwrap_or_else(|e| panic!("{e}"));
        let records = read_back(&bytes);
        prop_assert_eq!(records.len(), lines.len() + 1);
        for record in &records {
            prop_assert_eq!(record.len(), columns.len() + 3, "every line as wide as the header");
            for cell in record {
                prop_assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "a formula cell: {:?}", cell
                );
            }
        }
        let expected_header: Vec<String> = columns
            .iter()
            .map(String::as_str)
            .chain(["row_number", "error_type", "error_message"])
            .map(|c| neutralise(c).into_owned())
            .collect();
        prop_assert_eq!(&records[0], &expected_header);
        for (record, line) in records[1..].iter().zip(&lines) {
            for (cell, column) in record.iter().zip(&columns) {
                let given = line.original.as_ref().and_then(|o| o.get(column)).map_or("", String::as_str);
                prop_assert_eq!(cell, &neutralise(given));
            }
            let n = columns.len();
            prop_assert_eq!(&record[n], &line.row_number.to_string());
            prop_assert_eq!(&record[n + 1], line.error_type.as_str());
            prop_assert_eq!(&record[n + 2], &neutralise(&line.error_message));
        }
    }

    #[test]
    fn a_report_rendered_in_pieces_is_the_report_rendered_at_once(
        (columns, lines) in report(),
        cut in 1usize..4,
    ) {
        let whole = render(&columns, &lines).unwrap_or_else(|e| panic!("{e}"));
        let mut writer = ReportWriter::new(&columns).unwrap_or_else(|e| panic!("{e}"));
        let mut pieces = Vec::new();
        for chunk in lines.chunks(cut) {
            for line in chunk {
                writer.line(line).unwrap_or_else(|e| panic!("{e}"));
            }
            prop_assert!(writer.buffered().unwrap_or_default() > 0);
            pieces.extend(writer.take().unwrap_or_else(|e| panic!("{e}")));
        }
        pieces.extend(writer.take().unwrap_or_else(|e| panic!("{e}")));
        prop_assert_eq!(pieces, whole);
    }
}
