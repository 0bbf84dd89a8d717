//! One in-memory implementation of every pipeline port: `Memory` plays PostgreSQL
//! (vendors, the ledger and the catalog share it, as `PgCatalog` does: a verdict
//! committed by one is a counter the other reads), the `UploadRecords` table and the
//! bucket. Any call can be made to fail transiently, for one upload or for all, a given
//! number of times.

mod catalog;
mod ledger;
mod objects;
mod outbox;
mod records;

use chrono::{DateTime, Utc};
use domain::model::{RecordStatus, UploadRecord};
use domain::ports::StoredVerdict;
use domain::report::ReportLine;
use domain::upload::{UploadEvent, UploadStatus};
use domain::validation::ValidProduct;
use domain::vendor::VendorStatus;
use domain::PortError;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

/// `upload_history`.
pub struct History {
    pub vendor_id: String,
    /// As stored: whole, control characters replaced.
    pub file_name: String,
    pub s3_key: String,
    pub status: UploadStatus,
    pub total: i64,
    pub valid: i64,
    pub errors: i64,
    pub report_key: Option<String>,
    pub columns: Vec<String>,
    /// `metadata.header`: the names as written; empty when not kept.
    pub header: Vec<String>,
    pub parsed: bool,
    /// The PUT the upload was parsed from.
    pub source: Option<UploadEvent>,
    /// `processing_started_at`.
    pub started_at: DateTime<Utc>,
    /// `parse_lease_until`.
    pub lease_until: Option<DateTime<Utc>>,
    /// `processing_completed_at`, set when the upload becomes final.
    pub completed_at: Option<DateTime<Utc>>,
    /// The notification outbox columns.
    pub notification: Outbox,
}

impl History {
    /// What the ledger's `state` reads of it.
    pub fn state(&self, upload_id: &str) -> domain::ports::UploadState {
        domain::ports::UploadState {
            upload_id: upload_id.to_string(),
            vendor_id: self.vendor_id.clone(),
            status: self.status,
            total_records: self.total,
            valid_records: self.valid,
            error_records: self.errors,
            error_file_s3_key: self.report_key.clone(),
            columns: self.columns.clone(),
            header: self.header.clone(),
            parsed: self.parsed,
            source: self.source.clone(),
        }
    }
}

/// Whether the upload's "finished" notification is claimed or published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outbox {
    pub claimed_until: Option<DateTime<Utc>>,
    /// The topic's message id, once published.
    pub published: Option<String>,
}

impl History {
    /// A `processing` upload of `total` rows, parsed, nothing decided yet.
    pub fn processing(vendor_id: &str, total: i64, columns: &[&str]) -> History {
        History {
            vendor_id: vendor_id.to_string(),
            file_name: "products.csv".to_string(),
            s3_key: format!("uploads/{vendor_id}/products.csv"),
            status: UploadStatus::Processing,
            total,
            valid: 0,
            errors: 0,
            report_key: None,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            header: Vec::new(),
            parsed: true,
            source: None,
            started_at: Utc::now(),
            lease_until: None,
            completed_at: None,
            notification: Outbox::default(),
        }
    }
}

/// `upload_rows`: the verdict that stands for a row, decided once.
pub struct Decided {
    pub verdict: StoredVerdict,
    pub error_recorded: bool,
}

/// What PostgreSQL holds.
#[derive(Default)]
pub struct Db {
    pub history: HashMap<String, History>,
    pub rows: HashMap<(String, u64), Decided>,
    /// `upload_claims`: (upload_id, column, value) → lowest row carrying it.
    pub claims: HashMap<(String, String, String), u64>,
    /// `products` by (vendor_id, vendor_product_id), with the upload that last wrote it.
    pub products: HashMap<(String, String), (ValidProduct, String)>,
    /// The unique index on `products.sku`: sku → (vendor_id, vendor_product_id).
    pub sku_holders: HashMap<String, (String, String)>,
    /// Active categories, canonical spelling.
    pub categories: Vec<String>,
    /// `validation_errors`, in insertion (error_id) order.
    pub errors: Vec<StoredError>,
}

/// A `validation_errors` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredError {
    pub upload_id: String,
    /// `error_field`: the column, empty for row-level codes without one.
    pub error_field: String,
    pub line: ReportLine,
}

/// A multipart upload not finished yet: its object and the parts uploaded.
#[derive(Debug, Clone, Default)]
pub struct PendingParts {
    pub bucket: String,
    pub key: String,
    pub parts: Vec<(i32, Vec<u8>)>,
}

/// A transient fault waiting for a call.
struct Fault {
    pub call: &'static str,
    /// `None`: whatever upload the call is about.
    pub upload_id: Option<String>,
    pub times: usize,
}

#[derive(Default)]
pub struct Memory {
    pub db: Mutex<Db>,
    /// `UploadRecords` as the validator left it.
    pub items: Mutex<BTreeMap<(String, String), UploadRecord>>,
    /// Every `put_all` call, in order.
    pub puts: Mutex<Vec<Vec<UploadRecord>>>,
    pub objects: Mutex<HashMap<(String, String), Vec<u8>>>,
    /// Every `finish` that ended an upload: (upload_id, status, report key).
    pub finished: Mutex<Vec<(String, UploadStatus, Option<String>)>>,
    faults: Mutex<Vec<Fault>>,
    /// Poison items: (upload_id, record_id, status) of items that do not read as
    /// `UploadRecords` items.
    pub unreadable: Mutex<Vec<(String, String, RecordStatus)>>,
    /// Failed reconciler attempts per (upload_id, row).
    pub attempts: Mutex<HashMap<(String, u64), u32>>,
    /// Unfinished multipart uploads by id.
    pub parts: Mutex<HashMap<String, PendingParts>>,
    /// Multipart uploads completed.
    pub multipart_completed: Mutex<usize>,
    /// Versions of objects put with [`Memory::put_object_version`]: (bucket, key, version).
    pub versions: Mutex<HashMap<(String, String, String), Vec<u8>>>,
    /// Every successful `record_errors`: (upload_id, row numbers given, rows that were new).
    pub recorded: Mutex<Vec<(String, Vec<u64>, u64)>>,
    /// How many objects were put (reports).
    pub object_puts: Mutex<usize>,
    /// `vendors`: id → status.
    pub vendors: Mutex<HashMap<String, VendorStatus>>,
    /// The upload-finished topic.
    pub topic: crate::notifier::InMemoryNotifier,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, PortError> {
    m.lock().map_err(|e| PortError::rejected("memory", e))
}

/// PostgreSQL refuses NUL in any text (22021) and `\u0000` in JSONB (22P05), for good:
/// the in-memory ledger refuses the same, so a unit test sees what the database would.
pub(crate) fn pg_text<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<(), PortError> {
    match values.into_iter().find(|v| v.contains('\0')) {
        Some(_) => Err(PortError::rejected(
            "memory",
            "invalid byte sequence for encoding \"UTF8\": 0x00 (22021)",
        )),
        None => Ok(()),
    }
}

pub(crate) fn no_history(upload_id: &str) -> PortError {
    PortError::rejected("memory", format!("upload {upload_id} has no upload_history row"))
}

impl Memory {
    /// The next `times` calls of `call` (the port method's name; about `upload_id`, or
    /// any upload; for the object store, about that key) fail transiently.
    pub fn fail(&self, call: &'static str, upload_id: Option<&str>, times: usize) {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).push(Fault {
            call,
            upload_id: upload_id.map(str::to_string),
            times,
        });
    }

    pub(crate) fn trip(&self, call: &'static str, upload_id: &str) -> Result<(), PortError> {
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
pub(crate) fn upsert(db: &mut Db, upload_id: &str, vendor_id: &str, product: &ValidProduct) {
    let key = (vendor_id.to_string(), product.vendor_product_id.clone());
    if let Some((old, _)) = db.products.get(&key) {
        db.sku_holders.remove(old.sku.as_str());
    }
    db.sku_holders
        .insert(product.sku.as_str().to_string(), key.clone());
    db.products.insert(key, (product.clone(), upload_id.to_string()));
}

/// The vendor API's base URL in notifications published by [`Memory::notify`].
pub const VENDOR_API_URL: &str = "https://vendor-api.test";

impl Memory {
    /// What a finaliser announces with: this store's outbox and its topic.
    pub fn notify(&self) -> domain::notify::Notify<'_> {
        domain::notify::Notify {
            outbox: self,
            notifier: &self.topic,
            vendor_api_url: VENDOR_API_URL,
        }
    }

    /// An empty store whose catalog has these active categories and these vendors.
    pub fn new(categories: &[&str], vendors: &[(&str, VendorStatus)]) -> Memory {
        let memory = Memory::default();
        if let Ok(mut db) = memory.db.lock() {
            db.categories = categories.iter().map(|c| c.to_string()).collect();
        }
        if let Ok(mut v) = memory.vendors.lock() {
            v.extend(vendors.iter().map(|(id, s)| (id.to_string(), *s)));
        }
        memory
    }

    /// Puts an object in the bucket (what a vendor's PUT leaves).
    pub fn put_object(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) {
        if let Ok(mut objects) = self.objects.lock() {
            objects.insert((bucket.to_string(), key.to_string()), body.into());
        }
    }

    /// Puts a version of an object in a versioned bucket: it becomes the latest, and stays
    /// readable by its version id after later puts of the key.
    pub fn put_object_version(&self, bucket: &str, key: &str, version_id: &str, body: impl Into<Vec<u8>>) {
        let body = body.into();
        if let Ok(mut versions) = self.versions.lock() {
            versions.insert(
                (bucket.to_string(), key.to_string(), version_id.to_string()),
                body.clone(),
            );
        }
        self.put_object(bucket, key, body);
    }

    /// An object's body as text.
    pub fn object_text(&self, bucket: &str, key: &str) -> Option<String> {
        let objects = self.objects.lock().ok()?;
        let body = objects.get(&(bucket.to_string(), key.to_string()))?;
        Some(String::from_utf8_lossy(body).into_owned())
    }

    /// The item of row `n` as the table holds it.
    pub fn item(&self, upload_id: &str, n: u64) -> Option<UploadRecord> {
        let items = self.items.lock().ok()?;
        items
            .get(&(upload_id.to_string(), domain::model::record_id(n)))
            .cloned()
    }

    /// Every item of the upload, in record order.
    pub fn items_of(&self, upload_id: &str) -> Vec<UploadRecord> {
        let Ok(items) = self.items.lock() else {
            return Vec::new();
        };
        items
            .values()
            .filter(|i| i.upload_id == upload_id)
            .cloned()
            .collect()
    }

    /// Every (upload, row) ever passed to `put_all`, in order.
    pub fn written(&self) -> Vec<(String, u64)> {
        let Ok(puts) = self.puts.lock() else {
            return Vec::new();
        };
        puts.iter()
            .flatten()
            .map(|r| (r.upload_id.clone(), r.row_number))
            .collect()
    }

    /// (valid, error, status) of the upload's history row.
    pub fn counters(&self, upload_id: &str) -> Option<(i64, i64, UploadStatus)> {
        let db = self.db.lock().ok()?;
        db.history.get(upload_id).map(|h| (h.valid, h.errors, h.status))
    }

    /// `validation_errors` rows of the upload, in insertion order.
    pub fn error_lines(&self, upload_id: &str) -> Vec<ReportLine> {
        self.errors_of(upload_id).into_iter().map(|e| e.line).collect()
    }

    /// `validation_errors` rows of the upload with their `error_field`, in insertion order.
    pub fn errors_of(&self, upload_id: &str) -> Vec<StoredError> {
        let Ok(db) = self.db.lock() else { return Vec::new() };
        db.errors
            .iter()
            .filter(|e| e.upload_id == upload_id)
            .cloned()
            .collect()
    }

    /// The in-file owner registered for (column, value).
    pub fn claim(&self, upload_id: &str, column: &str, value: &str) -> Option<u64> {
        let db = self.db.lock().ok()?;
        db.claims
            .get(&(upload_id.to_string(), column.to_string(), value.to_string()))
            .copied()
    }
}
