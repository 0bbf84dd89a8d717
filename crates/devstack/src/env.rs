//! The local stack's settings, read from the environment only (`. .local/env`), with
//! the same variable names the functions read in Lambda. No defaults for names of
//! resources: a missing variable is an error that names it.

use adapters::config::{self, required, ConfigError, Source};
use std::path::PathBuf;

/// The clone's `.local/` folder, where `make up` keeps the stack's state, logs and
/// `env` file (git-ignored).
pub fn local_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.local"))
}

/// The logical table names of `infra/dynamodb-tables.json` and the variables that
/// hold their real names.
pub const TABLE_VARIABLES: [(&str, &str); 4] = [
    ("UploadRecords", config::UPLOAD_RECORDS_TABLE),
    ("ProductReviews", config::PRODUCT_REVIEWS_TABLE),
    ("Warranty", config::WARRANTY_TABLE),
    ("CustomerProfile", config::CUSTOMER_PROFILE_TABLE),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSettings {
    /// `(logical name, real name)` for every table of `infra/dynamodb-tables.json`.
    pub tables: Vec<(String, String)>,
    pub upload_bucket: String,
    pub database_url: String,
    /// Required, so that setup never creates tables or buckets in a real account.
    pub dynamodb_endpoint: String,
    pub s3_endpoint: String,
}

impl StackSettings {
    pub fn from_source(src: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        let tables = TABLE_VARIABLES
            .iter()
            .map(|(logical, var)| {
                required(src, var, "the table's name (source .local/env)")
                    .map(|real| (logical.to_string(), real))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(StackSettings {
            tables,
            upload_bucket: required(
                src,
                config::UPLOAD_BUCKET,
                "the upload bucket (source .local/env)",
            )?,
            database_url: required(
                src,
                "DATABASE_URL",
                "postgres://user:pass@host:port/db (source .local/env)",
            )?,
            dynamodb_endpoint: required(
                src,
                "AWS_ENDPOINT_URL_DYNAMODB",
                "DynamoDB Local's URL; devstack never talks to a real account (source .local/env)",
            )?,
            s3_endpoint: required(
                src,
                "AWS_ENDPOINT_URL_S3",
                "moto's URL; devstack never talks to a real account (source .local/env)",
            )?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&config::ProcessEnv)
    }

    /// The real name of a logical table.
    pub fn table(&self, logical: &str) -> Option<&str> {
        self.tables
            .iter()
            .find(|(l, _)| l == logical)
            .map(|(_, real)| real.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &[(&str, &str)] = &[
        ("UPLOAD_RECORDS_TABLE", "UR"),
        ("PRODUCT_REVIEWS_TABLE", "PR"),
        ("WARRANTY_TABLE", "W"),
        ("CUSTOMER_PROFILE_TABLE", "CP"),
        ("UPLOAD_BUCKET", "b"),
        ("DATABASE_URL", "postgres://x"),
        ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:1"),
        ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:2"),
    ];

    #[test]
    fn maps_logical_names_to_the_configured_ones() {
        let s = StackSettings::from_source(FULL);
        assert_eq!(s.as_ref().ok().and_then(|s| s.table("Warranty")), Some("W"));
        assert_eq!(s.as_ref().ok().and_then(|s| s.table("Nope")), None);
    }

    #[test]
    fn a_missing_table_variable_is_named() {
        let partial: Vec<(&str, &str)> = FULL
            .iter()
            .copied()
            .filter(|(k, _)| *k != "WARRANTY_TABLE")
            .collect();
        assert!(matches!(
            StackSettings::from_source(partial.as_slice()),
            Err(ConfigError::Missing { name, .. }) if name == "WARRANTY_TABLE"
        ));
    }
}
