//! error-processor's side: each error row recorded once, with its counter.

use super::{lock_upload, row_errors_json, to_i32, PgCatalog};
use crate::classify::from_pg;
use async_trait::async_trait;
use domain::ports::{ErrorLedger, ErrorRow};
use domain::PortError;

#[async_trait]
impl ErrorLedger for PgCatalog {
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
        // A row's cells are sent once and stored once, with its first error (the report
        // reads them there for the others): a row can have an error per column (1,000 of
        // them), and a copy per error would multiply its storage, and could pass
        // PostgreSQL's 1 GB limit for a parameter.
        let (mut e_rows, mut e_vpids, mut e_types, mut e_fields, mut e_msgs, mut e_first) = (
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
            Vec::new(),
        );
        let (mut d_rows, mut d_data) = (Vec::new(), Vec::new());
        for r in rows {
            let n = to_i32(r.row_number)?;
            if !fresh.contains(&n) {
                continue;
            }
            if let Some(d) = &r.original {
                d_rows.push(n);
                d_data.push(serde_json::to_value(d).map_err(|e| PortError::rejected("PostgreSQL", e))?);
            }
            for (i, e) in r.errors.iter().enumerate() {
                e_first.push(i == 0);
                e_rows.push(n);
                e_vpids.push(r.vendor_product_id.as_deref());
                e_types.push(e.error_type.as_str());
                e_fields.push(e.column.as_str());
                e_msgs.push(e.message.as_str());
            }
        }
        if !e_rows.is_empty() {
            tx.execute(
                "INSERT INTO validation_errors (upload_id, vendor_id, row_number, vendor_product_id,
                                                error_type, error_field, error_message, original_data)
                 SELECT $1, $2, x.r, x.p, x.t, x.f, x.m, CASE WHEN x.k THEN d.d END
                 FROM unnest($3::int[], $4::text[], $5::text[], $6::text[], $7::text[], $10::bool[])
                      WITH ORDINALITY AS x(r, p, t, f, m, k, i)
                 LEFT JOIN unnest($8::int[], $9::jsonb[]) AS d(r, d) ON d.r = x.r
                 ORDER BY x.i
                 ON CONFLICT DO NOTHING",
                &[
                    &upload_id, &vendor_id, &e_rows, &e_vpids, &e_types, &e_fields, &e_msgs, &d_rows,
                    &d_data, &e_first,
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
}
