//! csv-parser: S3 `ObjectCreated` → one `UploadRecords` item per data row.
//!
//! Two streaming passes over the object, so memory stays flat whatever its size:
//! 1. read the header and every row to count them and register, in PostgreSQL, which
//!    row first carries each sku and vendor_product_id (in-file duplicates are then
//!    decided by row number, whatever order the validator sees rows in);
//! 2. create the `upload_history` row with the exact total, then write the items with
//!    BatchWriteItem, 25 a call and up to 4 calls out while the next rows are read.
//!
//! Everything is deterministic (upload id, record ids, timestamps from the event), so a
//! redelivered event, or a retry after a crash half-way, converges to the same state:
//! a redelivery after the upload was fully written does nothing, and a retry of an
//! interrupted parse writes only the items that are missing (never resetting an item
//! the validator has already decided).

mod messages;

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use chrono::{DateTime, Utc};
use domain::codes::ErrorCode;
use domain::csv_input::{CsvRows, HeaderOutcome, RowOutcome};
use domain::model::{ItemStamp, NewItem, ProductData, RowError, RowItem, WriteItem};
use domain::notify::Notify;
use domain::ports::{
    Claim, FileFailure, ObjectInfo, ObjectStore, RecordStore, StartOutcome, UploadCompletion, UploadIntake,
    UploadStart, VendorDirectory,
};
use domain::report::{self, ReportLine};
use domain::upload::{decode_event_key, report_key, UploadEvent, UploadKey, VendorSegment, MAX_ROWS};
use domain::PortError;
use futures::stream::{FuturesUnordered, StreamExt};
use std::sync::Arc;
use tracing::Instrument;

/// Rows per write: one BatchWriteItem call for a new upload; for a resumed one, the
/// rows checked for existence (one BatchGetItem) and then written conditionally.
const WRITE_CHUNK: usize = adapters::dynamodb::BATCH_WRITE_LIMIT;
const RESUME_CHUNK: usize = adapters::dynamodb::BATCH_GET_LIMIT;
/// Writes out at once while the next rows are read, so DynamoDB never waits for a
/// buffer's slowest call before the next rows are sent.
const WRITES_IN_FLIGHT: usize = adapters::dynamodb::DEFAULT_CONCURRENCY;
/// Claims sent to PostgreSQL per statement.
const CLAIM_BUFFER: usize = 2_000;

pub struct Settings {
    pub max_upload_bytes: u64,
    pub record_ttl_days: i64,
    /// How long a parse holds an upload: longer than the function's timeout.
    pub parse_lease: std::time::Duration,
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
    /// Another delivery of the same upload holds the parse.
    Busy { upload_id: String },
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
        self.handle_upload(&UploadEvent {
            bucket: bucket.to_string(),
            key: decode_event_key(raw_key),
            sequencer: record.s3.object.sequencer.clone().unwrap_or_default(),
            version_id: record.s3.object.version_id.clone(),
            event_time: record.event_time,
        })
        .await
    }

    /// Parses one PUT (from its notification, or from the reconciler resuming it).
    pub async fn handle_upload(&self, event: &UploadEvent) -> Result<Outcome, PortError> {
        let Some(upload) = UploadKey::parse(&event.key) else {
            tracing::info!(key = event.key, "not a vendor upload; ignored");
            return Ok(Outcome::Ignored);
        };
        let id = event.upload_id();
        // A segment that cannot be a vendor id is not logged: it is whatever the key held.
        let vendor = upload.vendor.valid().map_or("(invalid)", |v| v.as_str());
        let span = tracing::info_span!("upload", upload_id = %id, vendor_id = %vendor);
        self.process(event, &upload, id.clone()).instrument(span).await
    }

    async fn process(
        &self,
        event: &UploadEvent,
        upload: &UploadKey,
        id: String,
    ) -> Result<Outcome, PortError> {
        let (bucket, key, event_time) = (event.bucket.as_str(), event.key.as_str(), event.event_time);
        // An upload that already has its history row was judged by an earlier delivery:
        // never judge it again (the vendor's status may have changed since).
        let existing = self.ledger.state(&id).await?;
        if let Some(state) = &existing {
            if state.status.is_final() || state.parsed {
                tracing::info!("redelivered event for an upload already parsed; nothing to write");
                // A crash after the last write may have left the end unrecorded.
                domain::finalise::finalise(self.ledger, self.objects, bucket, &id, self.notify).await?;
                return Ok(Outcome::AlreadyParsed { upload_id: id });
            }
        }
        let Some(info) = self
            .objects
            .head(bucket, key, event.version_id.as_deref())
            .await?
        else {
            tracing::warn!(key, "object no longer exists; ignored");
            return Ok(Outcome::Ignored);
        };
        let ctx = UploadContext {
            bucket,
            upload,
            upload_id: &id,
            vendor_id: upload.vendor_id(),
            event_time,
        };

        if existing.is_none() {
            if let Some(error) = self.refusal(upload, &info).await? {
                return self.fail(&ctx, Vec::new(), Vec::new(), error).await;
            }
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
            // The report shows only its three columns: the header is what is wrong.
            HeaderOutcome::Invalid(issue) => {
                let error = messages::invalid_header(&issue);
                return self.fail(&ctx, Vec::new(), Vec::new(), error).await;
            }
        };
        if !header.missing_required.is_empty() {
            let missing: Vec<String> = header.missing_required.iter().map(|c| c.to_string()).collect();
            let error = messages::missing_columns(&missing);
            return self
                .fail(&ctx, header.columns.clone(), header.raw.clone(), error)
                .await;
        }
        let mut total: u64 = 0;
        let mut claims = Vec::with_capacity(CLAIM_BUFFER);
        while let Some(row) = rows.next_row().await.map_err(read_error)? {
            total = row.row_number;
            if total > MAX_ROWS {
                drop(rows);
                let error = messages::too_many_rows(MAX_ROWS);
                return self.fail(&ctx, Vec::new(), Vec::new(), error).await;
            }
            if let RowOutcome::Parsed(cells) = &row.outcome {
                claims.extend(Claim::of_row(row.row_number, cells));
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
            vendor_id: ctx.vendor_id.clone(),
            file_name: upload.stored_file_name(),
            s3_key: upload.stored_s3_key(),
            total_records: total,
            columns: header.columns.clone(),
            header: header.raw.clone(),
            uploaded_at: event_time,
            source: event.clone(),
        };
        let resume = match self
            .ledger
            .start_upload(&start, self.settings.parse_lease)
            .await?
        {
            StartOutcome::Created => false,
            StartOutcome::Parsed => {
                tracing::info!("redelivered event for an upload already parsed; nothing to write");
                // A crash after the last write may have left the end unrecorded.
                domain::finalise::finalise(self.ledger, self.objects, bucket, &id, self.notify).await?;
                return Ok(Outcome::AlreadyParsed { upload_id: id });
            }
            StartOutcome::Resume => {
                tracing::info!("resuming an interrupted parse: writing only missing items");
                true
            }
            StartOutcome::Busy => {
                // Its lease outlives its timeout: if it dies, the reconciler resumes after it.
                tracing::info!("another delivery of this upload is parsing it; leaving it the work");
                return Ok(Outcome::Busy { upload_id: id });
            }
        };

        // Pass 2: the items.
        if let Err(e) = self.write_items(&ctx, &info, total, resume).await {
            // Reported (so retried): let the retry resume at once rather than wait a lease.
            if let Err(release) = self.ledger.release_parse(&id).await {
                tracing::warn!(error = %release, "could not release the parse lease");
            }
            return Err(e);
        }
        self.ledger.mark_parsed(&id).await?;
        // Every row may already have been decided while we were writing.
        domain::finalise::finalise(self.ledger, self.objects, bucket, &id, self.notify).await?;
        tracing::info!(total_records = total, "upload parsed");
        Ok(Outcome::Parsed {
            upload_id: id,
            total_records: total,
        })
    }

    /// Why the vendor or the object's size refuse the file before it is read, if they do.
    async fn refusal(&self, upload: &UploadKey, info: &ObjectInfo) -> Result<Option<RowError>, PortError> {
        let vendor = match &upload.vendor {
            VendorSegment::Valid(vendor) => vendor,
            VendorSegment::Invalid { segment, issue } => {
                return Ok(Some(messages::invalid_vendor_segment(segment, issue)))
            }
        };
        match self.ledger.vendor_status(vendor.as_str()).await? {
            None => return Ok(Some(messages::unknown_vendor(vendor.as_str()))),
            Some(status) if !status.may_upload() => {
                return Ok(Some(messages::inactive_vendor(vendor.as_str(), status)))
            }
            Some(_) => {}
        }
        if info.size > self.settings.max_upload_bytes {
            return Ok(Some(messages::file_too_large(
                info.size,
                self.settings.max_upload_bytes,
            )));
        }
        Ok(None)
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
        let stamp = self.stamp(ctx);
        let chunk = if resume { RESUME_CHUNK } else { WRITE_CHUNK };
        let mut writes = FuturesUnordered::new();
        let mut buffer = Vec::with_capacity(chunk);
        let mut seen = 0;
        while let Some(row) = rows.next_row().await.map_err(read_error)? {
            seen = row.row_number;
            buffer.push(item(&stamp, row.row_number, row.outcome));
            if buffer.len() >= chunk {
                if writes.len() >= WRITES_IN_FLIGHT {
                    writes.next().await.transpose()?;
                }
                let full = std::mem::replace(&mut buffer, Vec::with_capacity(chunk));
                // Sent when the set is next polled (with four out, when the next chunk is
                // read; else at the end): polling it at once measured no faster end to
                // end (docs/capacity.md, plan item 4).
                writes.push(self.write(ctx.upload_id, full, resume));
            }
        }
        writes.push(self.write(ctx.upload_id, buffer, resume));
        while writes.next().await.transpose()?.is_some() {}
        if seen != expected {
            return Err(PortError::unavailable(
                "S3",
                format!("the object changed between reads ({expected} rows, then {seen})"),
            ));
        }
        Ok(())
    }

    async fn write(&self, upload_id: &str, mut items: Vec<NewItem>, resume: bool) -> Result<(), PortError> {
        if items.is_empty() {
            return Ok(());
        }
        if resume {
            // A resumed parse writes only what is missing, and conditionally: an item an
            // earlier parse wrote may already be decided.
            let ids: Vec<String> = items.iter().map(|r| r.record_id().into_owned()).collect();
            let existing = self.records.existing(upload_id, &ids).await?;
            items.retain(|r| !existing.contains(r.record_id().as_ref()));
            self.records.put_new(&items).await
        } else {
            // The lease holder of a new upload: nobody else writes its items.
            self.records.put_all(&items).await
        }
    }

    /// What every item of the upload carries: computed once, not per row.
    fn stamp(&self, ctx: &UploadContext<'_>) -> Arc<ItemStamp> {
        ItemStamp::new(
            ctx.upload_id,
            &ctx.vendor_id,
            &ctx.upload.file_name,
            ctx.event_time,
            self.settings.record_ttl_days,
        )
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
        let key = report_key(&ctx.vendor_id, ctx.upload_id);
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
                vendor_id: ctx.vendor_id.clone(),
                file_name: ctx.upload.stored_file_name(),
                s3_key: ctx.upload.stored_s3_key(),
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

/// The parser's transform, pure: one read row → its `UploadRecords` item, ready to
/// write (made to fit DynamoDB's item limit). A parsed row's item shares the stamp and
/// the header; a row in error is built whole. `make bench` measures it.
pub fn item(stamp: &Arc<ItemStamp>, row_number: u64, outcome: RowOutcome) -> NewItem {
    match outcome {
        RowOutcome::Parsed(cells) => RowItem::new(stamp, row_number, cells).fitted(),
        // Every other outcome is the row's one error.
        outcome => {
            let errors = outcome.row_error().into_iter().collect();
            let record = stamp.record(row_number, outcome.product_data(), errors);
            NewItem::Record(Box::new(record.fitted()))
        }
    }
}

struct UploadContext<'a> {
    bucket: &'a str,
    upload: &'a UploadKey,
    upload_id: &'a str,
    /// What the upload's rows and items carry as `vendor_id` (`UploadKey::vendor_id`).
    vendor_id: String,
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
            parse_lease: adapters.config.parse_lease,
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
#[cfg(test)]
mod tests_hostile;
