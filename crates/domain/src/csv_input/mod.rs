//! Streaming reader of a vendor's CSV (DESIGN.md §3, "CSV format"): UTF-8 with an
//! optional BOM, RFC 4180 quoting, LF or CRLF. Records are read one at a time into one
//! reused buffer, so memory does not grow with the file (it grows with the longest
//! record only; an unterminated quote makes the rest of the file one record, bounded by
//! the object size limit checked before reading).
//!
//! Decisions where DESIGN.md leaves room:
//! - Completely empty lines are skipped by the CSV parser and do not count as rows.
//!   A line of only spaces is a record with one field (so usually `Malformed`).
//! - Leading records whose every field is blank (e.g. empty lines, `   `, `,,`) are
//!   skipped before the header; input with nothing else is `HeaderOutcome::Empty`.
//! - Duplicate header names: the first column with a name owns it in `ProductData`;
//!   later columns with the same name are still counted for the field-count check but
//!   their values are dropped. Columns whose name is blank are not put in `ProductData`.
//! - A row that is not UTF-8 is `InvalidEncoding` even when its field count is also
//!   wrong (text decoding comes before structure in what the vendor must fix).
//! - An I/O error from the underlying reader is returned as `Err` (transient, retry),
//!   never turned into a verdict; after one, every later call fails too.

use crate::codes::ErrorCode;
use crate::model::{ProductData, RowError};
use crate::validation::REQUIRED_COLUMNS;
use csv_async::{AsyncReader, AsyncReaderBuilder, ByteRecord, ErrorKind};
use std::fmt;
use std::io;
use std::io::Cursor;
use tokio::io::{AsyncRead, AsyncReadExt, Chain};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A header name as matched: trimmed and lower case.
pub fn normalise_header(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// The file's header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Normalised names, in the file's order (duplicates and blanks included, so the
    /// index of a column is the index of its field).
    pub columns: Vec<String>,
    /// The names as written (BOM removed, not trimmed), for a report of the header.
    pub raw: Vec<String>,
    /// Required columns the header lacks, in canonical order; empty when complete.
    pub missing_required: Vec<&'static str>,
}

impl Header {
    fn new(raw: Vec<String>) -> Header {
        let columns: Vec<String> = raw.iter().map(|r| normalise_header(r)).collect();
        let missing_required = REQUIRED_COLUMNS
            .iter()
            .copied()
            .filter(|req| !columns.iter().any(|c| c == req))
            .collect();
        Header {
            columns,
            raw,
            missing_required,
        }
    }

    /// No required column is missing.
    pub fn is_complete(&self) -> bool {
        self.missing_required.is_empty()
    }
}

/// What one data row turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// Raw cells (untrimmed) keyed by normalised header name.
    Parsed(ProductData),
    /// The row has `field_count` fields where the header has `expected`. `lossy` is
    /// empty (fields cannot be matched to columns).
    Malformed {
        field_count: usize,
        expected: usize,
        lossy: ProductData,
    },
    /// Some field is not UTF-8. `lossy` holds the cells decoded with U+FFFD in place of
    /// bad bytes, keyed by header when the field count matches, else empty.
    /// `column` is the normalised name of the first bad field, when it has one.
    InvalidEncoding {
        column: Option<String>,
        lossy: ProductData,
    },
}

impl RowOutcome {
    /// The cells to store with the row: parsed or best-effort.
    pub fn product_data(&self) -> &ProductData {
        match self {
            RowOutcome::Parsed(data) => data,
            RowOutcome::Malformed { lossy, .. } => lossy,
            RowOutcome::InvalidEncoding { lossy, .. } => lossy,
        }
    }

    /// The row's only error when it could not be parsed (`MALFORMED_ROW` or
    /// `INVALID_ENCODING`, with an empty column), `None` for a parsed row.
    pub fn row_error(&self) -> Option<RowError> {
        match self {
            RowOutcome::Parsed(_) => None,
            RowOutcome::Malformed {
                field_count,
                expected,
                ..
            } => {
                let fields = |n: usize| if n == 1 { "field" } else { "fields" };
                Some(RowError::new(
                    ErrorCode::MalformedRow,
                    "",
                    format!(
                        "row has {field_count} {} but the header has {expected}; put values \
                         that contain commas, quotes or line breaks in double quotes.",
                        fields(*field_count)
                    ),
                ))
            }
            RowOutcome::InvalidEncoding { column, .. } => {
                let place = match column {
                    Some(c) if !c.is_empty() => format!(" (in column {c})"),
                    _ => String::new(),
                };
                Some(RowError::new(
                    ErrorCode::InvalidEncoding,
                    "",
                    format!(
                        "row is not valid UTF-8 text{place}; save the file as \"CSV UTF-8\" \
                         and upload it again."
                    ),
                ))
            }
        }
    }
}

/// One data row with its 1-based number (records, header excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub row_number: u64,
    pub outcome: RowOutcome,
}

/// The verdict on the header, or the rows to read.
pub enum HeaderOutcome<R> {
    Ready(Header, CsvRows<R>),
    /// No bytes, or only blank lines: `EMPTY_FILE`.
    Empty,
    /// The header is not UTF-8: file-level `INVALID_ENCODING`.
    InvalidEncoding,
}

impl<R> fmt::Debug for HeaderOutcome<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderOutcome::Ready(header, rows) => f.debug_tuple("Ready").field(header).field(rows).finish(),
            HeaderOutcome::Empty => f.write_str("Empty"),
            HeaderOutcome::InvalidEncoding => f.write_str("InvalidEncoding"),
        }
    }
}

type Source<R> = Chain<Cursor<Vec<u8>>, R>;

/// The data rows of a CSV, read one at a time.
pub struct CsvRows<R> {
    // Boxed: the parser's buffers make it large, and `HeaderOutcome` carries it by value.
    reader: Box<AsyncReader<Source<R>>>,
    record: ByteRecord,
    columns: Vec<String>,
    rows_read: u64,
    failed: bool,
}

impl<R> fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvRows")
            .field("columns", &self.columns)
            .field("rows_read", &self.rows_read)
            .finish_non_exhaustive()
    }
}

fn is_blank(record: &ByteRecord) -> bool {
    record
        .iter()
        .all(|field| field.iter().all(|b| b.is_ascii_whitespace()))
}

impl<R: AsyncRead + Unpin + Send> CsvRows<R> {
    /// Read up to and including the header. `Err` only for I/O errors of `reader`.
    pub async fn open(mut reader: R) -> Result<HeaderOutcome<R>, io::Error> {
        // Strip a BOM at the byte level, before the CSV parser sees it (a BOM before a
        // quoted header name would otherwise break the quoting).
        let mut prefix = Vec::with_capacity(BOM.len());
        let mut buf = [0u8; 3];
        while prefix.len() < BOM.len() {
            let n = reader.read(&mut buf[..BOM.len() - prefix.len()]).await?;
            if n == 0 {
                break;
            }
            prefix.extend_from_slice(&buf[..n]);
        }
        if prefix == BOM {
            prefix.clear();
        }
        let reader = AsyncReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .create_reader(Cursor::new(prefix).chain(reader));
        let mut rows = CsvRows {
            reader: Box::new(reader),
            record: ByteRecord::new(),
            columns: Vec::new(),
            rows_read: 0,
            failed: false,
        };
        loop {
            if !rows.read_record().await? {
                return Ok(HeaderOutcome::Empty);
            }
            if !is_blank(&rows.record) {
                break;
            }
        }
        let mut raw = Vec::with_capacity(rows.record.len());
        for field in rows.record.iter() {
            match std::str::from_utf8(field) {
                Ok(name) => raw.push(name.to_string()),
                Err(_) => return Ok(HeaderOutcome::InvalidEncoding),
            }
        }
        let header = Header::new(raw);
        rows.columns = header.columns.clone();
        Ok(HeaderOutcome::Ready(header, rows))
    }

    /// The next data row, `None` at the end. `Err` only for I/O errors of the reader.
    pub async fn next_row(&mut self) -> Result<Option<Row>, io::Error> {
        match self.read_record().await {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => return Err(e),
        }
        self.rows_read += 1;
        Ok(Some(Row {
            row_number: self.rows_read,
            outcome: self.classify(),
        }))
    }

    /// Data rows returned so far (so after the end: the number of data rows).
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// The header's normalised names, in file order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Read one record into `self.record`. A parse error other than I/O cannot happen
    /// with flexible byte records; should one occur, the record is kept for
    /// `classify`, which sees its field count.
    async fn read_record(&mut self) -> Result<bool, io::Error> {
        if self.failed {
            return Err(io::Error::other("the CSV source failed earlier"));
        }
        match self.reader.read_byte_record(&mut self.record).await {
            Ok(more) => Ok(more),
            Err(e) => match e.into_kind() {
                ErrorKind::Io(io_error) => {
                    self.failed = true;
                    Err(io_error)
                }
                _ => Ok(true),
            },
        }
    }

    fn classify(&self) -> RowOutcome {
        let expected = self.columns.len();
        let field_count = self.record.len();
        let mut cells = Vec::with_capacity(field_count);
        let mut first_bad: Option<usize> = None;
        for (i, field) in self.record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(text) => cells.push(text.to_string()),
                Err(_) => {
                    first_bad.get_or_insert(i);
                    cells.push(String::from_utf8_lossy(field).into_owned());
                }
            }
        }
        let keyed = |cells: Vec<String>| -> ProductData {
            if cells.len() != expected {
                return ProductData::new();
            }
            let mut data = ProductData::new();
            for (name, cell) in self.columns.iter().zip(cells) {
                if !name.is_empty() {
                    data.entry(name.clone()).or_insert(cell);
                }
            }
            data
        };
        if let Some(i) = first_bad {
            let column = self.columns.get(i).filter(|c| !c.is_empty()).cloned();
            return RowOutcome::InvalidEncoding {
                column,
                lossy: keyed(cells),
            };
        }
        if field_count != expected {
            return RowOutcome::Malformed {
                field_count,
                expected,
                lossy: ProductData::new(),
            };
        }
        RowOutcome::Parsed(keyed(cells))
    }
}

#[cfg(test)]
mod tests {
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

    fn data(pairs: &[(&str, &str)]) -> ProductData {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
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
                lossy: ProductData::new()
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
                assert_eq!(lossy.get("product_name").map(String::as_str), Some("Caf\u{fffd}"));
                assert_eq!(lossy.get("sku").map(String::as_str), Some("C-1"));
            }
            other => panic!("expected InvalidEncoding, got {other:?}"),
        }
        // Wrong count and bad bytes: encoding wins, lossy map is empty.
        assert_eq!(
            rows[1].outcome,
            RowOutcome::InvalidEncoding {
                column: Some("product_name".into()),
                lossy: ProductData::new()
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
    async fn duplicate_header_names_keep_the_first_value() {
        let (header, rows) = read_all(b"sku,SKU,price\nA,B,1\n").await;
        assert_eq!(header.columns, vec!["sku", "sku", "price"]);
        assert_eq!(
            rows[0].outcome,
            RowOutcome::Parsed(data(&[("sku", "A"), ("price", "1")]))
        );
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
}
