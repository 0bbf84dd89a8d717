//! The PostgreSQL side: vendors, the catalog, and the upload ledger.
//!
//! Every write that moves a counter happens in a transaction that first locks the
//! upload's `upload_history` row, so the validator and the error processor (and
//! redeliveries of either) serialise on it and each row is counted exactly once.

use crate::codes::ErrorCode;
use crate::error::{from_pg, from_pool, PortError};
use crate::model::{ProductData, RowError};
use crate::ports::{
    BatchContext, CatalogStore, Claim, ErrorRow, FileFailure, StartOutcome, StoredVerdict, UploadLedger,
    UploadStart, UploadState, VendorDirectory, Verdict,
};
use crate::report::ReportLine;
use crate::upload::UploadStatus;
use async_trait::async_trait;
use rust_decimal::Decimal;
use std::collections::HashMap;

#[derive(Clone)]
pub struct PgCatalog {
    pool: deadpool_postgres::Pool,
}

impl PgCatalog {
    pub fn new(pool: deadpool_postgres::Pool) -> Self {
        PgCatalog { pool }
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, PortError> {
        self.pool.get().await.map_err(from_pool)
    }
}

fn status_from(s: &str) -> Result<UploadStatus, PortError> {
    match s {
        "processing" => Ok(UploadStatus::Processing),
        "completed" => Ok(UploadStatus::Completed),
        "partial" => Ok(UploadStatus::Partial),
        "failed" => Ok(UploadStatus::Failed),
        other => Err(PortError::rejected(
            "PostgreSQL",
            format!("unknown upload status {other:?}"),
        )),
    }
}

fn row_errors_json(errors: &[RowError]) -> Result<serde_json::Value, PortError> {
    serde_json::to_value(errors).map_err(|e| PortError::rejected("PostgreSQL", e))
}

fn columns_of(metadata: &serde_json::Value) -> Vec<String> {
    metadata
        .get("columns")
        .and_then(|c| c.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn to_i32(n: u64) -> Result<i32, PortError> {
    i32::try_from(n).map_err(|_| PortError::rejected("PostgreSQL", format!("row number {n} out of range")))
}

#[async_trait]
impl VendorDirectory for PgCatalog {
    async fn vendor_status(&self, vendor_id: &str) -> Result<Option<String>, PortError> {
        let client = self.client().await?;
        let row = client
            .query_opt("SELECT status FROM vendors WHERE vendor_id = $1", &[&vendor_id])
            .await
            .map_err(from_pg)?;
        Ok(row.map(|r| r.get::<_, String>(0)))
    }
}

#[async_trait]
impl UploadLedger for PgCatalog {
    async fn register_claims(&self, upload_id: &str, claims: &[Claim]) -> Result<(), PortError> {
        // One statement may not touch the same key twice: keep the lowest row per value.
        let mut lowest: HashMap<(&str, &str), i32> = HashMap::new();
        for c in claims {
            let row = to_i32(c.row_number)?;
            lowest
                .entry((c.column, c.value.as_str()))
                .and_modify(|r| *r = (*r).min(row))
                .or_insert(row);
        }
        if lowest.is_empty() {
            return Ok(());
        }
        let (mut columns, mut values, mut rows) = (Vec::new(), Vec::new(), Vec::new());
        for ((column, value), row) in lowest {
            columns.push(column);
            values.push(value);
            rows.push(row);
        }
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO upload_claims (upload_id, column_name, value, row_number)
                 SELECT $1, c, v, r FROM unnest($2::text[], $3::text[], $4::int[]) AS t(c, v, r)
                 ON CONFLICT (upload_id, column_name, value)
                 DO UPDATE SET row_number = LEAST(upload_claims.row_number, EXCLUDED.row_number)",
                &[&upload_id, &columns, &values, &rows],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn start_upload(&self, s: &UploadStart) -> Result<StartOutcome, PortError> {
        let client = self.client().await?;
        let total = i32::try_from(s.total_records)
            .map_err(|_| PortError::rejected("PostgreSQL", "too many rows for one upload"))?;
        let metadata = serde_json::json!({ "columns": s.columns, "parsed": false });
        let inserted = client
            .query_opt(
                "INSERT INTO upload_history (upload_id, vendor_id, file_name, s3_key, total_records,
                                             status, upload_timestamp, processing_started_at, metadata)
                 VALUES ($1, $2, $3, $4, $5, 'processing', $6, now(), $7)
                 ON CONFLICT (upload_id) DO NOTHING
                 RETURNING upload_id",
                &[
                    &s.upload_id,
                    &s.vendor_id,
                    &s.file_name,
                    &s.s3_key,
                    &total,
                    &s.uploaded_at,
                    &metadata,
                ],
            )
            .await
            .map_err(from_pg)?;
        if inserted.is_some() {
            return Ok(StartOutcome::Created);
        }
        let row = client
            .query_one(
                "SELECT COALESCE((metadata->>'parsed')::boolean, true) FROM upload_history WHERE upload_id = $1",
                &[&s.upload_id],
            )
            .await
            .map_err(from_pg)?;
        Ok(StartOutcome::Existing { parsed: row.get(0) })
    }

    async fn mark_parsed(&self, upload_id: &str) -> Result<(), PortError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE upload_history SET metadata = metadata || '{\"parsed\": true}'::jsonb
                 WHERE upload_id = $1",
                &[&upload_id],
            )
            .await
            .map_err(from_pg)?;
        Ok(())
    }

    async fn fail_upload(&self, f: &FileFailure) -> Result<(), PortError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(from_pg)?;
        let metadata = serde_json::json!({ "columns": f.columns, "parsed": true });
        let inserted = tx
            .query_opt(
                "INSERT INTO upload_history (upload_id, vendor_id, file_name, s3_key, total_records,
                     valid_records, error_records, status, error_file_s3_key, upload_timestamp,
                     processing_started_at, processing_completed_at, processing_duration_seconds, metadata)
                 VALUES ($1, $2, $3, $4, 0, 0, 0, 'failed', $5, $6, now(), now(), 0, $7)
                 ON CONFLICT (upload_id) DO NOTHING
                 RETURNING upload_id",
                &[
                    &f.upload_id,
                    &f.vendor_id,
                    &f.file_name,
                    &f.s3_key,
                    &f.report_key,
                    &f.uploaded_at,
                    &metadata,
                ],
            )
            .await
            .map_err(from_pg)?;
        if inserted.is_some() {
            tx.execute(
                "INSERT INTO validation_errors (upload_id, vendor_id, row_number, vendor_product_id,
                                                error_type, error_field, error_message, original_data)
                 VALUES ($1, $2, 0, NULL, $3, $4, $5, NULL)
                 ON CONFLICT DO NOTHING",
                &[
                    &f.upload_id,
                    &f.vendor_id,
                    &f.error.error_type.as_str(),
                    &f.error.column,
                    &f.error.message,
                ],
            )
            .await
            .map_err(from_pg)?;
        }
        tx.commit().await.map_err(from_pg)
    }

    async fn record_errors(
        &self,
        upload_id: &str,
        vendor_id: &str,
        rows: &[ErrorRow],
    ) -> Result<u64, PortError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut numbers = Vec::with_capacity(rows.len());
        let mut errors = Vec::with_capacity(rows.len());
        for r in rows {
            numbers.push(to_i32(r.row_number)?);
            errors.push(row_errors_json(&r.errors)?);
        }
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(from_pg)?;
        lock_upload(&tx, upload_id).await?;
        let fresh = tx
            .query(
                "INSERT INTO upload_rows (upload_id, row_number, verdict, errors, error_recorded)
                 SELECT $1, r, 'error', e, true FROM unnest($2::int[], $3::jsonb[]) AS t(r, e)
                 ON CONFLICT (upload_id, row_number) DO UPDATE SET error_recorded = true
                     WHERE upload_rows.error_recorded = false AND upload_rows.verdict = 'error'
                 RETURNING row_number",
                &[&upload_id, &numbers, &errors],
            )
            .await
            .map_err(from_pg)?;
        let fresh: std::collections::HashSet<i32> = fresh.iter().map(|r| r.get(0)).collect();
        let (mut e_rows, mut e_vpids, mut e_types, mut e_fields, mut e_msgs, mut e_data) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        for r in rows {
            let n = to_i32(r.row_number)?;
            if !fresh.contains(&n) {
                continue;
            }
            let data = match &r.original {
                Some(d) => Some(serde_json::to_value(d).map_err(|e| PortError::rejected("PostgreSQL", e))?),
                None => None,
            };
            for e in &r.errors {
                e_rows.push(n);
                e_vpids.push(r.vendor_product_id.clone());
                e_types.push(e.error_type.as_str());
                e_fields.push(e.column.as_str());
                e_msgs.push(e.message.as_str());
                e_data.push(data.clone());
            }
        }
        if !e_rows.is_empty() {
            tx.execute(
                "INSERT INTO validation_errors (upload_id, vendor_id, row_number, vendor_product_id,
                                                error_type, error_field, error_message, original_data)
                 SELECT $1, $2, r, p, t, f, m, d
                 FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[])
                      WITH ORDINALITY AS x(r, p, t, f, m, d, i)
                 ORDER BY i
                 ON CONFLICT DO NOTHING",
                &[
                    &upload_id, &vendor_id, &e_rows, &e_vpids, &e_types, &e_fields, &e_msgs, &e_data,
                ],
            )
            .await
            .map_err(from_pg)?;
        }
        let n = fresh.len() as i32;
        if n > 0 {
            tx.execute(
                "UPDATE upload_history SET error_records = error_records + $2 WHERE upload_id = $1",
                &[&upload_id, &n],
            )
            .await
            .map_err(from_pg)?;
        }
        tx.commit().await.map_err(from_pg)?;
        Ok(fresh.len() as u64)
    }

    async fn state(&self, upload_id: &str) -> Result<Option<UploadState>, PortError> {
        let client = self.client().await?;
        let row = client
            .query_opt(
                "SELECT vendor_id, status, total_records, valid_records, error_records,
                        error_file_s3_key, metadata
                 FROM upload_history WHERE upload_id = $1",
                &[&upload_id],
            )
            .await
            .map_err(from_pg)?;
        let Some(row) = row else { return Ok(None) };
        let metadata: serde_json::Value = row.get(6);
        Ok(Some(UploadState {
            upload_id: upload_id.to_string(),
            vendor_id: row.get(0),
            status: status_from(row.get(1))?,
            total_records: i64::from(row.get::<_, i32>(2)),
            valid_records: i64::from(row.get::<_, i32>(3)),
            error_records: i64::from(row.get::<_, i32>(4)),
            error_file_s3_key: row.get(5),
            columns: columns_of(&metadata),
        }))
    }

    async fn report_lines(&self, upload_id: &str) -> Result<Vec<ReportLine>, PortError> {
        let client = self.client().await?;
        let rows = client
            .query(
                "SELECT row_number, error_type, error_message, original_data
                 FROM validation_errors WHERE upload_id = $1 ORDER BY row_number, error_id",
                &[&upload_id],
            )
            .await
            .map_err(from_pg)?;
        rows.iter()
            .map(|r| {
                let code: String = r.get(1);
                let error_type = ErrorCode::parse(&code).ok_or_else(|| {
                    PortError::rejected("PostgreSQL", format!("unknown error_type {code:?}"))
                })?;
                let original: Option<serde_json::Value> = r.get(3);
                let original: Option<ProductData> = original.and_then(|v| serde_json::from_value(v).ok());
                Ok(ReportLine {
                    row_number: i64::from(r.get::<_, i32>(0)),
                    error_type,
                    error_message: r.get(2),
                    original,
                })
            })
            .collect()
    }

    async fn finish(
        &self,
        upload_id: &str,
        status: UploadStatus,
        report_key: Option<&str>,
    ) -> Result<bool, PortError> {
        let client = self.client().await?;
        let n = client
            .execute(
                "UPDATE upload_history
                 SET status = $2, error_file_s3_key = COALESCE($3, error_file_s3_key),
                     processing_completed_at = now(),
                     processing_duration_seconds = ROUND(EXTRACT(EPOCH FROM (now() - processing_started_at))::numeric, 3)
                 WHERE upload_id = $1 AND status = 'processing'
                   AND valid_records + error_records = total_records",
                &[&upload_id, &status.as_str(), &report_key],
            )
            .await
            .map_err(from_pg)?;
        Ok(n == 1)
    }
}

async fn lock_upload(tx: &deadpool_postgres::Transaction<'_>, upload_id: &str) -> Result<(), PortError> {
    let row = tx
        .query_opt(
            "SELECT 1 FROM upload_history WHERE upload_id = $1 FOR UPDATE",
            &[&upload_id],
        )
        .await
        .map_err(from_pg)?;
    match row {
        Some(_) => Ok(()),
        None => Err(PortError::rejected(
            "PostgreSQL",
            format!("upload {upload_id} has no upload_history row"),
        )),
    }
}

fn stored_verdict(verdict: &str, errors: serde_json::Value) -> StoredVerdict {
    if verdict == "valid" {
        StoredVerdict::Valid
    } else {
        StoredVerdict::Error(serde_json::from_value(errors).unwrap_or_default())
    }
}

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
        let p_decided: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&upload_id, &rows];
        let p_owners: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&upload_id, &values];
        let p_holders: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&values];
        let p_upload: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&upload_id];
        // Five independent queries, pipelined on one connection: one round trip's wait.
        let (decided, owners, holders, categories, metadata) = futures::try_join!(
            client.query(
                "SELECT row_number, verdict, errors FROM upload_rows
                 WHERE upload_id = $1 AND row_number = ANY($2)",
                &p_decided,
            ),
            client.query(
                "SELECT column_name, value, row_number FROM upload_claims
                 WHERE upload_id = $1 AND value = ANY($2)",
                &p_owners,
            ),
            client.query(
                "SELECT sku, vendor_id, vendor_product_id FROM products WHERE sku = ANY($1)",
                &p_holders,
            ),
            client.query(
                "SELECT category_name FROM product_categories WHERE is_active",
                &[]
            ),
            client.query_opt(
                "SELECT metadata FROM upload_history WHERE upload_id = $1",
                &p_upload
            ),
        )
        .map_err(from_pg)?;
        let mut ctx = BatchContext::default();
        for r in decided {
            let n: i32 = r.get(0);
            ctx.decided.insert(n as u64, stored_verdict(r.get(1), r.get(2)));
        }
        for r in owners {
            let n: i32 = r.get(2);
            ctx.owners.insert((r.get(0), r.get(1)), n as u64);
        }
        for r in holders {
            ctx.sku_holders.insert(r.get(0), (r.get(1), r.get(2)));
        }
        ctx.categories = categories.iter().map(|r| r.get(0)).collect();
        ctx.columns = metadata.map(|r| columns_of(&r.get(0))).unwrap_or_default();
        Ok(ctx)
    }

    async fn commit_verdicts(
        &self,
        upload_id: &str,
        vendor_id: &str,
        verdicts: &[(u64, Verdict)],
    ) -> Result<HashMap<u64, StoredVerdict>, PortError> {
        let mut standing: HashMap<u64, StoredVerdict> = HashMap::new();
        if verdicts.is_empty() {
            return Ok(standing);
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
        lock_upload(&tx, upload_id).await?;
        let inserted = tx
            .query(
                "INSERT INTO upload_rows (upload_id, row_number, verdict, errors)
                 SELECT $1, r, v, e FROM unnest($2::int[], $3::text[], $4::jsonb[]) AS t(r, v, e)
                 ON CONFLICT (upload_id, row_number) DO NOTHING
                 RETURNING row_number",
                &[&upload_id, &numbers, &kinds, &errors],
            )
            .await
            .map_err(from_pg)?;
        let inserted: std::collections::HashSet<u64> =
            inserted.iter().map(|r| r.get::<_, i32>(0) as u64).collect();

        let fresh_valid: Vec<&crate::validation::ValidProduct> = verdicts
            .iter()
            .filter(|(n, _)| inserted.contains(n))
            .filter_map(|(_, v)| match v {
                Verdict::Valid(p) => Some(p.as_ref()),
                Verdict::Error(_) => None,
            })
            .collect();
        if !fresh_valid.is_empty() {
            upsert_products(&tx, upload_id, vendor_id, &fresh_valid).await?;
            let n = fresh_valid.len() as i32;
            tx.execute(
                "UPDATE upload_history SET valid_records = valid_records + $2 WHERE upload_id = $1",
                &[&upload_id, &n],
            )
            .await
            .map_err(from_pg)?;
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
                let stored = match v {
                    Verdict::Valid(_) => StoredVerdict::Valid,
                    Verdict::Error(e) => StoredVerdict::Error(e.clone()),
                };
                standing.insert(*n, stored);
            }
        }
        Ok(standing)
    }
}

async fn upsert_products(
    tx: &deadpool_postgres::Transaction<'_>,
    upload_id: &str,
    vendor_id: &str,
    products: &[&crate::validation::ValidProduct],
) -> Result<(), PortError> {
    let col = |f: fn(&crate::validation::ValidProduct) -> Option<String>| -> Vec<Option<String>> {
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
    tx.execute(
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
