//! The error processor against in-memory ports: no AWS, no database, milliseconds.
//!
//! `Memory` plays the PostgreSQL ledger (`upload_history`, the verdicts of
//! `upload_rows` with their `error_recorded` flag, `validation_errors`) and the bucket.
//! Any call can be made to fail transiently, a given number of times.

use super::*;
use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use domain::model::{record_id, ProductData};
use domain::ports::{
    Claim, FileFailure, ObjectInfo, ObjectReader, StartOutcome, StoredVerdict, UploadStart, UploadState,
};
use domain::report::ReportLine;
use domain::upload::{report_key, UploadStatus};
use serde_json::json;
use std::collections::HashMap;
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

/// `upload_rows`: the verdict that stands for a row, and whether its errors are recorded.
struct Decided {
    verdict: StoredVerdict,
    error_recorded: bool,
}

#[derive(Default)]
struct Db {
    history: HashMap<String, History>,
    rows: HashMap<(String, u64), Decided>,
    /// `validation_errors`, in insertion (error_id) order.
    errors: Vec<(String, ReportLine)>,
}

/// A transient fault waiting for a call.
struct Fault {
    call: &'static str,
    times: usize,
}

#[derive(Default)]
struct Memory {
    db: Mutex<Db>,
    /// Every `record_errors` call: (upload_id, row numbers given, rows that were new).
    recorded: Mutex<Vec<(String, Vec<u64>, u64)>>,
    objects: Mutex<HashMap<(String, String), Vec<u8>>>,
    puts: Mutex<usize>,
    /// Every `finish` that ended an upload: (upload_id, status, report key).
    finished: Mutex<Vec<(String, UploadStatus, Option<String>)>>,
    faults: Mutex<Vec<Fault>>,
}

fn lock<T>(m: &Mutex<T>) -> Result<MutexGuard<'_, T>, PortError> {
    m.lock().map_err(|e| PortError::rejected("memory", e))
}

impl Memory {
    /// The next `times` calls of `call` fail transiently.
    fn fail(&self, call: &'static str, times: usize) {
        self.faults.lock().expect("lock").push(Fault { call, times });
    }

    fn trip(&self, call: &'static str) -> Result<(), PortError> {
        let mut faults = lock(&self.faults)?;
        if let Some(fault) = faults.iter_mut().find(|f| f.call == call && f.times > 0) {
            fault.times -= 1;
            return Err(PortError::unavailable(
                "memory",
                format!("{call}: injected fault"),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl UploadLedger for Memory {
    async fn register_claims(&self, _: &str, _: &[Claim]) -> Result<(), PortError> {
        self.trip("register_claims")
    }

    async fn start_upload(&self, start: &UploadStart) -> Result<StartOutcome, PortError> {
        self.trip("start_upload")?;
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
        self.trip("mark_parsed")?;
        if let Some(h) = lock(&self.db)?.history.get_mut(upload_id) {
            h.parsed = true;
        }
        Ok(())
    }

    async fn fail_upload(&self, failure: &FileFailure) -> Result<(), PortError> {
        self.trip("fail_upload")?;
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
        self.trip("record_errors")?;
        let mut guard = lock(&self.db)?;
        let db = &mut *guard;
        if !db.history.contains_key(upload_id) {
            return Err(PortError::rejected(
                "memory",
                format!("upload {upload_id} has no upload_history row"),
            ));
        }
        // One transaction: the flag, the error lines and the counter move together.
        let mut fresh = 0;
        for row in rows {
            let key = (upload_id.to_string(), row.row_number);
            let new = match db.rows.get_mut(&key) {
                // Never judged by the validator: a row the parser could not read.
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
        lock(&self.recorded)?.push((
            upload_id.to_string(),
            rows.iter().map(|r| r.row_number).collect(),
            fresh,
        ));
        Ok(fresh)
    }

    async fn state(&self, upload_id: &str) -> Result<Option<UploadState>, PortError> {
        self.trip("state")?;
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
        self.trip("report_lines")?;
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
        self.trip("finish")?;
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
impl ObjectStore for Memory {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PortError> {
        self.trip("head")?;
        let objects = lock(&self.objects)?;
        Ok(objects.get(&(bucket.into(), key.into())).map(|b| ObjectInfo {
            size: b.len() as u64,
            etag: None,
        }))
    }

    async fn open(&self, bucket: &str, key: &str, _: &ObjectInfo) -> Result<ObjectReader, PortError> {
        self.trip("open")?;
        let objects = lock(&self.objects)?;
        let body = objects
            .get(&(bucket.into(), key.into()))
            .cloned()
            .unwrap_or_default();
        Ok(Box::pin(std::io::Cursor::new(body)))
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, _: &str) -> Result<(), PortError> {
        self.trip("put")?;
        lock(&self.objects)?.insert((bucket.into(), key.into()), body);
        *lock(&self.puts)? += 1;
        Ok(())
    }
}

/// An item of `VEND001`'s upload with this status.
fn item(
    upload_id: &str,
    n: u64,
    status: RecordStatus,
    product_data: ProductData,
    errors: Vec<RowError>,
) -> UploadRecord {
    UploadRecord {
        upload_id: upload_id.into(),
        record_id: record_id(n),
        vendor_id: VENDOR.into(),
        file_name: "p.csv".into(),
        row_number: n,
        product_data,
        status,
        error_type: errors.first().map(|e| e.error_type),
        error_reason: errors,
        created_at: "2026-01-01T00:00:00.000Z".into(),
        updated_at: "2026-01-01T00:01:00.000Z".into(),
        ttl: 1_800_000_000,
    }
}

/// A row's raw cells.
fn cells(vpid: &str, sku: &str, price: &str, stock: &str) -> ProductData {
    [
        ("vendor_product_id", vpid.to_string()),
        ("product_name", format!("Product {vpid}")),
        ("category", "Books".to_string()),
        ("sku", sku.to_string()),
        ("price", price.to_string()),
        ("stock_quantity", stock.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The upload as the parser and the validator leave it: `total` rows, the validator's
/// verdicts (a valid row already counted, an error row decided but not yet recorded).
fn upload(mem: &Memory, upload_id: &str, total: i64, verdicts: &[(u64, StoredVerdict)]) {
    let mut db = mem.db.lock().expect("lock");
    let valid = verdicts
        .iter()
        .filter(|(_, v)| *v == StoredVerdict::Valid)
        .count() as i64;
    db.history.insert(
        upload_id.to_string(),
        History {
            vendor_id: VENDOR.into(),
            status: UploadStatus::Processing,
            total,
            valid,
            errors: 0,
            report_key: None,
            columns: COLUMNS.iter().map(|c| c.to_string()).collect(),
            parsed: true,
        },
    );
    for (n, verdict) in verdicts {
        db.rows.insert(
            (upload_id.to_string(), *n),
            Decided {
                verdict: verdict.clone(),
                error_recorded: false,
            },
        );
    }
}

fn seq(item: &UploadRecord) -> String {
    format!("{}/{}", item.upload_id, item.row_number)
}

/// The stream batch Lambda would deliver for these items (INSERT, NewImage).
fn event(items: &[&UploadRecord]) -> Event {
    let records: Vec<serde_json::Value> = items
        .iter()
        .map(|item| {
            let image: serde_dynamo::Item = serde_dynamo::to_item(item).expect("item");
            json!({
                "eventID": seq(item),
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_700_000_000,
                    "Keys": { "upload_id": { "S": item.upload_id }, "record_id": { "S": item.record_id } },
                    "NewImage": image,
                    "SequenceNumber": seq(item),
                    "SizeBytes": 100,
                    "StreamViewType": "NEW_IMAGE"
                },
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/UploadRecords/stream/x"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("a DynamoDB stream event")
}

/// Delivers the batch; returns the reported batch item failures, sorted.
async fn deliver(mem: &Memory, event: &Event) -> Vec<String> {
    let processor = ErrorProcessor {
        ledger: mem,
        objects: mem,
        bucket: BUCKET,
    };
    let mut failed: Vec<String> = processor
        .handle(event)
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier.expect("an item identifier"))
        .collect();
    failed.sort();
    failed
}

fn counters(mem: &Memory, upload_id: &str) -> (i64, i64, UploadStatus) {
    let db = mem.db.lock().expect("lock");
    let h = db.history.get(upload_id).expect("history");
    (h.valid, h.errors, h.status)
}

fn error_lines(mem: &Memory) -> usize {
    mem.db.lock().expect("lock").errors.len()
}

fn report(mem: &Memory, key: &str) -> Option<String> {
    mem.objects
        .lock()
        .expect("lock")
        .get(&(BUCKET.to_string(), key.to_string()))
        .map(|b| String::from_utf8_lossy(b).into_owned())
}

/// Row 1 valid (counted by the validator), row 2 with two errors decided by the
/// validator, row 3 a row the parser could not read.
fn three_rows(mem: &Memory) -> [UploadRecord; 3] {
    let price = RowError::new(
        ErrorCode::InvalidPrice,
        "price",
        "price \"=1+1\" is not a decimal.",
    );
    let stock = RowError::new(
        ErrorCode::InvalidStock,
        "stock_quantity",
        "stock_quantity \"x\" is not an integer.",
    );
    let malformed = RowError::new(
        ErrorCode::MalformedRow,
        "",
        "Row 3 has 2 fields; the header has 6.",
    );
    upload(
        mem,
        "U1",
        3,
        &[
            (1, StoredVerdict::Valid),
            (2, StoredVerdict::Error(vec![price.clone(), stock.clone()])),
        ],
    );
    [
        item(
            "U1",
            1,
            RecordStatus::Validated,
            cells("P1", "S-1", "1.00", "5"),
            Vec::new(),
        ),
        item(
            "U1",
            2,
            RecordStatus::Error,
            cells("P2", "S-2", "=1+1", "x"),
            vec![price, stock],
        ),
        item("U1", 3, RecordStatus::Error, ProductData::new(), vec![malformed]),
    ]
}

#[tokio::test]
async fn error_rows_are_recorded_once_and_the_last_one_ends_the_upload_with_its_report() {
    let mem = Memory::default();
    let [one, two, three] = three_rows(&mem);
    let key = report_key(VENDOR, "U1");

    // Row 1 is validated: not the error processor's; row 2 is recorded, the upload goes on.
    assert_eq!(deliver(&mem, &event(&[&one, &two])).await, Vec::<String>::new());
    assert_eq!(
        *mem.recorded.lock().expect("lock"),
        vec![("U1".to_string(), vec![2], 1)]
    );
    assert_eq!(counters(&mem, "U1"), (1, 1, UploadStatus::Processing));
    assert_eq!(error_lines(&mem), 2, "one line per error");
    assert!(report(&mem, &key).is_none());
    assert!(mem.finished.lock().expect("lock").is_empty());

    // Row 3 is the last: counted, then the report, then the final status.
    assert_eq!(deliver(&mem, &event(&[&three])).await, Vec::<String>::new());
    assert_eq!(counters(&mem, "U1"), (1, 2, UploadStatus::Partial));
    assert_eq!(
        *mem.finished.lock().expect("lock"),
        vec![("U1".to_string(), UploadStatus::Partial, Some(key.clone()))]
    );
    let text = report(&mem, &key).expect("the report at reports/VEND001/U1.csv");
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(
        lines[0],
        "vendor_product_id,product_name,category,sku,price,stock_quantity,row_number,error_type,error_message"
    );
    assert_eq!(lines.len(), 4, "{text}");
    assert!(
        lines[1].starts_with("P2,Product P2,Books,S-2,'=1+1,x,2,INVALID_PRICE,"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("P2,Product P2,Books,S-2,'=1+1,x,2,INVALID_STOCK,"),
        "{text}"
    );
    assert!(lines[3].starts_with(",,,,,,3,MALFORMED_ROW,"), "{text}");

    // The whole stream again: nothing new, nothing counted, the report written once.
    assert_eq!(
        deliver(&mem, &event(&[&one, &two, &three])).await,
        Vec::<String>::new()
    );
    assert_eq!(
        mem.recorded.lock().expect("lock").last(),
        Some(&("U1".to_string(), vec![2, 3], 0))
    );
    assert_eq!(counters(&mem, "U1"), (1, 2, UploadStatus::Partial));
    assert_eq!(error_lines(&mem), 3);
    assert_eq!(*mem.puts.lock().expect("lock"), 1);
    assert_eq!(mem.finished.lock().expect("lock").len(), 1);
}

#[tokio::test]
async fn a_transient_fault_while_recording_counts_nothing_and_is_retried() {
    let mem = Memory::default();
    let [_, two, three] = three_rows(&mem);
    mem.fail("record_errors", 1);

    let failed = deliver(&mem, &event(&[&two, &three])).await;

    assert_eq!(failed, vec![seq(&two), seq(&three)]);
    assert_eq!(counters(&mem, "U1"), (1, 0, UploadStatus::Processing));
    assert_eq!(error_lines(&mem), 0);
    assert!(mem.recorded.lock().expect("lock").is_empty());
    assert!(mem.objects.lock().expect("lock").is_empty());
    assert!(mem.finished.lock().expect("lock").is_empty());

    assert_eq!(deliver(&mem, &event(&[&two, &three])).await, Vec::<String>::new());
    assert_eq!(counters(&mem, "U1"), (1, 2, UploadStatus::Partial));
    assert_eq!(error_lines(&mem), 3);
}

#[tokio::test]
async fn a_report_that_cannot_be_written_yet_is_written_by_the_retry() {
    let mem = Memory::default();
    let [_, two, three] = three_rows(&mem);
    let key = report_key(VENDOR, "U1");
    mem.fail("put", 1);

    // The rows are counted, but an upload with errors is final only with its report.
    let failed = deliver(&mem, &event(&[&two, &three])).await;
    assert_eq!(failed, vec![seq(&two), seq(&three)]);
    assert_eq!(counters(&mem, "U1"), (1, 2, UploadStatus::Processing));
    assert!(mem.finished.lock().expect("lock").is_empty());

    assert_eq!(deliver(&mem, &event(&[&two, &three])).await, Vec::<String>::new());
    assert_eq!(
        mem.recorded.lock().expect("lock").last(),
        Some(&("U1".to_string(), vec![2, 3], 0)),
        "nothing recorded twice"
    );
    assert_eq!(counters(&mem, "U1"), (1, 2, UploadStatus::Partial));
    assert!(report(&mem, &key).is_some());
    assert_eq!(
        *mem.finished.lock().expect("lock"),
        vec![("U1".to_string(), UploadStatus::Partial, Some(key))]
    );
}

#[tokio::test]
async fn an_error_item_without_reasons_still_counts() {
    let mem = Memory::default();
    upload(&mem, "U2", 1, &[]);
    let mut bare = item("U2", 1, RecordStatus::Error, ProductData::new(), Vec::new());
    bare.error_type = Some(ErrorCode::InvalidEncoding);

    assert_eq!(deliver(&mem, &event(&[&bare])).await, Vec::<String>::new());

    assert_eq!(counters(&mem, "U2"), (0, 1, UploadStatus::Failed));
    let key = report_key(VENDOR, "U2");
    assert_eq!(
        *mem.finished.lock().expect("lock"),
        vec![("U2".to_string(), UploadStatus::Failed, Some(key.clone()))]
    );
    let text = report(&mem, &key).expect("a report");
    assert!(text.contains(",,,,,,1,INVALID_ENCODING,"), "{text}");
}
