//! The rows the stream consumers left undone, worked through by status, a page at a
//! time, with the consumers' own code; a row that fails is tried alone, so a poison row
//! fails without its neighbours, and its failed attempts are counted.

use crate::{Reconciler, Report};
use domain::model::{record_id, row_number_of, RecordStatus, UploadRecord};
use domain::ports::{
    CatalogStore, ErrorLedger, ErrorRow, FailedDeliveries, ObjectStore, Reconciliation, RecordStore,
    StoredItem, UploadCompletion, UploadIntake, UploadState, VendorDirectory,
};
use domain::reconcile::{gives_up, processing_failed};
use domain::upload::UploadKey;
use domain::PortError;
use std::collections::HashMap;

/// Items read per page of `StatusIndex`, and handed to the consumers' code at once.
const PAGE: usize = 100;

#[derive(Debug, Clone, Copy)]
enum Work {
    /// `pending_validation` items: the validator's code.
    Validate,
    /// `error` items: the error processor's code (rows already recorded are no-ops).
    Record,
}

/// A row this run could not process.
struct Failure {
    row_number: u64,
    item: Option<UploadRecord>,
    reason: String,
}

impl<O, R, L, F> Reconciler<'_, O, R, L, F>
where
    O: ObjectStore,
    R: RecordStore,
    L: VendorDirectory + UploadIntake + ErrorLedger + UploadCompletion + CatalogStore + Reconciliation,
    F: FailedDeliveries,
{
    pub(crate) async fn validate_pending(
        &self,
        upload: &UploadState,
        report: &mut Report,
    ) -> Result<usize, PortError> {
        self.work_through(upload, RecordStatus::PendingValidation, Work::Validate, report)
            .await
    }

    pub(crate) async fn record_errors(
        &self,
        upload: &UploadState,
        report: &mut Report,
    ) -> Result<usize, PortError> {
        self.work_through(upload, RecordStatus::Error, Work::Record, report)
            .await
    }

    async fn apply(&self, work: Work, upload_id: &str, items: &[UploadRecord]) -> Result<(), PortError> {
        match work {
            Work::Validate => self.validator().validate_items(upload_id, items).await,
            Work::Record => self.error_processor().record_items(upload_id, items).await,
        }
    }

    /// Every item of the upload with `status`; returns how many were processed.
    async fn work_through(
        &self,
        upload: &UploadState,
        status: RecordStatus,
        work: Work,
        report: &mut Report,
    ) -> Result<usize, PortError> {
        let mut done = 0;
        let mut failed: Vec<Failure> = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .records
                .page_by_status(&upload.upload_id, status, after.as_deref(), PAGE)
                .await?;
            let mut readable = Vec::with_capacity(page.items.len());
            for item in page.items {
                match item {
                    StoredItem::Readable(record) => readable.push(record),
                    StoredItem::Unreadable { record_id, reason } => match row_number_of(&record_id) {
                        Some(row_number) => failed.push(Failure {
                            row_number,
                            item: None,
                            reason: format!("the item does not read as an UploadRecords item: {reason}"),
                        }),
                        None => tracing::error!(record_id, "an item whose record_id names no row"),
                    },
                }
            }
            done += self
                .apply_or_alone(work, &upload.upload_id, readable, &mut failed)
                .await;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        self.count_failures(upload, failed, report).await?;
        Ok(done)
    }

    /// The items at once; if that fails, each alone. Returns how many went through.
    async fn apply_or_alone(
        &self,
        work: Work,
        upload_id: &str,
        items: Vec<UploadRecord>,
        failed: &mut Vec<Failure>,
    ) -> usize {
        if items.is_empty() || self.apply(work, upload_id, &items).await.is_ok() {
            return items.len();
        }
        let mut done = 0;
        for item in items {
            match self.apply(work, upload_id, std::slice::from_ref(&item)).await {
                Ok(()) => done += 1,
                Err(e) => failed.push(Failure {
                    row_number: item.row_number,
                    item: Some(item),
                    reason: e.to_string(),
                }),
            }
        }
        done
    }

    /// One more failed attempt for each row; rows past the limit are given up.
    async fn count_failures(
        &self,
        upload: &UploadState,
        failed: Vec<Failure>,
        report: &mut Report,
    ) -> Result<(), PortError> {
        let Some(first) = failed.first() else {
            return Ok(());
        };
        let rows: Vec<u64> = failed.iter().map(|f| f.row_number).collect();
        report.failures.push(format!(
            "{}: {} row(s) failed, e.g. row {}: {}",
            upload.upload_id,
            rows.len(),
            first.row_number,
            first.reason
        ));
        let counts = self
            .ledger
            .count_failed_attempt(&upload.upload_id, &rows, &first.reason)
            .await?;
        let given_up: Vec<Failure> = failed
            .into_iter()
            .filter(|f| counts.get(&f.row_number).is_some_and(|c| gives_up(*c)))
            .collect();
        self.give_up(upload, given_up, report).await
    }

    /// Rows without a verdict, once no parse will write another item:
    /// - a row with no item (the upload's object or S3 event is gone, or the item
    ///   expired): no consumer will ever see it, so each run counts a failed attempt on
    ///   it and the limit gives it `PROCESSING_FAILED`;
    /// - a row whose item says `validated` though PostgreSQL holds no verdict (the ledger
    ///   lost a commit the item had seen: a database restored to an earlier point in
    ///   time, or an unsynced local cluster that crashed): no consumer will see it
    ///   either, since nothing writes the item again, so it goes through the validator
    ///   again, which decides it in PostgreSQL and marks the item anew.
    ///
    /// No more rows than the counters leave undecided, so the counts stay exact.
    /// Returns how many rows were validated again.
    pub(crate) async fn settle_undecided(
        &self,
        upload: &UploadState,
        report: &mut Report,
    ) -> Result<usize, PortError> {
        const REASON: &str = "the row has no item in UploadRecords, and no parse will write it";
        let Some(state) = self.ledger.state(&upload.upload_id).await? else {
            return Ok(0);
        };
        let mut left =
            usize::try_from(state.total_records - state.valid_records - state.error_records).unwrap_or(0);
        let mut failed = Vec::new();
        let mut validated = 0;
        let mut after = 0;
        while left > 0 {
            let rows = self.ledger.undecided_rows(&upload.upload_id, after, PAGE).await?;
            let Some(&last) = rows.last() else {
                break;
            };
            after = last;
            let ids: Vec<String> = rows.iter().map(|n| record_id(*n)).collect();
            let mut items: HashMap<String, StoredItem> = self
                .records
                .items(&upload.upload_id, &ids)
                .await?
                .into_iter()
                .map(|item| (item.record_id().to_string(), item))
                .collect();
            let mut ahead = Vec::new();
            for (row_number, id) in rows.into_iter().zip(&ids) {
                if left == 0 {
                    break;
                }
                match items.remove(id) {
                    None => failed.push(Failure {
                        row_number,
                        item: None,
                        reason: REASON.to_string(),
                    }),
                    Some(StoredItem::Readable(item)) if item.status == RecordStatus::Validated => {
                        ahead.push(item)
                    }
                    // Pending and error items are the other passes' work; an
                    // unreadable one is given up by them.
                    Some(_) => continue,
                }
                left -= 1;
            }
            // A page at a time, as the pending items are.
            validated += self
                .apply_or_alone(Work::Validate, &upload.upload_id, ahead, &mut failed)
                .await;
        }
        self.count_failures(upload, failed, report).await?;
        Ok(validated)
    }

    /// `PROCESSING_FAILED` for these rows, counted as error rows so the upload can end;
    /// their items are marked too, best effort (the counts already stand).
    async fn give_up(
        &self,
        upload: &UploadState,
        rows: Vec<Failure>,
        report: &mut Report,
    ) -> Result<(), PortError> {
        if rows.is_empty() {
            return Ok(());
        }
        let verdict = processing_failed();
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let marked: Vec<UploadRecord> = rows
            .iter()
            .map(|f| {
                let item = f
                    .item
                    .clone()
                    .unwrap_or_else(|| self.stand_in(upload, f.row_number, &now));
                item.decided(Some(std::slice::from_ref(&verdict)), &now)
            })
            .collect();
        // The row as the error processor would record it (its cells, made storable).
        let error_rows: Vec<ErrorRow> = marked.iter().map(ErrorRow::from_item).collect();
        self.ledger
            .record_errors(&upload.upload_id, &upload.vendor_id, &error_rows)
            .await?;
        report.rows_given_up += rows.len();
        tracing::warn!(rows = rows.len(), "rows given up: PROCESSING_FAILED");
        if let Err(e) = self.records.put_all(&marked).await {
            tracing::warn!(error = %e, "rows given up, but their items are not marked yet");
        }
        Ok(())
    }

    /// An item in place of one that does not read: what is known of its row.
    fn stand_in(&self, upload: &UploadState, row_number: u64, now: &str) -> UploadRecord {
        let file_name = upload
            .source
            .as_ref()
            .and_then(|s| UploadKey::parse(&s.key))
            .map(|k| k.file_name)
            .unwrap_or_default();
        let ttl = chrono::Utc::now() + chrono::Duration::days(self.settings.record_ttl_days);
        UploadRecord {
            upload_id: upload.upload_id.clone(),
            record_id: domain::model::record_id(row_number),
            vendor_id: upload.vendor_id.clone(),
            file_name,
            row_number,
            product_data: Default::default(),
            status: RecordStatus::Error,
            error_type: None,
            error_reason: Vec::new(),
            created_at: now.to_string(),
            updated_at: now.to_string(),
            ttl: ttl.timestamp(),
        }
    }
}
