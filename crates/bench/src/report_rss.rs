//! 4 (second half). Peak RSS of the report streaming (`domain::report_upload`, what the
//! finaliser runs) on an upload with 100,000 errors, in a child process, reading the
//! ledger from PostgreSQL and writing the report to the local S3 (multipart).

use crate::memory::ChildReport;
use crate::stats::{peak_rss_kb, rss_kb};
use adapters::config::{DatabaseConfig, ProcessEnv, SessionLimits};
use adapters::postgres::PgCatalog;
use anyhow::Context;
use std::time::Instant;

pub const ERRORS: i32 = 100_000;

/// An upload whose ledger holds `ERRORS` errors, each row's cells stored once.
pub async fn prepare(client: &tokio_postgres::Client) -> anyhow::Result<String> {
    let id = format!("UPL_BENCH_REPORT_{}", chrono::Utc::now().timestamp_micros());
    client
        .execute(
            "INSERT INTO upload_history (upload_id, vendor_id, file_name, s3_key, total_records,
                                         error_records, status, processing_completed_at)
             VALUES ($1, 'VEND001', 'bench.csv', 'uploads/VEND001/bench.csv', $2, $2, 'partial', now())",
            &[&id, &ERRORS],
        )
        .await?;
    client
        .execute(
            "INSERT INTO validation_errors (upload_id, vendor_id, row_number, vendor_product_id,
                                            error_type, error_field, error_message, original_data)
             SELECT $1, 'VEND001', g, 'P-' || g, 'INVALID_PRICE', 'price',
                    'price \"free\" is not a number; write it like 19.99',
                    jsonb_build_object('vendor_product_id', 'P-' || g, 'product_name', 'Product ' || g,
                                       'category', 'Electronics', 'sku', 'SKU-' || g, 'price', 'free',
                                       'stock_quantity', '10')
             FROM generate_series(1, $2) g",
            &[&id, &ERRORS],
        )
        .await?;
    Ok(id)
}

/// `bench child report UPLOAD_ID`.
pub async fn child(upload_id: &str) -> anyhow::Result<ChildReport> {
    let aws = adapters::aws::sdk_config().await;
    let config = DatabaseConfig::from_source(&ProcessEnv)?;
    let catalog = PgCatalog::new(adapters::postgres::pool(&config, &SessionLimits::default(), &aws).await?);
    let objects = adapters::s3::S3Objects::new(adapters::s3::client(&aws));
    let bucket = std::env::var("UPLOAD_BUCKET").context("UPLOAD_BUCKET")?;
    let columns: Vec<String> = domain::validation::REQUIRED_COLUMNS.map(String::from).to_vec();
    let key = format!("reports/VEND001/{upload_id}.csv");
    let start_rss_kb = rss_kb();
    let start = Instant::now();
    domain::report_upload::write_report(&catalog, &objects, &bucket, &key, upload_id, &columns, &columns)
        .await?;
    Ok(ChildReport {
        rows: ERRORS as u64,
        bytes: 0,
        secs: start.elapsed().as_secs_f64(),
        start_rss_kb,
        peak_rss_kb: peak_rss_kb(),
    })
}
