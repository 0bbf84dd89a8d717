//! The local stack itself: the DynamoDB stream carries what the pipeline writes, the
//! migrations are idempotent and seed the reference data, S3 answers, the functions'
//! configuration loads from `.local/env`, and `devstack setup` can run again.
//! Run after `make up`.

use adapters::config::{ConfigError, PipelineConfig};
use domain::model::{record_id, RecordStatus, RowError, UploadRecord};
use domain::ErrorCode;
use e2e::stack;
use std::collections::HashMap;
use std::time::Duration;

#[tokio::test]
async fn an_upload_record_comes_back_from_the_stream_as_written() {
    let sdk = stack::aws().await;
    let table = stack::var("UPLOAD_RECORDS_TABLE");
    let now = chrono::Utc::now();
    let written = UploadRecord {
        upload_id: stack::unique("UPLOAD_E2E_STREAM"),
        record_id: record_id(7),
        vendor_id: "VEND001".into(),
        file_name: "foundation.csv".into(),
        row_number: 7,
        product_data: [
            ("sku", "E2E-STREAM-1"),
            ("price", "-1.00"),
            ("product_name", "Stream, \"quoted\" — ünïcode"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        status: RecordStatus::Error,
        error_type: Some(ErrorCode::InvalidPrice),
        error_reason: vec![RowError::new(
            ErrorCode::InvalidPrice,
            "price",
            "price -1.00 must be > 0",
        )],
        created_at: now.to_rfc3339(),
        updated_at: now.to_rfc3339(),
        ttl: now.timestamp() + 86_400,
    };
    let item: HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
        serde_dynamo::to_item(&written).unwrap_or_else(|e| panic!("serialize: {e}"));
    adapters::dynamodb::client(&sdk)
        .put_item()
        .table_name(&table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutItem: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)));

    let record = stack::find_in_stream(&sdk, &table, Duration::from_secs(60), |r| {
        let s = |k: &str| match r.new_image.get(k) {
            Some(aws_sdk_dynamodbstreams::types::AttributeValue::S(v)) => v.as_str(),
            _ => "",
        };
        s("upload_id") == written.upload_id && s("record_id") == written.record_id
    })
    .await
    .unwrap_or_else(|| panic!("no stream record for {} within 60 s", written.upload_id));
    assert_eq!(record.event_name, "INSERT");
    let read: UploadRecord =
        serde_dynamo::from_item(record.new_image).unwrap_or_else(|e| panic!("decode NewImage: {e}"));
    assert_eq!(read, written);
}

const CATEGORIES: [&str; 20] = [
    "Electronics",
    "Computer Accessories",
    "Audio Equipment",
    "Mobile Accessories",
    "Computer Storage",
    "Clothing",
    "Men's Clothing",
    "Women's Clothing",
    "Accessories",
    "Home & Garden",
    "Kitchen",
    "Bedroom",
    "Bathroom",
    "Living Room",
    "Garden",
    "Sports & Outdoors",
    "Books",
    "Toys & Games",
    "Health & Beauty",
    "Food & Beverage",
];

#[tokio::test]
async fn migrations_are_idempotent_and_seed_categories_and_vendors() {
    let mut client = stack::pg().await;
    adapters::postgres::migrations::run(&mut client)
        .await
        .unwrap_or_else(|e| panic!("first run: {e}"));
    let again = adapters::postgres::migrations::run(&mut client)
        .await
        .unwrap_or_else(|e| panic!("second run: {e}"));
    assert_eq!(again, 0, "a second run applies nothing");

    let rows = client
        .query(
            "SELECT category_name FROM product_categories WHERE is_active",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("categories: {e}"));
    let mut names: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    names.sort();
    let mut expected: Vec<String> = CATEGORIES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);

    let parents = client
        .query(
            "SELECT category_name, parent_category FROM product_categories
             WHERE category_name IN ('Men''s Clothing', 'Garden', 'Home & Garden')
             ORDER BY category_name",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("parents: {e}"));
    let parents: Vec<(String, Option<String>)> = parents.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(
        parents,
        vec![
            ("Garden".to_string(), Some("Home & Garden".to_string())),
            ("Home & Garden".to_string(), None),
            ("Men's Clothing".to_string(), Some("Clothing".to_string())),
        ]
    );

    let vendors = client
        .query(
            "SELECT vendor_id, vendor_name, status FROM vendors
             WHERE vendor_id IN ('VEND001', 'VEND002', 'VEND003') ORDER BY vendor_id",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("vendors: {e}"));
    let vendors: Vec<(String, String, String)> =
        vendors.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(vendors.len(), 3, "{vendors:?}");
    for ((id, name, status), (want_id, want_name)) in vendors.iter().zip([
        ("VEND001", "TechGear"),
        ("VEND002", "StyleWear"),
        ("VEND003", "HomeEssentials"),
    ]) {
        assert_eq!(id, want_id);
        assert!(name.contains(want_name), "{id}: {name}");
        assert_eq!(status, "active", "{id}");
    }
}

#[tokio::test]
async fn s3_put_and_get_round_trip() {
    let sdk = stack::aws().await;
    let s3 = adapters::s3::client(&sdk);
    let bucket = stack::var("UPLOAD_BUCKET");
    let key = format!("e2e/foundation/{}.csv", stack::unique("roundtrip"));
    let body = "sku,price\nA-1,9.99\n\u{feff}ünïcode,1\n".as_bytes().to_vec();
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(body.clone().into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutObject: {}", aws_sdk_s3::error::DisplayErrorContext(e)));
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetObject: {}", aws_sdk_s3::error::DisplayErrorContext(e)));
    assert_eq!(got.content_length(), Some(body.len() as i64));
    let read = got
        .body
        .collect()
        .await
        .unwrap_or_else(|e| panic!("read body: {e}"))
        .into_bytes();
    assert_eq!(read.as_ref(), body.as_slice());
    s3.delete_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("DeleteObject: {}", aws_sdk_s3::error::DisplayErrorContext(e)));
}

#[test]
fn pipeline_config_loads_from_the_stack_env_and_names_what_is_missing() {
    stack::load_env();
    let cfg = PipelineConfig::from_env().unwrap_or_else(|e| panic!("PipelineConfig::from_env: {e}"));
    assert_eq!(cfg.upload_records_table, stack::var("UPLOAD_RECORDS_TABLE"));
    assert_eq!(cfg.upload_bucket, stack::var("UPLOAD_BUCKET"));
    assert_eq!(cfg.max_upload_bytes, 104_857_600);

    let without_db: HashMap<String, String> = stack::load_env()
        .iter()
        .filter(|(k, _)| k != "DATABASE_URL")
        .cloned()
        .collect();
    match PipelineConfig::from_source(&without_db) {
        Err(ConfigError::Missing { name, .. }) => assert_eq!(name, "DATABASE_URL"),
        other => panic!("expected DATABASE_URL to be reported missing, got {other:?}"),
    }
}

#[tokio::test]
async fn setup_runs_again_without_changing_anything() {
    stack::load_env();
    let report = devstack::setup::run()
        .await
        .unwrap_or_else(|e| panic!("devstack setup: {e:#}"));
    assert!(report.tables_created.is_empty(), "{report:?}");
    assert!(!report.bucket_created, "{report:?}");
    assert_eq!(report.migrations_applied, 0, "{report:?}");
    assert!(report.items_seeded >= 27, "{report:?}");

    // Product 1 exists for both tenants: the GSI keeps them apart.
    let sdk = stack::aws().await;
    let out = adapters::dynamodb::client(&sdk)
        .query()
        .table_name(stack::var("PRODUCT_REVIEWS_TABLE"))
        .index_name("tenant_id-product_id-index")
        .key_condition_expression("tenant_id = :t AND product_id = :p")
        .expression_attribute_values(":t", aws_sdk_dynamodb::types::AttributeValue::S("tenantb".into()))
        .expression_attribute_values(":p", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("Query: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)));
    // The seed's two reviews of tenantb's product 1 (others' tests use their own tenants).
    let ids: Vec<&str> = out
        .items()
        .iter()
        .filter_map(|i| i.get("review_id").and_then(|v| v.as_s().ok()).map(String::as_str))
        .collect();
    for seeded in ["revb_20241205_001", "revb_20250118_001"] {
        assert!(ids.contains(&seeded), "{seeded} missing from {ids:?}");
    }
    assert!(out.items().iter().all(|i| matches!(
        i.get("tenant_id"),
        Some(aws_sdk_dynamodb::types::AttributeValue::S(t)) if t == "tenantb"
    )));
}

/// The port of a `scheme://host:port/...` URL (the settings in `.local/env`).
fn port_of(url: &str) -> u16 {
    let after_host = url
        .rsplit('@')
        .next()
        .and_then(|rest| rest.split("://").last())
        .unwrap_or(url);
    let authority = after_host.split('/').next().unwrap_or(after_host);
    authority
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {url}"))
}

/// Local addresses (hex, as the kernel prints them) of the sockets listening on
/// `port`, from /proc/net/tcp and /proc/net/tcp6.
fn listening_addresses(port: u16) -> Vec<String> {
    let port_hex = format!("{port:04X}");
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // sl, local_address, rem_address, st (0A = LISTEN), ...
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            if *state != "0A" {
                continue;
            }
            if let Some((address, p)) = local.split_once(':') {
                if p == port_hex {
                    found.push(address.to_string());
                }
            }
        }
    }
    found
}

/// 127.0.0.0/8, `::1` or `::ffff:127.x.x.x`, in /proc/net's byte order (each 32-bit
/// word little-endian, so 127.0.0.1 reads `0100007F`).
fn is_loopback(hex: &str) -> bool {
    match hex.len() {
        8 => hex.ends_with("7F"),
        32 => {
            hex == "00000000000000000000000001000000"
                || (hex.starts_with("0000000000000000FFFF0000") && hex.ends_with("7F"))
        }
        _ => false,
    }
}

#[test]
fn every_local_service_listens_on_loopback_only() {
    assert!(is_loopback("0100007F") && !is_loopback("00000000"));
    assert!(is_loopback("0000000000000000FFFF00000100007F"));
    assert!(!is_loopback("00000000000000000000000000000000"));
    for (service, url) in [
        ("PostgreSQL", stack::var("DATABASE_URL")),
        ("DynamoDB Local", stack::var("AWS_ENDPOINT_URL_DYNAMODB")),
        ("moto (S3)", stack::var("AWS_ENDPOINT_URL_S3")),
    ] {
        let port = port_of(&url);
        let addresses = listening_addresses(port);
        assert!(!addresses.is_empty(), "{service}: nothing listens on port {port}");
        assert!(
            addresses.iter().all(|a| is_loopback(a)),
            "{service} listens on port {port} beyond loopback: {addresses:?}"
        );
    }
}

#[tokio::test]
async fn writing_the_same_item_twice_in_one_call_keeps_its_last_version() {
    use adapters::dynamodb::DynamoRecords;
    use domain::ports::RecordStore;

    let sdk = stack::aws().await;
    let table = stack::var("UPLOAD_RECORDS_TABLE");
    let client = adapters::dynamodb::client(&sdk);
    let now = chrono::Utc::now().to_rfc3339();
    let item = |row: u64, status: RecordStatus| UploadRecord {
        upload_id: stack::unique("UPLOAD_E2E_DUPKEY"),
        record_id: record_id(row),
        vendor_id: "VEND001".into(),
        file_name: "dup.csv".into(),
        row_number: row,
        product_data: [("sku".to_string(), format!("DUP-{row}"))].into_iter().collect(),
        status,
        error_type: None,
        error_reason: Vec::new(),
        created_at: now.clone(),
        updated_at: now.clone(),
        ttl: 0,
    };
    let first = item(1, RecordStatus::PendingValidation);
    let mut again = first.clone();
    again.status = RecordStatus::Validated;
    let other = UploadRecord {
        upload_id: first.upload_id.clone(),
        ..item(2, RecordStatus::PendingValidation)
    };
    // BatchWriteItem alone refuses a call naming one key twice.
    DynamoRecords::new(client.clone(), table.clone())
        .put_all(&[first.clone(), other, again])
        .await
        .unwrap_or_else(|e| panic!("put_all: {e}"));

    let stored = client
        .get_item()
        .table_name(&table)
        .key(
            "upload_id",
            aws_sdk_dynamodb::types::AttributeValue::S(first.upload_id.clone()),
        )
        .key(
            "record_id",
            aws_sdk_dynamodb::types::AttributeValue::S(first.record_id.clone()),
        )
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetItem: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))
        .item
        .unwrap_or_else(|| panic!("item {} not written", first.record_id));
    let stored: UploadRecord = serde_dynamo::from_item(stored).unwrap_or_else(|e| panic!("decode: {e}"));
    assert_eq!(stored.status, RecordStatus::Validated);
}

#[tokio::test]
async fn a_first_write_never_resets_an_item_already_decided() {
    use adapters::dynamodb::DynamoRecords;
    use domain::ports::RecordStore;

    let sdk = stack::aws().await;
    let table = stack::var("UPLOAD_RECORDS_TABLE");
    let client = adapters::dynamodb::client(&sdk);
    let upload_id = stack::unique("UPLOAD_E2E_FIRSTWRITE");
    let now = chrono::Utc::now().to_rfc3339();
    let item = |row: u64| UploadRecord {
        upload_id: upload_id.clone(),
        record_id: record_id(row),
        vendor_id: "VEND001".into(),
        file_name: "first.csv".into(),
        row_number: row,
        product_data: [("sku".to_string(), format!("FW-{row}"))].into_iter().collect(),
        status: RecordStatus::PendingValidation,
        error_type: None,
        error_reason: Vec::new(),
        created_at: now.clone(),
        updated_at: now.clone(),
        ttl: 0,
    };
    let records = DynamoRecords::new(client.clone(), table.clone());
    // 150 rows: two transactions. A first parse wrote rows 1..=120, and the validator
    // decided row 7.
    let all: Vec<UploadRecord> = (1..=150).map(item).collect();
    records
        .put_new(&all[..120])
        .await
        .unwrap_or_else(|e| panic!("put_new: {e}"));
    let decided = all[6].decided(None, &now);
    records
        .put_all(&[decided])
        .await
        .unwrap_or_else(|e| panic!("put_all: {e}"));

    // A duplicate parse writes every row again, first-write style.
    records
        .put_new(&all)
        .await
        .unwrap_or_else(|e| panic!("put_new again: {e}"));

    let stored = stack::items_of(&sdk, &table, &upload_id).await;
    assert_eq!(stored.len(), 150, "every row written once");
    let statuses: Vec<(u64, RecordStatus)> = stored
        .iter()
        .filter(|r| r.status != RecordStatus::PendingValidation)
        .map(|r| (r.row_number, r.status))
        .collect();
    assert_eq!(
        statuses,
        vec![(7, RecordStatus::Validated)],
        "row 7 stays decided"
    );
}
