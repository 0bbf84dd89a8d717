//! Streaming reader of a vendor's CSV (DESIGN.md §3, "CSV format" and "Hostile and
//! oversized input"): UTF-8 with an optional BOM, RFC 4180 quoting, LF or CRLF.
//! Records are read one at a time into buffers bounded by [`MAX_BUFFER_BYTES`]
//! whatever the input: a record over 64 KiB is `ROW_TOO_LARGE` (or, as the header,
//! `INVALID_HEADER`) and is skipped as it is read, never held.
//!
//! Decisions where DESIGN.md leaves room:
//! - Any number of leading UTF-8 BOMs is stripped; a BOM anywhere else is data.
//! - Completely empty lines are skipped by the CSV parser and do not count as rows.
//!   A line of only spaces is a record with one field (so usually `Malformed`).
//! - Leading records whose every field is blank (e.g. empty lines, `   `, `,,`) are
//!   skipped before the header; input with nothing else is `HeaderOutcome::Empty`.
//!   A leading record over 64 KiB is taken as the header (it is not read, so it cannot
//!   be known to be blank).
//! - The header is checked in this order, the first problem found being the verdict:
//!   more than 1,000 columns, over 64 KiB (raw, or once its names are normalised),
//!   not UTF-8 (`INVALID_ENCODING`), a name with a control character, two columns with
//!   one normalised name (all `INVALID_HEADER`); missing required columns come after.
//! - Columns whose name is blank are not put in `ProductData` (their values are ignored).
//! - A record's size counts its raw bytes, quotes and delimiters included, its line
//!   terminator excluded; a record of exactly 65,536 bytes is read.
//! - A row over 64 KiB is `TooLarge` even when it is also not UTF-8 or has the wrong
//!   field count (nothing of it is read). A row that is not UTF-8 is `InvalidEncoding`
//!   even when its field count is also wrong (text decoding comes before structure in
//!   what the vendor must fix).
//! - An I/O error from the underlying reader is returned as `Err` (transient, retry),
//!   never turned into a verdict; after one, every later call fails too.

mod header;
mod records;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_fuzz;

pub use header::{normalise_header, Header, HeaderIssue, MAX_COLUMNS};
pub use records::{MAX_BUFFER_BYTES, MAX_RECORD_BYTES};

use crate::codes::ErrorCode;
use crate::model::{Cells, Columns, ProductData, RowError};
use records::RecordReader;
use std::fmt;
use std::io;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What one data row turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// Raw cells (untrimmed) keyed by normalised header name.
    Parsed(Cells),
    /// The row has `field_count` fields where the header has `expected`: its fields
    /// cannot be matched to columns, so none is kept.
    Malformed { field_count: usize, expected: usize },
    /// Some field is not UTF-8. `lossy` holds the cells decoded with U+FFFD in place of
    /// bad bytes, keyed by header when the field count matches, else empty.
    /// `column` is the normalised name of the first bad field, when it has one.
    InvalidEncoding { column: Option<String>, lossy: Cells },
    /// The record is over [`MAX_RECORD_BYTES`] raw bytes: nothing of it was kept.
    TooLarge { bytes: u64 },
}

impl RowOutcome {
    /// The cells to store with the row, parsed or best-effort, as a map.
    pub fn product_data(&self) -> ProductData {
        match self {
            RowOutcome::Parsed(cells) | RowOutcome::InvalidEncoding { lossy: cells, .. } => {
                cells.to_product_data()
            }
            RowOutcome::Malformed { .. } | RowOutcome::TooLarge { .. } => ProductData::new(),
        }
    }

    /// The cells, owned.
    pub fn into_cells(self) -> Cells {
        match self {
            RowOutcome::Parsed(cells) | RowOutcome::InvalidEncoding { lossy: cells, .. } => cells,
            RowOutcome::Malformed { .. } | RowOutcome::TooLarge { .. } => Cells::none(),
        }
    }

    /// The row's only error when it could not be parsed (`MALFORMED_ROW`,
    /// `INVALID_ENCODING` or `ROW_TOO_LARGE`, with an empty column), `None` for a
    /// parsed row.
    pub fn row_error(&self) -> Option<RowError> {
        match self {
            RowOutcome::Parsed(_) => None,
            RowOutcome::Malformed {
                field_count,
                expected,
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
                    Some(c) if !c.is_empty() => {
                        format!(" (in column {})", crate::validation::messages::display_column(c))
                    }
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
            RowOutcome::TooLarge { bytes } => Some(RowError::new(
                ErrorCode::RowTooLarge,
                "",
                format!(
                    "row is {bytes} bytes long; a row may have at most {MAX_RECORD_BYTES} bytes \
                     (64 KiB), so nothing of it was imported. Look for a double quote that is \
                     opened but never closed (it joins the following lines into this row), or \
                     shorten its longest values."
                ),
            )),
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
    /// File-level `INVALID_HEADER`.
    Invalid(HeaderIssue),
}

impl<R> fmt::Debug for HeaderOutcome<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeaderOutcome::Ready(header, rows) => f.debug_tuple("Ready").field(header).field(rows).finish(),
            HeaderOutcome::Empty => f.write_str("Empty"),
            HeaderOutcome::InvalidEncoding => f.write_str("InvalidEncoding"),
            HeaderOutcome::Invalid(issue) => f.debug_tuple("Invalid").field(issue).finish(),
        }
    }
}

/// The data rows of a CSV, read one at a time.
pub struct CsvRows<R> {
    records: RecordReader<R>,
    columns: Arc<Columns>,
    rows_read: u64,
}

impl<R> fmt::Debug for CsvRows<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CsvRows")
            .field("columns", &self.columns.names())
            .field("rows_read", &self.rows_read)
            .finish_non_exhaustive()
    }
}

impl<R: AsyncRead + Unpin + Send> CsvRows<R> {
    /// Read up to and including the header. `Err` only for I/O errors of `reader`.
    pub async fn open(mut reader: R) -> Result<HeaderOutcome<R>, io::Error> {
        // Strip BOMs at the byte level, before the CSV parser sees them (a BOM before a
        // quoted header name would otherwise break the quoting). Tools that add a BOM
        // to a file that has one leave two.
        let mut prefix = Vec::with_capacity(BOM.len());
        let mut buf = [0u8; 3];
        loop {
            while prefix.len() < BOM.len() {
                let n = reader.read(&mut buf[..BOM.len() - prefix.len()]).await?;
                if n == 0 {
                    break;
                }
                prefix.extend_from_slice(&buf[..n]);
            }
            if prefix != BOM {
                break;
            }
            prefix.clear();
        }
        let mut records = RecordReader::new(reader, &prefix);
        let info = loop {
            let Some(info) = records.next_record().await? else {
                return Ok(HeaderOutcome::Empty);
            };
            if info.too_large || !is_blank(records.fields()) {
                break info;
            }
        };
        if info.fields > MAX_COLUMNS {
            return Ok(HeaderOutcome::Invalid(HeaderIssue::TooManyColumns {
                columns: info.fields,
            }));
        }
        if info.too_large {
            return Ok(HeaderOutcome::Invalid(HeaderIssue::TooLarge {
                bytes: info.bytes,
            }));
        }
        let mut raw = Vec::with_capacity(info.fields);
        for field in records.fields() {
            match std::str::from_utf8(field) {
                Ok(name) => raw.push(name.to_string()),
                Err(_) => return Ok(HeaderOutcome::InvalidEncoding),
            }
        }
        match Header::new(raw) {
            Ok(header) => {
                let columns = Columns::new(header.columns.clone());
                Ok(HeaderOutcome::Ready(
                    header,
                    CsvRows {
                        records,
                        columns,
                        rows_read: 0,
                    },
                ))
            }
            Err(issue) => Ok(HeaderOutcome::Invalid(issue)),
        }
    }

    /// The next data row, `None` at the end. `Err` only for I/O errors of the reader.
    pub async fn next_row(&mut self) -> Result<Option<Row>, io::Error> {
        let Some(info) = self.records.next_record().await? else {
            return Ok(None);
        };
        self.rows_read += 1;
        let outcome = if info.too_large {
            RowOutcome::TooLarge { bytes: info.bytes }
        } else {
            self.classify()
        };
        Ok(Some(Row {
            row_number: self.rows_read,
            outcome,
        }))
    }

    /// Data rows returned so far (so after the end: the number of data rows).
    pub fn rows_read(&self) -> u64 {
        self.rows_read
    }

    /// The header's normalised names, in file order.
    pub fn columns(&self) -> &[String] {
        self.columns.names()
    }

    /// Heap the reader's buffers hold now; never more than [`MAX_BUFFER_BYTES`].
    pub fn buffer_bytes(&self) -> usize {
        self.records.buffer_bytes()
    }

    fn classify(&self) -> RowOutcome {
        let (bytes, ends) = (self.records.field_bytes(), self.records.field_ends());
        // Most rows: the whole record is UTF-8 and no field ends inside a character, so
        // every field is UTF-8; the cells are the record's bytes as they are.
        if let Ok(text) = std::str::from_utf8(bytes) {
            if let Some(cells) = Cells::from_fields(&self.columns, text, ends) {
                return RowOutcome::Parsed(cells);
            }
            // Refused for its field count, unless a field ends inside a character.
            if ends.iter().all(|&end| text.is_char_boundary(end)) {
                return self.malformed(ends.len());
            }
        }
        self.classify_invalid()
    }

    /// A row with a field that is not UTF-8: its cells decoded with U+FFFD in place of
    /// the bad bytes.
    fn classify_invalid(&self) -> RowOutcome {
        let mut text = String::new();
        let mut ends = Vec::with_capacity(self.columns.names().len());
        let mut first_bad: Option<usize> = None;
        for (i, field) in self.records.fields().enumerate() {
            match std::str::from_utf8(field) {
                Ok(cell) => text.push_str(cell),
                Err(_) => {
                    first_bad.get_or_insert(i);
                    text.push_str(&String::from_utf8_lossy(field));
                }
            }
            ends.push(text.len());
        }
        let Some(i) = first_bad else {
            // Unreachable from `classify` (its fast path takes every row whose fields
            // are all UTF-8), kept exact all the same.
            return match Cells::from_fields(&self.columns, &text, &ends) {
                Some(cells) => RowOutcome::Parsed(cells),
                None => self.malformed(ends.len()),
            };
        };
        let column = self.columns.names().get(i).filter(|c| !c.is_empty()).cloned();
        RowOutcome::InvalidEncoding {
            column,
            lossy: Cells::from_fields(&self.columns, &text, &ends).unwrap_or_else(Cells::none),
        }
    }

    fn malformed(&self, field_count: usize) -> RowOutcome {
        RowOutcome::Malformed {
            field_count,
            expected: self.columns.names().len(),
        }
    }
}

fn is_blank<'a>(mut fields: impl Iterator<Item = &'a [u8]>) -> bool {
    fields.all(|field| field.iter().all(|b| b.is_ascii_whitespace()))
}
