//! Sample data for the agent tools' tables, from `infra/seed/*.json` (plain JSON,
//! converted with serde_dynamo: numbers become N, booleans BOOL, objects M). Written
//! with PutItem, so seeding again rewrites the same items.

use anyhow::{anyhow, bail, Context};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// `(logical table name, items)`.
pub(crate) const SEEDS: [(&str, &str); 3] = [
    (
        "ProductReviews",
        include_str!("../../../infra/seed/ProductReviews.json"),
    ),
    ("Warranty", include_str!("../../../infra/seed/Warranty.json")),
    (
        "CustomerProfile",
        include_str!("../../../infra/seed/CustomerProfile.json"),
    ),
];

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The items of one seed file, as DynamoDB items.
pub(crate) fn items(logical: &str, json: &str) -> anyhow::Result<Vec<Item>> {
    let values: Vec<serde_json::Value> = serde_json::from_str(json)
        .with_context(|| format!("infra/seed/{logical}.json is not a JSON array"))?;
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            if !v.is_object() {
                bail!("infra/seed/{logical}.json: element {i} is not an object");
            }
            serde_dynamo::to_item(v).with_context(|| format!("infra/seed/{logical}.json: element {i}"))
        })
        .collect()
}

/// Writes every seed item into the real table of its logical name; returns the count.
pub(crate) async fn seed(
    client: &aws_sdk_dynamodb::Client,
    table_of: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<usize> {
    let mut written = 0;
    for (logical, json) in SEEDS {
        let table =
            table_of(logical).ok_or_else(|| anyhow!("no table configured for seed file {logical}.json"))?;
        for item in items(logical, json)? {
            client
                .put_item()
                .table_name(&table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(|e| anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e)))
                .with_context(|| format!("PutItem into {table}"))?;
            written += 1;
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn json(logical: &str) -> Vec<Value> {
        let text = SEEDS
            .iter()
            .find(|(l, _)| *l == logical)
            .map(|(_, j)| *j)
            .unwrap_or("[]");
        serde_json::from_str(text).unwrap_or_default()
    }

    fn s<'a>(v: &'a Value, k: &str) -> &'a str {
        v.get(k).and_then(Value::as_str).unwrap_or_default()
    }

    #[test]
    fn every_seed_file_converts_to_items() {
        for (logical, text) in SEEDS {
            let converted = items(logical, text);
            assert!(
                converted.as_ref().is_ok_and(|i| !i.is_empty()),
                "{logical}: {:?}",
                converted.err()
            );
        }
    }

    #[test]
    fn numbers_booleans_and_maps_keep_their_dynamodb_types() {
        let reviews = items("ProductReviews", SEEDS[0].1).unwrap_or_default();
        let first = reviews.first().cloned().unwrap_or_default();
        assert!(matches!(first.get("product_id"), Some(AttributeValue::N(_))));
        assert!(matches!(first.get("rating"), Some(AttributeValue::N(_))));
        assert!(matches!(
            first.get("verified_purchase"),
            Some(AttributeValue::Bool(_))
        ));
        let profiles = items("CustomerProfile", SEEDS[2].1).unwrap_or_default();
        let first = profiles.first().cloned().unwrap_or_default();
        assert!(matches!(first.get("address"), Some(AttributeValue::M(_))));
        assert!(matches!(
            first.get("communication_preferences"),
            Some(AttributeValue::M(_))
        ));
        assert!(matches!(first.get("lifetime_value"), Some(AttributeValue::N(n)) if n.contains('.')));
    }

    #[test]
    fn reviews_cover_two_tenants_sharing_a_product_id() {
        let reviews = json("ProductReviews");
        let of = |t: &str| {
            reviews
                .iter()
                .filter(|r| s(r, "tenant_id") == t)
                .collect::<Vec<_>>()
        };
        let a = of("tenanta");
        let b = of("tenantb");
        assert!(a.len() >= 12);
        assert_eq!(b.len(), 5);
        for p in [1, 2] {
            assert!(a
                .iter()
                .any(|r| r.get("product_id").and_then(Value::as_u64) == Some(p)));
        }
        assert!(b
            .iter()
            .any(|r| r.get("product_id").and_then(Value::as_u64) == Some(1)));
        let ratings: std::collections::BTreeSet<u64> = a
            .iter()
            .filter_map(|r| r.get("rating").and_then(Value::as_u64))
            .collect();
        assert_eq!(ratings.into_iter().collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
        let mut keys: Vec<(u64, &str)> = reviews
            .iter()
            .map(|r| {
                (
                    r.get("product_id").and_then(Value::as_u64).unwrap_or(0),
                    s(r, "review_id"),
                )
            })
            .collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n, "duplicate (product_id, review_id)");
    }

    #[test]
    fn warranties_belong_to_the_profiles_and_span_active_and_expired() {
        let profiles = json("CustomerProfile");
        let names: Vec<String> = profiles
            .iter()
            .map(|p| format!("{} {}", s(p, "first_name"), s(p, "last_name")))
            .collect();
        let warranties = json("Warranty");
        assert_eq!(warranties.len(), 5);
        for w in &warranties {
            let serial = s(w, "serial_number");
            assert!(
                (8..=20).contains(&serial.len())
                    && serial
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
                "{serial}"
            );
            assert!(
                names.iter().any(|n| n == s(w, "customer_name")),
                "{}",
                s(w, "customer_name")
            );
            assert!(["Standard", "Extended", "Premium"].contains(&s(w, "warranty_type")));
        }
        let ends: Vec<&str> = warranties.iter().map(|w| s(w, "warranty_end_date")).collect();
        assert!(ends.iter().filter(|d| **d >= "2030").count() >= 2);
        assert!(
            ends.iter()
                .filter(|d| d.starts_with("2024") || d.starts_with("2025"))
                .count()
                >= 2
        );
    }

    #[test]
    fn profiles_are_cust001_to_cust005_with_lower_case_emails() {
        let profiles = json("CustomerProfile");
        let ids: Vec<&str> = profiles.iter().map(|p| s(p, "customer_id")).collect();
        assert_eq!(ids, vec!["CUST001", "CUST002", "CUST003", "CUST004", "CUST005"]);
        for p in &profiles {
            let email = s(p, "email");
            assert!(!email.is_empty() && email == email.to_lowercase(), "{email}");
            assert!(["Standard", "Gold", "Premium", "VIP"].contains(&s(p, "tier")));
        }
    }
}
