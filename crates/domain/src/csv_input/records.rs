//! CSV records read with `csv-core` into buffers that never grow past a fixed bound,
//! whatever the input: a record over [`MAX_RECORD_BYTES`] raw bytes (a 100 MB cell, a
//! quote opened and never closed) is still parsed to its end, so the next record starts
//! where RFC 4180 says it does, but its bytes are dropped as they are read and only its
//! size and field count are kept.
//!
//! The parser is csv-core's (the one under the `csv` crate): RFC 4180 quoting with
//! doubled quotes, `\r`, `\n` or `\r\n` as terminators, empty lines skipped.

use csv_core::{ReadRecordResult, Reader, ReaderBuilder};
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

/// A record longer than this, in raw bytes (quotes and delimiters included, its line
/// terminator not), is too large: nothing of it is kept.
pub const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// Bytes read from the source at a time.
const INPUT_CHUNK: usize = 16 * 1024;
/// A record's unquoted field bytes never exceed its raw bytes.
const MAX_OUTPUT: usize = MAX_RECORD_BYTES as usize;
/// A record of at most MAX_RECORD_BYTES has at most one field more than it has bytes.
const MAX_ENDS: usize = MAX_RECORD_BYTES as usize + 1;
const INITIAL_OUTPUT: usize = 4 * 1024;
const INITIAL_ENDS: usize = 64;

/// The most heap the reader ever holds for its buffers, whatever the input.
pub const MAX_BUFFER_BYTES: usize = INPUT_CHUNK + MAX_OUTPUT + MAX_ENDS * std::mem::size_of::<usize>();

/// What the last record read was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordInfo {
    /// Fields in the record (counted even when the record is too large).
    pub fields: usize,
    /// Raw bytes of the record, its line terminator excluded.
    pub bytes: u64,
    /// Over [`MAX_RECORD_BYTES`]: its fields were dropped.
    pub too_large: bool,
}

pub struct RecordReader<R> {
    source: R,
    // Boxed: csv-core keeps its DFA tables inline (~500 bytes), and the reader travels
    // by value inside `HeaderOutcome`.
    parser: Box<Reader>,
    input: Box<[u8]>,
    /// Unread input is `input[start..end]`.
    start: usize,
    end: usize,
    eof: bool,
    /// The current record's unquoted field bytes; its length is the usable size.
    output: Vec<u8>,
    out_len: usize,
    /// End offsets of the current record's fields in `output`.
    ends: Vec<usize>,
    ends_len: usize,
    failed: bool,
    finished: bool,
    /// The parser has not been called yet.
    fresh: bool,
}

/// csv-core strips a UTF-8 BOM when its first call's input starts with one; we strip
/// the file's BOM ourselves (before any blank line, so a second BOM after it is data),
/// and give the parser's first call fewer bytes than a BOM so it never strips another.
const FIRST_CALL_BYTES: usize = 2;

impl<R: AsyncRead + Unpin> RecordReader<R> {
    /// `prefix`: bytes already taken from `source` (at most one chunk), read first.
    pub fn new(source: R, prefix: &[u8]) -> RecordReader<R> {
        let mut input = vec![0u8; INPUT_CHUNK].into_boxed_slice();
        let end = prefix.len().min(INPUT_CHUNK);
        input[..end].copy_from_slice(&prefix[..end]);
        RecordReader {
            source,
            parser: Box::new(ReaderBuilder::new().build()),
            input,
            start: 0,
            end,
            eof: false,
            output: vec![0u8; INITIAL_OUTPUT],
            out_len: 0,
            ends: vec![0usize; INITIAL_ENDS],
            ends_len: 0,
            failed: false,
            finished: false,
            fresh: true,
        }
    }

    /// The fields of the last record read (none when it was too large).
    pub fn fields(&self) -> impl Iterator<Item = &[u8]> + '_ {
        let mut from = 0;
        self.ends[..self.ends_len].iter().map(move |&to| {
            let field = self.output.get(from..to).unwrap_or_default();
            from = to;
            field
        })
    }

    /// The unquoted bytes of the last record's fields, laid end to end.
    pub fn field_bytes(&self) -> &[u8] {
        self.output.get(..self.out_len).unwrap_or_default()
    }

    /// Where each field of the last record ends in [`RecordReader::field_bytes`].
    pub fn field_ends(&self) -> &[usize] {
        self.ends.get(..self.ends_len).unwrap_or_default()
    }

    /// Heap held by the buffers now; never more than [`MAX_BUFFER_BYTES`].
    pub fn buffer_bytes(&self) -> usize {
        self.input.len() + self.output.capacity() + self.ends.capacity() * std::mem::size_of::<usize>()
    }

    /// The next record, `None` at the end. `Err` only for I/O errors of the source;
    /// after one, every later call fails too.
    pub async fn next_record(&mut self) -> Result<Option<RecordInfo>, io::Error> {
        if self.failed {
            return Err(io::Error::other("the CSV source failed earlier"));
        }
        if self.finished {
            return Ok(None);
        }
        self.out_len = 0;
        self.ends_len = 0;
        let mut info = RecordInfo {
            fields: 0,
            bytes: 0,
            too_large: false,
        };
        let mut started = false;
        loop {
            if self.start == self.end && !self.eof {
                self.fill().await?;
                continue;
            }
            if !started {
                // Line terminators before a record (empty lines, the LF of a CRLF) are
                // skipped by the parser too; skipping them here keeps them out of the
                // record's size.
                let pending = &self.input[self.start..self.end];
                self.start += pending.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
                if self.start == self.end && !self.eof {
                    continue;
                }
                started = true;
            }
            // An empty input tells the parser the source is exhausted.
            let end = if self.fresh {
                self.end.min(self.start + FIRST_CALL_BYTES)
            } else {
                self.end
            };
            self.fresh = false;
            let (result, nin, nout, nend) = self.parser.read_record(
                &self.input[self.start..end],
                &mut self.output[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            self.start += nin;
            info.bytes += nin as u64;
            info.fields += nend;
            self.out_len += nout;
            self.ends_len += nend;
            match result {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    if info.too_large || !grow(&mut self.output, MAX_OUTPUT) {
                        // More than MAX_OUTPUT field bytes: more raw bytes than allowed.
                        info.too_large = true;
                    }
                }
                ReadRecordResult::OutputEndsFull => {
                    if info.too_large || !grow(&mut self.ends, MAX_ENDS) {
                        info.too_large = true;
                    }
                }
                ReadRecordResult::Record => {
                    // The byte that ended the record is its terminator (none at the
                    // end of the input).
                    if nin > 0 {
                        info.bytes -= 1;
                    }
                    if info.bytes > MAX_RECORD_BYTES {
                        info.too_large = true;
                    }
                    if info.too_large {
                        self.out_len = 0;
                        self.ends_len = 0;
                    }
                    return Ok(Some(info));
                }
                ReadRecordResult::End => {
                    self.finished = true;
                    return Ok(None);
                }
            }
            if info.bytes > MAX_RECORD_BYTES {
                info.too_large = true;
            }
            if info.too_large {
                // Keep parsing to the record's end, dropping what it holds.
                self.out_len = 0;
                self.ends_len = 0;
            }
        }
    }

    async fn fill(&mut self) -> Result<(), io::Error> {
        self.start = 0;
        self.end = 0;
        match self.source.read(&mut self.input).await {
            Ok(0) => self.eof = true,
            Ok(n) => self.end = n,
            Err(e) => {
                self.failed = true;
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Doubles `buffer` (zero-filled), never past `max` elements; false when already there.
fn grow<T: Default + Clone>(buffer: &mut Vec<T>, max: usize) -> bool {
    let len = buffer.len();
    if len >= max {
        return false;
    }
    let new_len = (len * 2).clamp(1, max);
    buffer.reserve_exact(new_len - len);
    buffer.resize(new_len, T::default());
    true
}
