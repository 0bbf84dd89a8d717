//! The vendor's error report: `reports/{vendor_id}/{upload_id}.csv`.
//!
//! The file's columns in the file's order (named as the file's header writes them), then
//! `row_number,error_type,error_message`;
//! one line per error; every line as wide as the header. Cells are neutralised against
//! spreadsheet formula injection.

use crate::codes::ErrorCode;
use crate::model::ProductData;

/// One error as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportLine {
    pub row_number: i64,
    pub error_type: ErrorCode,
    pub error_message: String,
    /// The row's raw cells; `None` leaves the original columns empty (malformed rows,
    /// file-level errors).
    pub original: Option<ProductData>,
}

/// A cell a spreadsheet would read as a formula gets a leading `'`, negative numbers
/// included: `=`, `+`, `-`, `@`, a tab or a carriage return in first position.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// Renders a report line by line into a buffer the caller drains as it goes (into an S3
/// multipart upload), so memory holds one part, never the whole report.
pub struct ReportWriter {
    columns: Vec<String>,
    out: csv::Writer<Vec<u8>>,
}

impl ReportWriter {
    /// Starts with the header, its columns shown as named. `columns` is the file's
    /// normalised header in file order (empty for reports that have no header to show:
    /// an unknown or inactive vendor, an empty file, a header that is not UTF-8).
    pub fn new(columns: &[String]) -> Result<ReportWriter, csv::Error> {
        ReportWriter::named(columns, columns)
    }

    /// Starts with the header, showing `names` (the header as the file writes it, one
    /// per column) for `columns` (the normalised names the rows' cells are keyed by).
    /// Without a name for every column, the columns show as named.
    pub fn named(columns: &[String], names: &[String]) -> Result<ReportWriter, csv::Error> {
        let shown = if names.len() == columns.len() {
            names
        } else {
            columns
        };
        let mut out = writer();
        let mut header: Vec<&str> = shown.iter().map(String::as_str).collect();
        header.extend(["row_number", "error_type", "error_message"]);
        out.write_record(header.iter().map(|h| neutralise(h).into_owned()))?;
        Ok(ReportWriter {
            columns: columns.to_vec(),
            out,
        })
    }

    /// One line: the row's cells (empty when it has none), then row, code and message.
    pub fn line(&mut self, line: &ReportLine) -> Result<(), csv::Error> {
        let mut record: Vec<String> = Vec::with_capacity(self.columns.len() + 3);
        for column in &self.columns {
            let raw = line
                .original
                .as_ref()
                .and_then(|data| data.get(column))
                .map(String::as_str)
                .unwrap_or("");
            record.push(neutralise(raw).into_owned());
        }
        record.push(line.row_number.to_string());
        record.push(line.error_type.as_str().to_string());
        record.push(neutralise(&line.error_message).into_owned());
        self.out.write_record(&record)
    }

    /// Bytes rendered and not yet taken.
    pub fn buffered(&mut self) -> Result<usize, csv::Error> {
        self.out.flush()?;
        Ok(self.out.get_ref().len())
    }

    /// Takes the bytes rendered so far. Records are whole between calls, so a fresh
    /// writer continues exactly where this one stopped.
    pub fn take(&mut self) -> Result<Vec<u8>, csv::Error> {
        let full = std::mem::replace(&mut self.out, writer());
        full.into_inner().map_err(|e| csv::Error::from(e.into_error()))
    }
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new())
}

/// Renders a whole report at once (small reports: file-level failures).
pub fn render(columns: &[String], lines: &[ReportLine]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = ReportWriter::new(columns)?;
    for line in lines {
        writer.line(line)?;
    }
    writer.take()
}

#[cfg(test)]
mod tests_props;

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> ProductData {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn formula_cells_are_neutralised_including_negative_numbers() {
        for bad in ["=SUM(A1)", "+1", "-5.00", "@cmd", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        assert_eq!(neutralise("12.50"), "12.50");
        assert_eq!(neutralise(""), "");
    }

    #[test]
    fn one_line_per_error_as_wide_as_the_header() {
        let columns = vec!["sku".to_string(), "price".to_string(), "extra".to_string()];
        let row = data(&[("sku", "=HYPERLINK(\"x\")"), ("price", "-3"), ("extra", "a,b")]);
        let lines = vec![
            ReportLine {
                row_number: 2,
                error_type: ErrorCode::InvalidSku,
                error_message: "sku is bad".into(),
                original: Some(row.clone()),
            },
            ReportLine {
                row_number: 2,
                error_type: ErrorCode::InvalidPrice,
                error_message: "price is bad".into(),
                original: Some(row),
            },
            ReportLine {
                row_number: 3,
                error_type: ErrorCode::MalformedRow,
                error_message: "row 3 has 2 fields".into(),
                original: None,
            },
        ];
        let text = String::from_utf8(render(&columns, &lines).expect("render")).expect("utf8");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>().expect("parse back");
        assert_eq!(rows.len(), 4);
        assert!(rows.iter().all(|r| r.len() == 6));
        assert_eq!(
            &rows[0],
            vec![
                "sku",
                "price",
                "extra",
                "row_number",
                "error_type",
                "error_message"
            ]
        );
        assert_eq!(&rows[1][0], "'=HYPERLINK(\"x\")");
        assert_eq!(&rows[1][1], "'-3");
        assert_eq!(&rows[1][2], "a,b");
        assert_eq!(&rows[2][4], "INVALID_PRICE");
        assert_eq!(
            &rows[3],
            vec!["", "", "", "3", "MALFORMED_ROW", "row 3 has 2 fields"]
        );
    }

    #[test]
    fn rendering_in_pieces_gives_the_same_bytes_as_at_once() {
        let columns = vec!["sku".to_string(), "price".to_string()];
        let lines: Vec<ReportLine> = (1..=50)
            .map(|n| ReportLine {
                row_number: n,
                error_type: ErrorCode::InvalidPrice,
                error_message: format!("price of row {n}"),
                original: Some(data(&[("sku", &format!("S-{n}")), ("price", "-1")])),
            })
            .collect();
        let whole = render(&columns, &lines).expect("render");
        let mut writer = ReportWriter::new(&columns).expect("header");
        let mut pieces = Vec::new();
        for chunk in lines.chunks(7) {
            for line in chunk {
                writer.line(line).expect("line");
            }
            pieces.extend(writer.take().expect("take"));
            assert_eq!(
                writer.buffered().expect("buffered"),
                0,
                "taking empties the buffer"
            );
        }
        assert_eq!(pieces, whole);
    }

    #[test]
    fn header_cells_are_neutralised_too() {
        // A header name is the vendor's text like any cell (README: "header included").
        let columns: Vec<String> = ["=cmd|' /C calc'!A0", "+x", "-x", "@x", "\tx", "\rx", "ok"]
            .map(String::from)
            .to_vec();
        let text = String::from_utf8(render(&columns, &[]).expect("render")).expect("utf8");
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let header = reader.records().next().expect("a header").expect("csv");
        assert_eq!(
            header.iter().collect::<Vec<_>>(),
            [
                "'=cmd|' /C calc'!A0",
                "'+x",
                "'-x",
                "'@x",
                "'\tx",
                "'\rx",
                "ok",
                "row_number",
                "error_type",
                "error_message"
            ]
        );
    }

    #[test]
    fn a_message_that_reads_as_a_formula_is_neutralised() {
        let lines = [ReportLine {
            row_number: 4,
            error_type: ErrorCode::InvalidPrice,
            error_message: "=1+1".into(),
            original: None,
        }];
        let text = String::from_utf8(render(&[], &lines).expect("render")).expect("utf8");
        assert_eq!(
            text,
            "row_number,error_type,error_message\r\n4,INVALID_PRICE,'=1+1\r\n"
        );
    }

    #[test]
    fn file_level_reports_have_only_the_three_columns() {
        let lines = vec![ReportLine {
            row_number: 0,
            error_type: ErrorCode::UnknownVendor,
            error_message: "vendor VEND999 is not registered".into(),
            original: None,
        }];
        let text = String::from_utf8(render(&[], &lines).expect("render")).expect("utf8");
        assert_eq!(
            text,
            "row_number,error_type,error_message\r\n0,UNKNOWN_VENDOR,vendor VEND999 is not registered\r\n"
        );
    }
}
