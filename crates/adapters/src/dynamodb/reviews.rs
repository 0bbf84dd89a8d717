//! ProductReviews on DynamoDB, read only through the `tenant_id-product_id-index` GSI
//! (every read bounded to one tenant's partition, never a Scan).

use crate::classify::from_sdk;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::tools::reviews::{
    RatingSample, Ratings, Review, ReviewIndex, ReviewKey, ReviewPage, ReviewQuery, TENANT_INDEX,
};
use domain::PortError;
use std::collections::HashMap;

/// The ProductReviews table on DynamoDB.
#[derive(Clone)]
pub struct DynamoReviewIndex {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoReviewIndex {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoReviewIndex {
            client,
            table: table.into(),
        }
    }

    fn query(&self, q: &ReviewQuery) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let mut values: HashMap<String, AttributeValue> = HashMap::new();
        values.insert(":t".into(), AttributeValue::S(q.tenant_id.clone()));
        let key_condition = match q.product_id {
            Some(p) => {
                values.insert(":p".into(), AttributeValue::N(p.to_string()));
                "tenant_id = :t AND product_id = :p"
            }
            None => "tenant_id = :t",
        };
        let f = &q.filter;
        let mut filters: Vec<&str> = Vec::new();
        if let Some(m) = f.min_rating {
            values.insert(":minr".into(), AttributeValue::N(m.to_string()));
            filters.push("rating >= :minr");
        }
        if let Some(m) = f.max_rating {
            values.insert(":maxr".into(), AttributeValue::N(m.to_string()));
            filters.push("rating <= :maxr");
        }
        if let Some(s) = f.coarse_start() {
            values.insert(":ds".into(), AttributeValue::S(s));
            filters.push("review_date >= :ds");
        }
        if let Some(e) = f.coarse_end_exclusive() {
            values.insert(":de".into(), AttributeValue::S(e));
            filters.push("review_date < :de");
        }
        if f.verified_only {
            values.insert(":v".into(), AttributeValue::Bool(true));
            filters.push("verified_purchase = :v");
        }
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TENANT_INDEX)
            .key_condition_expression(key_condition)
            .set_expression_attribute_values(Some(values));
        if !filters.is_empty() {
            req = req.filter_expression(filters.join(" AND "));
        }
        req
    }
}

fn start_key(k: &ReviewKey) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("tenant_id".to_string(), AttributeValue::S(k.tenant_id.clone())),
        (
            "product_id".to_string(),
            AttributeValue::N(k.product_id.to_string()),
        ),
        ("review_id".to_string(), AttributeValue::S(k.review_id.clone())),
    ])
}

fn key_from(lek: &HashMap<String, AttributeValue>) -> Result<ReviewKey, PortError> {
    let bad = || {
        PortError::rejected(
            "DynamoDB",
            "LastEvaluatedKey without tenant_id/product_id/review_id",
        )
    };
    let tenant_id = lek.get("tenant_id").and_then(|v| v.as_s().ok()).ok_or_else(bad)?;
    let product_id = lek
        .get("product_id")
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse::<i64>().ok())
        .ok_or_else(bad)?;
    let review_id = lek.get("review_id").and_then(|v| v.as_s().ok()).ok_or_else(bad)?;
    Ok(ReviewKey {
        tenant_id: tenant_id.clone(),
        product_id,
        review_id: review_id.clone(),
    })
}

#[async_trait]
impl ReviewIndex for DynamoReviewIndex {
    async fn query_page(
        &self,
        query: &ReviewQuery,
        start_after: Option<&ReviewKey>,
        page_size: i32,
    ) -> Result<ReviewPage, PortError> {
        let out = self
            .query(query)
            .limit(page_size.max(1))
            .set_exclusive_start_key(start_after.map(start_key))
            .send()
            .await
            .map_err(|e| from_sdk("DynamoDB", e))?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, Review>(item).map_err(|e| {
                    PortError::unreadable_item(
                        "DynamoDB",
                        "a ProductReviews item does not read as a review",
                        e,
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let last_evaluated = match out.last_evaluated_key {
            Some(k) if !k.is_empty() => Some(key_from(&k)?),
            _ => None,
        };
        Ok(ReviewPage {
            items,
            last_evaluated,
        })
    }

    async fn ratings(&self, query: &ReviewQuery, max_read: usize) -> Result<Ratings, PortError> {
        let mut samples = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        let mut read: usize = 0;
        loop {
            // `Limit` counts items evaluated before the filter: the real cost.
            let remaining = max_read.saturating_sub(read).clamp(1, i32::MAX as usize) as i32;
            let out = self
                .query(query)
                .projection_expression("rating, review_date")
                .limit(remaining)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| from_sdk("DynamoDB", e))?;
            read += usize::try_from(out.scanned_count).unwrap_or(0);
            for item in out.items.unwrap_or_default() {
                samples.push(serde_dynamo::from_item::<_, RatingSample>(item).map_err(|e| {
                    PortError::unreadable_item(
                        "DynamoDB",
                        "a ProductReviews item has no rating/review_date",
                        e,
                    )
                })?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() && read < max_read => start = Some(k),
                Some(k) if !k.is_empty() => {
                    return Ok(Ratings {
                        samples,
                        complete: false,
                    })
                }
                _ => {
                    return Ok(Ratings {
                        samples,
                        complete: true,
                    })
                }
            }
        }
    }
}
