//! The CustomerProfile table on DynamoDB (`customer_id` hash, `email-index` GSI).

use crate::classify::from_sdk;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use domain::tools::profile::{
    money_in_cents, CustomerId, CustomerProfile, Email, ProfileStore, ProfileUpdate, ProfilesByEmail,
    EMAIL_INDEX,
};
use domain::PortError;
use serde::Serialize;
use std::collections::HashMap;

/// Reads an item through serde, except `lifetime_value`, read from its exact text.
pub fn profile_from_item(item: HashMap<String, AttributeValue>) -> Result<CustomerProfile, PortError> {
    let money = match item.get("lifetime_value") {
        Some(AttributeValue::N(n)) | Some(AttributeValue::S(n)) => {
            Some(money_in_cents(n).map_err(|e| PortError::rejected("DynamoDB", e))?)
        }
        _ => None,
    };
    let mut p: CustomerProfile = serde_dynamo::from_item(item).map_err(|e| {
        PortError::unreadable_item("DynamoDB", "a CustomerProfile item does not read as a profile", e)
    })?;
    p.lifetime_value = money;
    Ok(p)
}

/// The CustomerProfile table on DynamoDB.
#[derive(Clone)]
pub struct DynamoProfiles {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoProfiles {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoProfiles {
            client,
            table: table.into(),
        }
    }
}

fn to_av<T: Serialize>(v: &T) -> Result<AttributeValue, PortError> {
    serde_dynamo::to_attribute_value(v).map_err(|e| PortError::rejected("DynamoDB", e))
}

#[async_trait]
impl ProfilesByEmail for DynamoProfiles {
    async fn profiles_by_email(&self, email: &Email) -> Result<Vec<CustomerProfile>, PortError> {
        let mut profiles = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(EMAIL_INDEX)
                .key_condition_expression("email = :e")
                .expression_attribute_values(":e", AttributeValue::S(email.as_str().to_string()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| from_sdk("DynamoDB", e))?;
            for item in out.items.unwrap_or_default() {
                profiles.push(profile_from_item(item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(profiles),
            }
        }
    }
}

#[async_trait]
impl ProfileStore for DynamoProfiles {
    async fn profile(&self, id: &CustomerId) -> Result<Option<CustomerProfile>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("customer_id", AttributeValue::S(id.as_str().to_string()))
            .send()
            .await
            .map_err(|e| from_sdk("DynamoDB", e))?;
        out.item.map(profile_from_item).transpose()
    }

    async fn update_profile(
        &self,
        id: &CustomerId,
        update: &ProfileUpdate,
    ) -> Result<Option<CustomerProfile>, PortError> {
        let mut sets = Vec::new();
        let mut names = HashMap::new();
        let mut values = HashMap::new();
        let mut set = |field: &str, value: AttributeValue| {
            sets.push(format!("#{field} = :{field}"));
            names.insert(format!("#{field}"), field.to_string());
            values.insert(format!(":{field}"), value);
        };
        if let Some(p) = &update.phone {
            set("phone", AttributeValue::S(p.clone()));
        }
        if let Some(a) = &update.address {
            set("address", to_av(a)?);
        }
        if let Some(c) = &update.communication_preferences {
            set("communication_preferences", to_av(c)?);
        }
        if let Some(n) = &update.notes {
            set("notes", AttributeValue::S(n.clone()));
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("customer_id", AttributeValue::S(id.as_str().to_string()))
            .update_expression(format!("SET {}", sets.join(", ")))
            .condition_expression("attribute_exists(customer_id)")
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => out.attributes.map(profile_from_item).transpose(),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(from_sdk("DynamoDB", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_read_exactly_and_the_birth_date_never_leaves() {
        let item = HashMap::from([
            ("customer_id".to_string(), AttributeValue::S("CUST001".into())),
            ("first_name".to_string(), AttributeValue::S("John".into())),
            (
                "date_of_birth".to_string(),
                AttributeValue::S("1985-03-15".into()),
            ),
            ("lifetime_value".to_string(), AttributeValue::N("4875.2".into())),
            ("total_purchases".to_string(), AttributeValue::N("15".into())),
        ]);
        let p = profile_from_item(item).unwrap_or_else(|e| panic!("{e}"));
        let json = p.to_json().unwrap_or_default();
        assert_eq!(json["lifetime_value"], "4875.20");
        assert_eq!(json["total_purchases"], 15);
        assert!(json.get("date_of_birth").is_none());
    }
}
