//! The validator's side: one batch's context in one statement, and the verdicts with
//! their products in another (then, only for rows another delivery decided first, a
//! read of their verdicts).

use super::{columns_of, locked, row_errors_json, state_of, state_query, stored_verdict, to_i32, PgCatalog};
use crate::classify::from_pg;
use async_trait::async_trait;
use domain::ports::{BatchContext, CatalogStore, Claim, Committed, StoredVerdict, Verdict};
use domain::validation::ValidProduct;
use domain::PortError;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use tokio_postgres::types::{ToSql, Type};

/// The batch's context in one statement: the verdicts already recorded for its rows,
/// the upload's claims on its SKUs and product ids, the catalog's holders of its SKUs,
/// the active categories and the upload's columns. Parameters: `$1` upload id, `$2` row
/// numbers, `$3` SKUs, `$4` vendor product ids.
///
/// One statement for the five lookups, each aggregated into arrays: one exchange,
/// so the batch's first round trip cannot split however the connection task is
/// scheduled (five pipelined queries sometimes went out as two writes). Prepared
/// once per connection (cached), then only executed.
///
/// The batch's rows, claimed values and SKUs are looked up one unique-key probe each
/// (`unnest` joined LATERAL, `OFFSET 0` keeping each lookup a probe), so a batch
/// costs the same whatever the upload's size. Written as `= ANY($n)` on the key's
/// last column, the lookups were at the planner's mercy: on young tables (no
/// statistics yet: a fresh catalog, every CI run) the cached generic plan read
/// every verdict or claim of the upload and filtered them by the array, quadratic
/// in the file (36 ms a 100-row batch at 5,000 rows; `make bench` section 2).
pub const BATCH_CONTEXT: &str = "SELECT d.numbers, d.verdicts, d.errors,
           o.columns, o.claimed, o.owners,
           h.skus, h.vendors, h.products,
           c.names,
           (SELECT metadata FROM upload_history WHERE upload_id = $1)
    FROM (SELECT array_agg(r.row_number) AS numbers, array_agg(r.verdict) AS verdicts,
                 array_agg(r.errors) AS errors
          FROM unnest($2::int[]) AS n(row_number),
               LATERAL (SELECT row_number, verdict, errors FROM upload_rows
                        WHERE upload_id = $1 AND row_number = n.row_number
                        OFFSET 0) r) d,
         (SELECT array_agg(v.column_name) AS columns, array_agg(v.value) AS claimed,
                 array_agg(x.row_number) AS owners
          FROM (SELECT 'sku'::text AS column_name, unnest($3::text[]) AS value
                UNION ALL
                SELECT 'vendor_product_id', unnest($4::text[])) v,
               LATERAL (SELECT row_number FROM upload_claims
                        WHERE upload_id = $1 AND column_name = v.column_name
                          AND value = v.value
                        OFFSET 0) x) o,
         (SELECT array_agg(p.sku) AS skus, array_agg(p.vendor_id) AS vendors,
                 array_agg(p.vendor_product_id) AS products
          FROM unnest($3::text[]) AS s(sku),
               LATERAL (SELECT sku, vendor_id, vendor_product_id FROM products
                        WHERE sku = s.sku OFFSET 0) p) h,
         (SELECT array_agg(category_name) AS names
          FROM product_categories WHERE is_active) c";

/// Rows another delivery decided, as they stand: `$1` upload id, `$2` row numbers. One
/// key probe per row, as in [`BATCH_CONTEXT`].
pub const STANDING_VERDICTS: &str = "SELECT r.row_number, r.verdict, r.errors
     FROM unnest($2::int[]) AS n(row_number),
          LATERAL (SELECT row_number, verdict, errors FROM upload_rows
                   WHERE upload_id = $1 AND row_number = n.row_number OFFSET 0) r";

#[async_trait]
impl CatalogStore for PgCatalog {
    async fn batch_context(
        &self,
        upload_id: &str,
        row_numbers: &[u64],
        claims: &[Claim],
    ) -> Result<BatchContext, PortError> {
        let client = self.client().await?;
        let rows: Vec<i32> = row_numbers.iter().map(|n| to_i32(*n)).collect::<Result<_, _>>()?;
        let in_column = |column: &str| -> Vec<&str> {
            claims
                .iter()
                .filter(|c| c.column == column)
                .map(|c| c.value.as_str())
                .collect()
        };
        let (skus, product_ids) = (in_column("sku"), in_column("vendor_product_id"));
        let statement = client.prepare_cached(BATCH_CONTEXT).await.map_err(from_pg)?;
        let row = client
            .query_one(&statement, &[&upload_id, &rows, &skus, &product_ids])
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
        if verdicts.is_empty() {
            return Ok(Committed::default());
        }
        let write = BatchWrite::of(upload_id, vendor_id, verdicts)?;
        let client = self.client().await?;
        // Prepared once per connection (cached): a batch is then one Bind and Execute,
        // not a Parse of the statement's text and a plan each time (0.36 ms and 0.64 ms
        // of a 100-row batch's ~6 ms in PostgreSQL, log_min_duration_statement).
        let params = write.params();
        let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        let statement = client
            .prepare_typed_cached(COMMIT_BATCH, &types)
            .await
            .map_err(from_pg)?;
        let row = client.query_opt(&statement, &values).await.map_err(from_pg)?;
        let row = locked(upload_id, row)?;
        let mut upload = state_of(upload_id.to_string(), &row, 0)?;
        let inserted: Option<Vec<i32>> = row.try_get(7).map_err(from_pg)?;
        let inserted: HashSet<i32> = inserted.unwrap_or_default().into_iter().collect();
        upload.valid_records += write
            .products
            .rows
            .iter()
            .filter(|n| inserted.contains(n))
            .count() as i64;

        let mut standing: HashMap<u64, StoredVerdict> = HashMap::with_capacity(verdicts.len());
        let mut lost = Vec::new();
        for ((n, v), number) in verdicts.iter().zip(&write.numbers) {
            if inserted.contains(number) {
                standing.insert(*n, v.stored());
            } else {
                lost.push(*number);
            }
        }
        if !lost.is_empty() {
            standing.extend(standing_verdicts(&client, upload_id, &lost).await?);
        }
        Ok(Committed {
            standing,
            upload: Some(upload),
        })
    }
}

/// The verdicts that stand for rows another delivery decided: it committed before
/// this delivery's write took the upload's lock (an insert of the same row would have
/// waited for it otherwise), so a statement sent after that write sees them.
async fn standing_verdicts(
    client: &tokio_postgres::Client,
    upload_id: &str,
    rows: &[i32],
) -> Result<Vec<(u64, StoredVerdict)>, PortError> {
    let found = client
        .query_typed(
            STANDING_VERDICTS,
            &[(&upload_id, Type::TEXT), (&rows, Type::INT4_ARRAY)],
        )
        .await
        .map_err(from_pg)?;
    Ok(found
        .iter()
        .map(|r| (r.get::<_, i32>(0) as u64, stored_verdict(r.get(1), r.get(2))))
        .collect())
}

/// [`COMMIT_BATCH`]'s parameters: every verdict, then the valid rows' products.
struct BatchWrite<'a> {
    upload_id: &'a str,
    vendor_id: &'a str,
    numbers: Vec<i32>,
    kinds: Vec<&'static str>,
    errors: Vec<serde_json::Value>,
    products: ProductColumns,
}

impl<'a> BatchWrite<'a> {
    fn of(upload_id: &'a str, vendor_id: &'a str, verdicts: &[(u64, Verdict)]) -> Result<Self, PortError> {
        let mut numbers = Vec::with_capacity(verdicts.len());
        let mut kinds = Vec::with_capacity(verdicts.len());
        let mut errors = Vec::with_capacity(verdicts.len());
        let mut valid = Vec::with_capacity(verdicts.len());
        for (n, v) in verdicts {
            let n = to_i32(*n)?;
            numbers.push(n);
            match v {
                Verdict::Valid(p) => {
                    kinds.push("valid");
                    valid.push((n, p.as_ref()));
                }
                Verdict::Error(_) => kinds.push("error"),
            }
            errors.push(row_errors_json(v.errors())?);
        }
        Ok(BatchWrite {
            upload_id,
            vendor_id,
            numbers,
            kinds,
            errors,
            products: ProductColumns::of(&valid),
        })
    }

    /// In the order of `$1` … `$20`, typed as the statement casts them.
    fn params(&self) -> [(&(dyn ToSql + Sync), Type); 20] {
        const TEXT: Type = Type::TEXT;
        const TEXTS: Type = Type::TEXT_ARRAY;
        const INTS: Type = Type::INT4_ARRAY;
        const DECIMALS: Type = Type::NUMERIC_ARRAY;
        let p = &self.products;
        [
            (&self.upload_id, TEXT),
            (&self.numbers, INTS),
            (&self.kinds, TEXTS),
            (&self.errors, Type::JSONB_ARRAY),
            (&self.vendor_id, TEXT),
            (&p.rows, INTS),
            (&p.vpids, TEXTS),
            (&p.names, TEXTS),
            (&p.categories, TEXTS),
            (&p.subcategories, TEXTS),
            (&p.descriptions, TEXTS),
            (&p.skus, TEXTS),
            (&p.brands, TEXTS),
            (&p.prices, DECIMALS),
            (&p.compare, DECIMALS),
            (&p.stock, INTS),
            (&p.units, TEXTS),
            (&p.weights, DECIMALS),
            (&p.dimensions, TEXTS),
            (&p.images, TEXTS),
        ]
    }
}

/// A batch's verdicts, its valid products and their count, in one statement: atomic
/// without BEGIN and COMMIT, and one exchange with the server. Its first line names it
/// (the fault tests hold the answer to the Bind that executes it).
///
/// - `upload` locks the upload's history row and reads it. Every writer of its counters
///   takes this lock, so concurrent deliveries of one upload are serialised and the row
///   read here, with this write's own count added, is the state the finaliser needs. A
///   `FOR UPDATE` CTE is materialised once; after waiting for the lock it reads the
///   newest version of the row.
/// - `decided` inserts the verdicts not yet recorded. Its `WHERE EXISTS` is a one-time
///   filter evaluated before any row is produced: nothing is inserted before the lock is
///   held, and nothing at all without a history row (the statement then returns no row).
/// - `upserted` writes the products of the verdicts just inserted as valid (a row another
///   delivery decided first is not written twice), in row order. Written as a join, not
///   `IN (SELECT ...)`: the planner hashes it (the semi-join it chose for `IN` rescanned
///   `decided` for every product, quadratic in the batch).
/// - `counted` adds them to `valid_records`.
///
/// Returns the history row as locked (`state_query!`'s columns: the CTE is built from
/// it), then the row numbers inserted.
pub const COMMIT_BATCH: &str = concat!(
    "-- commit_batch\nWITH upload AS (",
    state_query!(),
    " FOR UPDATE
), decided AS (
    INSERT INTO upload_rows (upload_id, row_number, verdict, errors)
    SELECT $1, r, v, e FROM unnest($2::int[], $3::text[], $4::jsonb[]) AS t(r, v, e)
    WHERE EXISTS (SELECT FROM upload)
    ON CONFLICT (upload_id, row_number) DO NOTHING
    RETURNING row_number, verdict
), upserted AS (
    INSERT INTO products (vendor_id, upload_id, vendor_product_id, product_name, category, subcategory,
                          description, sku, brand, price, compare_at_price, stock_quantity, unit,
                          weight_kg, dimensions_cm, image_url)
    SELECT $5, $1, p.vpid, p.name, p.category, p.subcategory, p.description, p.sku, p.brand,
           p.price, p.compare, p.stock, p.unit, p.weight, p.dimensions, p.image
    FROM decided d
    JOIN unnest($6::int[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
                $12::text[], $13::text[], $14::numeric[], $15::numeric[], $16::int[],
                $17::text[], $18::numeric[], $19::text[], $20::text[])
         AS p(r, vpid, name, category, subcategory, description, sku, brand, price, compare,
              stock, unit, weight, dimensions, image)
      ON p.r = d.row_number
    WHERE d.verdict = 'valid'
    ORDER BY p.r
    ON CONFLICT (vendor_id, vendor_product_id) DO UPDATE SET
        product_name = EXCLUDED.product_name, category = EXCLUDED.category,
        subcategory = EXCLUDED.subcategory, description = EXCLUDED.description,
        sku = EXCLUDED.sku, brand = EXCLUDED.brand, price = EXCLUDED.price,
        compare_at_price = EXCLUDED.compare_at_price, stock_quantity = EXCLUDED.stock_quantity,
        unit = EXCLUDED.unit, weight_kg = EXCLUDED.weight_kg,
        dimensions_cm = EXCLUDED.dimensions_cm, image_url = EXCLUDED.image_url,
        upload_id = EXCLUDED.upload_id
), counted AS (
    UPDATE upload_history
    SET valid_records = valid_records + (SELECT count(*) FROM decided WHERE verdict = 'valid')
    WHERE upload_id = $1 AND EXISTS (SELECT FROM decided WHERE verdict = 'valid')
)
SELECT u.*, (SELECT array_agg(row_number) FROM decided) FROM upload u"
);

/// The valid products' columns, each an array (the statement unnests them), with
/// their row numbers.
struct ProductColumns {
    rows: Vec<i32>,
    vpids: Vec<String>,
    names: Vec<String>,
    categories: Vec<String>,
    subcategories: Vec<Option<String>>,
    descriptions: Vec<Option<String>>,
    skus: Vec<String>,
    brands: Vec<Option<String>>,
    prices: Vec<Decimal>,
    compare: Vec<Option<Decimal>>,
    stock: Vec<i32>,
    units: Vec<String>,
    weights: Vec<Option<Decimal>>,
    dimensions: Vec<Option<String>>,
    images: Vec<Option<String>>,
}

impl ProductColumns {
    fn of(products: &[(i32, &ValidProduct)]) -> Self {
        fn col<T>(products: &[(i32, &ValidProduct)], f: impl Fn(&ValidProduct) -> T) -> Vec<T> {
            products.iter().map(|(_, p)| f(p)).collect()
        }
        ProductColumns {
            rows: products.iter().map(|(n, _)| *n).collect(),
            vpids: col(products, |p| p.vendor_product_id.clone()),
            names: col(products, |p| p.product_name.clone()),
            categories: col(products, |p| p.category.clone()),
            subcategories: col(products, |p| p.subcategory.clone()),
            descriptions: col(products, |p| p.description.clone()),
            skus: col(products, |p| p.sku.as_str().to_string()),
            brands: col(products, |p| p.brand.clone()),
            prices: col(products, |p| p.price.value()),
            compare: col(products, |p| p.compare_at_price.as_ref().map(|c| c.value())),
            stock: col(products, |p| p.stock_quantity),
            units: col(products, |p| p.unit.clone()),
            weights: col(products, |p| p.weight_kg),
            dimensions: col(products, |p| p.dimensions_cm.clone()),
            images: col(products, |p| p.image_url.clone()),
        }
    }
}
