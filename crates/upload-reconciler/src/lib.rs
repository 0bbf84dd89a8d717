//! upload-reconciler: no upload stays `processing` (DESIGN.md §3, "Every upload ends").
//!
//! Run on a schedule (every 5 minutes in AWS; `devstack reconcile` locally), it
//! 1. re-drives csv-parser's failed S3 events from that function's on-failure
//!    destination, and acknowledges the stream mappings' on-failure messages (their
//!    items are found by status below);
//! 2. for every upload `processing` for longer than `RECONCILE_AFTER`: resumes a parse
//!    that stopped, validates the items still `pending_validation`, records the `error`
//!    items not yet recorded, and finalises — through the parser's, the validator's and
//!    the error processor's own code, so every step is as idempotent, and as safe beside
//!    the stream consumers, as theirs;
//! 3. counts, per row, the attempts that failed; a row that failed
//!    [`domain::reconcile::MAX_ATTEMPTS`] of them gets `PROCESSING_FAILED`, so its upload
//!    can end. So does a row without a verdict that has no item when no parse will
//!    write one (its object or S3 event is gone, or the item expired);
//! 4. publishes the "upload finished" notifications still unpublished (a publish that
//!    failed, or a finaliser that died between the final status and the publish).

mod redrive;

pub use redrive::parser_event;
mod rows;

use chrono::{DateTime, Utc};
use csv_parser::{Outcome, Parser, Settings};
use domain::notify::Notify;
use domain::ports::{
    CatalogStore, ErrorLedger, FailedDeliveries, ObjectStore, Reconciliation, RecordStore, UploadCompletion,
    UploadIntake, UploadState, VendorDirectory,
};
use domain::PortError;
use error_processor::ErrorProcessor;
use serde::Serialize;
use stream_validator::Validator;
use tracing::Instrument;

/// Stuck uploads taken up per run; the next run takes the rest.
const UPLOADS_PER_RUN: usize = 50;

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// csv-parser events delivered again from its on-failure destination.
    pub events_redriven: usize,
    /// On-failure messages acknowledged (re-driven, or pointing at items found by status).
    pub messages_acknowledged: usize,
    /// Uploads found processing for longer than `RECONCILE_AFTER`.
    pub stuck_uploads: usize,
    pub parses_resumed: usize,
    pub rows_validated: usize,
    pub rows_recorded: usize,
    /// Rows given `PROCESSING_FAILED` after repeated failed attempts.
    pub rows_given_up: usize,
    /// Uploads this run saw end.
    pub uploads_ended: usize,
    /// Notifications of final uploads published by this run (were unpublished).
    pub notifications_published: usize,
    /// Failures this run left for the next one (none of them a verdict).
    pub failures: Vec<String>,
}

/// The reconciler's ports, borrowed for one run.
pub struct Reconciler<'a, O, R, L, F> {
    pub objects: &'a O,
    pub records: &'a R,
    /// PostgreSQL: every ledger port, the catalog and the reconciler's own.
    pub ledger: &'a L,
    pub failed: &'a F,
    pub settings: &'a Settings,
    /// Bucket of uploads and reports.
    pub bucket: &'a str,
    /// Announces an upload this run ends, and publishes the ones left unpublished.
    pub notify: Notify<'a>,
}

/// An unpublished notification younger than this may still be in its finaliser's hands.
const NOTIFY_GRACE: chrono::Duration = chrono::Duration::seconds(60);

impl<O, R, L, F> Reconciler<'_, O, R, L, F>
where
    O: ObjectStore,
    R: RecordStore,
    L: VendorDirectory + UploadIntake + ErrorLedger + UploadCompletion + CatalogStore + Reconciliation,
    F: FailedDeliveries,
{
    /// One run: what failed deliveries left, then every upload stuck since `stuck_before`.
    /// Only a failure to list the stuck uploads fails the run; every other failure is
    /// reported and left for the next run.
    pub async fn run(&self, stuck_before: DateTime<Utc>) -> Result<Report, PortError> {
        let mut report = Report::default();
        self.redrive(&mut report).await;
        let stuck = self.ledger.stuck_uploads(stuck_before, UPLOADS_PER_RUN).await?;
        report.stuck_uploads = stuck.len();
        for upload in stuck {
            let span = tracing::info_span!("reconcile", upload_id = %upload.upload_id);
            if let Err(e) = self.reconcile(&upload, &mut report).instrument(span).await {
                tracing::warn!(upload_id = upload.upload_id, error = %e, "left for the next run");
                report.failures.push(format!("{}: {e}", upload.upload_id));
            }
        }
        match domain::notify::publish_pending(&self.notify, NOTIFY_GRACE).await {
            Ok(pending) => {
                report.notifications_published = pending.published;
                if pending.failed > 0 {
                    report
                        .failures
                        .push(format!("{} notification(s) still unpublished", pending.failed));
                }
            }
            Err(e) => report.failures.push(format!("notification outbox: {e}")),
        }
        tracing::info!(?report, "reconciler run");
        Ok(report)
    }

    /// Drives one stuck upload as far as it goes now.
    async fn reconcile(&self, upload: &UploadState, report: &mut Report) -> Result<(), PortError> {
        // Whether no parse will write another item of this upload.
        let mut parse_over = upload.parsed;
        if !upload.parsed {
            match &upload.source {
                Some(source) => match self.parser().handle_upload(source).await? {
                    // Another parse holds the lease: its items are still coming.
                    Outcome::Busy { .. } => {}
                    // The object (at the event's version) is gone: nothing to read.
                    Outcome::Ignored => parse_over = true,
                    Outcome::Parsed { .. } | Outcome::AlreadyParsed { .. } | Outcome::Failed { .. } => {
                        parse_over = true;
                        report.parses_resumed += 1;
                    }
                },
                // An upload from before the parser kept its S3 event: nothing to resume.
                None => parse_over = true,
            }
        }
        report.rows_validated += self.validate_pending(upload, report).await?;
        report.rows_recorded += self.record_errors(upload, report).await?;
        if parse_over {
            report.rows_validated += self.settle_undecided(upload, report).await?;
        }
        if let Some(status) = domain::finalise::finalise(
            self.ledger,
            self.objects,
            self.bucket,
            &upload.upload_id,
            self.notify,
        )
        .await?
        {
            tracing::info!(status = status.as_str(), "upload ended");
            report.uploads_ended += 1;
        }
        Ok(())
    }

    fn parser(&self) -> Parser<'_, O, R, L> {
        Parser {
            objects: self.objects,
            records: self.records,
            ledger: self.ledger,
            settings: self.settings,
            notify: self.notify,
        }
    }

    fn validator(&self) -> Validator<'_, L, L, R, O> {
        Validator {
            catalog: self.ledger,
            ledger: self.ledger,
            records: self.records,
            objects: self.objects,
            bucket: self.bucket,
            notify: self.notify,
        }
    }

    fn error_processor(&self) -> ErrorProcessor<'_, L, O> {
        ErrorProcessor {
            ledger: self.ledger,
            objects: self.objects,
            bucket: self.bucket,
            notify: self.notify,
        }
    }
}

#[cfg(test)]
mod tests;
