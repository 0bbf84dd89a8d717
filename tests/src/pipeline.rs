//! Helpers for the pipeline's end-to-end tests: unique names, CSV building, and reads
//! of what the pipeline left in PostgreSQL, DynamoDB and S3.

use devstack::upload::Stack;
use domain::model::UploadRecord;
use std::sync::atomic::{AtomicU64, Ordering};

/// A short id unique to this process and call, upper-case alphanumeric.
pub fn unique(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() % 10_000_000_000)
        .unwrap_or(0);
    format!("{tag}{t:X}{}{n}", std::process::id() % 1000)
}

pub const HEADER: &str =
    "vendor_product_id,product_name,category,sku,price,stock_quantity,brand,compare_at_price,weight_kg,image_url";

/// A CSV of HEADER and these rows, newline-terminated.
pub fn csv_body(rows: &[String]) -> Vec<u8> {
    let mut s = String::from(HEADER);
    for r in rows {
        s.push('\n');
        s.push_str(r);
    }
    s.push('\n');
    s.into_bytes()
}

/// A valid row for HEADER.
pub fn valid_row(prefix: &str, i: usize, price: &str) -> String {
    format!("{prefix}-P{i},Product {i},Electronics,{prefix}-SKU-{i},{price},{},Acme,,1.5,https://example.com/{i}.png", 10 + i)
}

pub async fn stack() -> Stack {
    crate::stack::load_env();
    Stack::from_env().await.expect("the local stack (run `make up`)")
}

pub async fn pg() -> tokio_postgres::Client {
    crate::stack::load_env();
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect to PostgreSQL");
    tokio::spawn(conn);
    client
}

/// Every UploadRecords item of an upload.
pub async fn items(stack: &Stack, upload_id: &str) -> Vec<UploadRecord> {
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let page = stack
            .dynamodb
            .query()
            .table_name(&stack.table)
            .key_condition_expression("upload_id = :u")
            .expression_attribute_values(":u", aws_sdk_dynamodb::types::AttributeValue::S(upload_id.into()))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("query UploadRecords");
        for item in page.items.unwrap_or_default() {
            out.push(serde_dynamo::from_item(item).expect("an UploadRecord"));
        }
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    out
}

pub async fn s3_text(stack: &Stack, key: &str) -> String {
    let obj = stack
        .s3
        .get_object()
        .bucket(&stack.bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get s3://{}/{key}: {e}", stack.bucket));
    let bytes = obj.body.collect().await.expect("read body").into_bytes();
    String::from_utf8(bytes.to_vec()).expect("utf-8 report")
}

/// `(row_number, error_type, error_field)` of an upload's validation errors, in report order.
pub async fn errors(db: &tokio_postgres::Client, upload_id: &str) -> Vec<(i32, String, String)> {
    db.query(
        "SELECT row_number, error_type, error_field FROM validation_errors
         WHERE upload_id = $1 ORDER BY row_number, error_id",
        &[&upload_id],
    )
    .await
    .expect("validation_errors")
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2)))
    .collect()
}

pub fn field<'a>(row: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    row.get(name)
        .unwrap_or_else(|| panic!("{name} missing from {row}"))
}

pub fn upload_id_of(row: &serde_json::Value) -> String {
    field(row, "upload_id").as_str().expect("upload_id").to_string()
}

/// The stream batch Lambda would deliver for these items (INSERT, NewImage), as JSON,
/// with increasing numeric sequence numbers.
pub fn insert_batch_json(items: &[UploadRecord]) -> serde_json::Value {
    use testkit::events::{image, stream_batch_json, stream_record};
    let records = items
        .iter()
        .enumerate()
        .map(|(i, item)| stream_record(&format!("{:021}", i + 1), image(item).expect("item")))
        .collect();
    stream_batch_json(records)
}

/// Puts `body` at `key` and returns the S3 notification for it and its upload id,
/// without delivering anything (the test decides who receives the event).
pub async fn put_with_event(
    stack: &Stack,
    key: &str,
    body: Vec<u8>,
) -> (aws_lambda_events::event::s3::S3Event, String) {
    let put = stack
        .s3
        .put_object()
        .bucket(&stack.bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .expect("put");
    let now = chrono::Utc::now();
    let sequencer = devstack::upload::sequencer(now);
    let event = testkit::events::S3Put {
        etag: put.e_tag().unwrap_or_default(),
        at: now,
        ..testkit::events::s3_put(&stack.bucket, key, &sequencer)
    }
    .event()
    .expect("event");
    let upload_id = domain::upload::upload_id(&stack.bucket, key, &sequencer, None, now);
    (event, upload_id)
}
