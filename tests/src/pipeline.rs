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

/// devstack's stack, remembering every upload a test starts through it: when the test
/// ends (the stack is dropped), each of them must be final — no test may leave an upload
/// `processing` (DESIGN.md §3, "Every upload ends").
pub struct TestStack {
    inner: Stack,
    uploads: std::sync::Mutex<Vec<String>>,
}

impl std::ops::Deref for TestStack {
    type Target = Stack;
    fn deref(&self) -> &Stack {
        &self.inner
    }
}

impl std::ops::DerefMut for TestStack {
    fn deref_mut(&mut self) -> &mut Stack {
        &mut self.inner
    }
}

impl TestStack {
    /// `devstack upload`, remembered.
    pub async fn upload(
        &self,
        vendor: &str,
        name: &str,
        body: Vec<u8>,
        redeliver: bool,
    ) -> anyhow::Result<serde_json::Value> {
        let history = self.inner.upload(vendor, name, body, redeliver).await?;
        if let Some(id) = history.get("upload_id").and_then(|v| v.as_str()) {
            self.remember(id);
        }
        Ok(history)
    }

    /// An upload this test started another way (e.g. by delivering an event itself).
    pub fn remember(&self, upload_id: &str) {
        if let Ok(mut uploads) = self.uploads.lock() {
            uploads.push(upload_id.to_string());
        }
    }
}

impl Drop for TestStack {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let ids = self.uploads.lock().map(|u| u.clone()).unwrap_or_default();
        if ids.is_empty() {
            return;
        }
        let url = self.inner.database_url.clone();
        // A runtime of its own: Drop cannot await, and the test's may be shutting down.
        let unfinished = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async move {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.ok()?;
                tokio::spawn(conn);
                let rows = client
                    .query(
                        "SELECT upload_id, status FROM upload_history
                         WHERE upload_id = ANY($1) AND status = 'processing'",
                        &[&ids],
                    )
                    .await
                    .ok()?;
                Some(rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>())
            })
        })
        .join()
        .ok()
        .flatten();
        match unfinished {
            Some(u) if u.is_empty() => {}
            Some(u) => panic!("the test left uploads processing (every upload must end): {u:?}"),
            None => panic!("could not check that the test's uploads ended (PostgreSQL unreachable)"),
        }
    }
}

pub async fn stack() -> TestStack {
    crate::stack::load_env();
    TestStack {
        inner: Stack::from_env().await.expect("the local stack (run `make up`)"),
        uploads: std::sync::Mutex::new(Vec::new()),
    }
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
pub async fn items(stack: &TestStack, upload_id: &str) -> Vec<UploadRecord> {
    crate::stack::query_items(&stack.dynamodb, &stack.table, upload_id).await
}

pub async fn s3_text(stack: &TestStack, key: &str) -> String {
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
    stack: &TestStack,
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
        version_id: put.version_id(),
        at: now,
        ..testkit::events::s3_put(&stack.bucket, key, &sequencer)
    }
    .event()
    .expect("event");
    let upload_id = domain::upload::upload_id(&stack.bucket, key, &sequencer, put.version_id(), now);
    stack.remember(&upload_id);
    (event, upload_id)
}
