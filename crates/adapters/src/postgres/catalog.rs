//! The validator's side: one batch's context in one statement, and the verdicts with
//! their products in one transaction.

use super::{columns_of, locked, row_errors_json, state_of, state_query, stored_verdict, to_i32, PgCatalog};
use crate::classify::from_pg;
use async_trait::async_trait;
use domain::ports::{BatchContext, CatalogStore, Committed, StoredVerdict, Verdict};
use domain::validation::ValidProduct;
use domain::PortError;
use rust_decimal::Decimal;
use std::collections::HashMap;

#[async_trait]
impl CatalogStore for PgCatalog {
    async fn batch_context(
        &self,
        upload_id: &str,
        row_numbers: &[u64],
        values: &[String],
    ) -> Result<BatchContext, PortError> {
        let client = self.client().await?;
        let rows: Vec<i32> = row_numbers.iter().map(|n| to_i32(*n)).collect::<Result<_, _>>()?;
        // One statement for the five lookups, each aggregated into arrays: one exchange,
        // so the batch's first round trip cannot split however the connection task is
        // scheduled (five pipelined queries sometimes went out as two writes). Prepared
        // once per connection (cached), then only executed.
        let statement = client
            .prepare_cached(
                "SELECT d.numbers, d.verdicts, d.errors,
                        o.columns, o.claimed, o.owners,
                        h.skus, h.vendors, h.products,
                        c.names,
                        (SELECT metadata FROM upload_history WHERE upload_id = $1)
                 FROM (SELECT array_agg(row_number) AS numbers, array_agg(verdict) AS verdicts,
                              array_agg(errors) AS errors
                       FROM upload_rows WHERE upload_id = $1 AND row_number = ANY($2)) d,
                      -- column_name is named (it can only be one of these two) so the primary
                      -- key (upload_id, column_name, value) finds each value directly instead
                      -- of scanning every claim of the upload: a batch's cost stays flat
                      -- whatever the file's size.
                      (SELECT array_agg(column_name) AS columns, array_agg(value) AS claimed,
                              array_agg(row_number) AS owners
                       FROM upload_claims
                       WHERE upload_id = $1 AND column_name IN ('sku', 'vendor_product_id')
                         AND value = ANY($3)) o,
                      (SELECT array_agg(sku) AS skus, array_agg(vendor_id) AS vendors,
                              array_agg(vendor_product_id) AS products
                       FROM products WHERE sku = ANY($3)) h,
                      (SELECT array_agg(category_name) AS names
                       FROM product_categories WHERE is_active) c",
            )
            .await
            .map_err(from_pg)?;
        let row = client
            .query_one(&statement, &[&upload_id, &rows, &values])
            .await
            .map_err(from_pg)?;
        // An aggregate over no rows is NULL, not an empty array.
        fn array<'a, T: tokio_postgres::types::FromSql<'a>>(
            row: &'a tokio_postgres::Row,
            i: usize,
        ) -> Result<Vec<T>, PortError> {
            let values: Option<Vec<T>> = row.try_get(i).map_err(from_pg)?;
            Ok(values.unwrap_or_default())
        }
        let mut ctx = BatchContext::default();
        let numbers: Vec<i32> = array(&row, 0)?;
        let verdicts: Vec<String> = array(&row, 1)?;
        let errors: Vec<serde_json::Value> = array(&row, 2)?;
        for ((n, verdict), errors) in numbers.into_iter().zip(verdicts).zip(errors) {
            ctx.decided.insert(n as u64, stored_verdict(&verdict, errors));
        }
        let columns: Vec<String> = array(&row, 3)?;
        let claimed: Vec<String> = array(&row, 4)?;
        let owners: Vec<i32> = array(&row, 5)?;
        for ((column, value), n) in columns.into_iter().zip(claimed).zip(owners) {
            ctx.owners.insert((column, value), n as u64);
        }
        let skus: Vec<String> = array(&row, 6)?;
        let vendors: Vec<String> = array(&row, 7)?;
        let products: Vec<String> = array(&row, 8)?;
        for ((sku, vendor), product) in skus.into_iter().zip(vendors).zip(products) {
            ctx.sku_holders.insert(sku, (vendor, product));
        }
        ctx.categories = array(&row, 9)?;
        let metadata: Option<serde_json::Value> = row.try_get(10).map_err(from_pg)?;
        ctx.columns = metadata.map(|m| columns_of(&m)).unwrap_or_default();
        Ok(ctx)
    }

    async fn commit_verdicts(
        &self,
        upload_id: &str,
        vendor_id: &str,
        verdicts: &[(u64, Verdict)],
    ) -> Result<Committed, PortError> {
        let mut standing: HashMap<u64, StoredVerdict> = HashMap::new();
        if verdicts.is_empty() {
            return Ok(Committed::default());
        }
        let mut numbers = Vec::with_capacity(verdicts.len());
        let mut kinds = Vec::with_capacity(verdicts.len());
        let mut errors = Vec::with_capacity(verdicts.len());
        for (n, v) in verdicts {
            numbers.push(to_i32(*n)?);
            kinds.push(if matches!(v, Verdict::Valid(_)) {
                "valid"
            } else {
                "error"
            });
            errors.push(row_errors_json(v.errors())?);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(from_pg)?;
        let (lock, insert) = futures::try_join!(
            // The lock reads the row too: with this transaction's own count added, it is
            // the state the finaliser needs, and no writer of the counters can change it
            // before the commit.
            tx.prepare_cached(concat!(state_query!(), " FOR UPDATE")),
            tx.prepare_cached(
                "INSERT INTO upload_rows (upload_id, row_number, verdict, errors)
                 SELECT $1, r, v, e FROM unnest($2::int[], $3::text[], $4::jsonb[]) AS t(r, v, e)
                 ON CONFLICT (upload_id, row_number) DO NOTHING
                 RETURNING row_number",
            ),
        )
        .map_err(from_pg)?;
        // Pipelined, the lock sent first: the server runs them in order, so the upload is
        // locked before the insert; without its history row the transaction is dropped
        // (rolled back).
        let lock_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&upload_id];
        let insert_params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
            [&upload_id, &numbers, &kinds, &errors];
        let (row, inserted) = futures::try_join!(
            tx.query_opt(&lock, &lock_params),
            tx.query(&insert, &insert_params),
        )
        .map_err(from_pg)?;
        let mut upload = state_of(upload_id.to_string(), &locked(upload_id, row)?, 0)?;
        let inserted: std::collections::HashSet<u64> =
            inserted.iter().map(|r| r.get::<_, i32>(0) as u64).collect();

        let fresh_valid: Vec<&ValidProduct> = verdicts
            .iter()
            .filter(|(n, _)| inserted.contains(n))
            .filter_map(|(_, v)| match v {
                Verdict::Valid(p) => Some(p.as_ref()),
                Verdict::Error(_) => None,
            })
            .collect();
        if !fresh_valid.is_empty() {
            let counter = tx
                .prepare_cached(
                    "UPDATE upload_history SET valid_records = valid_records + $2 WHERE upload_id = $1",
                )
                .await
                .map_err(from_pg)?;
            let n = fresh_valid.len() as i32;
            upload.valid_records += i64::from(n);
            // Independent of each other: pipelined.
            futures::try_join!(upsert_products(&tx, upload_id, vendor_id, &fresh_valid), async {
                tx.execute(&counter, &[&upload_id, &n]).await.map_err(from_pg)
            })?;
        }
        let lost: Vec<i32> = verdicts
            .iter()
            .filter(|(n, _)| !inserted.contains(n))
            .map(|(n, _)| *n as i32)
            .collect();
        if !lost.is_empty() {
            for r in tx
                .query(
                    "SELECT row_number, verdict, errors FROM upload_rows
                     WHERE upload_id = $1 AND row_number = ANY($2)",
                    &[&upload_id, &lost],
                )
                .await
                .map_err(from_pg)?
            {
                let n: i32 = r.get(0);
                standing.insert(n as u64, stored_verdict(r.get(1), r.get(2)));
            }
        }
        tx.commit().await.map_err(from_pg)?;
        for (n, v) in verdicts {
            if inserted.contains(n) {
                standing.insert(*n, v.stored());
            }
        }
        Ok(Committed {
            standing,
            upload: Some(upload),
        })
    }
}

async fn upsert_products(
    tx: &deadpool_postgres::Transaction<'_>,
    upload_id: &str,
    vendor_id: &str,
    products: &[&ValidProduct],
) -> Result<(), PortError> {
    let col = |f: fn(&ValidProduct) -> Option<String>| -> Vec<Option<String>> {
        products.iter().map(|p| f(p)).collect()
    };
    let vpids: Vec<String> = products.iter().map(|p| p.vendor_product_id.clone()).collect();
    let names: Vec<String> = products.iter().map(|p| p.product_name.clone()).collect();
    let categories: Vec<String> = products.iter().map(|p| p.category.clone()).collect();
    let skus: Vec<String> = products.iter().map(|p| p.sku.as_str().to_string()).collect();
    let prices: Vec<Decimal> = products.iter().map(|p| p.price.value()).collect();
    let compare: Vec<Option<Decimal>> = products
        .iter()
        .map(|p| p.compare_at_price.as_ref().map(|c| c.value()))
        .collect();
    let stock: Vec<i32> = products.iter().map(|p| p.stock_quantity).collect();
    let units: Vec<String> = products.iter().map(|p| p.unit.clone()).collect();
    let weights: Vec<Option<Decimal>> = products.iter().map(|p| p.weight_kg).collect();
    let statement = tx
        .prepare_cached(
        "INSERT INTO products (vendor_id, upload_id, vendor_product_id, product_name, category, subcategory,
                               description, sku, brand, price, compare_at_price, stock_quantity, unit,
                               weight_kg, dimensions_cm, image_url)
         SELECT $1, $2, * FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                      $8::text[], $9::text[], $10::numeric[], $11::numeric[], $12::int[],
                                      $13::text[], $14::numeric[], $15::text[], $16::text[])
         ON CONFLICT (vendor_id, vendor_product_id) DO UPDATE SET
             product_name = EXCLUDED.product_name, category = EXCLUDED.category,
             subcategory = EXCLUDED.subcategory, description = EXCLUDED.description,
             sku = EXCLUDED.sku, brand = EXCLUDED.brand, price = EXCLUDED.price,
             compare_at_price = EXCLUDED.compare_at_price, stock_quantity = EXCLUDED.stock_quantity,
             unit = EXCLUDED.unit, weight_kg = EXCLUDED.weight_kg,
             dimensions_cm = EXCLUDED.dimensions_cm, image_url = EXCLUDED.image_url,
             upload_id = EXCLUDED.upload_id",
        )
        .await
        .map_err(from_pg)?;
    tx.execute(
        &statement,
        &[
            &vendor_id,
            &upload_id,
            &vpids,
            &names,
            &categories,
            &col(|p| p.subcategory.clone()),
            &col(|p| p.description.clone()),
            &skus,
            &col(|p| p.brand.clone()),
            &prices,
            &compare,
            &stock,
            &units,
            &weights,
            &col(|p| p.dimensions_cm.clone()),
            &col(|p| p.image_url.clone()),
        ],
    )
    .await
    .map_err(from_pg)?;
    Ok(())
}
