//! The catalog's own fences, which README promises hold whatever a writer does: the
//! `upload_history` CHECKs (`valid + error <= total`; final exactly when the counts add
//! up and `processing_completed_at` is set) and one `validation_errors` row per
//! (upload, row, code, column) — the second fence behind the error processor's
//! `error_recorded` flag. Each refusal is asserted by its SQLSTATE, so a dropped
//! constraint fails here. The rows these tests end are marked announced, so the
//! reconciler has no notification of theirs to publish.

use e2e::stack::{pg, unique};
use tokio_postgres::error::SqlState;

type TestResult = anyhow::Result<()>;

/// The SQLSTATE a statement failed with, or a failure if it succeeded.
fn refused(result: Result<u64, tokio_postgres::Error>, what: &str) -> anyhow::Result<SqlState> {
    match result {
        Ok(n) => anyhow::bail!("{what}: accepted ({n} rows) where the schema must refuse it"),
        Err(e) => e
            .code()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{what}: failed without a SQLSTATE: {e}")),
    }
}

async fn history_row(db: &tokio_postgres::Client, upload_id: &str, total: i32) -> TestResult {
    db.execute(
        "INSERT INTO upload_history (upload_id, vendor_id, file_name, s3_key, total_records)
         VALUES ($1, 'VEND001', 'schema.csv', 'uploads/VEND001/schema.csv', $2)",
        &[&upload_id, &total],
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn upload_history_counts_never_pass_the_total_and_final_means_complete() -> TestResult {
    let db = pg().await;
    let id = unique("UPLOAD_SCHEMA");
    history_row(&db, &id, 2).await?;
    let set = |sql: &'static str| {
        let (db, id) = (&db, id.clone());
        async move { db.execute(sql, &[&id]).await }
    };

    let over =
        set("UPDATE upload_history SET valid_records = 2, error_records = 1 WHERE upload_id = $1").await;
    assert_eq!(refused(over, "valid + error > total")?, SqlState::CHECK_VIOLATION);
    let early = set(
        "UPDATE upload_history SET valid_records = 1, status = 'completed',
                processing_completed_at = now() WHERE upload_id = $1",
    )
    .await;
    assert_eq!(
        refused(early, "final with 1 of 2 rows counted")?,
        SqlState::CHECK_VIOLATION
    );
    let undated =
        set("UPDATE upload_history SET valid_records = 2, status = 'completed' WHERE upload_id = $1").await;
    assert_eq!(
        refused(undated, "final without processing_completed_at")?,
        SqlState::CHECK_VIOLATION
    );
    let dated_processing =
        set("UPDATE upload_history SET processing_completed_at = now() WHERE upload_id = $1").await;
    assert_eq!(
        refused(dated_processing, "processing with processing_completed_at")?,
        SqlState::CHECK_VIOLATION
    );
    let unknown = set("UPDATE upload_history SET status = 'done' WHERE upload_id = $1").await;
    assert_eq!(refused(unknown, "an unknown status")?, SqlState::CHECK_VIOLATION);

    // Progress short of the total is allowed while processing; equality ends it.
    assert_eq!(
        set("UPDATE upload_history SET valid_records = 1 WHERE upload_id = $1").await?,
        1
    );
    let ended = set(
        "UPDATE upload_history SET valid_records = 1, error_records = 1, status = 'partial',
                processing_completed_at = now(), notification_published_at = now()
         WHERE upload_id = $1",
    )
    .await?;
    assert_eq!(ended, 1, "the complete, dated upload ends");
    Ok(())
}

#[tokio::test]
async fn validation_errors_holds_one_row_per_upload_row_code_and_column() -> TestResult {
    let db = pg().await;
    let id = unique("UPLOAD_SCHEMA");
    history_row(&db, &id, 0).await?;
    db.execute(
        "UPDATE upload_history SET status = 'failed', processing_completed_at = now(),
                notification_published_at = now() WHERE upload_id = $1",
        &[&id],
    )
    .await?;
    let insert = "INSERT INTO validation_errors (upload_id, vendor_id, row_number, error_type, error_field, error_message)
                  VALUES ($1, 'VEND001', $2, $3, $4, 'message')";
    // A long column name (past a btree entry's 2.7 KB) is still fenced: the key hashes it.
    let long_column = "c".repeat(5000);
    for field in ["price", long_column.as_str()] {
        db.execute(insert, &[&id, &7i32, &"INVALID_PRICE", &field])
            .await?;
        let again = db.execute(insert, &[&id, &7i32, &"INVALID_PRICE", &field]).await;
        assert_eq!(
            refused(again, "the same error twice")?,
            SqlState::UNIQUE_VIOLATION,
            "column of {} bytes",
            field.len()
        );
    }
    // Another code, column or row of the same upload is another error.
    db.execute(insert, &[&id, &7i32, &"MISSING_REQUIRED_FIELD", &"price"])
        .await?;
    db.execute(insert, &[&id, &7i32, &"INVALID_PRICE", &"compare_at_price"])
        .await?;
    db.execute(insert, &[&id, &8i32, &"INVALID_PRICE", &"price"])
        .await?;
    let skipped = db
        .execute(
            &format!("{insert} ON CONFLICT DO NOTHING"),
            &[&id, &8i32, &"INVALID_PRICE", &"price"],
        )
        .await?;
    assert_eq!(skipped, 0, "the writers' ON CONFLICT DO NOTHING meets the fence");
    let rows: i64 = db
        .query_one(
            "SELECT count(*) FROM validation_errors WHERE upload_id = $1",
            &[&id],
        )
        .await?
        .get(0);
    assert_eq!(rows, 5);
    Ok(())
}
