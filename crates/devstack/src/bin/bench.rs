//! `make bench`: the pipeline's hot paths measured against a baseline in the same run,
//! printed side by side as ratios (the machines are noisy; ratios travel better than
//! absolute figures).
//!
//! 1. CSV reading: the streaming reader the parser uses vs. reading the whole object
//!    into memory first — throughput and peak memory growth.
//! 2. UploadRecords writes: BatchWriteItem with 4 chunks in flight (the parser's
//!    setting) vs. one at a time, against DynamoDB Local (needs `make up`).

use adapters::dynamodb::DynamoRecords;
use anyhow::Context;
use domain::csv_input::{CsvRows, HeaderOutcome};
use domain::model::{record_id, RecordStatus, UploadRecord};
use domain::ports::RecordStore;
use std::time::Instant;

const CSV_ROWS: usize = 200_000;
const ITEMS: usize = 1_000;

fn generated_csv(rows: usize) -> Vec<u8> {
    let mut s = String::with_capacity(rows * 100);
    s.push_str("vendor_product_id,product_name,category,sku,price,stock_quantity,brand,description\n");
    for i in 0..rows {
        s.push_str(&format!(
            "B-{i},Bench product {i},Electronics,B-SKU-{i},{}.99,{},Bench,\"Row {i}, generated\"\n",
            i % 500,
            i % 1000
        ));
    }
    s.into_bytes()
}

/// Peak resident set size so far, from /proc (kB).
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn count_rows<R: tokio::io::AsyncRead + Unpin + Send>(reader: R) -> anyhow::Result<u64> {
    let HeaderOutcome::Ready(_, mut rows) = CsvRows::open(reader).await? else {
        anyhow::bail!("no header");
    };
    let mut n = 0;
    while rows.next_row().await?.is_some() {
        n += 1;
    }
    Ok(n)
}

/// A reader that produces the CSV on the fly, as an S3 body arrives: nothing is held.
struct Generated {
    next_row: usize,
    rows: usize,
    pending: Vec<u8>,
    at: usize,
}

impl tokio::io::AsyncRead for Generated {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.at >= self.pending.len() {
            self.pending.clear();
            self.at = 0;
            if self.next_row == 0 {
                self.pending.extend_from_slice(
                    b"vendor_product_id,product_name,category,sku,price,stock_quantity,brand,description\n",
                );
            }
            while self.pending.len() < 64 * 1024 && self.next_row < self.rows {
                let i = self.next_row;
                let line = format!(
                    "B-{i},Bench product {i},Electronics,B-SKU-{i},{}.99,{},Bench,\"Row {i}, generated\"\n",
                    i % 500,
                    i % 1000
                );
                self.pending.extend_from_slice(line.as_bytes());
                self.next_row += 1;
            }
        }
        let n = buf.remaining().min(self.pending.len() - self.at);
        let start = self.at;
        buf.put_slice(&self.pending[start..start + n]);
        self.at += n;
        std::task::Poll::Ready(Ok(()))
    }
}

async fn bench_csv() -> anyhow::Result<()> {
    let before = peak_rss_kb();
    let t = Instant::now();
    let streamed = count_rows(Generated {
        next_row: 0,
        rows: CSV_ROWS,
        pending: Vec::new(),
        at: 0,
    })
    .await?;
    let stream_secs = t.elapsed().as_secs_f64();
    let stream_peak = peak_rss_kb().saturating_sub(before);

    let before = peak_rss_kb();
    let t = Instant::now();
    let whole = generated_csv(CSV_ROWS);
    let size_mb = whole.len() as f64 / 1e6;
    let buffered = count_rows(std::io::Cursor::new(whole)).await?;
    let whole_secs = t.elapsed().as_secs_f64();
    let whole_peak = peak_rss_kb().saturating_sub(before);
    anyhow::ensure!(
        streamed == buffered && streamed == CSV_ROWS as u64,
        "row counts differ"
    );

    println!("CSV reading, {CSV_ROWS} rows ({size_mb:.1} MB):");
    println!("  {:<34} {:>12} {:>16}", "", "rows/s", "peak RSS growth");
    println!(
        "  {:<34} {:>12.0} {:>13} kB",
        "streaming (csv-parser)",
        streamed as f64 / stream_secs,
        stream_peak
    );
    println!(
        "  {:<34} {:>12.0} {:>13} kB",
        "baseline: whole object in memory",
        buffered as f64 / whole_secs,
        whole_peak
    );
    println!(
        "  ratio streaming/baseline: speed {:.2}x, memory {:.3}x",
        whole_secs / stream_secs,
        (stream_peak.max(1)) as f64 / (whole_peak.max(1)) as f64
    );
    Ok(())
}

fn items(upload_id: &str) -> Vec<UploadRecord> {
    (1..=ITEMS as u64)
        .map(|n| UploadRecord {
            upload_id: upload_id.to_string(),
            record_id: record_id(n),
            vendor_id: "VEND001".into(),
            file_name: "bench.csv".into(),
            row_number: n,
            product_data: [
                ("sku".to_string(), format!("B-SKU-{n}")),
                ("price".to_string(), "9.99".to_string()),
                ("product_name".to_string(), format!("Bench product {n}")),
            ]
            .into_iter()
            .collect(),
            status: RecordStatus::PendingValidation,
            error_type: None,
            error_reason: Vec::new(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            ttl: 0,
        })
        .collect()
}

async fn bench_writes() -> anyhow::Result<()> {
    let table = std::env::var("UPLOAD_RECORDS_TABLE")
        .context("UPLOAD_RECORDS_TABLE (run `make up`, source .local/env)")?;
    let aws = adapters::aws::sdk_config().await;
    let client = adapters::dynamodb::client(&aws);
    let stamp = chrono::Utc::now().timestamp_millis();
    let mut results = Vec::new();
    for (label, concurrency) in [
        ("baseline: 1 BatchWriteItem at a time", 1usize),
        ("4 in flight (csv-parser)", 4),
    ] {
        let store = DynamoRecords::new(client.clone(), table.clone()).with_concurrency(concurrency);
        let batch = items(&format!("BENCH_{stamp}_{concurrency}"));
        let t = Instant::now();
        for chunk in batch.chunks(200) {
            store.put_all(chunk).await?;
        }
        results.push((label, ITEMS as f64 / t.elapsed().as_secs_f64()));
    }
    println!("\nUploadRecords writes, {ITEMS} items to DynamoDB Local (table with a stream):");
    println!("  {:<34} {:>12}", "", "items/s");
    for (label, rate) in &results {
        println!("  {label:<34} {rate:>12.0}");
    }
    if let [(_, base), (_, fast)] = results.as_slice() {
        println!("  ratio 4-in-flight/baseline: {:.2}x", fast / base);
    }
    for (tx, inflight) in [(100, 4), (25, 4), (25, 8), (10, 8)] {
        let store = DynamoRecords::new(client.clone(), table.clone())
            .with_transaction_items(tx)
            .with_concurrency(inflight);
        let batch = items(&format!("BENCH_{stamp}_first_{tx}_{inflight}"));
        let t = Instant::now();
        for chunk in batch.chunks(200) {
            store.put_new(chunk).await?;
        }
        let first = ITEMS as f64 / t.elapsed().as_secs_f64();
        println!(
            "  {:<34} {first:>12.0}",
            format!("first writes {tx}/tx, {inflight} in flight")
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    bench_csv().await?;
    bench_writes().await?;
    Ok(())
}
