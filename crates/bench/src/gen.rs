//! Generated vendor CSVs: the same rows whole in memory (throughput) or produced on the
//! fly as a body arrives (memory: nothing of the file is held).

use std::io::Write;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The columns of a vendor upload (the e2e tests' header).
pub const HEADER: &str =
    "vendor_product_id,product_name,category,sku,price,stock_quantity,brand,compare_at_price,weight_kg,image_url\n";

/// Row `i` (1-based): valid, unique within `prefix`; every tenth has a quoted name with
/// a comma, so the quoting path is exercised. `broken_every` > 0 gives every such row
/// an invalid price (a validation error).
pub fn row(out: &mut Vec<u8>, prefix: &str, i: usize, broken_every: usize) {
    let price = if broken_every > 0 && i.is_multiple_of(broken_every) {
        "free".to_string()
    } else {
        format!("{}.99", i % 500)
    };
    let name = if i.is_multiple_of(10) {
        format!("\"Product {i}, large\"")
    } else {
        format!("Product {i}")
    };
    // Writing into a Vec cannot fail.
    let _ = writeln!(
        out,
        "{prefix}-P{i},{name},Electronics,{prefix}-SKU-{i},{price},{},Acme,,1.5,https://example.com/{i}.png",
        10 + i % 1000
    );
}

/// A whole CSV of `rows` rows.
pub fn csv_bytes(prefix: &str, rows: usize, broken_every: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 100 + HEADER.len());
    out.extend_from_slice(HEADER.as_bytes());
    for i in 1..=rows {
        row(&mut out, prefix, i, broken_every);
    }
    out
}

/// The same CSV produced 64 KiB at a time, as `std::io::Read` and `tokio::io::AsyncRead`.
pub struct Generated {
    prefix: String,
    next: usize,
    rows: usize,
    pending: Vec<u8>,
    at: usize,
    pub bytes: u64,
}

impl Generated {
    pub fn new(prefix: &str, rows: usize) -> Self {
        Generated {
            prefix: prefix.to_string(),
            next: 0,
            rows,
            pending: Vec::with_capacity(80 * 1024),
            at: 0,
            bytes: 0,
        }
    }

    fn fill(&mut self, buf: &mut [u8]) -> usize {
        if self.at >= self.pending.len() {
            self.pending.clear();
            self.at = 0;
            if self.next == 0 {
                self.pending.extend_from_slice(HEADER.as_bytes());
                self.next = 1;
            }
            while self.pending.len() < 64 * 1024 && self.next <= self.rows {
                row(&mut self.pending, &self.prefix, self.next, 0);
                self.next += 1;
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        self.bytes += n as u64;
        n
    }
}

impl std::io::Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Ok(self.fill(buf))
    }
}

impl tokio::io::AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = self.fill(buf.initialize_unfilled());
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn streamed_and_whole_are_the_same_bytes() {
        let mut streamed = Vec::new();
        let mut g = Generated::new("T", 2_000);
        g.read_to_end(&mut streamed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(streamed, csv_bytes("T", 2_000, 0));
        assert_eq!(g.bytes as usize, streamed.len());
    }
}
