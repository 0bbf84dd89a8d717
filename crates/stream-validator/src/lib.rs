//! stream-validator: `UploadRecords` stream (INSERT, status `pending_validation`) →
//! the catalog.
//!
//! Per batch, per upload: one set of PostgreSQL reads (verdicts already decided,
//! in-file owners, SKU holders, categories, the file's columns), the rules applied in
//! memory, one transaction that records the verdicts and upserts the valid products,
//! and only then the items' status in DynamoDB. A transient fault reports the upload's
//! records as batch item failures; nothing is marked before it is durable.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use domain::model::{RecordStatus, UploadRecord};
use domain::ports::{CatalogStore, ObjectStore, RecordStore, StoredVerdict, UploadLedger, Verdict};
use domain::validation::{validate_row, CategorySet, DuplicateFacts};
use domain::PortError;
use std::collections::HashMap;
use std::future::Future;
use tracing::Instrument;

/// The validator's ports, borrowed for one invocation.
pub struct Validator<'a, C, L, R, O> {
    pub catalog: &'a C,
    pub ledger: &'a L,
    pub records: &'a R,
    pub objects: &'a O,
    /// Bucket for reports, when this batch ends an upload that has errors.
    pub bucket: &'a str,
}

/// Stream records decoded into items, grouped by upload in arrival order.
pub struct Decoded {
    pub groups: Vec<(String, Vec<(String, UploadRecord)>)>,
    /// Sequence numbers of records that could not be decoded.
    pub undecodable: Vec<String>,
}

/// Decodes `NewImage`s with serde_dynamo; keeps only records whose status is `wanted`.
pub fn decode(event: &Event, wanted: RecordStatus) -> Decoded {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<(String, Vec<(String, UploadRecord)>)> = Vec::new();
    let mut undecodable = Vec::new();
    for record in &event.records {
        let seq = sequence_number(record);
        match serde_dynamo::from_item::<_, UploadRecord>(record.change.new_image.clone()) {
            Ok(item) if item.status == wanted => {
                let slot = *index.entry(item.upload_id.clone()).or_insert_with(|| {
                    groups.push((item.upload_id.clone(), Vec::new()));
                    groups.len() - 1
                });
                groups[slot].1.push((seq, item));
            }
            Ok(_) => {} // Not ours (the filter normally keeps these away).
            Err(e) => {
                tracing::error!(sequence_number = %seq, error = %e, "stream record is not an UploadRecords item");
                undecodable.push(seq);
            }
        }
    }
    Decoded { groups, undecodable }
}

/// The shared shape of both stream consumers: decodes the batch (records whose status
/// is `wanted`), runs `each` once per upload with that upload's rows, in arrival order,
/// and reports as batch item failures the records of every upload whose call failed and
/// every record that could not be decoded. Uploads are independent: one failing does
/// not stop the others.
pub async fn for_each_upload<F, Fut>(
    event: &Event,
    wanted: RecordStatus,
    mut each: F,
) -> DynamoDbEventResponse
where
    F: FnMut(String, Vec<(String, UploadRecord)>) -> Fut,
    Fut: Future<Output = Result<(), PortError>>,
{
    let decoded = decode(event, wanted);
    let mut failed = decoded.undecodable;
    for (upload_id, rows) in decoded.groups {
        let sequence_numbers: Vec<String> = rows.iter().map(|(seq, _)| seq.clone()).collect();
        let span = tracing::info_span!("upload", upload_id = %upload_id, records = rows.len());
        if let Err(e) = each(upload_id.clone(), rows).instrument(span).await {
            tracing::warn!(upload_id, error = %e, transient = e.is_transient(), "batch item failures reported");
            failed.extend(sequence_numbers);
        }
    }
    failures(failed)
}

pub fn sequence_number(record: &EventRecord) -> String {
    record.change.sequence_number.clone().unwrap_or_default()
}

pub fn failures(ids: Vec<String>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = ids
        .into_iter()
        .map(|id| {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = Some(id);
            f
        })
        .collect();
    response
}

impl<C, L, R, O> Validator<'_, C, L, R, O>
where
    C: CatalogStore,
    L: UploadLedger,
    R: RecordStore,
    O: ObjectStore,
{
    pub async fn handle(&self, event: &Event) -> DynamoDbEventResponse {
        for_each_upload(
            event,
            RecordStatus::PendingValidation,
            |upload_id, rows| async move { self.validate_upload(&upload_id, &rows).await },
        )
        .await
    }

    async fn validate_upload(
        &self,
        upload_id: &str,
        rows: &[(String, UploadRecord)],
    ) -> Result<(), PortError> {
        let Some((_, first)) = rows.first() else {
            return Ok(());
        };
        let vendor_id = first.vendor_id.clone();
        let numbers: Vec<u64> = rows.iter().map(|(_, r)| r.row_number).collect();
        let mut values: Vec<String> = Vec::with_capacity(rows.len() * 2);
        for (_, r) in rows {
            for column in ["sku", "vendor_product_id"] {
                if let Some(v) = trimmed(&r.product_data, column) {
                    values.push(v.to_string());
                }
            }
        }
        values.sort();
        values.dedup();

        let ctx = self.catalog.batch_context(upload_id, &numbers, &values).await?;
        let categories = CategorySet::new(ctx.categories.iter().cloned());
        let mut verdicts: Vec<(u64, Verdict)> = Vec::new();
        for (_, r) in rows {
            if ctx.decided.contains_key(&r.row_number) || verdicts.iter().any(|(n, _)| *n == r.row_number) {
                continue;
            }
            let owner = |column: &str| {
                trimmed(&r.product_data, column)
                    .and_then(|v| ctx.owners.get(&(column.to_string(), v.to_string())))
                    .copied()
                    .filter(|owner| *owner < r.row_number)
            };
            let sku_owned_by_other_product = trimmed(&r.product_data, "sku")
                .and_then(|sku| ctx.sku_holders.get(sku))
                .map(|(vendor, vpid)| {
                    vendor != &r.vendor_id
                        || Some(vpid.as_str()) != trimmed(&r.product_data, "vendor_product_id")
                })
                .unwrap_or(false);
            let dups = DuplicateFacts {
                sku_taken_earlier_in_file: owner("sku"),
                vendor_product_id_taken_earlier_in_file: owner("vendor_product_id"),
                sku_owned_by_other_product,
            };
            let verdict = match validate_row(&r.product_data, &ctx.columns, &categories, &dups) {
                Ok(product) => Verdict::Valid(Box::new(product)),
                Err(errors) => Verdict::Error(errors),
            };
            verdicts.push((r.row_number, verdict));
        }

        let mut standing = ctx.decided;
        standing.extend(
            self.catalog
                .commit_verdicts(upload_id, &vendor_id, &verdicts)
                .await?,
        );

        // Durable in PostgreSQL: now the items may say so.
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let mut marked = Vec::with_capacity(rows.len());
        for (_, r) in rows {
            let Some(verdict) = standing.get(&r.row_number) else {
                return Err(PortError::unavailable(
                    "PostgreSQL",
                    format!("no verdict recorded for row {}", r.row_number),
                ));
            };
            let mut item = r.clone();
            item.updated_at = now.clone();
            match verdict {
                StoredVerdict::Valid => {
                    item.status = RecordStatus::Validated;
                    item.error_type = None;
                    item.error_reason = Vec::new();
                }
                StoredVerdict::Error(errors) => {
                    item.status = RecordStatus::Error;
                    item.error_type = errors.first().map(|e| e.error_type);
                    item.error_reason = errors.clone();
                }
            }
            marked.push(item);
        }
        self.records.put_all(&marked).await?;
        let valid = marked
            .iter()
            .filter(|r| r.status == RecordStatus::Validated)
            .count();
        tracing::info!(valid, errors = marked.len() - valid, "batch validated");

        domain::finalise::finalise(self.ledger, self.objects, self.bucket, upload_id).await?;
        Ok(())
    }
}

fn trimmed<'a>(data: &'a domain::model::ProductData, column: &str) -> Option<&'a str> {
    data.get(column).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The production wiring: clients and pool built once per execution environment.
pub struct Wiring {
    pub objects: domain::adapters::s3_objects::S3Objects,
    pub records: domain::adapters::dynamo_records::DynamoRecords,
    pub catalog: domain::adapters::postgres::PgCatalog,
    pub bucket: String,
}

impl Wiring {
    pub async fn from_env() -> Result<Wiring, lambda_runtime::Error> {
        let a = domain::clients::PipelineAdapters::from_env().await?;
        Ok(Wiring {
            objects: a.objects,
            records: a.records,
            catalog: a.catalog,
            bucket: a.config.upload_bucket,
        })
    }

    pub async fn handle(&self, event: &Event) -> DynamoDbEventResponse {
        Validator {
            catalog: &self.catalog,
            ledger: &self.catalog,
            records: &self.records,
            objects: &self.objects,
            bucket: &self.bucket,
        }
        .handle(event)
        .await
    }
}

#[cfg(test)]
mod tests;
