//! stream-validator: `UploadRecords` stream (INSERT, status `pending_validation`) →
//! the catalog.
//!
//! Per batch, per upload: one set of PostgreSQL reads (verdicts already decided,
//! in-file owners, SKU holders, categories, the file's columns), the rules applied in
//! memory, one statement that records the verdicts and upserts the valid products,
//! and only then the items' status in DynamoDB. A transient fault reports the upload's
//! records as batch item failures; nothing is marked before it is durable.

use adapters::streams::for_each_upload;
use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use domain::model::{RecordStatus, UploadRecord};
use domain::notify::Notify;
use domain::ports::{
    CatalogStore, Claim, ObjectStore, RecordStore, StoredVerdict, UploadCompletion, Verdict,
};
use domain::validation::{validate_row, CategorySet};
use domain::PortError;

/// The validator's ports, borrowed for one invocation.
pub struct Validator<'a, C, L, R, O> {
    pub catalog: &'a C,
    pub ledger: &'a L,
    pub records: &'a R,
    pub objects: &'a O,
    /// Bucket for reports, when this batch ends an upload that has errors.
    pub bucket: &'a str,
    /// Announces the upload when this batch ends it.
    pub notify: Notify<'a>,
}

impl<C, L, R, O> Validator<'_, C, L, R, O>
where
    C: CatalogStore,
    L: UploadCompletion,
    R: RecordStore,
    O: ObjectStore,
{
    pub async fn handle(&self, event: &Event) -> DynamoDbEventResponse {
        for_each_upload(
            event,
            RecordStatus::PendingValidation,
            |upload_id, rows| async move {
                let items: Vec<UploadRecord> = rows.into_iter().map(|(_, item)| item).collect();
                self.validate_items(&upload_id, &items).await
            },
        )
        .await
    }

    /// Validates these `pending_validation` items of one upload (a stream batch's, or the
    /// reconciler's), marks them, and ends the upload if they were its last rows.
    pub async fn validate_items(&self, upload_id: &str, rows: &[UploadRecord]) -> Result<(), PortError> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let vendor_id = first.vendor_id.clone();
        let numbers: Vec<u64> = rows.iter().map(|r| r.row_number).collect();
        let mut claims: Vec<Claim> = rows
            .iter()
            .flat_map(|r| Claim::of_row(r.row_number, &r.product_data))
            .collect();
        claims.sort_unstable_by(|a, b| (a.column, &a.value).cmp(&(b.column, &b.value)));
        claims.dedup_by(|a, b| a.column == b.column && a.value == b.value);

        let ctx = self.catalog.batch_context(upload_id, &numbers, &claims).await?;
        let categories = CategorySet::new(ctx.categories.iter().cloned());
        let mut verdicts: Vec<(u64, Verdict)> = Vec::with_capacity(rows.len());
        let mut judged = std::collections::HashSet::with_capacity(rows.len());
        for r in rows {
            // A row already decided, or twice in this batch (a redelivered record).
            if ctx.decided.contains_key(&r.row_number) || !judged.insert(r.row_number) {
                continue;
            }
            let facts = ctx.duplicate_facts(r);
            let verdict = match validate_row(&r.product_data, &ctx.columns, &categories, &facts) {
                Ok(product) => Verdict::Valid(Box::new(product)),
                Err(errors) => Verdict::Error(errors),
            };
            verdicts.push((r.row_number, verdict));
        }

        let committed = self
            .catalog
            .commit_verdicts(upload_id, &vendor_id, &verdicts)
            .await?;
        let mut standing = ctx.decided;
        standing.extend(committed.standing);

        // Durable in PostgreSQL: now the items may say so.
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut marked = Vec::with_capacity(rows.len());
        for r in rows {
            let Some(verdict) = standing.get(&r.row_number) else {
                return Err(PortError::unavailable(
                    "PostgreSQL",
                    format!("no verdict recorded for row {}", r.row_number),
                ));
            };
            let errors = match verdict {
                StoredVerdict::Valid => None,
                StoredVerdict::Error(errors) => Some(errors.as_slice()),
            };
            marked.push(r.decided(errors, &now));
        }
        self.records.put_all(&marked).await?;
        let valid = marked
            .iter()
            .filter(|r| r.status == RecordStatus::Validated)
            .count();
        tracing::info!(valid, errors = marked.len() - valid, "batch validated");

        // The commit read the counters under the upload's lock: no read of our own,
        // unless there was nothing to commit (every row decided by an earlier delivery).
        match committed.upload {
            Some(state) => {
                domain::finalise::finalise_from(self.ledger, self.objects, self.bucket, state, self.notify)
                    .await?
            }
            None => {
                domain::finalise::finalise(self.ledger, self.objects, self.bucket, upload_id, self.notify)
                    .await?
            }
        };
        Ok(())
    }
}

/// The production wiring: clients and pool built once per execution environment.
pub struct Wiring {
    adapters: adapters::pipeline::PipelineAdapters,
}

impl Wiring {
    pub async fn from_env() -> Result<Wiring, adapters::pipeline::InitError> {
        Ok(Wiring {
            adapters: adapters::pipeline::PipelineAdapters::from_env().await?,
        })
    }

    pub async fn handle(&self, event: &Event) -> DynamoDbEventResponse {
        let a = &self.adapters;
        Validator {
            catalog: &a.catalog,
            ledger: &a.catalog,
            records: &a.records,
            objects: &a.objects,
            bucket: &a.config.upload_bucket,
            notify: a.notify(),
        }
        .handle(event)
        .await
    }
}

#[cfg(test)]
mod tests;
