//! The reader's rules, example by example; `tests_fuzz` has the properties.

use super::*;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::ReadBuf;

const HEADER: &str = "vendor_product_id,product_name,category,sku,price,stock_quantity";

async fn open(bytes: &'static [u8]) -> HeaderOutcome<&'static [u8]> {
    match CsvRows::open(bytes).await {
        Ok(outcome) => outcome,
        Err(e) => panic!("unexpected I/O error: {e}"),
    }
}

async fn read_all(bytes: &'static [u8]) -> (Header, Vec<Row>) {
    let HeaderOutcome::Ready(header, mut rows) = open(bytes).await else {
        panic!("expected a header");
    };
    let mut all = Vec::new();
    while let Some(row) = rows.next_row().await.unwrap_or_else(|e| panic!("{e}")) {
        all.push(row);
    }
    assert_eq!(rows.rows_read(), all.len() as u64);
    (header, all)
}

fn data(pairs: &[(&str, &str)]) -> Cells {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect::<ProductData>()
        .into()
}

fn leak(s: String) -> &'static [u8] {
    Box::leak(s.into_bytes().into_boxed_slice())
}

#[test]
fn header_names_are_trimmed_and_lower_cased() {
    assert_eq!(normalise_header("  SKU "), "sku");
    assert_eq!(normalise_header("Product_Name\t"), "product_name");
}

#[tokio::test]
async fn a_simple_file_with_bom_crlf_and_unknown_columns() {
    let input = leak(format!(
        "\u{feff}{HEADER},Colour\r\nV1,Mouse,Electronics,M-1,9.99,5,red\r\nV2,Pad,Books,P-1,1,0,\r\n"
    ));
    let (header, rows) = read_all(input).await;
    assert_eq!(
        header.columns.first().map(String::as_str),
        Some("vendor_product_id")
    );
    assert_eq!(header.columns.last().map(String::as_str), Some("colour"));
    assert_eq!(header.raw.last().map(String::as_str), Some("Colour"));
    assert!(header.is_complete());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].row_number, 1);
    assert_eq!(
        rows[0].outcome,
        RowOutcome::Parsed(data(&[
            ("vendor_product_id", "V1"),
            ("product_name", "Mouse"),
            ("category", "Electronics"),
            ("sku", "M-1"),
            ("price", "9.99"),
            ("stock_quantity", "5"),
            ("colour", "red"),
        ]))
    );
    assert_eq!(rows[1].row_number, 2);
    assert_eq!(
        rows[1].outcome.product_data().get("colour").map(String::as_str),
        Some("")
    );
    assert_eq!(rows[1].outcome.row_error(), None);
}

#[tokio::test]
async fn a_bom_before_a_quoted_header_name() {
    let (header, _) = read_all(b"\xEF\xBB\xBF\"SKU\",price\n").await;
    assert_eq!(header.columns, vec!["sku".to_string(), "price".to_string()]);
}

#[tokio::test]
async fn quoted_commas_quotes_and_newlines_and_row_numbers_count_records() {
    let input = leak(format!(
        "{HEADER}\n\
         V1,\"Mouse, wireless\",Electronics,M-1,9.99,5\n\
         V2,\"The \"\"Best\"\" Pad\nsecond line\",Books,P-1,1,0\n\
         V3,Cable,Electronics,C-1,2,3\n"
    ));
    let (_, rows) = read_all(input).await;
    let names: Vec<(u64, String)> = rows
        .iter()
        .map(|r| {
            let name = r.outcome.product_data().get("product_name").cloned();
            (r.row_number, name.unwrap_or_default())
        })
        .collect();
    assert_eq!(
        names,
        vec![
            (1, "Mouse, wireless".to_string()),
            (2, "The \"Best\" Pad\nsecond line".to_string()),
            (3, "Cable".to_string()),
        ]
    );
}

#[tokio::test]
async fn raw_values_are_not_trimmed() {
    let input = leak(format!("{HEADER}\n  V1 ,Mouse,Electronics, M-1 ,9.99,5\n"));
    let (_, rows) = read_all(input).await;
    let d = rows[0].outcome.product_data();
    assert_eq!(d.get("vendor_product_id").map(String::as_str), Some("  V1 "));
    assert_eq!(d.get("sku").map(String::as_str), Some(" M-1 "));
}

#[tokio::test]
async fn header_normalisation_and_missing_required_columns() {
    let (header, rows) = read_all(b"  SKU , Price,Product_Name,extra\n").await;
    assert_eq!(header.columns, vec!["sku", "price", "product_name", "extra"]);
    assert_eq!(header.raw[0], "  SKU ");
    assert_eq!(
        header.missing_required,
        vec!["vendor_product_id", "category", "stock_quantity"]
    );
    assert!(!header.is_complete());
    assert!(rows.is_empty());
}

#[tokio::test]
async fn header_only_yields_no_rows() {
    let input = leak(format!("{HEADER}\r\n"));
    let (header, rows) = read_all(input).await;
    assert!(header.is_complete());
    assert!(rows.is_empty());
}

#[tokio::test]
async fn empty_and_blank_inputs_are_empty() {
    for input in [
        &b""[..],
        b"\n\n",
        b"\r\n",
        b"\xEF\xBB\xBF",
        b"   \n \t \n",
        b",,\n",
    ] {
        assert!(
            matches!(open(input).await, HeaderOutcome::Empty),
            "input {input:?}"
        );
    }
    // Blank lines before the header are skipped.
    let (header, _) = read_all(b"\n  \nsku,price\n").await;
    assert_eq!(header.columns, vec!["sku", "price"]);
}

#[tokio::test]
async fn a_header_that_is_not_utf8() {
    assert!(matches!(
        open(b"sku,pr\xE9is\nA,1\n").await,
        HeaderOutcome::InvalidEncoding
    ));
}

#[tokio::test]
async fn field_count_mismatch_is_malformed_and_blank_lines_are_skipped() {
    let input = leak(format!(
        "{HEADER}\n\
         V1,Mouse,Electronics,M-1,9.99\n\
         \n\
         V2,Pad,Books,P-1,1,0,extra\n\
         V3,Cable,Electronics,C-1,2,3\n"
    ));
    let (_, rows) = read_all(input).await;
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[0].outcome,
        RowOutcome::Malformed {
            field_count: 5,
            expected: 6,
        }
    );
    assert!(matches!(
        rows[1].outcome,
        RowOutcome::Malformed { field_count: 7, .. }
    ));
    assert_eq!(rows[1].row_number, 2);
    assert!(matches!(rows[2].outcome, RowOutcome::Parsed(_)));
    assert_eq!(rows[2].row_number, 3);
    let err = rows[0].outcome.row_error();
    assert_eq!(err.as_ref().map(|e| e.error_type), Some(ErrorCode::MalformedRow));
    assert_eq!(err.map(|e| e.column), Some(String::new()));
}

#[tokio::test]
async fn an_invalid_utf8_row_does_not_stop_later_rows() {
    let mut bytes = format!("{HEADER}\n").into_bytes();
    bytes.extend_from_slice(b"V1,Caf\xE9,Books,C-1,1,1\n");
    bytes.extend_from_slice(b"V2,\xFF,Books\n");
    bytes.extend_from_slice(b"V3,Tea,Books,T-1,2,2\n");
    let input: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    let (_, rows) = read_all(input).await;
    assert_eq!(rows.len(), 3);
    match &rows[0].outcome {
        RowOutcome::InvalidEncoding { column, lossy } => {
            assert_eq!(column.as_deref(), Some("product_name"));
            assert_eq!(lossy.get("product_name"), Some("Caf\u{fffd}"));
            assert_eq!(lossy.get("sku"), Some("C-1"));
        }
        other => panic!("expected InvalidEncoding, got {other:?}"),
    }
    // Wrong count and bad bytes: encoding wins, lossy map is empty.
    assert_eq!(
        rows[1].outcome,
        RowOutcome::InvalidEncoding {
            column: Some("product_name".into()),
            lossy: Cells::none()
        }
    );
    let err = rows[1].outcome.row_error();
    assert_eq!(
        err.as_ref().map(|e| e.error_type),
        Some(ErrorCode::InvalidEncoding)
    );
    assert_eq!(err.map(|e| e.column), Some(String::new()));
    assert_eq!(rows[2].row_number, 3);
    assert!(matches!(rows[2].outcome, RowOutcome::Parsed(_)));
}

#[tokio::test]
async fn a_last_line_without_newline_is_read() {
    let (_, rows) = read_all(b"sku,price\nA,1").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].outcome,
        RowOutcome::Parsed(data(&[("sku", "A"), ("price", "1")]))
    );
}

/// Produces `rows` CSV lines on demand, a few bytes at a time; fails with an I/O
/// error after `fail_after` rows when set.
struct Generated {
    next: u64,
    rows: u64,
    fail_after: Option<u64>,
    pending: Vec<u8>,
    pos: usize,
    header_sent: bool,
}

impl Generated {
    fn new(rows: u64, fail_after: Option<u64>) -> Self {
        Generated {
            next: 1,
            rows,
            fail_after,
            pending: Vec::new(),
            pos: 0,
            header_sent: false,
        }
    }
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.pos == self.pending.len() {
            self.pos = 0;
            self.pending.clear();
            if !self.header_sent {
                self.header_sent = true;
                self.pending = format!("{HEADER}\r\n").into_bytes();
            } else if self.fail_after.is_some_and(|f| self.next > f) {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "connection reset",
                )));
            } else if self.next <= self.rows {
                let n = self.next;
                self.next += 1;
                self.pending = format!(
                    "V{n},\"Product, number {n}\",Electronics,SKU-{n},{}.99,{}\r\n",
                    n % 1000,
                    n % 100
                )
                .into_bytes();
            } else {
                return Poll::Ready(Ok(()));
            }
        }
        let n = buf.remaining().min(self.pending.len() - self.pos).min(7);
        let start = self.pos;
        buf.put_slice(&self.pending[start..start + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_large_generated_input_is_streamed() {
    const ROWS: u64 = 200_000;
    let HeaderOutcome::Ready(header, mut rows) = CsvRows::open(Generated::new(ROWS, None))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("expected a header");
    };
    assert!(header.is_complete());
    let mut parsed = 0u64;
    let mut last = 0u64;
    while let Some(row) = rows.next_row().await.unwrap_or_else(|e| panic!("{e}")) {
        assert_eq!(row.row_number, last + 1);
        last = row.row_number;
        if matches!(row.outcome, RowOutcome::Parsed(_)) {
            parsed += 1;
        }
    }
    assert_eq!(parsed, ROWS);
    assert_eq!(rows.rows_read(), ROWS);
}

#[tokio::test]
async fn an_io_error_surfaces_as_an_error_and_stays_one() {
    let HeaderOutcome::Ready(_, mut rows) = CsvRows::open(Generated::new(10, Some(3)))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("expected a header");
    };
    for expected in 1..=3 {
        let row = rows.next_row().await.ok().flatten().map(|r| r.row_number);
        assert_eq!(row, Some(expected));
    }
    let err = rows.next_row().await.err().map(|e| e.kind());
    assert_eq!(err, Some(io::ErrorKind::ConnectionReset));
    assert!(rows.next_row().await.is_err());
}

#[tokio::test]
async fn an_io_error_before_the_header_is_an_error() {
    struct Broken;
    impl AsyncRead for Broken {
        fn poll_read(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            _buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "timed out")))
        }
    }
    assert_eq!(
        CsvRows::open(Broken).await.err().map(|e| e.kind()),
        Some(io::ErrorKind::TimedOut)
    );
}

/// A source made of parts, each a piece of bytes repeated some number of times,
/// produced lazily (a 100 MB input costs no memory), at most 8 KiB per read.
struct Parts {
    /// (the piece repeated to at least 8 KiB, the piece's length, total bytes)
    parts: Vec<(Vec<u8>, usize, u64)>,
    part: usize,
    /// Bytes of the current part already produced.
    done: u64,
}

const PART_CHUNK: usize = 8 * 1024;

impl Parts {
    fn new(parts: Vec<(&[u8], u64)>) -> Parts {
        let parts = parts
            .into_iter()
            .filter(|(piece, times)| !piece.is_empty() && *times > 0)
            .map(|(piece, times)| {
                let pattern = piece.repeat(PART_CHUNK / piece.len() + 2);
                (pattern, piece.len(), piece.len() as u64 * times)
            })
            .collect();
        Parts {
            parts,
            part: 0,
            done: 0,
        }
    }
}

impl AsyncRead for Parts {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut budget = PART_CHUNK.min(buf.remaining());
        while budget > 0 && self.part < self.parts.len() {
            let (pattern, len, total) = &self.parts[self.part];
            let left = total - self.done;
            if left == 0 {
                self.part += 1;
                self.done = 0;
                continue;
            }
            let at = (self.done % *len as u64) as usize;
            let n = budget
                .min(pattern.len() - at)
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            buf.put_slice(&pattern[at..at + n]);
            self.done += n as u64;
            budget -= n;
        }
        Poll::Ready(Ok(()))
    }
}

async fn read_parts(parts: Vec<(&[u8], u64)>) -> (Header, Vec<Row>, usize) {
    let HeaderOutcome::Ready(header, mut rows) = CsvRows::open(Parts::new(parts))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    else {
        panic!("expected a header");
    };
    let mut all = Vec::new();
    let mut most = rows.buffer_bytes();
    while let Some(row) = rows.next_row().await.unwrap_or_else(|e| panic!("{e}")) {
        most = most.max(rows.buffer_bytes());
        all.push(row);
    }
    (header, all, most)
}

fn too_large(bytes: u64) -> RowOutcome {
    RowOutcome::TooLarge { bytes }
}

#[tokio::test]
async fn a_row_of_exactly_64_kib_is_read_and_one_byte_more_is_too_large() {
    let max = MAX_RECORD_BYTES;
    // "a," is 2 bytes: the cell fills the rest of the record.
    let cell = max - 2;
    for (terminator, name) in [(&b"\n"[..], "LF"), (b"\r\n", "CRLF"), (b"\r", "CR")] {
        let (_, rows, _) = read_parts(vec![
            (b"a,b\n", 1),
            (b"a,", 1),
            (b"x", cell),
            (terminator, 1),
            (b"a,", 1),
            (b"y", cell + 1),
            (terminator, 1),
            (b"last,1", 1),
            (terminator, 1),
        ])
        .await;
        let first = rows[0].outcome.product_data().get("b").map(String::len);
        assert_eq!(first, Some(cell as usize), "{name}: exactly 64 KiB is a row");
        assert_eq!(rows[1].outcome, too_large(max + 1), "{name}");
        assert_eq!(rows[1].row_number, 2);
        assert!(
            matches!(rows[2].outcome, RowOutcome::Parsed(_)),
            "{name}: the next row is read"
        );
        assert_eq!(rows.len(), 3, "{name}");
    }
    // The last record, without a terminator.
    let (_, rows, _) = read_parts(vec![(b"a,b\n", 1), (b"a,", 1), (b"x", cell)]).await;
    assert_eq!(
        rows[0].outcome.product_data().get("b").map(String::len),
        Some(cell as usize)
    );
    let (_, rows, _) = read_parts(vec![(b"a,b\n", 1), (b"a,", 1), (b"x", cell + 1)]).await;
    assert_eq!(rows[0].outcome, too_large(max + 1));
}

#[tokio::test]
async fn quotes_and_delimiters_count_towards_the_raw_size() {
    // 32,767 quoted empty fields: 32,767 × 2 quote bytes + 32,766 commas = 98,300 bytes.
    let (_, rows, _) = read_parts(vec![
        (b"a\n", 1),
        (b"\"\",", 32_766),
        (b"\"\"\n", 1),
        (b"ok\n", 1),
    ])
    .await;
    assert_eq!(rows[0].outcome, too_large(98_300));
    assert_eq!(
        rows[1].outcome.product_data().get("a").map(String::as_str),
        Some("ok")
    );
}

#[tokio::test]
async fn a_100_mb_field_is_skipped_with_bounded_memory_and_later_rows_are_read() {
    let hundred_mb = 100 * 1024 * 1024;
    let (_, rows, most) = read_parts(vec![
        (format!("{HEADER}\n").as_bytes(), 1),
        (b"V1,\"", 1),
        (b"x", hundred_mb),
        (b"\",Books,S-1,1,1\nV2,Pad,Books,S-2,1,1\n", 1),
    ])
    .await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].outcome, too_large(hundred_mb + 4 + 15));
    assert!(rows[0].outcome.product_data().is_empty());
    assert_eq!(rows[1].row_number, 2);
    assert!(matches!(rows[1].outcome, RowOutcome::Parsed(_)));
    assert!(most <= MAX_BUFFER_BYTES, "{most} bytes of buffers");
    assert!(most < 700 * 1024, "{most} bytes of buffers");
}

#[tokio::test]
async fn an_unterminated_quote_makes_the_rest_of_the_file_one_row_read_in_bounded_memory() {
    let (_, rows, most) = read_parts(vec![
        (
            format!("{HEADER}\nV1,Mouse,Books,S-1,1,1\nV2,\"Pad,Books,S-2,1,1\n").as_bytes(),
            1,
        ),
        (b"V3,Cable,Books,S-3,1,1\n", 10_000),
    ])
    .await;
    assert_eq!(rows.len(), 2, "the open quote swallows every later line");
    assert!(matches!(rows[0].outcome, RowOutcome::Parsed(_)));
    assert!(matches!(rows[1].outcome, RowOutcome::TooLarge { .. }));
    let err = rows[1].outcome.row_error();
    assert_eq!(err.as_ref().map(|e| e.error_type), Some(ErrorCode::RowTooLarge));
    assert_eq!(err.as_ref().map(|e| e.column.as_str()), Some(""));
    assert!(err
        .map(|e| e.message)
        .unwrap_or_default()
        .contains("never closed"));
    assert!(most <= MAX_BUFFER_BYTES);

    // A short file with an open quote: one malformed row, as before.
    let (_, rows) = read_all(b"a,b\n1,\"2\n3,4\n").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].outcome.product_data().get("b").map(String::as_str),
        Some("2\n3,4\n")
    );
}

#[tokio::test]
async fn a_wide_row_is_malformed_and_a_huge_wide_row_too_large() {
    // 5,000 fields in 9,999 bytes: within the size limit, wrong count.
    let (_, rows, _) = read_parts(vec![(b"a,b\n", 1), (b"x,", 4_999), (b"x\n", 1)]).await;
    assert!(matches!(
        rows[0].outcome,
        RowOutcome::Malformed {
            field_count: 5_000,
            expected: 2,
            ..
        }
    ));
    // 100,000 empty fields: 99,999 bytes of commas.
    let (_, rows, most) = read_parts(vec![(b"a,b\n", 1), (b",", 99_999), (b"\n1,2\n", 1)]).await;
    assert_eq!(rows[0].outcome, too_large(99_999));
    assert!(matches!(rows[1].outcome, RowOutcome::Parsed(_)));
    assert!(most <= MAX_BUFFER_BYTES);
}

#[tokio::test]
async fn blank_lines_do_not_count_towards_a_record_size() {
    let (_, rows, _) = read_parts(vec![(b"a\n", 1), (b"\r\n", 100_000), (b"x\n", 1)]).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].outcome.product_data().get("a").map(String::as_str),
        Some("x")
    );
}

async fn header_verdict(parts: Vec<(&[u8], u64)>) -> HeaderOutcome<Parts> {
    CsvRows::open(Parts::new(parts))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_repeated_column_name_is_an_invalid_header_naming_it() {
    let outcome = open(b"sku,price, SKU \nA,1,B\n").await;
    let HeaderOutcome::Invalid(issue) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        issue,
        HeaderIssue::Duplicate {
            name: "sku".into(),
            first: 1,
            second: 3
        }
    );
    assert_eq!(issue.column(), "sku");
}

#[tokio::test]
async fn blank_header_names_are_allowed_and_their_cells_ignored() {
    let (header, rows) = read_all(b"sku,,price,\nA,x,1,y\n").await;
    assert_eq!(header.columns, vec!["sku", "", "price", ""]);
    assert_eq!(
        rows[0].outcome,
        RowOutcome::Parsed(data(&[("sku", "A"), ("price", "1")]))
    );
}

#[tokio::test]
async fn more_than_a_thousand_columns_is_an_invalid_header() {
    let ok = header_verdict(vec![(b"c,", 999), (b"c1000\n", 1)]).await;
    // 1,000 columns named "c" would be duplicates: name them apart.
    assert!(matches!(
        ok,
        HeaderOutcome::Invalid(HeaderIssue::Duplicate { .. })
    ));
    let names: Vec<String> = (1..=1_000).map(|i| format!("c{i}")).collect();
    let thousand = format!("{}\n", names.join(","));
    assert!(matches!(
        header_verdict(vec![(thousand.as_bytes(), 1)]).await,
        HeaderOutcome::Ready(..)
    ));
    let more = format!("{},c1001\n", names.join(","));
    assert!(matches!(
        header_verdict(vec![(more.as_bytes(), 1)]).await,
        HeaderOutcome::Invalid(HeaderIssue::TooManyColumns { columns: 1_001 })
    ));
    // 100,000 columns (over 64 KiB too): the count is the verdict, read in bounded memory.
    assert!(matches!(
        header_verdict(vec![(b"col,", 99_999), (b"col\nx\n", 1)]).await,
        HeaderOutcome::Invalid(HeaderIssue::TooManyColumns { columns: 100_000 })
    ));
}

#[tokio::test]
async fn a_header_over_64_kib_is_an_invalid_header() {
    let outcome = header_verdict(vec![(b"sku,price,", 1), (b"n", 70_000), (b"\nA,1,x\n", 1)]).await;
    assert!(
        matches!(
            outcome,
            HeaderOutcome::Invalid(HeaderIssue::TooLarge { bytes: 70_010 })
        ),
        "{outcome:?}"
    );
    // Lower-casing lengthens 'Ⱥ' (2 bytes) to 'ⱥ' (3 bytes): 40,000 raw bytes become 60,000
    // plus the rest.
    let outcome = header_verdict(vec![(b"sku,", 1), ("Ⱥ".as_bytes(), 25_000), (b"\n", 1)]).await;
    assert!(
        matches!(
            outcome,
            HeaderOutcome::Invalid(HeaderIssue::TooLarge { bytes: 75_004 })
        ),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_header_name_with_a_control_character_is_an_invalid_header() {
    let outcome = open(b"sku,pri\x00ce\nA,1\n").await;
    assert!(matches!(
        outcome,
        HeaderOutcome::Invalid(HeaderIssue::ControlCharacter {
            position: 2,
            character: '\0'
        })
    ));
    // Surrounding white space (vertical tab included) is trimmed away, as for cells.
    let (header, _) = read_all(b"sku\x0B,price\nA,1\n").await;
    assert_eq!(header.columns, vec!["sku", "price"]);
}

#[tokio::test]
async fn the_header_checks_come_in_their_order() {
    // Not UTF-8 and repeated: encoding first.
    assert!(matches!(
        open(b"sku,sku,pr\xE9is\n").await,
        HeaderOutcome::InvalidEncoding
    ));
    // Too many columns and not UTF-8: the count first.
    assert!(matches!(
        header_verdict(vec![(b"\xE9,", 1_000), (b"x\n", 1)]).await,
        HeaderOutcome::Invalid(HeaderIssue::TooManyColumns { columns: 1_001 })
    ));
    // A control character and a repeat: the character first.
    assert!(matches!(
        open(b"sku,sku,a\x01\n").await,
        HeaderOutcome::Invalid(HeaderIssue::ControlCharacter { position: 3, .. })
    ));
}

#[tokio::test]
async fn a_huge_blank_first_record_is_taken_as_the_header() {
    assert!(matches!(
        header_verdict(vec![(b" ", 70_000), (b"\nsku,price\n", 1)]).await,
        HeaderOutcome::Invalid(HeaderIssue::TooLarge { bytes: 70_000 })
    ));
}

#[test]
fn each_unreadable_row_has_one_row_level_error_saying_what_to_do() {
    let error = |outcome: RowOutcome| outcome.row_error().unwrap_or_else(|| panic!("an error"));
    let one = error(RowOutcome::Malformed {
        field_count: 1,
        expected: 6,
    });
    assert_eq!(
        (one.error_type, one.column.as_str()),
        (ErrorCode::MalformedRow, "")
    );
    assert!(
        one.message.starts_with("row has 1 field but the header has 6;"),
        "{}",
        one.message
    );
    let three = error(RowOutcome::Malformed {
        field_count: 3,
        expected: 6,
    });
    assert!(three
        .message
        .starts_with("row has 3 fields but the header has 6;"));

    let in_column = error(RowOutcome::InvalidEncoding {
        column: Some("product_name".into()),
        lossy: Cells::none(),
    });
    assert_eq!(in_column.error_type, ErrorCode::InvalidEncoding);
    assert_eq!(
        in_column.message,
        "row is not valid UTF-8 text (in column product_name); save the file as \"CSV UTF-8\" \
         and upload it again."
    );
    for column in [None, Some(String::new())] {
        let nowhere = error(RowOutcome::InvalidEncoding {
            column,
            lossy: Cells::none(),
        });
        assert!(
            nowhere.message.starts_with("row is not valid UTF-8 text; save"),
            "{}",
            nowhere.message
        );
    }
    let large = error(too_large(70_000));
    assert_eq!(large.error_type, ErrorCode::RowTooLarge);
    assert!(large.message.starts_with("row is 70000 bytes long;"));
    assert_eq!(RowOutcome::Parsed(Cells::none()).row_error(), None);
}

#[test]
fn the_cells_kept_are_the_parsed_or_best_effort_ones_and_none_of_a_too_large_row() {
    let cells = data(&[("sku", "A"), ("price", "1")]);
    for outcome in [
        RowOutcome::Parsed(cells.clone()),
        RowOutcome::InvalidEncoding {
            column: None,
            lossy: cells.clone(),
        },
    ] {
        assert_eq!(outcome.product_data(), cells.to_product_data());
        assert_eq!(outcome.into_cells(), cells);
    }
    let malformed = RowOutcome::Malformed {
        field_count: 1,
        expected: 2,
    };
    assert!(malformed.product_data().is_empty());
    assert!(malformed.into_cells().is_empty());
    assert!(too_large(70_000).product_data().is_empty());
    assert!(too_large(70_000).into_cells().is_empty());
}

/// A record that is UTF-8 as a whole, but a field ends inside a character (its lead
/// byte ends one field, its continuation byte starts the next): neither field is UTF-8,
/// so the row is `INVALID_ENCODING`, whatever its field count.
#[tokio::test]
async fn a_character_split_across_two_fields_is_invalid_encoding() {
    for input in [
        &b"sku,b\n\xC3,\xA9\nA,1\n"[..],
        &b"sku,b\n\"\xC3\",\"\xA9\"\nA,1\n"[..],
    ] {
        let (_, rows) = read_all(input).await;
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].outcome,
            RowOutcome::InvalidEncoding {
                column: Some("sku".into()),
                lossy: data(&[("sku", "\u{fffd}"), ("b", "\u{fffd}")])
            }
        );
        assert_eq!(
            rows[1].outcome,
            RowOutcome::Parsed(data(&[("sku", "A"), ("b", "1")]))
        );
    }
    let (_, rows) = read_all(b"sku,b\n\xC3,\xA9,x\n").await;
    assert_eq!(
        rows[0].outcome,
        RowOutcome::InvalidEncoding {
            column: Some("sku".into()),
            lossy: Cells::none()
        }
    );
}

#[tokio::test]
async fn debug_shows_the_verdict_and_the_columns() {
    assert_eq!(format!("{:?}", open(b"").await), "Empty");
    assert_eq!(format!("{:?}", open(b"a,\xFF\n").await), "InvalidEncoding");
    let ready = format!("{:?}", open(b"sku,price\nA,1\n").await);
    assert!(ready.starts_with("Ready("), "{ready}");
    assert!(
        ready.contains("CsvRows { columns: [\"sku\", \"price\"], rows_read: 0"),
        "{ready}"
    );
    let invalid = format!("{:?}", open(b"sku,SKU\n").await);
    assert!(invalid.starts_with("Invalid(Duplicate"), "{invalid}");
    assert_eq!(format!("{}", ErrorCode::InvalidPrice), "INVALID_PRICE");
}

#[tokio::test]
async fn the_reader_tells_its_columns_and_the_heap_its_buffers_hold() {
    let HeaderOutcome::Ready(_, rows) = open(b"SKU , price\nA,1\n").await else {
        panic!("a header")
    };
    assert_eq!(rows.columns(), ["sku", "price"]);
    // At least the input chunk, never more than the bound.
    let held = rows.buffer_bytes();
    assert!((1_024..=MAX_BUFFER_BYTES).contains(&held), "{held} bytes");
}

/// 65,536 commas: exactly [`MAX_RECORD_BYTES`] raw bytes and 65,537 (empty) fields, the
/// most a record may have. It is read (a malformed row, not a too-large one), and the
/// buffers it needs come close to [`MAX_BUFFER_BYTES`]: the bound is tight.
#[tokio::test]
async fn the_widest_record_allowed_is_read_and_the_buffer_bound_is_tight() {
    let (_, rows, most) = read_parts(vec![(b"a,b\n", 1), (b",", 65_536), (b"\n", 1)]).await;
    assert_eq!(rows.len(), 1);
    assert!(
        matches!(
            rows[0].outcome,
            RowOutcome::Malformed {
                field_count: 65_537,
                expected: 2,
                ..
            }
        ),
        "{:?}",
        rows[0].outcome.row_error()
    );
    assert!(most <= MAX_BUFFER_BYTES, "{most} bytes of buffers");
    assert!(
        most * 100 >= MAX_BUFFER_BYTES * 85,
        "{most} bytes of buffers for a bound of {MAX_BUFFER_BYTES}"
    );
}
