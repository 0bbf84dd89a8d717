//! Transient faults are retried, never recorded as verdicts.

use aws_lambda_events::event::dynamodb::Event;
use domain::model::RecordStatus;
use e2e::faults::{retarget_url, url_addr, Proxy};
use e2e::pipeline::{field, insert_batch_json, items, pg, put_with_event, stack, unique, valid_row, HEADER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_during_validation_marks_nothing_and_the_retry_completes_exactly() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("DOWN");

    let arn = stack.stream_arn().await.expect("stream");
    let from = devstack::esm::snapshot_tip(&stack.streams, &arn)
        .await
        .expect("stream tip");

    // The parser runs normally.
    let mut body = String::from(HEADER);
    for i in 1..=12 {
        body.push('\n');
        body.push_str(&valid_row(&p, i, "7.00"));
    }
    body.push_str(&format!("\n{p}-P13,Bad,Nope,{p}-SKU-13,1.00,1,,,,\n"));
    let key = format!("uploads/VEND001/{p}.csv");
    let (event, upload_id) = put_with_event(&stack, &key, body.into_bytes()).await;
    stack.invoke_parser(&event).await.expect("parse");
    let pending = items(&stack, &upload_id).await;
    assert_eq!(pending.len(), 13);

    // The validator reaches PostgreSQL through a proxy that we switch off.
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let proxy = Proxy::start(url_addr(&url).expect("host:port in DATABASE_URL"))
        .await
        .expect("proxy");
    let proxied = retarget_url(&url, proxy.addr()).expect("url");
    let pool = adapters::postgres::pool(
        &adapters::config::DatabaseConfig::Url(proxied),
        &adapters::config::SessionLimits::default(),
        &adapters::aws::sdk_config().await,
    )
    .await
    .expect("pool");
    let (objects, records, catalog) = (
        adapters::s3::S3Objects::new(stack.s3.clone()),
        adapters::dynamodb::DynamoRecords::new(stack.dynamodb.clone(), stack.table.clone()),
        adapters::postgres::PgCatalog::new(pool),
    );
    let validator = stream_validator::Validator {
        catalog: &catalog,
        ledger: &catalog,
        records: &records,
        objects: &objects,
        bucket: &stack.bucket,
        notify: domain::notify::Notify {
            outbox: &catalog,
            notifier: &stack.notifier,
            vendor_api_url: &stack.vendor_api_url,
        },
    };
    let batch: Event = serde_json::from_value(insert_batch_json(&pending)).expect("a stream event");
    let all: Vec<String> = batch
        .records
        .iter()
        .filter_map(|r| r.change.sequence_number.clone())
        .collect();

    proxy.set_up(false);
    let response = validator.handle(&batch).await;
    let failed: Vec<String> = response
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failed, all, "every record of the batch is reported for retry");
    assert!(items(&stack, &upload_id)
        .await
        .iter()
        .all(|i| i.status == RecordStatus::PendingValidation));
    let decided: i64 = db
        .query_one(
            "SELECT count(*) FROM upload_rows WHERE upload_id = $1",
            &[&upload_id],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(decided, 0, "no verdict recorded while the database is down");

    // Back up: the retry converges, and a second retry changes nothing.
    proxy.set_up(true);
    for _ in 0..2 {
        let response = validator.handle(&batch).await;
        assert!(
            response.batch_item_failures.is_empty(),
            "{:?}",
            response.batch_item_failures
        );
    }
    // The error row's MODIFY event reaches the error processor through the real stream.
    stack.drain(&arn, &from, &upload_id, false).await.expect("drain");
    let h = stack.history(&upload_id).await.expect("history");
    assert_eq!(field(&h, "status"), "partial", "{h}");
    assert_eq!(field(&h, "valid_records"), 12);
    assert_eq!(field(&h, "error_records"), 1);
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM products WHERE upload_id = $1",
            &[&upload_id],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 12);
}
