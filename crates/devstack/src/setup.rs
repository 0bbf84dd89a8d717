//! `devstack setup`: makes the running local stack ready for the pipeline and the
//! tools. Tables and bucket are created when missing, migrations applied when new,
//! seed items rewritten; running it again changes nothing.

use crate::env::StackSettings;
use crate::{setup_seed, setup_tables};
use anyhow::{anyhow, Context};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use std::time::{Duration, Instant};
use tracing::info;

const DB_CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetupReport {
    pub tables_created: Vec<String>,
    pub tables_existing: Vec<String>,
    pub bucket_created: bool,
    pub migrations_applied: usize,
    pub items_seeded: usize,
}

/// Runs the whole setup against the stack the environment points at.
pub async fn run() -> anyhow::Result<SetupReport> {
    let started = Instant::now();
    let settings = StackSettings::from_env()?;
    let sdk = adapters::aws::sdk_config().await;
    let dynamodb = adapters::dynamodb::client(&sdk);
    let s3 = adapters::s3::client(&sdk);

    let (tables, bucket_created, migrations_applied) = tokio::try_join!(
        tables_and_seed(&dynamodb, &settings),
        ensure_bucket(&s3, &settings.upload_bucket),
        migrate(&settings.database_url),
    )?;
    // After the bucket: its S3 -> SQS notification is part of it.
    crate::vendor_loop::setup(&sdk, &s3).await?;
    let (tables_created, tables_existing, items_seeded) = tables;
    let report = SetupReport {
        tables_created,
        tables_existing,
        bucket_created,
        migrations_applied,
        items_seeded,
    };
    info!(
        created = ?report.tables_created,
        existing = ?report.tables_existing,
        bucket = %settings.upload_bucket,
        bucket_created = report.bucket_created,
        migrations_applied = report.migrations_applied,
        items_seeded = report.items_seeded,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "setup done"
    );
    Ok(report)
}

async fn tables_and_seed(
    client: &aws_sdk_dynamodb::Client,
    settings: &StackSettings,
) -> anyhow::Result<(Vec<String>, Vec<String>, usize)> {
    let specs = setup_tables::specs()?;
    let mut created = Vec::new();
    let mut existing = Vec::new();
    for (logical, real) in &settings.tables {
        let spec = specs
            .get(logical)
            .ok_or_else(|| anyhow!("infra/dynamodb-tables.json has no table {logical}"))?;
        match setup_tables::ensure_table(client, real, spec).await? {
            setup_tables::TableOutcome::Created => created.push(real.clone()),
            setup_tables::TableOutcome::Existed => existing.push(real.clone()),
        }
    }
    info!(created = ?created, existing = ?existing, "tables ready");
    let seeded = setup_seed::seed(client, |logical| settings.table(logical).map(str::to_string)).await?;
    info!(items = seeded, "seed items written");
    Ok((created, existing, seeded))
}

/// Creates the bucket; one this account already owns is fine.
async fn ensure_bucket(client: &aws_sdk_s3::Client, bucket: &str) -> anyhow::Result<bool> {
    if client.head_bucket().bucket(bucket).send().await.is_ok() {
        return versioned(client, bucket, false).await;
    }
    let region = client
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let mut request = client.create_bucket().bucket(bucket);
    if !region.is_empty() && region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    let created = match request.send().await {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) =>
        {
            false
        }
        Err(e) => {
            return Err(anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
                .with_context(|| format!("CreateBucket {bucket}"))
        }
    };
    versioned(client, bucket, created).await
}

/// Versioned, as the template's bucket is: an event names the version to read.
async fn versioned(client: &aws_sdk_s3::Client, bucket: &str, created: bool) -> anyhow::Result<bool> {
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| anyhow!(aws_sdk_s3::error::DisplayErrorContext(e)))
        .with_context(|| format!("PutBucketVersioning {bucket}"))?;
    info!(bucket, created, "bucket ready (versioned)");
    Ok(created)
}

async fn migrate(database_url: &str) -> anyhow::Result<usize> {
    let (mut client, connection) = tokio::time::timeout(
        DB_CONNECT_TIMEOUT,
        tokio_postgres::connect(database_url, tokio_postgres::NoTls),
    )
    .await
    .map_err(|_| {
        anyhow!(
            "PostgreSQL did not answer within {} s",
            DB_CONNECT_TIMEOUT.as_secs()
        )
    })?
    .context("cannot connect to PostgreSQL (DATABASE_URL)")?;
    let driver = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "PostgreSQL connection closed with an error");
        }
    });
    let applied = adapters::postgres::migrations::run(&mut client).await;
    drop(client);
    let _ = driver.await;
    let applied = applied?;
    info!(applied, "migrations up to date");
    Ok(applied)
}
