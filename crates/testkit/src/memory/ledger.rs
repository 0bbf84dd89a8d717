//! The ledger ports in memory: vendors, the parser's intake, the error processor's
//! rows, the finaliser's completion.

use super::{lock, no_history, Decided, History, Memory, Outbox, StoredError};
use async_trait::async_trait;
use domain::ports::{
    Claim, ErrorLedger, ErrorRow, FileFailure, StartOutcome, StoredVerdict, UploadCompletion, UploadIntake,
    UploadStart, UploadState, VendorDirectory,
};
use domain::report::ReportLine;
use domain::upload::UploadStatus;
use domain::vendor::VendorStatus;
use domain::PortError;

#[async_trait]
impl VendorDirectory for Memory {
    async fn vendor_status(&self, vendor_id: &str) -> Result<Option<VendorStatus>, PortError> {
        self.trip("vendor_status", vendor_id)?;
        Ok(lock(&self.vendors)?.get(vendor_id).copied())
    }
}

#[async_trait]
impl UploadIntake for Memory {
    async fn register_claims(&self, upload_id: &str, claims: &[Claim]) -> Result<(), PortError> {
        self.trip("register_claims", upload_id)?;
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

    async fn start_upload(&self, start: &UploadStart) -> Result<StartOutcome, PortError> {
        self.trip("start_upload", &start.upload_id)?;
        let mut db = lock(&self.db)?;
        if let Some(h) = db.history.get(&start.upload_id) {
            return Ok(StartOutcome::Existing { parsed: h.parsed });
        }
        db.history.insert(
            start.upload_id.clone(),
            History {
                vendor_id: start.vendor_id.clone(),
                status: UploadStatus::Processing,
                total: i64::try_from(start.total_records).map_err(|e| PortError::rejected("memory", e))?,
                valid: 0,
                errors: 0,
                report_key: None,
                columns: start.columns.clone(),
                parsed: false,
                file_name: start.file_name.clone(),
                completed_at: None,
                notification: Outbox::default(),
            },
        );
        Ok(StartOutcome::Created)
    }

    async fn mark_parsed(&self, upload_id: &str) -> Result<(), PortError> {
        self.trip("mark_parsed", upload_id)?;
        if let Some(h) = lock(&self.db)?.history.get_mut(upload_id) {
            h.parsed = true;
        }
        Ok(())
    }

    async fn fail_upload(&self, failure: &FileFailure) -> Result<(), PortError> {
        self.trip("fail_upload", &failure.upload_id)?;
        let mut db = lock(&self.db)?;
        if db.history.contains_key(&failure.upload_id) {
            return Ok(());
        }
        db.history.insert(
            failure.upload_id.clone(),
            History {
                vendor_id: failure.vendor_id.clone(),
                status: UploadStatus::Failed,
                total: 0,
                valid: 0,
                errors: 0,
                report_key: Some(failure.report_key.clone()),
                columns: failure.columns.clone(),
                parsed: true,
                file_name: failure.file_name.clone(),
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
        Ok(db.history.get(upload_id).map(|h| UploadState {
            upload_id: upload_id.to_string(),
            vendor_id: h.vendor_id.clone(),
            status: h.status,
            total_records: h.total,
            valid_records: h.valid,
            error_records: h.errors,
            error_file_s3_key: h.report_key.clone(),
            columns: h.columns.clone(),
        }))
    }

    async fn report_lines(&self, upload_id: &str) -> Result<Vec<ReportLine>, PortError> {
        self.trip("report_lines", upload_id)?;
        let db = lock(&self.db)?;
        let mut lines: Vec<ReportLine> = db
            .errors
            .iter()
            .filter(|e| e.upload_id == upload_id)
            .map(|e| e.line.clone())
            .collect();
        lines.sort_by_key(|l| l.row_number); // Stable: error_id order within a row.
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
