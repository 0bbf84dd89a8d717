//! Properties of the reader over arbitrary input (see `tests` for the examples): never
//! a panic or an error, every input either parses or gets coded verdicts, rows counted
//! exactly, the buffers bounded. The expected records come from a small RFC 4180 model
//! written here, independent of csv-core. Case counts and sizes are bounded so the
//! suite stays a few seconds; `fuzz/` runs the same reader for as long as you like.

use super::*;
use crate::proptest_cases as cases;
use proptest::prelude::*;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::ReadBuf;

/// A record as the model reads it: its fields and its raw size.
#[derive(Debug)]
struct Model {
    fields: Vec<Vec<u8>>,
    bytes: u64,
}

/// RFC 4180 as csv-core reads it: `\r`, `\n` or `\r\n` end a record, empty lines are
/// skipped, `""` inside quotes is a quote, text after a closing quote is kept, a quote
/// inside an unquoted field is a character, an open quote runs to the end.
fn model(input: &[u8]) -> Vec<Model> {
    #[derive(PartialEq)]
    enum S {
        StartRecord,
        StartField,
        InField,
        InQuoted,
        QuoteInQuoted,
    }
    let mut input = input;
    while let Some(rest) = input.strip_prefix(BOM) {
        input = rest;
    }
    let mut records = Vec::new();
    let (mut s, mut field, mut fields, mut start) = (S::StartRecord, Vec::new(), Vec::new(), 0usize);
    for (i, &b) in input.iter().enumerate() {
        if s == S::StartRecord {
            if b == b'\r' || b == b'\n' {
                continue;
            }
            start = i;
            s = S::StartField;
        }
        s = match (s, b) {
            (S::StartField, b'"') => S::InQuoted,
            (S::StartField | S::InField | S::QuoteInQuoted, b',') => {
                fields.push(std::mem::take(&mut field));
                S::StartField
            }
            (S::StartField | S::InField | S::QuoteInQuoted, b'\r' | b'\n') => {
                fields.push(std::mem::take(&mut field));
                records.push(Model {
                    fields: std::mem::take(&mut fields),
                    bytes: (i - start) as u64,
                });
                S::StartRecord
            }
            (S::InQuoted, b'"') => S::QuoteInQuoted,
            (S::InQuoted, _) => {
                field.push(b);
                S::InQuoted
            }
            (S::QuoteInQuoted, b'"') => {
                field.push(b'"');
                S::InQuoted
            }
            (_, _) => {
                field.push(b);
                S::InField
            }
        };
    }
    if s != S::StartRecord {
        fields.push(field);
        records.push(Model {
            fields,
            bytes: (input.len() - start) as u64,
        });
    }
    records
}

/// Serves `data` in reads of the given sizes (cycled), so records straddle reads.
struct Chunked {
    data: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
    next: usize,
}

impl AsyncRead for Chunked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let size = self.sizes[self.next % self.sizes.len()].max(1);
        self.next += 1;
        let n = size.min(buf.remaining()).min(self.data.len() - self.at);
        let at = self.at;
        buf.put_slice(&self.data[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

/// What the reader made of an input.
#[derive(Debug)]
enum Read {
    Empty,
    InvalidEncoding,
    Invalid(HeaderIssue),
    Ready(Header, Vec<Row>),
}

fn read(data: Vec<u8>, sizes: Vec<usize>) -> Read {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    runtime.block_on(async {
        let source = Chunked {
            data,
            at: 0,
            sizes,
            next: 0,
        };
        let outcome = CsvRows::open(source)
            .await
            .unwrap_or_else(|e| panic!("no I/O error: {e}"));
        match outcome {
            HeaderOutcome::Empty => Read::Empty,
            HeaderOutcome::InvalidEncoding => Read::InvalidEncoding,
            HeaderOutcome::Invalid(issue) => Read::Invalid(issue),
            HeaderOutcome::Ready(header, mut rows) => {
                let mut all = Vec::new();
                assert!(rows.buffer_bytes() <= MAX_BUFFER_BYTES);
                while let Some(row) = rows.next_row().await.unwrap_or_else(|e| panic!("{e}")) {
                    assert!(rows.buffer_bytes() <= MAX_BUFFER_BYTES, "{}", rows.buffer_bytes());
                    all.push(row);
                }
                assert_eq!(rows.rows_read(), all.len() as u64);
                Read::Ready(header, all)
            }
        }
    })
}

/// The reader agrees with the model on the header's verdict, the number of rows and
/// each row's verdict and cells.
fn check(data: Vec<u8>, sizes: Vec<usize>) -> Result<(), TestCaseError> {
    let records = model(&data);
    let got = read(data, sizes);
    let blank = |r: &Model| r.fields.iter().all(|f| f.iter().all(u8::is_ascii_whitespace));
    let too_large = |r: &Model| r.bytes > MAX_RECORD_BYTES;
    let Some(h) = records.iter().position(|r| too_large(r) || !blank(r)) else {
        prop_assert!(matches!(got, Read::Empty), "{got:?}");
        return Ok(());
    };
    let header = &records[h];
    if header.fields.len() > MAX_COLUMNS {
        let expected = HeaderIssue::TooManyColumns {
            columns: header.fields.len(),
        };
        prop_assert!(matches!(&got, Read::Invalid(i) if *i == expected), "{got:?}");
        return Ok(());
    }
    if too_large(header) {
        let expected = HeaderIssue::TooLarge { bytes: header.bytes };
        prop_assert!(matches!(&got, Read::Invalid(i) if *i == expected), "{got:?}");
        return Ok(());
    }
    let names: Result<Vec<String>, _> = header
        .fields
        .iter()
        .map(|f| String::from_utf8(f.clone()))
        .collect();
    let Ok(names) = names else {
        prop_assert!(matches!(got, Read::InvalidEncoding), "{got:?}");
        return Ok(());
    };
    let expected_header = match Header::new(names) {
        Ok(header) => header,
        Err(issue) => {
            prop_assert!(matches!(&got, Read::Invalid(i) if *i == issue), "{got:?}");
            return Ok(());
        }
    };
    let Read::Ready(got_header, rows) = got else {
        return Err(TestCaseError::fail(format!("expected a header, got {got:?}")));
    };
    prop_assert_eq!(&got_header, &expected_header);
    let data_records = &records[h + 1..];
    prop_assert_eq!(rows.len(), data_records.len(), "rows counted exactly");
    for (i, (row, record)) in rows.iter().zip(data_records).enumerate() {
        prop_assert_eq!(row.row_number, i as u64 + 1);
        let code = row.outcome.row_error().map(|e| e.error_type);
        if too_large(record) {
            prop_assert_eq!(&row.outcome, &RowOutcome::TooLarge { bytes: record.bytes });
            prop_assert!(row.outcome.product_data().is_empty());
            continue;
        }
        // The model's cells, bad bytes as U+FFFD; none when the count is wrong.
        let columns = &expected_header.columns;
        let mut cells = ProductData::new();
        if record.fields.len() == columns.len() {
            for (name, field) in columns.iter().zip(&record.fields) {
                if !name.is_empty() {
                    cells.insert(name.clone(), String::from_utf8_lossy(field).into_owned());
                }
            }
        }
        if let Some(bad) = record.fields.iter().position(|f| std::str::from_utf8(f).is_err()) {
            prop_assert_eq!(code, Some(ErrorCode::InvalidEncoding));
            let column = columns.get(bad).filter(|c| !c.is_empty()).cloned();
            prop_assert_eq!(
                &row.outcome,
                &RowOutcome::InvalidEncoding {
                    column,
                    lossy: cells.into()
                }
            );
            continue;
        }
        if record.fields.len() != columns.len() {
            prop_assert_eq!(code, Some(ErrorCode::MalformedRow));
            prop_assert_eq!(
                &row.outcome,
                &RowOutcome::Malformed {
                    field_count: record.fields.len(),
                    expected: columns.len()
                }
            );
            continue;
        }
        prop_assert_eq!(&row.outcome, &RowOutcome::Parsed(cells.into()));
    }
    Ok(())
}

/// Bytes that matter to a CSV reader, and some that should not, weighted by repetition
/// (a token is drawn as an index: cheap to generate and to shrink).
const TOKENS: &[&[u8]] = &[
    b"a",
    b"a",
    b"a",
    b"a",
    b",",
    b",",
    b",",
    b"\"",
    b"\"",
    b"\n",
    b"\n",
    b"\r",
    b"\r\n",
    b" ",
    b"\0",
    b"\xFF",
    b"\xC3",
    // A continuation byte: after a lead byte in another field, the record is UTF-8 as a
    // whole but neither field is.
    b"\xA9",
    "é".as_bytes(),
    BOM,
    b"sku",
    b"\x01",
    b"\t",
];

fn tokens(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0..TOKENS.len(), 0..max).prop_map(|picks| {
        picks
            .into_iter()
            .flat_map(|i| TOKENS[i].iter().copied())
            .collect()
    })
}

fn small_input() -> impl Strategy<Value = Vec<u8>> {
    tokens(400)
}

/// Small inputs with, here and there, one huge run of a byte (a 100 KB cell, a long
/// run of commas or quotes, an unterminated quote's tail).
fn input_with_huge_fields() -> impl Strategy<Value = Vec<u8>> {
    let huge = (
        prop::sample::select(vec![b'x', b',', b'"', b'\n', 0u8, 0xFF]),
        0usize..150_000,
    )
        .prop_map(|(b, n)| vec![b; n]);
    prop::collection::vec((tokens(12), huge), 0..5).prop_map(|parts| {
        parts
            .into_iter()
            .flat_map(|(small, huge)| small.into_iter().chain(huge))
            .collect()
    })
}

fn read_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1usize..8, 8usize..20_000], 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), max_shrink_iters: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_parse_or_get_coded_verdicts(data in small_input(), sizes in read_sizes()) {
        check(data, sizes)?;
    }

    #[test]
    fn any_byte_string_at_all(data in prop::collection::vec(any::<u8>(), 0..2_000), sizes in read_sizes()) {
        check(data, sizes)?;
    }

    #[test]
    fn valid_header_then_arbitrary_rows(rows in small_input(), sizes in read_sizes()) {
        let mut data = b"vendor_product_id,product_name,category,sku,price,stock_quantity\r\n".to_vec();
        data.extend(rows);
        check(data, sizes)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(48), max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn huge_fields_unbalanced_quotes_and_nuls_stay_bounded(data in input_with_huge_fields(), sizes in read_sizes()) {
        check(data, sizes)?;
    }

    #[test]
    fn wide_headers(columns in 990usize..1_012, repeat in prop::option::of(0usize..990), blank_every in 0usize..50) {
        let names: Vec<String> = (0..columns)
            .map(|i| match repeat {
                Some(r) if i == columns - 1 => format!("c{r}"),
                _ if blank_every > 0 && i % blank_every == 0 => String::new(),
                _ => format!("c{i}"),
            })
            .collect();
        let mut data = names.join(",").into_bytes();
        data.extend_from_slice(b"\n1,2\n");
        check(data, vec![4_096])?;
    }
}

#[test]
fn the_model_reads_what_the_examples_say() {
    let r = model(b"\xEF\xBB\xBFa,\"b\"\"c\",\"d\"e\r\n\n f\"g,\"open");
    let fields: Vec<Vec<&[u8]>> = r
        .iter()
        .map(|m| m.fields.iter().map(Vec::as_slice).collect())
        .collect();
    assert_eq!(
        fields,
        vec![vec![&b"a"[..], b"b\"c", b"de"], vec![b" f\"g", b"open"]]
    );
    assert_eq!(r[0].bytes, 13);
    assert_eq!(r[1].bytes, 10);
}
