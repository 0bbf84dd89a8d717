//! The parser against in-memory ports: no AWS, no database, milliseconds.

use super::*;
use async_trait::async_trait;
use aws_lambda_events::event::s3::S3Event;
use domain::ports::{ErrorRow, UploadState};
use domain::upload::UploadStatus;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

#[derive(Default)]
struct Memory {
    objects: Mutex<HashMap<(String, String), Vec<u8>>>,
    items: Mutex<BTreeMap<(String, String), UploadRecord>>,
    puts: Mutex<usize>,
    vendors: HashMap<String, String>,
    history: Mutex<HashMap<String, (UploadStart, bool)>>,
    failures: Mutex<Vec<FileFailure>>,
    claims: Mutex<HashMap<(String, String), u64>>,
}

#[async_trait]
impl ObjectStore for Memory {
    async fn head(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, PortError> {
        let objects = self
            .objects
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        Ok(objects.get(&(bucket.into(), key.into())).map(|b| ObjectInfo {
            size: b.len() as u64,
            etag: None,
        }))
    }
    async fn open(
        &self,
        bucket: &str,
        key: &str,
        _: &ObjectInfo,
    ) -> Result<domain::ports::ObjectReader, PortError> {
        let objects = self
            .objects
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        let body = objects
            .get(&(bucket.into(), key.into()))
            .cloned()
            .unwrap_or_default();
        Ok(Box::pin(std::io::Cursor::new(body)))
    }
    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, _: &str) -> Result<(), PortError> {
        let mut objects = self
            .objects
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        objects.insert((bucket.into(), key.into()), body);
        Ok(())
    }
}

#[async_trait]
impl RecordStore for Memory {
    async fn put_all(&self, records: &[UploadRecord]) -> Result<(), PortError> {
        let mut items = self.items.lock().map_err(|e| PortError::rejected("memory", e))?;
        for r in records {
            items.insert((r.upload_id.clone(), r.record_id.clone()), r.clone());
        }
        *self.puts.lock().map_err(|e| PortError::rejected("memory", e))? += records.len();
        Ok(())
    }
    async fn existing(&self, upload_id: &str, record_ids: &[String]) -> Result<HashSet<String>, PortError> {
        let items = self.items.lock().map_err(|e| PortError::rejected("memory", e))?;
        Ok(record_ids
            .iter()
            .filter(|id| items.contains_key(&(upload_id.to_string(), (*id).clone())))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl VendorDirectory for Memory {
    async fn vendor_status(&self, vendor_id: &str) -> Result<Option<String>, PortError> {
        Ok(self.vendors.get(vendor_id).cloned())
    }
}

#[async_trait]
impl UploadLedger for Memory {
    async fn register_claims(&self, _: &str, claims: &[Claim]) -> Result<(), PortError> {
        let mut owners = self.claims.lock().map_err(|e| PortError::rejected("memory", e))?;
        for c in claims {
            let row = owners
                .entry((c.column.to_string(), c.value.clone()))
                .or_insert(c.row_number);
            *row = (*row).min(c.row_number);
        }
        Ok(())
    }
    async fn start_upload(&self, start: &UploadStart) -> Result<StartOutcome, PortError> {
        let mut history = self
            .history
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        match history.get(&start.upload_id) {
            Some((_, parsed)) => Ok(StartOutcome::Existing { parsed: *parsed }),
            None => {
                history.insert(start.upload_id.clone(), (start.clone(), false));
                Ok(StartOutcome::Created)
            }
        }
    }
    async fn mark_parsed(&self, upload_id: &str) -> Result<(), PortError> {
        let mut history = self
            .history
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        if let Some(entry) = history.get_mut(upload_id) {
            entry.1 = true;
        }
        Ok(())
    }
    async fn fail_upload(&self, failure: &FileFailure) -> Result<(), PortError> {
        self.failures
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?
            .push(failure.clone());
        Ok(())
    }
    async fn record_errors(&self, _: &str, _: &str, _: &[ErrorRow]) -> Result<u64, PortError> {
        Ok(0)
    }
    async fn state(&self, upload_id: &str) -> Result<Option<UploadState>, PortError> {
        let history = self
            .history
            .lock()
            .map_err(|e| PortError::rejected("memory", e))?;
        Ok(history.get(upload_id).map(|(s, _)| UploadState {
            upload_id: upload_id.to_string(),
            vendor_id: s.vendor_id.clone(),
            status: UploadStatus::Processing,
            total_records: s.total_records as i64,
            valid_records: 0,
            error_records: 0,
            error_file_s3_key: None,
            columns: s.columns.clone(),
        }))
    }
    async fn report_lines(&self, _: &str) -> Result<Vec<ReportLine>, PortError> {
        Ok(Vec::new())
    }
    async fn finish(&self, _: &str, _: UploadStatus, _: Option<&str>) -> Result<bool, PortError> {
        Ok(false)
    }
}

const SETTINGS: Settings = Settings {
    max_upload_bytes: 10_000,
    record_ttl_days: 30,
};

fn memory() -> Memory {
    Memory {
        vendors: HashMap::from([
            ("VEND001".to_string(), "active".to_string()),
            ("VEND009".to_string(), "pending_approval".to_string()),
        ]),
        ..Memory::default()
    }
}

fn event(key_in_event: &str, sequencer: &str) -> S3Event {
    serde_json::from_value(serde_json::json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-23T10:30:45.000Z", "eventName": "ObjectCreated:Put",
        "userIdentity": { "principalId": "AWS:TEST" },
        "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": { "x-amz-request-id": "R", "x-amz-id-2": "I" },
        "s3": { "s3SchemaVersion": "1.0", "configurationId": "CsvUploads",
                "bucket": { "name": "b", "ownerIdentity": { "principalId": "O" }, "arn": "arn:aws:s3:::b" },
                "object": { "key": key_in_event, "size": 1, "eTag": "e", "sequencer": sequencer } }
    }]}))
    .expect("an S3 event")
}

async fn run(mem: &Memory, key_in_event: &str, body: Option<&str>) -> Outcome {
    if let Some(body) = body {
        let key = decode_event_key(key_in_event);
        mem.put("b", &key, body.as_bytes().to_vec(), "text/csv")
            .await
            .expect("put");
    }
    let parser = Parser {
        objects: mem,
        records: mem,
        ledger: mem,
        settings: &SETTINGS,
    };
    let outcomes = parser
        .handle(&event(key_in_event, "00A1"))
        .await
        .expect("handled");
    outcomes.into_iter().next().expect("one outcome")
}

const CSV: &str = "\u{feff}Vendor_Product_ID , product_name,category,SKU,price,stock_quantity,extra\r\n\
                   P1,One,Books,S-1,1.00,1,x\r\n\
                   P2,\"Two, with comma\",Books,S-2,2.00,2,y\r\n\
                   P3,short\r\n\
                   P4,Four,Books,S-1,4.00,4,z\r\n";

#[tokio::test]
async fn rows_become_items_with_raw_cells_and_unreadable_rows_are_errors_at_once() {
    let mem = memory();
    let outcome = run(&mem, "uploads/VEND001/spring+sale%282%29.csv", Some(CSV)).await;
    let Outcome::Parsed {
        upload_id,
        total_records,
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    assert_eq!(total_records, 4);
    let items = mem.items.lock().expect("lock");
    let row = |n: &str| {
        items
            .get(&(upload_id.clone(), n.to_string()))
            .expect("item")
            .clone()
    };
    let two = row("REC_000002");
    assert_eq!(two.file_name, "spring sale(2).csv");
    assert_eq!(two.status, RecordStatus::PendingValidation);
    assert_eq!(
        two.product_data.get("product_name").map(String::as_str),
        Some("Two, with comma")
    );
    assert_eq!(
        two.product_data.get("vendor_product_id").map(String::as_str),
        Some("P2")
    );
    assert_eq!(two.product_data.get("extra").map(String::as_str), Some("y"));
    let three = row("REC_000003");
    assert_eq!(three.status, RecordStatus::Error);
    assert_eq!(three.error_type, Some(ErrorCode::MalformedRow));
    // The first row carrying S-1 owns it, for the validator to decide row 4.
    let claims = mem.claims.lock().expect("lock");
    assert_eq!(claims.get(&("sku".to_string(), "S-1".to_string())), Some(&1));
    assert!(!claims.contains_key(&("vendor_product_id".to_string(), "P3".to_string())));
}

#[tokio::test]
async fn a_redelivered_event_writes_nothing_twice() {
    let mem = memory();
    run(&mem, "uploads/VEND001/a.csv", Some(CSV)).await;
    let writes = *mem.puts.lock().expect("lock");
    let again = run(&mem, "uploads/VEND001/a.csv", None).await;
    assert!(matches!(again, Outcome::AlreadyParsed { .. }), "{again:?}");
    assert_eq!(*mem.puts.lock().expect("lock"), writes);
}

#[tokio::test]
async fn an_interrupted_parse_resumes_with_the_missing_items_only() {
    let mem = memory();
    run(&mem, "uploads/VEND001/r.csv", Some(CSV)).await;
    // Forget that the parse finished and lose one item, as after a crash half-way.
    let upload_id = {
        let mut history = mem.history.lock().expect("lock");
        let (id, entry) = history.iter_mut().next().expect("one upload");
        entry.1 = false;
        id.clone()
    };
    mem.items
        .lock()
        .expect("lock")
        .remove(&(upload_id.clone(), "REC_000004".to_string()));
    let before = *mem.puts.lock().expect("lock");
    let outcome = run(&mem, "uploads/VEND001/r.csv", None).await;
    assert!(matches!(outcome, Outcome::Parsed { .. }), "{outcome:?}");
    assert_eq!(
        *mem.puts.lock().expect("lock") - before,
        1,
        "only the missing item is written"
    );
}

#[tokio::test]
async fn keys_that_are_not_vendor_uploads_are_ignored() {
    let mem = memory();
    for key in [
        "reports/VEND001/x.csv",
        "uploads/VEND001/x.txt",
        "uploads/VEND001/sub/x.csv",
    ] {
        assert_eq!(run(&mem, key, Some(CSV)).await, Outcome::Ignored, "{key}");
    }
    assert!(mem.items.lock().expect("lock").is_empty());
    assert!(mem.failures.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn file_level_failures_are_recorded_with_a_report_and_no_items() {
    let cases = [
        ("uploads/NOPE/a.csv", CSV.to_string(), ErrorCode::UnknownVendor),
        (
            "uploads/VEND009/a.csv",
            CSV.to_string(),
            ErrorCode::InactiveVendor,
        ),
        (
            "uploads/VEND001/big.csv",
            "x".repeat(10_001),
            ErrorCode::FileTooLarge,
        ),
        (
            "uploads/VEND001/head.csv",
            "vendor_product_id,product_name,category,sku,price,stock_quantity\n".into(),
            ErrorCode::EmptyFile,
        ),
        ("uploads/VEND001/none.csv", String::new(), ErrorCode::EmptyFile),
        (
            "uploads/VEND001/cols.csv",
            "sku,price\nS,1\n".into(),
            ErrorCode::MissingColumns,
        ),
    ];
    for (key, body, code) in cases {
        let mem = memory();
        let outcome = run(&mem, key, Some(&body)).await;
        assert!(
            matches!(&outcome, Outcome::Failed { error_type, .. } if *error_type == code),
            "{key}: {outcome:?}"
        );
        let failures = mem.failures.lock().expect("lock");
        let report = mem
            .objects
            .lock()
            .expect("lock")
            .get(&("b".to_string(), failures[0].report_key.clone()))
            .cloned()
            .expect("a report");
        assert!(String::from_utf8_lossy(&report).contains(code.as_str()), "{key}");
        assert!(mem.items.lock().expect("lock").is_empty(), "{key}");
        if code == ErrorCode::MissingColumns {
            assert_eq!(
                failures[0].error.column,
                "vendor_product_id,product_name,category,stock_quantity"
            );
        }
    }
}
