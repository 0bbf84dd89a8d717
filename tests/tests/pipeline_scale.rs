//! A 20,000-row upload through the whole pipeline: counts exact, invariants hold, and
//! in-file duplicates far apart (1,000 and 19,000 rows: different claims flushes,
//! stream batches and validator invocations) are decided by row number.
//! The elapsed time is printed (for the closing note), never asserted.

use domain::model::RecordStatus;
use e2e::pipeline::{errors, field, items, pg, stack, unique, upload_id_of, valid_row, HEADER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_rows_are_counted_exactly() {
    let stack = stack().await;
    let db = pg().await;
    let p = unique("BULK");
    let mut body = String::with_capacity(20_000 * 90);
    body.push_str(HEADER);
    for i in 1..=20_000usize {
        body.push('\n');
        if i % 2_000 == 0 {
            body.push_str(&format!("{p}-P{i},Broken {i},Electronics,{p}-SKU-{i},free,1,,,,"));
        } else if i == 1_001 {
            // Row 1's sku, 1,000 rows later.
            body.push_str(
                &valid_row(&p, i, "4.99").replace(&format!("{p}-SKU-{i},"), &format!("{p}-SKU-1,")),
            );
        } else if i == 19_101 {
            // Row 101's vendor_product_id, 19,000 rows later.
            body.push_str(&valid_row(&p, i, "4.99").replacen(
                &format!("{p}-P{i},"),
                &format!("{p}-P101,"),
                1,
            ));
        } else {
            body.push_str(&valid_row(&p, i, "4.99"));
        }
    }
    body.push('\n');
    let started = std::time::Instant::now();
    let h = stack
        .upload("VEND002", &format!("{p}.csv"), body.into_bytes(), false)
        .await
        .expect("upload");
    eprintln!(
        "20,000-row upload drained in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let id = upload_id_of(&h);
    assert_eq!(field(&h, "status"), "partial", "{h}");
    assert_eq!(field(&h, "total_records"), 20_000);
    assert_eq!(field(&h, "valid_records"), 19_988);
    assert_eq!(field(&h, "error_records"), 12);
    let errors = errors(&db, &id).await;
    assert_eq!(errors.len(), 12, "{errors:?}");
    assert!(
        errors.contains(&(1_001, "DUPLICATE_IN_FILE".into(), "sku".into())),
        "{errors:?}"
    );
    assert!(
        errors.contains(&(19_101, "DUPLICATE_IN_FILE".into(), "vendor_product_id".into())),
        "{errors:?}"
    );
    let n: i64 = db
        .query_one("SELECT count(*) FROM products WHERE upload_id = $1", &[&id])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 19_988);
    let items = items(&stack, &id).await;
    assert_eq!(items.len(), 20_000);
    assert_eq!(
        items
            .iter()
            .filter(|i| i.status == RecordStatus::Validated)
            .count(),
        19_988
    );
    assert_eq!(
        items.iter().filter(|i| i.status == RecordStatus::Error).count(),
        12
    );
}
