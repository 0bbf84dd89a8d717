//! The validator's lookups stay key probes on tables PostgreSQL knows nothing about
//! yet: a fresh catalog before autovacuum's first ANALYZE, as in every new deployment
//! and every CI run. There the plan cached for a pooled connection is a generic one
//! built without statistics; written as `= ANY($n)` on a key's last column, it read
//! every verdict and claim of the upload and filtered them by the batch's array
//! (quadratic in the file: `make bench` section 2 went from ~3,300 to ~15,000 rows/s
//! on a fresh cluster when the lookups became probes).
//!
//! The batch's write (`COMMIT_BATCH`, prepared once per connection) must not turn its
//! join of the verdicts it inserted with the batch's columns into a nested loop, which
//! would run one side once per row of the other: quadratic in the batch.
//!
//! Each statement runs in a schema of its own whose tables copy the catalog's (columns,
//! keys, indexes), filled with one 3,000-row upload and never analyzed, as a generic
//! plan (`plan_cache_mode = force_generic_plan`), under `EXPLAIN ANALYZE`. The rows each
//! scan looked at (returned and filtered out, over every loop) are counted per table.

use e2e::stack::{pg, unique};
use serde_json::Value;
use std::collections::HashMap;

const UPLOAD: &str = "UPLOAD_PLANS";
const ROWS: i32 = 3_000;
/// The batch looked up: 100 rows from the middle of the upload.
const FIRST: i32 = 1_001;
const LAST: i32 = 1_100;
/// The batch written: 1,000 rows after the upload's last decided one.
const NEW: std::ops::RangeInclusive<i32> = 3_001..=4_000;

/// A schema whose copies of the catalog's tables hold one upload of [`ROWS`] rows, all
/// decided, claimed and in the catalog (its history row says 5,000 are coming); the
/// connection reads it first.
async fn young_catalog(db: &tokio_postgres::Client) -> anyhow::Result<String> {
    let schema = unique("plans").to_lowercase();
    let copy = |table: &str| {
        format!(
            "CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)
             WITH (autovacuum_enabled = off);"
        )
    };
    db.batch_execute(&format!(
        "CREATE SCHEMA {schema};
         {history} {rows} {claims} {products}
         INSERT INTO {schema}.upload_history (upload_id, vendor_id, file_name, s3_key, total_records)
             VALUES ('{UPLOAD}', 'VEND001', 'plans.csv', 'uploads/VEND001/plans.csv', 5000);
         INSERT INTO {schema}.upload_rows (upload_id, row_number, verdict)
             SELECT '{UPLOAD}', n, 'valid' FROM generate_series(1, {ROWS}) n;
         INSERT INTO {schema}.upload_claims (upload_id, column_name, value, row_number)
             SELECT '{UPLOAD}', c, CASE c WHEN 'sku' THEN 'SKU-' ELSE 'VP-' END || n, n
             FROM generate_series(1, {ROWS}) n, unnest(ARRAY['sku', 'vendor_product_id']) c;
         INSERT INTO {schema}.products (vendor_id, upload_id, vendor_product_id, product_name,
                                        category, sku, price, stock_quantity)
             SELECT 'VEND001', '{UPLOAD}', 'VP-' || n, 'Product ' || n, 'Electronics',
                    'SKU-' || n, 9.99, 1
             FROM generate_series(1, {ROWS}) n;
         SET search_path = {schema}, public;
         SET plan_cache_mode = force_generic_plan;",
        history = copy("upload_history"),
        rows = copy("upload_rows"),
        claims = copy("upload_claims"),
        products = copy("products"),
    ))
    .await?;
    let analyzed: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_stat_user_tables
             WHERE schemaname = $1 AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)",
            &[&schema],
        )
        .await?
        .get(0);
    assert_eq!(analyzed, 0, "the copies must have no statistics");
    Ok(schema)
}

/// Per table: the rows its scans looked at, and the rows they returned.
fn rows_read(plan: &Value, out: &mut HashMap<String, (f64, f64)>) {
    let scan = plan["Node Type"].as_str().is_some_and(|t| t.ends_with("Scan"));
    if let (true, Some(table)) = (scan, plan["Relation Name"].as_str()) {
        let n = |key: &str| plan[key].as_f64().unwrap_or(0.0);
        let loops = n("Actual Loops");
        let returned = n("Actual Rows") * loops;
        let filtered = (n("Rows Removed by Filter") + n("Rows Removed by Index Recheck")) * loops;
        let seen = out.entry(table.to_owned()).or_default();
        seen.0 += returned + filtered;
        seen.1 += returned;
    }
    for child in plan["Plans"].as_array().into_iter().flatten() {
        rows_read(child, out);
    }
}

/// `EXPLAIN ANALYZE` of `statement` (prepared with `types`, run as a generic plan)
/// executed with `args` on a [`young_catalog`]: its plan, as run.
async fn explained_without_statistics(statement: &str, types: &str, args: &str) -> anyhow::Result<Value> {
    let db = pg().await;
    let schema = young_catalog(&db).await?;
    db.batch_execute(&format!("PREPARE probe ({types}) AS {statement}"))
        .await?;
    let row = db
        .query_one(
            &format!("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE probe ({args})"),
            &[],
        )
        .await?;
    db.batch_execute(&format!("DEALLOCATE probe; DROP SCHEMA {schema} CASCADE"))
        .await?;
    let explained: Value = row.get(0);
    Ok(explained[0]["Plan"].clone())
}

/// Per table, the rows `statement`'s scans read on a [`young_catalog`].
async fn rows_read_without_statistics(
    statement: &str,
    types: &str,
    args: &str,
) -> anyhow::Result<HashMap<String, (f64, f64)>> {
    let plan = explained_without_statistics(statement, types, args).await?;
    let mut read = HashMap::new();
    rows_read(&plan, &mut read);
    Ok(read)
}

/// Every node of a plan.
fn nodes<'a>(plan: &'a Value, out: &mut Vec<&'a Value>) {
    out.push(plan);
    for child in plan["Plans"].as_array().into_iter().flatten() {
        nodes(child, out);
    }
}

/// The batch's keys as an array literal: `prefix` before each row number.
fn batch_array(prefix: &str) -> String {
    array_of(FIRST..=LAST, prefix)
}

fn array_of(rows: std::ops::RangeInclusive<i32>, prefix: &str) -> String {
    let values: Vec<String> = rows.map(|n| format!("{prefix}{n}")).collect();
    format!("'{{{}}}'", values.join(","))
}

/// How many rows the batch has.
const BATCH: f64 = (LAST - FIRST + 1) as f64;

#[tokio::test]
async fn the_batch_context_reads_one_row_per_key_without_statistics() -> anyhow::Result<()> {
    let read = rows_read_without_statistics(
        adapters::postgres::BATCH_CONTEXT,
        "text, int[], text[], text[]",
        &format!(
            "'{UPLOAD}', {}, {}, {}",
            batch_array(""),
            batch_array("SKU-"),
            batch_array("VP-")
        ),
    )
    .await?;
    for (table, keys) in [
        ("upload_rows", BATCH),
        ("upload_claims", 2.0 * BATCH),
        ("products", BATCH),
    ] {
        let (looked_at, returned) = read.get(table).copied().unwrap_or_default();
        assert_eq!(returned, keys, "{table}: every key of the batch is found");
        assert_eq!(
            looked_at, keys,
            "{table}: one row looked at per key, not the upload's {ROWS}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn standing_verdicts_read_one_row_per_key_without_statistics() -> anyhow::Result<()> {
    let read = rows_read_without_statistics(
        adapters::postgres::STANDING_VERDICTS,
        "text, int[]",
        &format!("'{UPLOAD}', {}", batch_array("")),
    )
    .await?;
    assert_eq!(read.get("upload_rows").copied(), Some((BATCH, BATCH)));
    Ok(())
}

#[tokio::test]
async fn the_batch_write_runs_each_step_once_without_statistics() -> anyhow::Result<()> {
    let n = NEW.clone().count();
    let fill = |value: &str, ty: &str| format!("array_fill({value}::{ty}, ARRAY[{n}])");
    let text = |value: &str| fill(&format!("'{value}'"), "text");
    let rows = array_of(NEW, "");
    let args = [
        format!("'{UPLOAD}'"),
        rows.clone(),
        text("valid"),
        fill("'[]'", "jsonb"),
        "'VEND001'".to_owned(),
        rows,
        array_of(NEW, "VP-"),
        text("Product"),
        text("Electronics"),
        text("Phones"),
        text("A product"),
        array_of(NEW, "SKU-"),
        text("Brand"),
        fill("9.99", "numeric"),
        fill("12.99", "numeric"),
        fill("1", "int"),
        text("piece"),
        fill("0.5", "numeric"),
        text("10x10x10"),
        text("https://example.com/p.jpg"),
    ];
    let plan = explained_without_statistics(
        adapters::postgres::COMMIT_BATCH,
        "text, int[], text[], jsonb[], text, int[], text[], text[], text[], text[], text[], \
         text[], text[], numeric[], numeric[], int[], text[], numeric[], text[], text[]",
        &args.join(", "),
    )
    .await?;
    let mut all = Vec::new();
    nodes(&plan, &mut all);
    let inserted = |table: &str| {
        all.iter()
            .filter(|node| node["Node Type"] == "ModifyTable" && node["Relation Name"] == table)
            .map(|node| node["Tuples Inserted"].as_f64().unwrap_or(0.0))
            .sum::<f64>()
    };
    assert_eq!(inserted("upload_rows"), n as f64, "every verdict is written");
    assert_eq!(
        inserted("products"),
        n as f64,
        "every valid row's product is written"
    );
    // A nested loop runs its inner side once per outer row: over the verdicts just
    // inserted or over the batch's columns, either way quadratic in the batch.
    let repeated: Vec<String> = all
        .iter()
        .filter(|node| node["Actual Loops"].as_f64().unwrap_or(0.0) > 1.0)
        .map(|node| format!("{} × {}", node["Node Type"], node["Actual Loops"]))
        .collect();
    assert!(
        repeated.is_empty(),
        "every node runs once, none once per row of the batch: {repeated:?}"
    );
    Ok(())
}
