//! The validator against in-memory ports: no AWS, no database, milliseconds.
//!
//! One `Memory` plays PostgreSQL (the catalog and the ledger share it, as `PgCatalog`
//! does: a verdict committed by one is a counter the other reads), the `UploadRecords`
//! table and the bucket. Any call can be made to fail transiently, for one upload or
//! for all, a given number of times.

use super::*;
use async_trait::async_trait;
use domain::codes::ErrorCode;
use domain::model::{record_id, RowError};
use domain::ports::{
    BatchContext, Claim, ErrorRow, FileFailure, ObjectInfo, ObjectReader, StartOutcome, UploadStart,
    UploadState,
};
use domain::report::ReportLine;
use domain::upload::{report_key, UploadStatus};
use domain::validation::ValidProduct;
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, MutexGuard};

const BUCKET: &str = "b";
const VENDOR: &str = "VEND001";
const COLUMNS: [&str; 6] = [
    "vendor_product_id",
    "product_name",
    "category",
    "sku",
    "price",
    "stock_quantity",
];
const CREATED_AT: &str = "2026-01-01T00:00:00.000Z";

/// `upload_history`.
struct History {
    vendor_id: String,
    status: UploadStatus,
    total: i64,
    valid: i64,
    errors: i64,
    report_key: Option<String>,
    columns: Vec<String>,
    parsed: bool,
}

/// `upload_rows`: the verdict that stands for a row, decided once.
struct Decided {
    verdict: StoredVerdict,
    error_recorded: bool,
}

/// What PostgreSQL holds.
#[derive(Default)]
struct Db {
    history: HashMap<String, History>,
    rows: HashMap<(String, u64), Decided>,
    /// `upload_claims`: (upload_id, column, value) → lowest row carrying it.
    claims: HashMap<(String, String, String), u64>,
    /// `products` by (vendor_id, vendor_product_id), with the upload that last wrote it.
    products: HashMap<(String, String), (ValidProduct, String)>,
    /// The unique index on `products.sku`: sku → (vendor_id, vendor_product_id).
    sku_holders: HashMap<String, (String, String)>,
    /// Active categories, canonical spelling.
    categories: Vec<String>,
    /// `validation_errors`, in insertion (error_id) order.
    errors: Vec<(String, ReportLine)>,
}

/// A transient fault waiting for a call.
struct Fault {
    call: &'static str,
    /// `None`: whatever upload the call is about.
    upload_id: Option<String>,
    times: usize,
}

#[derive(Default)]
struct Memory {
    db: Mutex<Db>,
    /// `UploadRecords` as the validator left it.
    items: Mutex<BTreeMap<(String, String), UploadRecord>>,
    /// Every `put_all` call, in order.
    puts: Mutex<Vec<Vec<UploadRecord>>>,
    objects: Mutex<HashMap<(String, String), Vec<u8>>>,
    /// Every `finish` that ended an upload: (upload_id, status, report key).
    finished: Mutex<Vec<(String, UploadStatus, Option<String>)>>,
    faults: Mutex<Vec<Fault>>,
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, PortError> {
    m.lock().map_err(|e| PortError::rejected("memory", e))
}

fn no_history(upload_id: &str) -> PortError {
    PortError::rejected("memory", format!("upload {upload_id} has no upload_history row"))
}

impl Memory {
    /// The next `times` calls of `call` (about `upload_id`, or any upload) fail transiently.
    fn fail(&self, call: &'static str, upload_id: Option<&str>, times: usize) {
        self.faults.lock().expect("lock").push(Fault {
            call,
            upload_id: upload_id.map(str::to_string),
            times,
        });
    }

    fn trip(&self, call: &'static str, upload_id: &str) -> Result<(), PortError> {
        let mut faults = lock(&self.faults)?;
        let armed = faults
            .iter_mut()
            .find(|f| f.call == call && f.times > 0 && f.upload_id.as_deref().is_none_or(|u| u == upload_id));
        if let Some(fault) = armed {
            fault.times -= 1;
            return Err(PortError::unavailable(
                "memory",
                format!("{call} for {upload_id}: injected fault"),
            ));
        }
        Ok(())
    }
}

/// The upsert on `(vendor_id, vendor_product_id)`, keeping the sku index in step.
fn upsert(db: &mut Db, upload_id: &str, vendor_id: &str, product: &ValidProduct) {
    let key = (vendor_id.to_string(), product.vendor_product_id.clone());
    if let Some((old, _)) = db.products.get(&key) {
        db.sku_holders.remove(old.sku.as_str());
    }
    db.sku_holders
        .insert(product.sku.as_str().to_string(), key.clone());
    db.products.insert(key, (product.clone(), upload_id.to_string()));
}

#[async_trait]
impl CatalogStore for Memory {
    async fn batch_context(
        &self,
        upload_id: &str,
        row_numbers: &[u64],
        values: &[String],
    ) -> Result<BatchContext, PortError> {
        self.trip("batch_context", upload_id)?;
        let db = lock(&self.db)?;
        let mut ctx = BatchContext::default();
        for n in row_numbers {
            if let Some(d) = db.rows.get(&(upload_id.to_string(), *n)) {
                ctx.decided.insert(*n, d.verdict.clone());
            }
        }
        for ((upload, column, value), row) in &db.claims {
            if upload == upload_id && values.contains(value) {
                ctx.owners.insert((column.clone(), value.clone()), *row);
            }
        }
        for value in values {
            if let Some(holder) = db.sku_holders.get(value) {
                ctx.sku_holders.insert(value.clone(), holder.clone());
            }
        }
        ctx.categories = db.categories.clone();
        ctx.columns = db
            .history
            .get(upload_id)
            .map(|h| h.columns.clone())
            .unwrap_or_default();
        Ok(ctx)
    }

    async fn commit_verdicts(
        &self,
        upload_id: &str,
        vendor_id: &str,
        verdicts: &[(u64, Verdict)],
    ) -> Result<HashMap<u64, StoredVerdict>, PortError> {
        if verdicts.is_empty() {
            return Ok(HashMap::new());
        }
        self.trip("commit_verdicts", upload_id)?;
        let mut guard = lock(&self.db)?;
        let db = &mut *guard;
        if !db.history.contains_key(upload_id) {
            return Err(no_history(upload_id));
        }
        // One transaction: whatever can fail is checked before anything changes.
        for (n, verdict) in verdicts {
            if let Verdict::Valid(p) = verdict {
                let holder = db.sku_holders.get(p.sku.as_str());
                let fresh = !db.rows.contains_key(&(upload_id.to_string(), *n));
                if fresh && holder.is_some_and(|h| h != &(vendor_id.to_string(), p.vendor_product_id.clone()))
                {
                    // PostgreSQL's unique violation (23505) is transient: the retry decides again.
                    return Err(PortError::unavailable(
                        "memory",
                        format!("sku {} is held by another product", p.sku),
                    ));
                }
            }
        }
        let mut standing = HashMap::new();
        for (n, verdict) in verdicts {
            let key = (upload_id.to_string(), *n);
            if let Some(decided) = db.rows.get(&key) {
                // First commit wins: a later one gets the verdict that stands.
                standing.insert(*n, decided.verdict.clone());
                continue;
            }
            let stored = match verdict {
                Verdict::Valid(product) => {
                    upsert(db, upload_id, vendor_id, product);
                    if let Some(h) = db.history.get_mut(upload_id) {
                        h.valid += 1;
                    }
                    StoredVerdict::Valid
                }
                Verdict::Error(errors) => StoredVerdict::Error(errors.clone()),
            };
            db.rows.insert(
                key,
                Decided {
                    verdict: stored.clone(),
                    error_recorded: false,
                },
            );
            standing.insert(*n, stored);
        }
        Ok(standing)
    }
}

#[async_trait]
impl UploadLedger for Memory {
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
            },
        );
        db.errors.push((
            failure.upload_id.clone(),
            ReportLine {
                row_number: 0,
                error_type: failure.error.error_type,
                error_message: failure.error.message.clone(),
                original: None,
            },
        ));
        Ok(())
    }

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
                db.errors.push((
                    upload_id.to_string(),
                    ReportLine {
                        row_number: i64::try_from(row.row_number)
                            .map_err(|x| PortError::rejected("memory", x))?,
                        error_type: e.error_type,
                        error_message: e.message.clone(),
                        original: row.original.clone(),
                    },
                ));
            }
        }
        if let Some(h) = db.history.get_mut(upload_id) {
            h.errors += fresh as i64;
        }
        Ok(fresh)
    }

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
            .filter(|(u, _)| u == upload_id)
            .map(|(_, line)| line.clone())
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
        if let Some(key) = report_key {
            h.report_key = Some(key.to_string());
        }
        lock(&self.finished)?.push((upload_id.to_string(), status, report_key.map(str::to_string)));
        Ok(true)
    }
}

#[async_trait]
impl RecordStore for Memory {
    async fn put_all(&self, records: &[UploadRecord]) -> Result<(), PortError> {
        for r in records {
            self.trip("put_all", &r.upload_id)?;
        }
        let mut items = lock(&self.items)?;
        for r in records {
            items.insert((r.upload_id.clone(), r.record_id.clone()), r.clone());
        }
        lock(&self.puts)?.push(records.to_vec());
        Ok(())
    }

    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError> {
        self.trip("existing", upload_id)?;
        let items = lock(&self.items)?;
        Ok(record_ids
            .iter()
            .filter(|id| items.contains_key(&(upload_id.to_string(), (*id).clone())))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl ObjectStore for Memory {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PortError> {
        self.trip("head", key)?;
        let objects = lock(&self.objects)?;
        Ok(objects.get(&(bucket.into(), key.into())).map(|b| ObjectInfo {
            size: b.len() as u64,
            etag: None,
        }))
    }

    async fn open(&self, bucket: &str, key: &str, _: &ObjectInfo) -> Result<ObjectReader, PortError> {
        self.trip("open", key)?;
        let objects = lock(&self.objects)?;
        let body = objects
            .get(&(bucket.into(), key.into()))
            .cloned()
            .unwrap_or_default();
        Ok(Box::pin(std::io::Cursor::new(body)))
    }

    /// Faults on `put` are matched against the key, not an upload id.
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, _: &str) -> Result<(), PortError> {
        self.trip("put", key)?;
        lock(&self.objects)?.insert((bucket.into(), key.into()), body);
        Ok(())
    }
}

fn memory() -> Memory {
    Memory {
        db: Mutex::new(Db {
            categories: vec!["Books".into(), "Electronics".into()],
            ..Db::default()
        }),
        ..Memory::default()
    }
}

/// A `pending_validation` item of `VEND001`, as the parser writes it.
fn row(upload_id: &str, n: u64, cells: &[(&str, &str)]) -> UploadRecord {
    UploadRecord {
        upload_id: upload_id.into(),
        record_id: record_id(n),
        vendor_id: VENDOR.into(),
        file_name: "p.csv".into(),
        row_number: n,
        product_data: cells
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        status: RecordStatus::PendingValidation,
        error_type: None,
        error_reason: Vec::new(),
        created_at: CREATED_AT.into(),
        updated_at: CREATED_AT.into(),
        ttl: 1_800_000_000,
    }
}

/// A row every rule accepts.
fn product(upload_id: &str, n: u64, vpid: &str, sku: &str) -> UploadRecord {
    row(
        upload_id,
        n,
        &[
            ("vendor_product_id", vpid),
            ("product_name", "A product"),
            ("category", "books"),
            ("sku", sku),
            ("price", "19.99"),
            ("stock_quantity", "5"),
        ],
    )
}

/// What the parser leaves in PostgreSQL: the upload's history row and the in-file
/// owner of every sku and vendor_product_id.
async fn parsed(mem: &Memory, upload_id: &str, columns: &[&str], items: &[&UploadRecord]) {
    mem.start_upload(&UploadStart {
        upload_id: upload_id.into(),
        vendor_id: items.first().map_or(VENDOR, |i| i.vendor_id.as_str()).into(),
        file_name: "p.csv".into(),
        s3_key: "uploads/VEND001/p.csv".into(),
        total_records: items.len() as u64,
        columns: columns.iter().map(|c| c.to_string()).collect(),
        uploaded_at: chrono::Utc::now(),
    })
    .await
    .expect("start");
    let mut claims = Vec::new();
    for item in items {
        for column in ["sku", "vendor_product_id"] {
            if let Some(v) = trimmed(&item.product_data, column) {
                claims.push(Claim {
                    column,
                    value: v.to_string(),
                    row_number: item.row_number,
                });
            }
        }
    }
    mem.register_claims(upload_id, &claims).await.expect("claims");
    mem.mark_parsed(upload_id).await.expect("parsed");
}

/// The handler treats sequence numbers as opaque; these say whose record it is.
fn seq(item: &UploadRecord) -> String {
    format!("{}/{}", item.upload_id, item.row_number)
}

/// A stream record as Lambda delivers it (INSERT, NEW_IMAGE).
fn stream_record(sequence_number: &str, new_image: serde_json::Value) -> serde_json::Value {
    let keys: serde_json::Map<String, serde_json::Value> = ["upload_id", "record_id"]
        .into_iter()
        .filter_map(|k| new_image.get(k).map(|v| (k.to_string(), v.clone())))
        .collect();
    json!({
        "eventID": sequence_number,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_700_000_000,
            "Keys": keys,
            "NewImage": new_image,
            "SequenceNumber": sequence_number,
            "SizeBytes": 100,
            "StreamViewType": "NEW_IMAGE"
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/UploadRecords/stream/x"
    })
}

fn image(item: &UploadRecord) -> serde_json::Value {
    let image: serde_dynamo::Item = serde_dynamo::to_item(item).expect("item");
    serde_json::to_value(image).expect("DynamoDB JSON")
}

fn batch(records: Vec<serde_json::Value>) -> Event {
    serde_json::from_value(json!({ "Records": records })).expect("a DynamoDB stream event")
}

fn event(items: &[&UploadRecord]) -> Event {
    batch(items.iter().map(|i| stream_record(&seq(i), image(i))).collect())
}

/// Delivers the batch; returns the reported batch item failures, sorted.
async fn deliver(mem: &Memory, event: &Event) -> Vec<String> {
    let validator = Validator {
        catalog: mem,
        ledger: mem,
        records: mem,
        objects: mem,
        bucket: BUCKET,
    };
    let mut failed: Vec<String> = validator
        .handle(event)
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier.expect("an item identifier"))
        .collect();
    failed.sort();
    failed
}

fn seqs(items: &[&UploadRecord]) -> Vec<String> {
    let mut s: Vec<String> = items.iter().map(|i| seq(i)).collect();
    s.sort();
    s
}

fn item(mem: &Memory, upload_id: &str, n: u64) -> Option<UploadRecord> {
    mem.items
        .lock()
        .expect("lock")
        .get(&(upload_id.to_string(), record_id(n)))
        .cloned()
}

fn marked(mem: &Memory, upload_id: &str, n: u64) -> UploadRecord {
    item(mem, upload_id, n).unwrap_or_else(|| panic!("row {n} of {upload_id} was never marked"))
}

/// Every (upload, row) ever passed to `put_all`.
fn written(mem: &Memory) -> Vec<(String, u64)> {
    mem.puts
        .lock()
        .expect("lock")
        .iter()
        .flatten()
        .map(|r| (r.upload_id.clone(), r.row_number))
        .collect()
}

fn counters(mem: &Memory, upload_id: &str) -> (i64, i64, UploadStatus) {
    let db = mem.db.lock().expect("lock");
    let h = db.history.get(upload_id).expect("history");
    (h.valid, h.errors, h.status)
}

fn products(mem: &Memory) -> HashMap<(String, String), (ValidProduct, String)> {
    mem.db.lock().expect("lock").products.clone()
}

fn codes_and_columns(errors: &[RowError]) -> Vec<(ErrorCode, &str)> {
    errors.iter().map(|e| (e.error_type, e.column.as_str())).collect()
}

#[tokio::test]
async fn valid_rows_are_marked_validated_and_their_products_upserted() {
    let mem = memory();
    let rows = [
        product("U1", 1, "P1", "S-1"),
        product("U1", 2, " P2 ", " S-2 "),
        product("U1", 3, "P3", "S-3"),
    ];
    let refs: Vec<&UploadRecord> = rows.iter().collect();
    parsed(&mem, "U1", &COLUMNS, &refs).await;

    assert_eq!(deliver(&mem, &event(&refs)).await, Vec::<String>::new());

    assert_eq!(
        mem.puts.lock().expect("lock").len(),
        1,
        "one put_all for the batch"
    );
    for original in &rows {
        let got = marked(&mem, "U1", original.row_number);
        assert_ne!(got.updated_at, CREATED_AT, "updated_at moves");
        let mut expected = original.clone();
        expected.status = RecordStatus::Validated;
        expected.updated_at = got.updated_at.clone();
        assert_eq!(got, expected, "only status and updated_at change");
    }
    let catalog = products(&mem);
    assert_eq!(catalog.len(), 3);
    let (p2, upload) = catalog
        .get(&(VENDOR.to_string(), "P2".to_string()))
        .expect("P2 upserted, trimmed");
    assert_eq!(p2.sku.as_str(), "S-2");
    assert_eq!(p2.category, "Books", "canonical category");
    assert_eq!(upload, "U1");
    assert_eq!(
        mem.db.lock().expect("lock").sku_holders.get("S-3"),
        Some(&(VENDOR.to_string(), "P3".to_string()))
    );
    // Every row valid and counted: this batch ended the upload, with no report.
    assert_eq!(counters(&mem, "U1"), (3, 0, UploadStatus::Completed));
    assert_eq!(
        *mem.finished.lock().expect("lock"),
        vec![("U1".to_string(), UploadStatus::Completed, None)]
    );
    assert!(mem.objects.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn rows_with_errors_are_marked_error_with_every_error_in_the_file_column_order() {
    let mem = memory();
    // The file's header order, not the canonical one, orders a row's errors.
    let columns = [
        "price",
        "sku",
        "category",
        "vendor_product_id",
        "product_name",
        "stock_quantity",
    ];
    let bad = row(
        "U1",
        1,
        &[
            ("price", "abc"),
            ("sku", "bad sku!"),
            ("category", "Nope"),
            ("vendor_product_id", "P1"),
            ("product_name", "One"),
            ("stock_quantity", "1"),
        ],
    );
    let worse = row(
        "U1",
        2,
        &[
            ("price", "2.00"),
            ("sku", "S-2"),
            ("category", "Books"),
            ("vendor_product_id", "P2"),
            ("product_name", "  "),
            ("stock_quantity", "-1"),
        ],
    );
    let good = product("U1", 3, "P3", "S-3");
    parsed(&mem, "U1", &columns, &[&bad, &worse, &good]).await;

    assert_eq!(
        deliver(&mem, &event(&[&bad, &worse, &good])).await,
        Vec::<String>::new()
    );

    let one = marked(&mem, "U1", 1);
    assert_eq!(one.status, RecordStatus::Error);
    assert_eq!(one.error_type, Some(ErrorCode::InvalidPrice));
    assert_eq!(
        codes_and_columns(&one.error_reason),
        vec![
            (ErrorCode::InvalidPrice, "price"),
            (ErrorCode::InvalidSku, "sku"),
            (ErrorCode::InvalidCategory, "category"),
        ]
    );
    let two = marked(&mem, "U1", 2);
    assert_eq!(two.status, RecordStatus::Error);
    assert_eq!(two.error_type, Some(ErrorCode::MissingRequiredField));
    assert_eq!(
        codes_and_columns(&two.error_reason),
        vec![
            (ErrorCode::MissingRequiredField, "product_name"),
            (ErrorCode::InvalidStock, "stock_quantity"),
        ]
    );
    assert_eq!(marked(&mem, "U1", 3).status, RecordStatus::Validated);

    // Nothing of the error rows reaches the catalog; their verdicts are on the ledger.
    let catalog = products(&mem);
    assert_eq!(
        catalog.keys().cloned().collect::<Vec<_>>(),
        vec![(VENDOR.to_string(), "P3".to_string())]
    );
    let db = mem.db.lock().expect("lock");
    assert!(!db.sku_holders.contains_key("S-2"));
    assert_eq!(
        db.rows.get(&("U1".to_string(), 2)).map(|d| &d.verdict),
        Some(&StoredVerdict::Error(two.error_reason.clone()))
    );
    drop(db);
    // Error rows are counted by the error processor: the upload is not over yet.
    assert_eq!(counters(&mem, "U1"), (1, 0, UploadStatus::Processing));
    assert!(mem.finished.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_redelivered_batch_changes_nothing() {
    let mem = memory();
    let one = product("U1", 1, "P1", "S-1");
    let mut two = product("U1", 2, "P2", "S-2");
    two.product_data.insert("price".into(), "free".into());
    let three = product("U1", 3, "P3", "S-3");
    let all = [&one, &two, &three];
    parsed(&mem, "U1", &COLUMNS, &all).await;
    assert_eq!(deliver(&mem, &event(&all)).await, Vec::<String>::new());
    let catalog = products(&mem);
    let statuses = |mem: &Memory| -> Vec<(RecordStatus, Option<ErrorCode>, Vec<RowError>)> {
        (1..=3)
            .map(|n| {
                let r = marked(mem, "U1", n);
                (r.status, r.error_type, r.error_reason)
            })
            .collect()
    };
    let before = statuses(&mem);
    assert_eq!(before[1].0, RecordStatus::Error);

    // Were the rows judged again, Books being retired would make every row an error.
    mem.db.lock().expect("lock").categories = vec!["Electronics".into()];
    assert_eq!(deliver(&mem, &event(&all)).await, Vec::<String>::new());

    assert_eq!(statuses(&mem), before, "the verdicts stand");
    assert_eq!(products(&mem), catalog, "no duplicate or changed product");
    assert_eq!(products(&mem).len(), 2);
    assert_eq!(
        counters(&mem, "U1"),
        (2, 0, UploadStatus::Processing),
        "counted once"
    );
    assert_eq!(mem.db.lock().expect("lock").rows.len(), 3);
}

#[tokio::test]
async fn a_transient_fault_before_the_verdicts_are_durable_marks_nothing_and_is_retried() {
    for call in ["batch_context", "commit_verdicts"] {
        let mem = memory();
        let one = product("U1", 1, "P1", "S-1");
        let two = product("U1", 2, "P2", "S-2");
        parsed(&mem, "U1", &COLUMNS, &[&one, &two]).await;
        mem.fail(call, Some("U1"), 1);

        let failed = deliver(&mem, &event(&[&one, &two])).await;

        assert_eq!(
            failed,
            seqs(&[&one, &two]),
            "{call}: the upload's records are retried"
        );
        assert!(
            mem.puts.lock().expect("lock").is_empty(),
            "{call}: no item marked"
        );
        assert!(mem.items.lock().expect("lock").is_empty(), "{call}");
        assert!(products(&mem).is_empty(), "{call}: nothing in the catalog");
        assert!(mem.db.lock().expect("lock").rows.is_empty(), "{call}: no verdict");
        assert_eq!(counters(&mem, "U1"), (0, 0, UploadStatus::Processing), "{call}");

        // The event source redelivers; the database is back.
        assert_eq!(
            deliver(&mem, &event(&[&one, &two])).await,
            Vec::<String>::new(),
            "{call}"
        );
        assert_eq!(marked(&mem, "U1", 1).status, RecordStatus::Validated, "{call}");
        assert_eq!(marked(&mem, "U1", 2).status, RecordStatus::Validated, "{call}");
        assert_eq!(products(&mem).len(), 2, "{call}");
        assert_eq!(counters(&mem, "U1"), (2, 0, UploadStatus::Completed), "{call}");
    }
}

#[tokio::test]
async fn a_fault_after_the_verdicts_are_durable_is_retried_with_the_same_verdicts() {
    for call in ["put_all", "state"] {
        let mem = memory();
        let one = product("U1", 1, "P1", "S-1");
        let two = product("U1", 2, "P2", "S-2");
        parsed(&mem, "U1", &COLUMNS, &[&one, &two]).await;
        mem.fail(call, None, 1);

        let failed = deliver(&mem, &event(&[&one, &two])).await;
        assert_eq!(failed, seqs(&[&one, &two]), "{call}");
        assert_eq!(counters(&mem, "U1"), (2, 0, UploadStatus::Processing), "{call}");
        assert!(mem.finished.lock().expect("lock").is_empty(), "{call}");

        // The retry finds the verdicts decided and stands by them, whatever changed since.
        mem.db.lock().expect("lock").categories.clear();
        assert_eq!(
            deliver(&mem, &event(&[&one, &two])).await,
            Vec::<String>::new(),
            "{call}"
        );
        assert_eq!(marked(&mem, "U1", 1).status, RecordStatus::Validated, "{call}");
        assert_eq!(marked(&mem, "U1", 2).status, RecordStatus::Validated, "{call}");
        assert_eq!(products(&mem).len(), 2, "{call}");
        assert_eq!(
            counters(&mem, "U1"),
            (2, 0, UploadStatus::Completed),
            "{call}: counted once"
        );
    }
}

#[tokio::test]
async fn one_upload_failing_does_not_hold_back_another_in_the_same_batch() {
    let mem = memory();
    let a1 = product("UA", 1, "P1", "S-A1");
    let a2 = product("UA", 2, "P2", "S-A2");
    let b1 = UploadRecord {
        vendor_id: "VEND002".into(),
        ..product("UB", 1, "P1", "S-B1")
    };
    let b2 = UploadRecord {
        vendor_id: "VEND002".into(),
        ..product("UB", 2, "P2", "S-B2")
    };
    parsed(&mem, "UA", &COLUMNS, &[&a1, &a2]).await;
    parsed(&mem, "UB", &COLUMNS, &[&b1, &b2]).await;
    mem.fail("commit_verdicts", Some("UB"), 1);

    // Interleaved, as a shard delivers them.
    let failed = deliver(&mem, &event(&[&a1, &b1, &a2, &b2])).await;

    assert_eq!(failed, seqs(&[&b1, &b2]), "only UB's records are retried");
    assert_eq!(written(&mem), vec![("UA".to_string(), 1), ("UA".to_string(), 2)]);
    assert_eq!(marked(&mem, "UA", 1).status, RecordStatus::Validated);
    assert_eq!(marked(&mem, "UA", 2).status, RecordStatus::Validated);
    assert_eq!(counters(&mem, "UA"), (2, 0, UploadStatus::Completed));
    assert_eq!(counters(&mem, "UB"), (0, 0, UploadStatus::Processing));
    let catalog = products(&mem);
    assert_eq!(catalog.len(), 2);
    assert!(catalog.values().all(|(_, upload)| upload == "UA"));
    assert!(catalog.keys().all(|(vendor, _)| vendor == VENDOR));

    // UB's retry goes through, under its own vendor.
    assert_eq!(deliver(&mem, &event(&[&b1, &b2])).await, Vec::<String>::new());
    assert!(products(&mem).contains_key(&("VEND002".to_string(), "P1".to_string())));
    assert_eq!(counters(&mem, "UB"), (2, 0, UploadStatus::Completed));
}

#[tokio::test]
async fn undecodable_records_are_reported_and_items_of_other_statuses_ignored() {
    let mem = memory();
    let pending = product("U1", 1, "P1", "S-1");
    let validated = UploadRecord {
        status: RecordStatus::Validated,
        ..product("U1", 2, "P2", "S-2")
    };
    let error = UploadRecord {
        status: RecordStatus::Error,
        error_type: Some(ErrorCode::MalformedRow),
        error_reason: vec![RowError::new(ErrorCode::MalformedRow, "", "Row 3 has 2 fields.")],
        ..row("U1", 3, &[])
    };
    parsed(&mem, "U1", &COLUMNS, &[&pending, &validated, &error]).await;
    let mut unknown_status = image(&product("U1", 4, "P4", "S-4"));
    unknown_status["status"] = json!({ "S": "archived" });
    let event = batch(vec![
        stream_record(&seq(&pending), image(&pending)),
        stream_record("missing-fields", json!({ "upload_id": { "S": "U1" } })),
        stream_record(&seq(&validated), image(&validated)),
        stream_record("unknown-status", unknown_status),
        stream_record(&seq(&error), image(&error)),
    ]);

    let failed = deliver(&mem, &event).await;

    assert_eq!(
        failed,
        vec!["missing-fields".to_string(), "unknown-status".to_string()]
    );
    assert_eq!(written(&mem), vec![("U1".to_string(), 1)], "only the pending row");
    assert_eq!(marked(&mem, "U1", 1).status, RecordStatus::Validated);
    let db = mem.db.lock().expect("lock");
    assert_eq!(db.rows.len(), 1, "no verdict for rows that were not pending");
    assert_eq!(db.products.len(), 1);
}

#[tokio::test]
async fn a_value_earlier_in_the_file_makes_a_duplicate_in_a_later_batch_whatever_the_order() {
    // Rows 3 and 4 repeat row 1's sku and row 2's vendor_product_id.
    let rows = [
        product("U1", 1, "P1", "S-1"),
        product("U1", 2, "P2", "S-2"),
        product("U1", 3, "P3", " S-1 "),
        product("U1", 4, "P2", "S-4"),
    ];
    let [r1, r2, r3, r4] = [&rows[0], &rows[1], &rows[2], &rows[3]];
    for batches in [[[r1, r2], [r3, r4]], [[r4, r3], [r2, r1]]] {
        let mem = memory();
        parsed(&mem, "U1", &COLUMNS, &[r1, r2, r3, r4]).await;
        for b in &batches {
            assert_eq!(deliver(&mem, &event(b)).await, Vec::<String>::new());
        }
        let order: Vec<u64> = batches.iter().flatten().map(|r| r.row_number).collect();

        assert_eq!(marked(&mem, "U1", 1).status, RecordStatus::Validated, "{order:?}");
        assert_eq!(marked(&mem, "U1", 2).status, RecordStatus::Validated, "{order:?}");
        let three = marked(&mem, "U1", 3);
        assert_eq!(three.error_type, Some(ErrorCode::DuplicateInFile), "{order:?}");
        // Once: the in-file duplicate, not also DUPLICATE_SKU against row 1's product.
        assert_eq!(
            codes_and_columns(&three.error_reason),
            vec![(ErrorCode::DuplicateInFile, "sku")],
            "{order:?}"
        );
        assert!(three.error_reason[0].message.contains("row 1"), "{order:?}");
        let four = marked(&mem, "U1", 4);
        assert_eq!(
            codes_and_columns(&four.error_reason),
            vec![(ErrorCode::DuplicateInFile, "vendor_product_id")],
            "{order:?}"
        );
        assert!(four.error_reason[0].message.contains("row 2"), "{order:?}");
        let catalog = products(&mem);
        assert_eq!(catalog.len(), 2, "{order:?}");
        let (p2, _) = catalog.get(&(VENDOR.to_string(), "P2".to_string())).expect("P2");
        assert_eq!(p2.sku.as_str(), "S-2", "{order:?}: row 4 did not overwrite row 2");
    }
}

#[tokio::test]
async fn the_validator_ends_an_upload_whose_error_rows_were_recorded_first() {
    let mem = memory();
    let mut bad = product("U1", 1, "P1", "S-1");
    bad.product_data.insert("price".into(), "0".into());
    let good = product("U1", 2, "P2", "S-2");
    parsed(&mem, "U1", &COLUMNS, &[&bad, &good]).await;
    assert_eq!(deliver(&mem, &event(&[&bad])).await, Vec::<String>::new());
    // The error processor records row 1 before row 2 is validated.
    let marked_bad = marked(&mem, "U1", 1);
    let recorded = mem
        .record_errors(
            "U1",
            VENDOR,
            &[ErrorRow {
                row_number: 1,
                vendor_product_id: Some("P1".into()),
                errors: marked_bad.error_reason.clone(),
                original: Some(marked_bad.product_data.clone()),
            }],
        )
        .await
        .expect("recorded");
    assert_eq!(recorded, 1);
    assert!(mem.finished.lock().expect("lock").is_empty());

    assert_eq!(deliver(&mem, &event(&[&good])).await, Vec::<String>::new());

    let key = report_key(VENDOR, "U1");
    assert_eq!(
        *mem.finished.lock().expect("lock"),
        vec![("U1".to_string(), UploadStatus::Partial, Some(key.clone()))]
    );
    let report = mem
        .objects
        .lock()
        .expect("lock")
        .get(&(BUCKET.to_string(), key))
        .cloned()
        .expect("the report");
    let text = String::from_utf8(report).expect("utf8");
    assert!(
        text.starts_with(
            "vendor_product_id,product_name,category,sku,price,stock_quantity,row_number,error_type,error_message\r\n\
             P1,A product,books,S-1,0,5,1,INVALID_PRICE,"
        ),
        "{text}"
    );
}
