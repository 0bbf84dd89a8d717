//! "Upload finished" notifications end to end: real handlers, PostgreSQL's outbox,
//! moto's SNS topic and the queue `make up` subscribed to it, read back with
//! `devstack notifications`. Exactly one message per upload, whoever ends it.

use domain::notify::{publish_pending, Notify};
use e2e::pipeline::{csv_body as csv, field, stack, unique, upload_id_of, valid_row};
use serde_json::{json, Value};
use std::time::Duration;

/// Every message delivered for the upload (waiting a little for the first).
async fn delivered(upload_id: &str) -> Vec<Value> {
    devstack::notifications::collect(upload_id, Duration::from_secs(15))
        .await
        .unwrap_or_else(|e| panic!("devstack notifications: {e:#}"))
}

/// The one message of a final upload, checked against its history row.
async fn exactly_one(history: &Value) -> Value {
    let id = upload_id_of(history);
    // Give a repeat the time to arrive before concluding there is none.
    let first = delivered(&id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = devstack::notifications::collect(&id, Duration::ZERO)
        .await
        .unwrap_or_default();
    assert_eq!(first.len(), 1, "{id}: {first:?}");
    assert_eq!(sent.len(), 1, "{id}: {sent:?}");
    let record = sent[0].clone();
    let m = &record["message"];
    assert_eq!(m["type"], "UPLOAD_FINISHED");
    for key in [
        "upload_id",
        "vendor_id",
        "file_name",
        "status",
        "total_records",
        "valid_records",
        "error_records",
        "error_file_s3_key",
    ] {
        assert_eq!(m[key], history[key], "{key} of {id}");
    }
    let total = history["total_records"].as_i64().unwrap_or_default();
    let valid = history["valid_records"].as_i64().unwrap_or_default();
    if total == 0 {
        assert!(m["success_rate_percent"].is_null());
    } else {
        let rate = m["success_rate_percent"].as_f64().unwrap_or(-1.0);
        assert!(
            (rate - (valid as f64 * 100.0 / total as f64)).abs() < 0.006,
            "{m}"
        );
    }
    let vendor_api_url = e2e::stack::var("VENDOR_API_URL");
    match history["error_file_s3_key"].as_str() {
        Some(_) => assert_eq!(
            m["report_url"],
            format!("{vendor_api_url}/uploads/{id}/report").as_str()
        ),
        None => assert!(m["report_url"].is_null()),
    }
    assert!(m["completed_at"]
        .as_str()
        .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()));
    // What e-mail subscriptions filter on and read.
    assert_eq!(
        record["attributes"],
        json!({"vendor_id": history["vendor_id"], "status": history["status"]})
    );
    let subject = record["subject"].as_str().unwrap_or_default();
    assert!(
        subject.starts_with(&format!(
            "Product upload {}: ",
            m["status"].as_str().unwrap_or_default()
        )),
        "{subject}"
    );
    assert!(subject.ends_with("% valid)") && subject.len() <= 99, "{subject}");
    record
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_partial_failed_and_file_level_uploads_are_each_announced_once() {
    let stack = stack().await;
    let p = unique("NOTE");
    let clean = stack
        .upload(
            "VEND001",
            &format!("{p}-clean.csv"),
            csv(&[valid_row(&p, 1, "5.00"), valid_row(&p, 2, "6.00")]),
            false,
        )
        .await
        .expect("clean");
    let partial = stack
        .upload(
            "VEND001",
            &format!("{p}-partial.csv"),
            csv(&[
                valid_row(&p, 3, "5.00"),
                format!("{p}-P4,Bad,Nope,{p}-SKU-4,1.00,1,,,,"),
            ]),
            true,
        )
        .await
        .expect("partial");
    let failed = stack
        .upload(
            "VEND002",
            &format!("{p}-failed.csv"),
            csv(&[
                format!("{p}-P5,Bad,Nope,{p}-SKU-5,x,1,,,,"),
                format!("{p}-P6,Short"),
            ]),
            true,
        )
        .await
        .expect("failed");
    let missing_columns = stack
        .upload(
            "VEND003",
            &format!("{p}-columns.csv"),
            b"sku,price\nA,1.00\n".to_vec(),
            true,
        )
        .await
        .expect("file-level failure");
    let unknown_vendor = stack
        .upload(
            &format!("{p}NOBODY"),
            &format!("{p}-who.csv"),
            csv(&[valid_row(&p, 7, "1.00")]),
            false,
        )
        .await
        .expect("unknown vendor");
    let expected = [
        (&clean, "completed"),
        (&partial, "partial"),
        (&failed, "failed"),
        (&missing_columns, "failed"),
        (&unknown_vendor, "failed"),
    ];
    for (history, status) in expected {
        assert_eq!(field(history, "status"), status, "{history}");
        exactly_one(history).await;
    }
    let record = exactly_one(&partial).await;
    assert_eq!(
        record["subject"],
        format!("Product upload partial: {p}-partial.csv (50% valid)").as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_uploads_are_each_announced_once() {
    let stack = std::sync::Arc::new(stack().await);
    let p = unique("CONC");
    let mut tasks = Vec::new();
    for i in 0..4 {
        let stack = stack.clone();
        let p = p.clone();
        tasks.push(tokio::spawn(async move {
            let rows = vec![
                valid_row(&format!("{p}{i}"), 1, "3.00"),
                format!("{p}{i}-P2,Bad,Nope,{p}{i}-SKU-2,1.00,1,,,,"),
            ];
            stack
                .upload("VEND002", &format!("{p}-{i}.csv"), csv(&rows), i % 2 == 0)
                .await
        }));
    }
    for task in tasks {
        let history = task.await.expect("task").expect("upload");
        assert_eq!(field(&history, "status"), "partial");
        exactly_one(&history).await;
    }
}

/// The reconciler's path: an upload that ended while the topic was unreachable is
/// announced by `publish_pending`, once, however often it runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_ended_while_sns_was_down_is_announced_once_by_the_reconcilers_pass() {
    let stack = stack().await;
    let p = unique("PEND");
    let key = format!("uploads/{p}GHOST/{p}.csv");
    let (event, upload_id) =
        e2e::pipeline::put_with_event(&stack, &key, csv(&[valid_row(&p, 1, "1.00")])).await;

    let sdk = e2e::stack::aws().await;
    let config = adapters::config::PipelineConfig::from_env().expect("config");
    let pool = adapters::postgres::pool(&config.database, &config.session_limits, &sdk)
        .await
        .expect("pool");
    let catalog = adapters::postgres::PgCatalog::new(pool);
    let objects = adapters::s3::S3Objects::new(stack.s3.clone());
    let records = adapters::dynamodb::DynamoRecords::new(stack.dynamodb.clone(), stack.table.clone());
    // A topic that does not exist: every publish fails, as when SNS is unreachable.
    let down = adapters::sns::SnsNotifier::new(
        adapters::sns::client(&sdk),
        "arn:aws:sns:us-east-1:123456789012:no-such-topic",
    );
    let settings = csv_parser::Settings {
        max_upload_bytes: config.max_upload_bytes,
        record_ttl_days: config.record_ttl_days,
        parse_lease: config.parse_lease,
    };
    let parser = csv_parser::Parser {
        objects: &objects,
        records: &records,
        ledger: &catalog,
        settings: &settings,
        notify: Notify {
            outbox: &catalog,
            notifier: &down,
            vendor_api_url: &stack.vendor_api_url,
        },
    };
    let outcomes = parser
        .handle(&event)
        .await
        .expect("the parser ends the upload (unknown vendor)");
    assert!(
        matches!(outcomes.as_slice(), [csv_parser::Outcome::Failed { .. }]),
        "{outcomes:?}"
    );
    let history = stack.history(&upload_id).await.expect("history");
    assert_eq!(field(&history, "status"), "failed");
    assert!(
        devstack::notifications::collect(&upload_id, Duration::from_secs(1))
            .await
            .unwrap_or_default()
            .is_empty()
    );

    let notify = Notify {
        outbox: &catalog,
        notifier: &stack.notifier,
        vendor_api_url: &stack.vendor_api_url,
    };
    for _ in 0..2 {
        publish_pending(&notify, chrono::Duration::zero())
            .await
            .expect("outbox readable");
    }
    exactly_one(&history).await;
}
