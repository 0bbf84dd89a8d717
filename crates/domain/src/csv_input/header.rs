//! The header row: normalised names, and what makes a header unusable
//! (`INVALID_HEADER`).

use super::records::MAX_RECORD_BYTES;
use crate::text::first_forbidden;
use crate::validation::REQUIRED_COLUMNS;
use std::collections::HashSet;

/// More columns than this fail the file with `INVALID_HEADER`.
pub const MAX_COLUMNS: usize = 1_000;

/// A header name as matched: trimmed and lower case.
pub fn normalise_header(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// Why a header fails the file with `INVALID_HEADER`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderIssue {
    /// More than [`MAX_COLUMNS`] columns (`error_field` empty).
    TooManyColumns { columns: usize },
    /// Over [`MAX_RECORD_BYTES`] raw bytes, or once its names are normalised
    /// (`error_field` empty).
    TooLarge { bytes: u64 },
    /// A name with NUL or another control character other than tab, LF and CR;
    /// `position` is the 1-based column (`error_field` empty: the name cannot be stored).
    ControlCharacter { position: usize, character: char },
    /// Two columns with this normalised name (`error_field` names it).
    Duplicate {
        name: String,
        first: usize,
        second: usize,
    },
}

impl HeaderIssue {
    /// `validation_errors.error_field` of the verdict.
    pub fn column(&self) -> &str {
        match self {
            HeaderIssue::Duplicate { name, .. } => name,
            _ => "",
        }
    }
}

/// The file's header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Normalised names, in the file's order (blanks included, so the index of a
    /// column is the index of its field).
    pub columns: Vec<String>,
    /// The names as written (BOM removed, not trimmed), for a report of the header.
    pub raw: Vec<String>,
    /// Required columns the header lacks, in canonical order; empty when complete.
    pub missing_required: Vec<&'static str>,
}

impl Header {
    /// A header from its names, or the first reason it is unusable, checked in order:
    /// more than 1,000 columns, over 64 KiB once normalised, a control character in a
    /// name, a repeated (non-blank) name.
    pub fn new(raw: Vec<String>) -> Result<Header, HeaderIssue> {
        if raw.len() > MAX_COLUMNS {
            return Err(HeaderIssue::TooManyColumns { columns: raw.len() });
        }
        let columns: Vec<String> = raw.iter().map(|r| normalise_header(r)).collect();
        // Lower-casing can lengthen a name (İ is 2 bytes, i̇ 3): the normalised header is
        // what every item and message repeats, so it is what must stay bounded.
        let normalised_bytes = columns
            .iter()
            .map(|c| c.len() as u64 + 1)
            .sum::<u64>()
            .saturating_sub(1);
        if normalised_bytes > MAX_RECORD_BYTES {
            return Err(HeaderIssue::TooLarge {
                bytes: normalised_bytes,
            });
        }
        for (i, name) in columns.iter().enumerate() {
            if let Some((_, character)) = first_forbidden(name) {
                return Err(HeaderIssue::ControlCharacter {
                    position: i + 1,
                    character,
                });
            }
        }
        let mut seen: HashSet<&str> = HashSet::with_capacity(columns.len());
        for (i, name) in columns.iter().enumerate() {
            if !name.is_empty() && !seen.insert(name.as_str()) {
                let first = columns.iter().position(|c| c == name).unwrap_or(i);
                return Err(HeaderIssue::Duplicate {
                    name: name.clone(),
                    first: first + 1,
                    second: i + 1,
                });
            }
        }
        let missing_required = REQUIRED_COLUMNS
            .iter()
            .copied()
            .filter(|req| !columns.iter().any(|c| c == req))
            .collect();
        Ok(Header {
            columns,
            raw,
            missing_required,
        })
    }

    /// No required column is missing.
    pub fn is_complete(&self) -> bool {
        self.missing_required.is_empty()
    }
}
