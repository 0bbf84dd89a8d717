//! `CatalogStore` in memory: the batch context and the verdict transaction.

use super::{lock, no_history, pg_text, upsert, Decided, Memory};
use async_trait::async_trait;
use domain::ports::{BatchContext, CatalogStore, Claim, Committed, StoredVerdict, Verdict};
use domain::PortError;
use std::collections::HashMap;

#[async_trait]
impl CatalogStore for Memory {
    async fn batch_context(
        &self,
        upload_id: &str,
        row_numbers: &[u64],
        claims: &[Claim],
    ) -> Result<BatchContext, PortError> {
        self.trip("batch_context", upload_id)?;
        pg_text(claims.iter().map(|c| c.value.as_str()))?;
        let db = lock(&self.db)?;
        let mut ctx = BatchContext::default();
        for n in row_numbers {
            if let Some(d) = db.rows.get(&(upload_id.to_string(), *n)) {
                ctx.decided.insert(*n, d.verdict.clone());
            }
        }
        for claim in claims {
            let key = (
                upload_id.to_string(),
                claim.column.to_string(),
                claim.value.clone(),
            );
            if let Some(row) = db.claims.get(&key) {
                ctx.owners.insert((key.1, key.2), *row);
            }
            if claim.column == "sku" {
                if let Some(holder) = db.sku_holders.get(&claim.value) {
                    ctx.sku_holders.insert(claim.value.clone(), holder.clone());
                }
            }
        }
        ctx.categories = db.categories.clone();
        ctx.columns = db
            .history
            .get(upload_id)
            .map(|h| h.columns.clone())
            .unwrap_or_default();
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
        self.trip("commit_verdicts", upload_id)?;
        for (_, verdict) in verdicts {
            pg_text(
                verdict
                    .errors()
                    .iter()
                    .flat_map(|e| [e.message.as_str(), &e.column]),
            )?;
            if let Verdict::Valid(p) = verdict {
                pg_text([p.vendor_product_id.as_str(), &p.product_name, p.sku.as_str()])?;
                pg_text(
                    [
                        &p.subcategory,
                        &p.brand,
                        &p.description,
                        &p.dimensions_cm,
                        &p.image_url,
                    ]
                    .into_iter()
                    .flatten()
                    .map(String::as_str),
                )?;
            }
        }
        let mut guard = lock(&self.db)?;
        let db = &mut *guard;
        if !db.history.contains_key(upload_id) {
            return Err(no_history(upload_id));
        }
        // One transaction: whatever can fail is checked before anything changes.
        for (n, verdict) in verdicts {
            if let Verdict::Valid(p) = verdict {
                let holder = db.sku_holders.get(p.sku.as_str());
                let fresh = !db.rows.contains_key(&(upload_id.to_string(), *n));
                if fresh && holder.is_some_and(|h| h != &(vendor_id.to_string(), p.vendor_product_id.clone()))
                {
                    // PostgreSQL's unique violation (23505) is transient: the retry decides again.
                    return Err(PortError::unavailable(
                        "memory",
                        format!("sku {} is held by another product", p.sku),
                    ));
                }
            }
        }
        let mut standing = HashMap::new();
        for (n, verdict) in verdicts {
            let key = (upload_id.to_string(), *n);
            if let Some(decided) = db.rows.get(&key) {
                // First commit wins: a later one gets the verdict that stands.
                standing.insert(*n, decided.verdict.clone());
                continue;
            }
            let stored = match verdict {
                Verdict::Valid(product) => {
                    upsert(db, upload_id, vendor_id, product);
                    if let Some(h) = db.history.get_mut(upload_id) {
                        h.valid += 1;
                    }
                    StoredVerdict::Valid
                }
                Verdict::Error(errors) => StoredVerdict::Error(errors.clone()),
            };
            db.rows.insert(
                key,
                Decided {
                    verdict: stored.clone(),
                    error_recorded: false,
                },
            );
            standing.insert(*n, stored);
        }
        Ok(Committed {
            standing,
            upload: db.history.get(upload_id).map(|h| h.state(upload_id)),
        })
    }
}
