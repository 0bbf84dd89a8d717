//! The Warranty table on DynamoDB (`serial_number` hash).

use crate::classify::from_sdk;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use domain::tools::warranty::{SerialNumber, WarrantyLookup, WarrantyRecord};
use domain::PortError;

/// The Warranty table on DynamoDB.
#[derive(Clone)]
pub struct DynamoWarranties {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoWarranties {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        DynamoWarranties {
            client,
            table: table.into(),
        }
    }
}

#[async_trait]
impl WarrantyLookup for DynamoWarranties {
    async fn warranty(&self, serial: &SerialNumber) -> Result<Option<WarrantyRecord>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("serial_number", AttributeValue::S(serial.as_str().to_string()))
            .send()
            .await
            .map_err(|e| from_sdk("DynamoDB", e))?;
        out.item
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|e| {
                    PortError::unreadable_item("DynamoDB", "a Warranty item does not read as a warranty", e)
                })
            })
            .transpose()
    }
}
