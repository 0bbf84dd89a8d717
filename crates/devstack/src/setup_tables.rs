//! Creates the DynamoDB tables of `infra/dynamodb-tables.json` (the CreateTable input
//! shape, plus `TimeToLiveAttribute`): on-demand billing, streams, GSIs, TTL. A table
//! that already exists is left as it is.

use anyhow::{anyhow, bail, Context};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, IndexStatus, KeySchemaElement, KeyType,
    Projection, ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub(crate) const TABLES_JSON: &str = include_str!("../../../infra/dynamodb-tables.json");

const ACTIVE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct TableSpec {
    pub attribute_definitions: Vec<AttributeSpec>,
    pub key_schema: Vec<KeySpec>,
    #[serde(default)]
    pub global_secondary_indexes: Vec<IndexSpec>,
    #[serde(default)]
    pub stream_specification: Option<StreamSpec>,
    #[serde(default)]
    pub time_to_live_attribute: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct AttributeSpec {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct KeySpec {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct IndexSpec {
    pub index_name: String,
    pub key_schema: Vec<KeySpec>,
    pub projection: ProjectionSpec,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct ProjectionSpec {
    pub projection_type: String,
    #[serde(default)]
    pub non_key_attributes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct StreamSpec {
    pub stream_enabled: bool,
    #[serde(default)]
    pub stream_view_type: Option<String>,
}

/// The table definitions by logical name.
pub(crate) fn specs() -> anyhow::Result<BTreeMap<String, TableSpec>> {
    serde_json::from_str(TABLES_JSON).context("infra/dynamodb-tables.json does not parse")
}

/// The CreateTable pieces of one definition, checked (unknown enum strings rejected).
pub(crate) struct CreateInput {
    attributes: Vec<AttributeDefinition>,
    keys: Vec<KeySchemaElement>,
    indexes: Vec<GlobalSecondaryIndex>,
    stream: Option<StreamSpecification>,
}

fn key_schema(keys: &[KeySpec]) -> anyhow::Result<Vec<KeySchemaElement>> {
    keys.iter()
        .map(|k| {
            let key_type = match k.key_type.as_str() {
                "HASH" => KeyType::Hash,
                "RANGE" => KeyType::Range,
                other => bail!("key {}: KeyType {other:?} is not HASH or RANGE", k.attribute_name),
            };
            Ok(KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(key_type)
                .build()?)
        })
        .collect()
}

impl TableSpec {
    pub(crate) fn create_input(&self) -> anyhow::Result<CreateInput> {
        let attributes = self
            .attribute_definitions
            .iter()
            .map(|a| {
                let t = match a.attribute_type.as_str() {
                    "S" => ScalarAttributeType::S,
                    "N" => ScalarAttributeType::N,
                    "B" => ScalarAttributeType::B,
                    other => bail!(
                        "attribute {}: AttributeType {other:?} is not S, N or B",
                        a.attribute_name
                    ),
                };
                Ok(AttributeDefinition::builder()
                    .attribute_name(&a.attribute_name)
                    .attribute_type(t)
                    .build()?)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let indexes = self
            .global_secondary_indexes
            .iter()
            .map(|g| {
                let projection_type = match g.projection.projection_type.as_str() {
                    "ALL" => ProjectionType::All,
                    "KEYS_ONLY" => ProjectionType::KeysOnly,
                    "INCLUDE" => ProjectionType::Include,
                    other => bail!("index {}: ProjectionType {other:?} is unknown", g.index_name),
                };
                let non_key = (!g.projection.non_key_attributes.is_empty())
                    .then(|| g.projection.non_key_attributes.clone());
                Ok(GlobalSecondaryIndex::builder()
                    .index_name(&g.index_name)
                    .set_key_schema(Some(key_schema(&g.key_schema)?))
                    .projection(
                        Projection::builder()
                            .projection_type(projection_type)
                            .set_non_key_attributes(non_key)
                            .build(),
                    )
                    .build()?)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let stream = match &self.stream_specification {
            None => None,
            Some(s) => {
                let view = match s.stream_view_type.as_deref() {
                    None => None,
                    Some("NEW_IMAGE") => Some(StreamViewType::NewImage),
                    Some("OLD_IMAGE") => Some(StreamViewType::OldImage),
                    Some("NEW_AND_OLD_IMAGES") => Some(StreamViewType::NewAndOldImages),
                    Some("KEYS_ONLY") => Some(StreamViewType::KeysOnly),
                    Some(other) => bail!("StreamViewType {other:?} is unknown"),
                };
                Some(
                    StreamSpecification::builder()
                        .stream_enabled(s.stream_enabled)
                        .set_stream_view_type(view)
                        .build()?,
                )
            }
        };
        Ok(CreateInput {
            attributes,
            keys: key_schema(&self.key_schema)?,
            indexes,
            stream,
        })
    }
}

/// What happened to one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableOutcome {
    Created,
    Existed,
}

/// Creates the table `name` from `spec` unless it exists, waits until it and its
/// indexes are ACTIVE, then enables TTL when the definition asks for it.
pub(crate) async fn ensure_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    spec: &TableSpec,
) -> anyhow::Result<TableOutcome> {
    let input = spec
        .create_input()
        .with_context(|| format!("definition of table {name}"))?;
    let created = client
        .create_table()
        .table_name(name)
        .set_attribute_definitions(Some(input.attributes))
        .set_key_schema(Some(input.keys))
        .set_global_secondary_indexes((!input.indexes.is_empty()).then_some(input.indexes))
        .billing_mode(BillingMode::PayPerRequest)
        .set_stream_specification(input.stream)
        .send()
        .await;
    let outcome = match created {
        Ok(_) => TableOutcome::Created,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            TableOutcome::Existed
        }
        Err(e) => {
            return Err(anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e)))
                .with_context(|| format!("CreateTable {name}"))
        }
    };
    wait_active(client, name, spec).await?;
    if let Some(attribute) = &spec.time_to_live_attribute {
        ensure_ttl(client, name, attribute).await?;
    }
    Ok(outcome)
}

async fn wait_active(client: &aws_sdk_dynamodb::Client, name: &str, spec: &TableSpec) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e)))
            .with_context(|| format!("DescribeTable {name}"))?;
        let table = described.table();
        let table_active = table.and_then(|t| t.table_status()) == Some(&TableStatus::Active);
        let indexes_active = table
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .all(|g| g.index_status() == Some(&IndexStatus::Active));
        if table_active && indexes_active {
            let wants_stream = spec
                .stream_specification
                .as_ref()
                .is_some_and(|s| s.stream_enabled);
            let has_stream = table.and_then(|t| t.latest_stream_arn()).is_some();
            if wants_stream && !has_stream {
                tracing::warn!(
                    table = name,
                    "the existing table has no stream; delete it (make down && make up) to get one"
                );
            }
            return Ok(());
        }
        if started.elapsed() > ACTIVE_TIMEOUT {
            bail!("table {name} is not ACTIVE after {} s", ACTIVE_TIMEOUT.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn ensure_ttl(client: &aws_sdk_dynamodb::Client, name: &str, attribute: &str) -> anyhow::Result<()> {
    let described = client
        .describe_time_to_live()
        .table_name(name)
        .send()
        .await
        .map_err(|e| anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e)))
        .with_context(|| format!("DescribeTimeToLive {name}"))?;
    let status = described
        .time_to_live_description()
        .and_then(|d| d.time_to_live_status());
    if matches!(
        status,
        Some(TimeToLiveStatus::Enabled) | Some(TimeToLiveStatus::Enabling)
    ) {
        return Ok(());
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(attribute)
                .build()?,
        )
        .send()
        .await
        .map_err(|e| anyhow!(aws_sdk_dynamodb::error::DisplayErrorContext(e)))
        .with_context(|| format!("UpdateTimeToLive {name}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::TABLE_VARIABLES;

    #[test]
    fn every_definition_translates_and_matches_the_configured_tables() {
        let specs = specs();
        assert!(specs.is_ok(), "{:?}", specs.err());
        let specs = specs.unwrap_or_default();
        let mut logical: Vec<&str> = specs.keys().map(String::as_str).collect();
        let mut configured: Vec<&str> = TABLE_VARIABLES.iter().map(|(l, _)| *l).collect();
        logical.sort_unstable();
        configured.sort_unstable();
        assert_eq!(logical, configured);
        for (name, spec) in &specs {
            let input = spec.create_input();
            assert!(input.is_ok(), "{name}: {:?}", input.err());
        }
    }

    #[test]
    fn upload_records_has_a_new_image_stream_and_ttl() {
        let specs = specs().unwrap_or_default();
        let ur = specs.get("UploadRecords");
        assert_eq!(ur.and_then(|s| s.time_to_live_attribute.as_deref()), Some("ttl"));
        let stream = ur.and_then(|s| s.stream_specification.as_ref());
        assert_eq!(
            stream.and_then(|s| s.stream_view_type.as_deref()),
            Some("NEW_IMAGE")
        );
    }
}
