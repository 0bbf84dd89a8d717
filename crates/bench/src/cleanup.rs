//! What the bench leaves behind in the catalog: the uploads sections 3 and 5 show
//! (`devstack stages` can still print theirs) and section 2's COPY target (`bench.*`,
//! emptied before each COPY), nothing else.
//!
//! Kept, a bench run would add about 210,000 products, 510,000 claims and 100,000
//! error rows to the local catalog, and every later run's writes would land in larger
//! indexes: the validator's writes measured in section 2 slowed by about a tenth on a
//! catalog grown to 2.5 million products by a day of runs. Deleting is untimed.

/// Deletes everything written for `upload_ids`: products, verdicts, claims, errors,
/// reconciler attempts and history rows.
pub async fn forget_uploads(c: &tokio_postgres::Client, upload_ids: &[String]) -> anyhow::Result<()> {
    for table in [
        "products",
        "upload_rows",
        "upload_claims",
        "validation_errors",
        "reconcile_attempts",
        "upload_history",
    ] {
        c.execute(
            &format!("DELETE FROM {table} WHERE upload_id = ANY($1)"),
            &[&upload_ids],
        )
        .await?;
    }
    Ok(())
}
