//! The ledger ports in memory: vendors, the parser's intake, the error processor's
//! rows, the finaliser's completion.

use super::{lock, no_history, pg_text, Decided, History, Memory, Outbox, StoredError};
use async_trait::async_trait;
use domain::ports::{
    Claim, ErrorLedger, ErrorRow, FileFailure, Reconciliation, ReportCursor, StartOutcome, StoredVerdict,
    UploadCompletion, UploadIntake, UploadStart, UploadState, VendorDirectory,
};
use domain::report::ReportLine;
use domain::upload::UploadStatus;
use domain::vendor::VendorStatus;
use domain::PortError;

#[async_trait]
impl VendorDirectory for Memory {
    async fn vendor_status(&self, vendor_id: &str) -> Result<Option<VendorStatus>, PortError> {
        self.trip("vendor_status", vendor_id)?;
        pg_text([vendor_id])?;
        Ok(lock(&self.vendors)?.get(vendor_id).copied())
    }
}

#[async_trait]
impl UploadIntake for Memory {
    async fn register_claims(&self, upload_id: &str, claims: &[Claim]) -> Result<(), PortError> {
        self.trip("register_claims", upload_id)?;
        pg_text(claims.iter().map(|c| c.value.as_str()))?;
        let mut db = lock(&self.db)?;
        for c in claims {
            let row = db
                .claims
                .entry((upload_id.to_string(), c.column.to_string(), c.value.clone()))
                .or_insert(c.row_number);
            *row = (*row).min(c.row_number);
        }
        Ok(())
    }

    async fn start_upload(
        &self,
        start: &UploadStart,
        lease: std::time::Duration,
    ) -> Result<StartOutcome, PortError> {
        self.trip("start_upload", &start.upload_id)?;
        pg_text([start.vendor_id.as_str(), &start.file_name, &start.s3_key])?;
        pg_text(start.columns.iter().chain(&start.header).map(String::as_str))?;
        let mut db = lock(&self.db)?;
        let now = chrono::Utc::now();
        let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        if let Some(h) = db.history.get_mut(&start.upload_id) {
            return Ok(if h.parsed {
                StartOutcome::Parsed
            } else if h.lease_until.is_none_or(|held| held < now) {
                h.lease_until = Some(until);
                StartOutcome::Resume
            } else {
                StartOutcome::Busy
            });
        }
        db.history.insert(
            start.upload_id.clone(),
            History {
                vendor_id: start.vendor_id.clone(),
                file_name: start.file_name.clone(),
                s3_key: start.s3_key.clone(),
                status: UploadStatus::Processing,
                total: i64::try_from(start.total_records).map_err(|e| PortError::rejected("memory", e))?,
                valid: 0,
                errors: 0,
                report_key: None,
                columns: start.columns.clone(),
                header: start.header.clone(),
                parsed: false,
                source: Some(start.source.clone()),
                started_at: now,
                lease_until: Some(until),
                completed_at: None,
                notification: Outbox::default(),
            },
        );
        Ok(StartOutcome::Created)
    }

    async fn release_parse(&self, upload_id: &str) -> Result<(), PortError> {
        self.trip("release_parse", upload_id)?;
        if let Some(h) = lock(&self.db)?.history.get_mut(upload_id) {
            h.lease_until = None;
        }
        Ok(())
    }

    async fn mark_parsed(&self, upload_id: &str) -> Result<(), PortError> {
        self.trip("mark_parsed", upload_id)?;
        if let Some(h) = lock(&self.db)?.history.get_mut(upload_id) {
            h.parsed = true;
            h.lease_until = None;
        }
        Ok(())
    }

    async fn fail_upload(&self, failure: &FileFailure) -> Result<(), PortError> {
        self.trip("fail_upload", &failure.upload_id)?;
        pg_text([
            failure.vendor_id.as_str(),
            &failure.file_name,
            &failure.s3_key,
            &failure.error.message,
            &failure.error.column,
        ])?;
        pg_text(failure.columns.iter().map(String::as_str))?;
        let mut db = lock(&self.db)?;
        if db.history.contains_key(&failure.upload_id) {
            return Ok(());
        }
        db.history.insert(
            failure.upload_id.clone(),
            History {
                vendor_id: failure.vendor_id.clone(),
                file_name: failure.file_name.clone(),
                s3_key: failure.s3_key.clone(),
                status: UploadStatus::Failed,
                total: 0,
                valid: 0,
                errors: 0,
                report_key: Some(failure.report_key.clone()),
                columns: failure.columns.clone(),
                header: Vec::new(),
                parsed: true,
                source: None,
                started_at: chrono::Utc::now(),
                lease_until: None,
                completed_at: Some(chrono::Utc::now()),
                notification: Outbox::default(),
            },
        );
        db.errors.push(StoredError {
            upload_id: failure.upload_id.clone(),
            error_field: failure.error.column.clone(),
            line: ReportLine {
                row_number: 0,
                error_type: failure.error.error_type,
                error_message: failure.error.message.clone(),
                original: None,
            },
        });
        Ok(())
    }
}

#[async_trait]
impl ErrorLedger for Memory {
    async fn record_errors(&self, upload_id: &str, _: &str, rows: &[ErrorRow]) -> Result<u64, PortError> {
        if rows.is_empty() {
            return Ok(0);
        }
        self.trip("record_errors", upload_id)?;
        for row in rows {
            pg_text(row.vendor_product_id.as_deref())?;
            pg_text(row.errors.iter().flat_map(|e| [e.message.as_str(), &e.column]))?;
            pg_text(row.original.iter().flatten().flat_map(|(k, v)| [k.as_str(), v]))?;
        }
        let mut guard = lock(&self.db)?;
        let db = &mut *guard;
        if !db.history.contains_key(upload_id) {
            return Err(no_history(upload_id));
        }
        let mut fresh = 0;
        for row in rows {
            let key = (upload_id.to_string(), row.row_number);
            let new = match db.rows.get_mut(&key) {
                None => {
                    db.rows.insert(
                        key,
                        Decided {
                            verdict: StoredVerdict::Error(row.errors.clone()),
                            error_recorded: true,
                        },
                    );
                    true
                }
                Some(d) if matches!(d.verdict, StoredVerdict::Error(_)) && !d.error_recorded => {
                    d.error_recorded = true;
                    true
                }
                Some(_) => false,
            };
            if !new {
                continue;
            }
            fresh += 1;
            for e in &row.errors {
                db.errors.push(StoredError {
                    upload_id: upload_id.to_string(),
                    error_field: e.column.clone(),
                    line: ReportLine {
                        row_number: i64::try_from(row.row_number)
                            .map_err(|x| PortError::rejected("memory", x))?,
                        error_type: e.error_type,
                        error_message: e.message.clone(),
                        original: row.original.clone(),
                    },
                });
            }
        }
        if let Some(h) = db.history.get_mut(upload_id) {
            h.errors += fresh as i64;
        }
        let given = rows.iter().map(|r| r.row_number).collect();
        lock(&self.recorded)?.push((upload_id.to_string(), given, fresh));
        Ok(fresh)
    }
}

#[async_trait]
impl UploadCompletion for Memory {
    async fn state(&self, upload_id: &str) -> Result<Option<UploadState>, PortError> {
        self.trip("state", upload_id)?;
        let db = lock(&self.db)?;
        Ok(db.history.get(upload_id).map(|h| h.state(upload_id)))
    }

    async fn report_page(
        &self,
        upload_id: &str,
        after: Option<ReportCursor>,
        limit: usize,
    ) -> Result<Vec<(ReportCursor, ReportLine)>, PortError> {
        self.trip("report_page", upload_id)?;
        let db = lock(&self.db)?;
        // error_id: the position in insertion order.
        let mut lines: Vec<(ReportCursor, ReportLine)> = db
            .errors
            .iter()
            .enumerate()
            .filter(|(_, e)| e.upload_id == upload_id)
            .map(|(i, e)| ((e.line.row_number, i as i64), e.line.clone()))
            .filter(|(cursor, _)| after.is_none_or(|a| *cursor > a))
            .collect();
        lines.sort_by_key(|(cursor, _)| *cursor);
        lines.truncate(limit);
        Ok(lines)
    }

    async fn finish(
        &self,
        upload_id: &str,
        status: UploadStatus,
        report_key: Option<&str>,
    ) -> Result<bool, PortError> {
        self.trip("finish", upload_id)?;
        let mut db = lock(&self.db)?;
        let Some(h) = db.history.get_mut(upload_id) else {
            return Ok(false);
        };
        if h.status != UploadStatus::Processing || h.valid + h.errors != h.total {
            return Ok(false);
        }
        h.status = status;
        h.completed_at = Some(chrono::Utc::now());
        if let Some(key) = report_key {
            h.report_key = Some(key.to_string());
        }
        lock(&self.finished)?.push((upload_id.to_string(), status, report_key.map(str::to_string)));
        Ok(true)
    }
}

#[async_trait]
impl Reconciliation for Memory {
    async fn stuck_uploads(
        &self,
        started_before: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<Vec<UploadState>, PortError> {
        self.trip("stuck_uploads", "")?;
        let stuck: Vec<(chrono::DateTime<chrono::Utc>, String)> = {
            let db = lock(&self.db)?;
            db.history
                .iter()
                .filter(|(_, h)| h.status == UploadStatus::Processing && h.started_at < started_before)
                .map(|(id, h)| (h.started_at, id.clone()))
                .collect()
        };
        let mut stuck = stuck;
        stuck.sort();
        let mut out = Vec::new();
        for (_, id) in stuck.into_iter().take(limit) {
            if let Some(state) = self.state(&id).await? {
                out.push(state);
            }
        }
        Ok(out)
    }

    async fn count_failed_attempt(
        &self,
        upload_id: &str,
        row_numbers: &[u64],
        _reason: &str,
    ) -> Result<std::collections::HashMap<u64, u32>, PortError> {
        self.trip("count_failed_attempt", upload_id)?;
        let mut attempts = lock(&self.attempts)?;
        Ok(row_numbers
            .iter()
            .map(|n| {
                let count = attempts.entry((upload_id.to_string(), *n)).or_insert(0);
                *count += 1;
                (*n, *count)
            })
            .collect())
    }

    async fn undecided_rows(&self, upload_id: &str, after: u64, limit: usize) -> Result<Vec<u64>, PortError> {
        self.trip("undecided_rows", upload_id)?;
        let db = lock(&self.db)?;
        let total = db.history.get(upload_id).map_or(0, |h| h.total.max(0) as u64);
        Ok((after.saturating_add(1)..=total)
            .filter(|n| !db.rows.contains_key(&(upload_id.to_string(), *n)))
            .take(limit)
            .collect())
    }
}
