//! csv-parser: S3 `ObjectCreated` → one `UploadRecords` item per data row.
//!
//! Two streaming passes over the object, so memory stays flat whatever its size:
//! 1. read the header and every row to count them and register, in PostgreSQL, which
//!    row first carries each sku and vendor_product_id (in-file duplicates are then
//!    decided by row number, whatever order the validator sees rows in);
//! 2. create the `upload_history` row with the exact total, then write the items with
//!    BatchWriteItem, several chunks in flight.
//!
//! Everything is deterministic (upload id, record ids, timestamps from the event), so a
//! redelivered event, or a retry after a crash half-way, converges to the same state:
//! a redelivery after the upload was fully written does nothing, and a retry of an
//! interrupted parse writes only the items that are missing (never resetting an item
//! the validator has already decided).

mod messages;

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use chrono::{DateTime, Duration, Utc};
use domain::codes::ErrorCode;
use domain::csv_input::{CsvRows, HeaderOutcome, RowOutcome};
use domain::model::{first_error_type, record_id, ProductData, RecordStatus, RowError, UploadRecord};
use domain::notify::Notify;
use domain::ports::{
    Claim, FileFailure, ObjectInfo, ObjectStore, RecordStore, StartOutcome, UploadCompletion, UploadIntake,
    UploadStart, VendorDirectory,
};
use domain::report::{self, ReportLine};
use domain::upload::{decode_event_key, report_key, upload_id, UploadKey};
use domain::PortError;
use tracing::Instrument;

/// Rows buffered before they are written (a few BatchWriteItem chunks in flight).
const WRITE_BUFFER: usize = 200;
/// Claims sent to PostgreSQL per statement.
const CLAIM_BUFFER: usize = 2_000;

pub struct Settings {
    pub max_upload_bytes: u64,
    pub record_ttl_days: i64,
}

/// The parser's ports, borrowed for one invocation.
pub struct Parser<'a, O, R, L> {
    pub objects: &'a O,
    pub records: &'a R,
    pub ledger: &'a L,
    pub settings: &'a Settings,
    /// Announces the upload when this parser ends it (file-level failure, or every row
    /// decided before the parse finished).
    pub notify: Notify<'a>,
}

/// What became of one S3 record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not a vendor upload (other prefix or suffix), or the object is gone.
    Ignored,
    /// A file-level failure was recorded.
    Failed {
        upload_id: String,
        error_type: ErrorCode,
    },
    /// Every row is in UploadRecords.
    Parsed { upload_id: String, total_records: u64 },
    /// A redelivery of an upload that was already fully parsed.
    AlreadyParsed { upload_id: String },
}

impl<O, R, L> Parser<'_, O, R, L>
where
    O: ObjectStore,
    R: RecordStore,
    L: UploadIntake + UploadCompletion + VendorDirectory,
{
    /// Handles every record of the event; the first failure fails the invocation, so
    /// Lambda retries the event (records already done are no-ops the second time).
    pub async fn handle(&self, event: &S3Event) -> Result<Vec<Outcome>, PortError> {
        let mut outcomes = Vec::with_capacity(event.records.len());
        for record in &event.records {
            outcomes.push(self.handle_record(record).await?);
        }
        Ok(outcomes)
    }

    pub async fn handle_record(&self, record: &S3EventRecord) -> Result<Outcome, PortError> {
        let (Some(bucket), Some(raw_key)) =
            (record.s3.bucket.name.as_deref(), record.s3.object.key.as_deref())
        else {
            tracing::warn!("S3 record without bucket or key; ignored");
            return Ok(Outcome::Ignored);
        };
        let key = decode_event_key(raw_key);
        let Some(upload) = UploadKey::parse(&key) else {
            tracing::info!(key, "not a vendor upload; ignored");
            return Ok(Outcome::Ignored);
        };
        let event_time: DateTime<Utc> = record.event_time;
        let id = upload_id(
            bucket,
            &key,
            record.s3.object.sequencer.as_deref().unwrap_or(""),
            record.s3.object.version_id.as_deref(),
            event_time,
        );
        let span = tracing::info_span!("upload", upload_id = %id, vendor_id = %upload.vendor_id);
        self.process(bucket, &key, &upload, id.clone(), event_time)
            .instrument(span)
            .await
    }

    async fn process(
        &self,
        bucket: &str,
        key: &str,
        upload: &UploadKey,
        id: String,
        event_time: DateTime<Utc>,
    ) -> Result<Outcome, PortError> {
        let Some(info) = self.objects.head(bucket, key).await? else {
            tracing::warn!(key, "object no longer exists; ignored");
            return Ok(Outcome::Ignored);
        };
        let ctx = UploadContext {
            bucket,
            upload,
            upload_id: &id,
            event_time,
        };

        match self.ledger.vendor_status(&upload.vendor_id).await? {
            None => {
                let error = messages::unknown_vendor(&upload.vendor_id);
                return self.fail(&ctx, Vec::new(), Vec::new(), error).await;
            }
            Some(status) if !status.may_upload() => {
                let error = messages::inactive_vendor(&upload.vendor_id, status);
                return self.fail(&ctx, Vec::new(), Vec::new(), error).await;
            }
            Some(_) => {}
        }
        if info.size > self.settings.max_upload_bytes {
            let error = messages::file_too_large(info.size, self.settings.max_upload_bytes);
            return self.fail(&ctx, Vec::new(), Vec::new(), error).await;
        }

        // Pass 1: header, row count, in-file ownership of sku and vendor_product_id.
        let reader = self.objects.open(bucket, key, &info).await?;
        let (header, mut rows) = match CsvRows::open(reader).await.map_err(read_error)? {
            HeaderOutcome::Ready(header, rows) => (header, rows),
            HeaderOutcome::Empty => {
                return self
                    .fail(&ctx, Vec::new(), Vec::new(), messages::empty_file())
                    .await
            }
            HeaderOutcome::InvalidEncoding => {
                let error = messages::invalid_header_encoding();
                return self.fail(&ctx, Vec::new(), Vec::new(), error).await;
            }
        };
        if !header.missing_required.is_empty() {
            let missing: Vec<String> = header.missing_required.iter().map(|c| c.to_string()).collect();
            let error = messages::missing_columns(&missing);
            return self
                .fail(&ctx, header.columns.clone(), header.columns.clone(), error)
                .await;
        }
        let mut total: u64 = 0;
        let mut claims = Vec::with_capacity(CLAIM_BUFFER);
        while let Some(row) = rows.next_row().await.map_err(read_error)? {
            total = row.row_number;
            if let RowOutcome::Parsed(data) = &row.outcome {
                claims.extend(Claim::of_row(row.row_number, data));
            }
            if claims.len() >= CLAIM_BUFFER {
                self.ledger.register_claims(&id, &claims).await?;
                claims.clear();
            }
        }
        self.ledger.register_claims(&id, &claims).await?;
        drop(rows);
        if total == 0 {
            return self
                .fail(&ctx, Vec::new(), Vec::new(), messages::empty_file())
                .await;
        }

        let start = UploadStart {
            upload_id: id.clone(),
            vendor_id: upload.vendor_id.clone(),
            file_name: upload.file_name.clone(),
            s3_key: upload.s3_key.clone(),
            total_records: total,
            columns: header.columns.clone(),
            uploaded_at: event_time,
        };
        let resume = match self.ledger.start_upload(&start).await? {
            StartOutcome::Created => false,
            StartOutcome::Existing { parsed: true } => {
                tracing::info!("redelivered event for an upload already parsed; nothing to write");
                // A crash after the last write may have left the end unrecorded.
                domain::finalise::finalise(self.ledger, self.objects, bucket, &id, self.notify).await?;
                return Ok(Outcome::AlreadyParsed { upload_id: id });
            }
            StartOutcome::Existing { parsed: false } => {
                tracing::info!("resuming an interrupted parse: writing only missing items");
                true
            }
        };

        // Pass 2: the items.
        self.write_items(&ctx, &info, total, resume).await?;
        self.ledger.mark_parsed(&id).await?;
        // Every row may already have been decided while we were writing.
        domain::finalise::finalise(self.ledger, self.objects, bucket, &id, self.notify).await?;
        tracing::info!(total_records = total, "upload parsed");
        Ok(Outcome::Parsed {
            upload_id: id,
            total_records: total,
        })
    }

    async fn write_items(
        &self,
        ctx: &UploadContext<'_>,
        info: &ObjectInfo,
        expected: u64,
        resume: bool,
    ) -> Result<(), PortError> {
        let reader = self.objects.open(ctx.bucket, &ctx.upload.s3_key, info).await?;
        let HeaderOutcome::Ready(_, mut rows) = CsvRows::open(reader).await.map_err(read_error)? else {
            return Err(PortError::unavailable("S3", "the object changed between reads"));
        };
        let mut buffer = Vec::with_capacity(WRITE_BUFFER);
        let mut seen = 0;
        while let Some(row) = rows.next_row().await.map_err(read_error)? {
            seen = row.row_number;
            buffer.push(self.item(ctx, row.row_number, row.outcome));
            if buffer.len() >= WRITE_BUFFER {
                self.flush(ctx.upload_id, &mut buffer, resume).await?;
            }
        }
        self.flush(ctx.upload_id, &mut buffer, resume).await?;
        if seen != expected {
            return Err(PortError::unavailable(
                "S3",
                format!("the object changed between reads ({expected} rows, then {seen})"),
            ));
        }
        Ok(())
    }

    async fn flush(
        &self,
        upload_id: &str,
        buffer: &mut Vec<UploadRecord>,
        resume: bool,
    ) -> Result<(), PortError> {
        if buffer.is_empty() {
            return Ok(());
        }
        if resume {
            let ids: Vec<String> = buffer.iter().map(|r| r.record_id.clone()).collect();
            let existing = self.records.existing(upload_id, &ids).await?;
            buffer.retain(|r| !existing.contains(&r.record_id));
        }
        self.records.put_all(buffer).await?;
        buffer.clear();
        Ok(())
    }

    fn item(&self, ctx: &UploadContext<'_>, row_number: u64, outcome: RowOutcome) -> UploadRecord {
        let stamp = ctx
            .event_time
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let ttl = (ctx.event_time + Duration::days(self.settings.record_ttl_days)).timestamp();
        let errors: Vec<RowError> = outcome.row_error().into_iter().collect();
        let status = if errors.is_empty() {
            RecordStatus::PendingValidation
        } else {
            RecordStatus::Error
        };
        let product_data = match outcome {
            RowOutcome::Parsed(data) => data,
            RowOutcome::Malformed { lossy, .. } | RowOutcome::InvalidEncoding { lossy, .. } => lossy,
        };
        UploadRecord {
            upload_id: ctx.upload_id.to_string(),
            record_id: record_id(row_number),
            vendor_id: ctx.upload.vendor_id.clone(),
            file_name: ctx.upload.file_name.clone(),
            row_number,
            product_data,
            status,
            error_type: first_error_type(&errors),
            error_reason: errors,
            created_at: stamp.clone(),
            updated_at: stamp,
            ttl,
        }
    }

    /// A file-level failure: the report first (so the history row can name it), then
    /// the `failed` history row and its row-0 error, both idempotent.
    async fn fail(
        &self,
        ctx: &UploadContext<'_>,
        columns: Vec<String>,
        report_columns: Vec<String>,
        error: RowError,
    ) -> Result<Outcome, PortError> {
        let key = report_key(&ctx.upload.vendor_id, ctx.upload_id);
        let line = ReportLine {
            row_number: 0,
            error_type: error.error_type,
            error_message: error.message.clone(),
            original: Some(ProductData::new()),
        };
        let body = report::render(&report_columns, &[line])
            .map_err(|e| PortError::rejected("report", format!("cannot render the report: {e}")))?;
        self.objects
            .put(ctx.bucket, &key, body, "text/csv; charset=utf-8")
            .await?;
        let error_type = error.error_type;
        self.ledger
            .fail_upload(&FileFailure {
                upload_id: ctx.upload_id.to_string(),
                vendor_id: ctx.upload.vendor_id.clone(),
                file_name: ctx.upload.file_name.clone(),
                s3_key: ctx.upload.s3_key.clone(),
                columns,
                error,
                report_key: key,
                uploaded_at: ctx.event_time,
            })
            .await?;
        tracing::warn!(error_type = error_type.as_str(), "upload failed at file level");
        self.notify.announce(ctx.upload_id).await;
        Ok(Outcome::Failed {
            upload_id: ctx.upload_id.to_string(),
            error_type,
        })
    }
}

struct UploadContext<'a> {
    bucket: &'a str,
    upload: &'a UploadKey,
    upload_id: &'a str,
    event_time: DateTime<Utc>,
}

/// A read that breaks half-way is the network, not the file: retry.
fn read_error(e: std::io::Error) -> PortError {
    PortError::unavailable("S3", format!("reading the object failed: {e}"))
}

/// The production wiring: clients and pool built once per execution environment.
pub struct Wiring {
    adapters: adapters::pipeline::PipelineAdapters,
    pub settings: Settings,
}

impl Wiring {
    pub async fn from_env() -> Result<Wiring, adapters::pipeline::InitError> {
        let adapters = adapters::pipeline::PipelineAdapters::from_env().await?;
        let settings = Settings {
            max_upload_bytes: adapters.config.max_upload_bytes,
            record_ttl_days: adapters.config.record_ttl_days,
        };
        Ok(Wiring { adapters, settings })
    }

    pub fn parser(
        &self,
    ) -> Parser<'_, impl ObjectStore, impl RecordStore, impl UploadIntake + UploadCompletion + VendorDirectory>
    {
        Parser {
            objects: &self.adapters.objects,
            records: &self.adapters.records,
            ledger: &self.adapters.catalog,
            settings: &self.settings,
            notify: self.adapters.notify(),
        }
    }
}

#[cfg(test)]
mod tests;
