//! Data the tool tests put in DynamoDB Local: items of their own (unique tenants,
//! products, serials, customers), so no test depends on what another left.

use crate::stack::unique;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicI64, Ordering};

pub async fn put(client: &aws_sdk_dynamodb::Client, table: &str, item: Value) {
    let item = serde_dynamo::to_item(item).unwrap_or_else(|e| panic!("item: {e}"));
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put_item into {table}: {e:?}"));
}

/// A product id no other run uses (the table's hash key is a number).
pub fn unique_product() -> i64 {
    static N: AtomicI64 = AtomicI64::new(0);
    let millis = chrono::Utc::now().timestamp_millis();
    (millis % 1_000_000_000_000) * 1000
        + (std::process::id() as i64 % 100) * 10
        + N.fetch_add(1, Ordering::Relaxed) % 10
}

/// A ProductReviews item.
pub fn review(tenant: &str, product: i64, id: &str, rating: i64, date: &str, verified: bool) -> Value {
    json!({
        "product_id": product, "review_id": id, "tenant_id": tenant,
        "customer_id": "CUST001", "customer_email": "someone@example.com",
        "product_name": "Test product", "rating": rating, "title": format!("title {id}"),
        "comment": "comment", "review_date": date, "helpful_votes": 1, "verified_purchase": verified
    })
}

/// A serial number no other run uses (`^[A-Z0-9]{8,20}$`).
pub fn unique_serial(prefix: &str) -> String {
    let digits: String = unique("").chars().filter(char::is_ascii_digit).collect();
    let tail = &digits[digits.len().saturating_sub(16)..];
    format!("{prefix}{tail}")
}

/// A customer id no other run uses (`CUST\d{3,}`).
pub fn unique_customer() -> String {
    let digits: String = unique("").chars().filter(char::is_ascii_digit).collect();
    format!("CUST9{}", &digits[digits.len().saturating_sub(15)..])
}

/// The review ids of a reviews tool's result.
pub use testkit::reviews::review_ids as ids;
