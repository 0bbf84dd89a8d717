//! The validator against the shared in-memory ports (`testkit::Memory`): no AWS, no
//! database, milliseconds. Any call can be made to fail transiently.

use super::*;
use domain::codes::ErrorCode;
use domain::model::{record_id, RowError};
use domain::ports::{ErrorLedger, ErrorRow, UploadIntake, UploadStart};
use domain::upload::{report_key, UploadStatus};
use domain::validation::ValidProduct;
use serde_json::json;
use std::collections::HashMap;
use testkit::events::{sequence_of, stream_batch, stream_event, stream_record};
use testkit::Memory;

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

fn memory() -> Memory {
    Memory::new(&["Books", "Electronics"], &[])
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
    mem.start_upload(
        &UploadStart {
            upload_id: upload_id.into(),
            vendor_id: items.first().map_or(VENDOR, |i| i.vendor_id.as_str()).into(),
            file_name: "p.csv".into(),
            s3_key: "uploads/VEND001/p.csv".into(),
            total_records: items.len() as u64,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            header: columns.iter().map(|c| c.to_string()).collect(),
            uploaded_at: chrono::Utc::now(),
            source: domain::upload::UploadEvent {
                bucket: BUCKET.into(),
                key: "uploads/VEND001/p.csv".into(),
                sequencer: "00A1".into(),
                version_id: None,
                event_time: chrono::Utc::now(),
            },
        },
        std::time::Duration::from_secs(960),
    )
    .await
    .expect("start");
    let claims: Vec<Claim> = items
        .iter()
        .flat_map(|item| Claim::of_row(item.row_number, &item.product_data))
        .collect();
    mem.register_claims(upload_id, &claims).await.expect("claims");
    mem.mark_parsed(upload_id).await.expect("parsed");
}

fn seq(item: &UploadRecord) -> String {
    sequence_of(item)
}

fn image(item: &UploadRecord) -> serde_json::Value {
    testkit::events::image(item).expect("DynamoDB JSON")
}

fn batch(records: Vec<serde_json::Value>) -> Event {
    stream_batch(records).expect("a DynamoDB stream event")
}

fn event(items: &[&UploadRecord]) -> Event {
    stream_event(items).expect("a DynamoDB stream event")
}

/// Delivers the batch; returns the reported batch item failures, sorted.
async fn deliver(mem: &Memory, event: &Event) -> Vec<String> {
    let validator = Validator {
        catalog: mem,
        ledger: mem,
        records: mem,
        objects: mem,
        bucket: BUCKET,
        notify: mem.notify(),
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

fn marked(mem: &Memory, upload_id: &str, n: u64) -> UploadRecord {
    mem.item(upload_id, n)
        .unwrap_or_else(|| panic!("row {n} of {upload_id} was never marked"))
}

fn counters(mem: &Memory, upload_id: &str) -> (i64, i64, UploadStatus) {
    mem.counters(upload_id).expect("history")
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
    for call in ["put_all", "finish"] {
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
    assert_eq!(mem.written(), vec![("UA".to_string(), 1), ("UA".to_string(), 2)]);
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
    assert_eq!(mem.written(), vec![("U1".to_string(), 1)], "only the pending row");
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

#[tokio::test]
async fn the_batch_that_ends_an_upload_announces_it_once_and_a_replay_does_not() {
    let mem = memory();
    let rows = [product("U1", 1, "P1", "S-1"), product("U1", 2, "P2", "S-2")];
    let refs: Vec<&UploadRecord> = rows.iter().collect();
    parsed(&mem, "U1", &COLUMNS, &refs).await;
    assert_eq!(deliver(&mem, &event(&refs[..1])).await, Vec::<String>::new());
    assert_eq!(mem.topic.count(), 0, "not final yet: nothing to announce");
    assert_eq!(deliver(&mem, &event(&refs)).await, Vec::<String>::new());
    assert_eq!(deliver(&mem, &event(&refs)).await, Vec::<String>::new());
    let sent = mem.topic.defaults("U1");
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(
        (
            &sent[0]["status"],
            &sent[0]["valid_records"],
            &sent[0]["error_records"]
        ),
        (
            &serde_json::json!("completed"),
            &serde_json::json!(2),
            &serde_json::json!(0)
        )
    );
    assert!(sent[0]["report_url"].is_null());
    let n = &mem.topic.of("U1")[0];
    assert_eq!(
        n.attributes,
        vec![
            ("vendor_id".to_string(), VENDOR.to_string()),
            ("status".to_string(), "completed".to_string())
        ]
    );
}

#[tokio::test]
async fn a_topic_that_is_down_never_fails_the_batch_and_the_notification_stays_pending() {
    let mem = memory();
    let only = product("U1", 1, "P1", "S-1");
    parsed(&mem, "U1", &COLUMNS, &[&only]).await;
    mem.topic.fail(1);
    assert_eq!(deliver(&mem, &event(&[&only])).await, Vec::<String>::new());
    assert_eq!(counters(&mem, "U1"), (1, 0, UploadStatus::Completed));
    assert_eq!(mem.topic.count(), 0);
    let outbox = mem.outbox("U1").expect("history");
    assert_eq!(
        (outbox.published, outbox.claimed_until),
        (None, None),
        "pending, claim given back"
    );
    // The reconciler's pass publishes it.
    let report = domain::notify::publish_pending(&mem.notify(), chrono::Duration::zero())
        .await
        .expect("outbox readable");
    assert_eq!((report.published, report.failed), (1, 0));
    assert_eq!(mem.topic.defaults("U1").len(), 1);
}

#[tokio::test]
async fn the_batch_that_commits_the_last_count_finalises_from_its_own_commit() {
    let mem = memory();
    let one = product("U1", 1, "P1", "S-1");
    let two = product("U1", 2, "P2", "S-2");
    parsed(&mem, "U1", &COLUMNS, &[&one, &two]).await;
    // Every read of the ledger's state fails: the commit's own state is enough.
    mem.fail("state", None, usize::MAX);

    assert_eq!(deliver(&mem, &event(&[&one])).await, Vec::<String>::new());
    assert_eq!(counters(&mem, "U1"), (1, 0, UploadStatus::Processing));
    assert_eq!(deliver(&mem, &event(&[&two])).await, Vec::<String>::new());
    assert_eq!(counters(&mem, "U1"), (2, 0, UploadStatus::Completed));

    // A redelivery commits nothing, so it reads the state (here: fails, and is retried).
    assert_eq!(deliver(&mem, &event(&[&two])).await, seqs(&[&two]));
}
