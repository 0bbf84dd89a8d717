//! Configuration read from environment variables, exactly as Lambda passes them.
//!
//! Names of tables, buckets and the database have no defaults: a function that starts
//! without one fails at init with a message naming the variable, instead of talking to
//! a table nobody meant.

use std::collections::HashMap;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("missing environment variable {name}: {hint}")]
    Missing { name: String, hint: &'static str },
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

/// Where settings come from: the process environment in Lambda, a map in tests.
pub trait Source {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Source for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Source for HashMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl Source for [(&str, &str)] {
    fn get(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_string())
    }
}

/// A variable that must be set and non-empty.
pub fn required(src: &(impl Source + ?Sized), name: &str, hint: &'static str) -> Result<String, ConfigError> {
    match src.get(name) {
        Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
        _ => Err(ConfigError::Missing {
            name: name.to_string(),
            hint,
        }),
    }
}

/// A duration with a documented default, written as humans do (`15m`, `90s`, `1h 30m`).
pub fn duration_or(
    src: &(impl Source + ?Sized),
    name: &str,
    default: std::time::Duration,
) -> Result<std::time::Duration, ConfigError> {
    match src.get(name) {
        Some(v) if !v.trim().is_empty() => {
            humantime::parse_duration(v.trim()).map_err(|e| ConfigError::Invalid {
                name: name.to_string(),
                reason: format!("{v:?}: {e} (write e.g. 15m, 90s or 1h)"),
            })
        }
        _ => Ok(default),
    }
}

/// A variable with a documented default (limits and tuning, never names of resources).
pub fn parsed_or<T>(src: &(impl Source + ?Sized), name: &str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    match src.get(name) {
        Some(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e: T::Err| ConfigError::Invalid {
            name: name.to_string(),
            reason: format!("{v:?}: {e}"),
        }),
        _ => Ok(default),
    }
}

pub const UPLOAD_RECORDS_TABLE: &str = "UPLOAD_RECORDS_TABLE";
pub const UPLOAD_BUCKET: &str = "UPLOAD_BUCKET";
pub const PRODUCT_REVIEWS_TABLE: &str = "PRODUCT_REVIEWS_TABLE";
pub const WARRANTY_TABLE: &str = "WARRANTY_TABLE";
pub const CUSTOMER_PROFILE_TABLE: &str = "CUSTOMER_PROFILE_TABLE";
pub const MAX_UPLOAD_BYTES: &str = "MAX_UPLOAD_BYTES";
pub const RECORD_TTL_DAYS: &str = "RECORD_TTL_DAYS";
pub const PARSE_LEASE: &str = "PARSE_LEASE";
/// 16 minutes: past csv-parser's 900 s timeout.
pub const DEFAULT_PARSE_LEASE: std::time::Duration = std::time::Duration::from_secs(960);

/// 100 MB, the contract's default object size limit.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 100 * 1024 * 1024;
/// UploadRecords items expire this many days after their upload.
pub const DEFAULT_RECORD_TTL_DAYS: i64 = 30;
/// The longest `RECORD_TTL_DAYS` taken: a century. Item timestamps are the event's time
/// plus this many days, and a date past chrono's range would panic in every invocation.
pub const MAX_RECORD_TTL_DAYS: i64 = 36_500;

/// `RECORD_TTL_DAYS`, refused at start-up unless 1 to [`MAX_RECORD_TTL_DAYS`].
fn record_ttl_days(src: &(impl Source + ?Sized)) -> Result<i64, ConfigError> {
    let days = parsed_or(src, RECORD_TTL_DAYS, DEFAULT_RECORD_TTL_DAYS)?;
    if !(1..=MAX_RECORD_TTL_DAYS).contains(&days) {
        return Err(ConfigError::Invalid {
            name: RECORD_TTL_DAYS.to_string(),
            reason: format!("{days}: a number of days from 1 to {MAX_RECORD_TTL_DAYS}"),
        });
    }
    Ok(days)
}

pub const UPLOAD_TOPIC_ARN: &str = "UPLOAD_TOPIC_ARN";
pub const VENDOR_API_URL: &str = "VENDOR_API_URL";

/// Where a finaliser announces a final upload (DESIGN.md §7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationConfig {
    /// The SNS topic of "upload finished" messages.
    pub upload_topic_arn: String,
    /// The vendor API's base URL: the report link in a notification points at it.
    pub vendor_api_url: String,
}

impl NotificationConfig {
    pub fn from_source(src: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        Ok(NotificationConfig {
            upload_topic_arn: required(
                src,
                UPLOAD_TOPIC_ARN,
                "the SNS topic for upload-finished notifications",
            )?,
            vendor_api_url: required(
                src,
                VENDOR_API_URL,
                "the vendor API's base URL (https://...), where notifications link the report",
            )?,
        })
    }
}

/// How the functions reach PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseConfig {
    /// `DATABASE_URL` (local stack, or a URL with a password from the environment).
    Url(String),
    /// RDS IAM authentication over TLS: a short-lived token replaces the password.
    Iam {
        host: String,
        port: u16,
        dbname: String,
        user: String,
        region: String,
        ca_bundle: Option<String>,
    },
    /// A Secrets Manager secret holding `username`/`password` (and optionally host, port, dbname).
    Secret {
        secret_id: String,
        host: String,
        port: u16,
        dbname: String,
        ca_bundle: Option<String>,
    },
}

impl DatabaseConfig {
    /// `DB_AUTH_MODE` selects `url` (default when `DATABASE_URL` is set), `iam` or `secret`.
    pub fn from_source(src: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        let mode = src.get("DB_AUTH_MODE").map(|m| m.trim().to_ascii_lowercase());
        match mode.as_deref() {
            None | Some("") | Some("url") => Ok(DatabaseConfig::Url(required(
                src,
                "DATABASE_URL",
                "set DATABASE_URL (postgres://user:pass@host:port/db) or DB_AUTH_MODE=iam|secret",
            )?)),
            Some("iam") => Ok(DatabaseConfig::Iam {
                host: required(src, "DB_HOST", "the RDS endpoint host name")?,
                port: parsed_or(src, "DB_PORT", 5432)?,
                dbname: required(src, "DB_NAME", "the database name")?,
                user: required(src, "DB_USER", "a database user granted rds_iam")?,
                region: required(src, "AWS_REGION", "Lambda sets it; set it locally")?,
                ca_bundle: src.get("DB_CA_BUNDLE").filter(|s| !s.is_empty()),
            }),
            Some("secret") => Ok(DatabaseConfig::Secret {
                secret_id: required(
                    src,
                    "DB_SECRET_ARN",
                    "the Secrets Manager secret with username/password",
                )?,
                host: required(src, "DB_HOST", "the database host name")?,
                port: parsed_or(src, "DB_PORT", 5432)?,
                dbname: required(src, "DB_NAME", "the database name")?,
                ca_bundle: src.get("DB_CA_BUNDLE").filter(|s| !s.is_empty()),
            }),
            Some(other) => Err(ConfigError::Invalid {
                name: "DB_AUTH_MODE".into(),
                reason: format!("{other:?} is not one of url, iam, secret"),
            }),
        }
    }
}

/// Server-side limits set on every pipeline connection (PostgreSQL `options`), each
/// shorter than the shortest pipeline function timeout (the validator's 60 s): a blocked
/// lock or a runaway statement ends as an error the handler reports as a batch item
/// failure, instead of a function timeout that loses the partial-batch response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub statement_timeout_ms: u64,
    pub lock_timeout_ms: u64,
    pub idle_in_transaction_timeout_ms: u64,
}

pub const DB_STATEMENT_TIMEOUT_MS: &str = "DB_STATEMENT_TIMEOUT_MS";
pub const DB_LOCK_TIMEOUT_MS: &str = "DB_LOCK_TIMEOUT_MS";
pub const DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: &str = "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS";

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            statement_timeout_ms: 20_000,
            lock_timeout_ms: 10_000,
            idle_in_transaction_timeout_ms: 30_000,
        }
    }
}

impl SessionLimits {
    pub fn from_source(src: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        let d = SessionLimits::default();
        Ok(SessionLimits {
            statement_timeout_ms: parsed_or(src, DB_STATEMENT_TIMEOUT_MS, d.statement_timeout_ms)?,
            lock_timeout_ms: parsed_or(src, DB_LOCK_TIMEOUT_MS, d.lock_timeout_ms)?,
            idle_in_transaction_timeout_ms: parsed_or(
                src,
                DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
                d.idle_in_transaction_timeout_ms,
            )?,
        })
    }

    /// The connection's `options` startup parameter.
    pub fn options(&self) -> String {
        format!(
            "-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={}",
            self.statement_timeout_ms, self.lock_timeout_ms, self.idle_in_transaction_timeout_ms
        )
    }
}

/// Settings shared by the three pipeline functions.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub upload_records_table: String,
    /// Bucket that holds `uploads/` and receives `reports/`.
    pub upload_bucket: String,
    pub max_upload_bytes: u64,
    pub record_ttl_days: i64,
    pub database: DatabaseConfig,
    pub session_limits: SessionLimits,
    /// How long a parse holds its upload (`PARSE_LEASE`, e.g. `16m`): longer than
    /// csv-parser's 900 s timeout, so a holder that died is past it.
    pub parse_lease: std::time::Duration,
}

impl PipelineConfig {
    pub fn from_source(src: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        Ok(PipelineConfig {
            upload_records_table: required(
                src,
                UPLOAD_RECORDS_TABLE,
                "the UploadRecords DynamoDB table name",
            )?,
            upload_bucket: required(src, UPLOAD_BUCKET, "the bucket holding uploads/ and reports/")?,
            max_upload_bytes: parsed_or(src, MAX_UPLOAD_BYTES, DEFAULT_MAX_UPLOAD_BYTES)?,
            record_ttl_days: record_ttl_days(src)?,
            database: DatabaseConfig::from_source(src)?,
            session_limits: SessionLimits::from_source(src)?,
            parse_lease: duration_or(src, PARSE_LEASE, DEFAULT_PARSE_LEASE)?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }
}

pub const RECONCILE_AFTER: &str = "RECONCILE_AFTER";
pub const PARSER_FAILURE_QUEUE_URL: &str = "PARSER_FAILURE_QUEUE_URL";
pub const VALIDATOR_FAILURE_QUEUE_URL: &str = "VALIDATOR_FAILURE_QUEUE_URL";
pub const ERROR_PROCESSOR_FAILURE_QUEUE_URL: &str = "ERROR_PROCESSOR_FAILURE_QUEUE_URL";

/// upload-reconciler's settings: the pipeline's, how long an upload may stay processing
/// before it is taken up, and the on-failure destinations to drain.
#[derive(Debug, Clone)]
pub struct ReconcilerConfig {
    pub pipeline: PipelineConfig,
    /// `RECONCILE_AFTER`, e.g. `15m` (the default).
    pub reconcile_after: std::time::Duration,
    pub parser_failure_queue: String,
    pub validator_failure_queue: String,
    pub error_processor_failure_queue: String,
}

impl ReconcilerConfig {
    pub fn from_source(src: &(impl Source + ?Sized)) -> Result<Self, ConfigError> {
        Ok(ReconcilerConfig {
            pipeline: PipelineConfig::from_source(src)?,
            reconcile_after: duration_or(src, RECONCILE_AFTER, domain::reconcile::DEFAULT_RECONCILE_AFTER)?,
            parser_failure_queue: required(
                src,
                PARSER_FAILURE_QUEUE_URL,
                "csv-parser's async on-failure SQS queue URL",
            )?,
            validator_failure_queue: required(
                src,
                VALIDATOR_FAILURE_QUEUE_URL,
                "stream-validator's stream on-failure SQS queue URL",
            )?,
            error_processor_failure_queue: required(
                src,
                ERROR_PROCESSOR_FAILURE_QUEUE_URL,
                "error-processor's stream on-failure SQS queue URL",
            )?,
        })
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_source(&ProcessEnv)
    }

    /// The queues, each with what its messages are.
    pub fn on_failure_queues(&self) -> Vec<(domain::ports::FailureSource, String)> {
        use domain::ports::FailureSource::{Parser, Stream};
        vec![
            (Parser, self.parser_failure_queue.clone()),
            (Stream, self.validator_failure_queue.clone()),
            (Stream, self.error_processor_failure_queue.clone()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_table_name_is_named_in_the_error() {
        let env: &[(&str, &str)] = &[("UPLOAD_BUCKET", "b"), ("DATABASE_URL", "postgres://x")];
        let err = PipelineConfig::from_source(env).err();
        match err {
            Some(ConfigError::Missing { name, .. }) => assert_eq!(name, "UPLOAD_RECORDS_TABLE"),
            other => panic!("expected a missing-variable error, got {other:?}"),
        }
        let msg = PipelineConfig::from_source(env)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(msg.contains("UPLOAD_RECORDS_TABLE"), "{msg}");
    }

    #[test]
    fn a_record_ttl_outside_1_to_36500_days_is_refused_at_start_up() {
        let base = [
            ("UPLOAD_RECORDS_TABLE", "t"),
            ("UPLOAD_BUCKET", "b"),
            ("DATABASE_URL", "postgres://x"),
        ];
        for (value, ok) in [
            ("1", true),
            ("36500", true),
            ("0", false),
            ("-3", false),
            ("99999999999", false),
        ] {
            let mut env = base.to_vec();
            env.push((RECORD_TTL_DAYS, value));
            let got = PipelineConfig::from_source(env.as_slice());
            match (ok, got) {
                (true, Ok(config)) => assert_eq!(config.record_ttl_days.to_string(), value),
                (false, Err(ConfigError::Invalid { name, .. })) => assert_eq!(name, RECORD_TTL_DAYS),
                (_, other) => panic!("{value}: {other:?}"),
            }
        }
    }

    #[test]
    fn empty_values_count_as_missing() {
        let env: &[(&str, &str)] = &[
            ("UPLOAD_RECORDS_TABLE", "t"),
            ("UPLOAD_BUCKET", "  "),
            ("DATABASE_URL", "postgres://x"),
        ];
        assert!(matches!(
            PipelineConfig::from_source(env),
            Err(ConfigError::Missing { name, .. }) if name == "UPLOAD_BUCKET"
        ));
    }

    #[test]
    fn limits_have_defaults_and_reject_garbage() {
        let mut env: Vec<(&str, &str)> = vec![
            ("UPLOAD_RECORDS_TABLE", "t"),
            ("UPLOAD_BUCKET", "b"),
            ("DATABASE_URL", "postgres://x"),
        ];
        let cfg = PipelineConfig::from_source(env.as_slice()).ok();
        assert_eq!(cfg.map(|c| c.max_upload_bytes), Some(DEFAULT_MAX_UPLOAD_BYTES));
        env.push(("MAX_UPLOAD_BYTES", "lots"));
        assert!(matches!(
            PipelineConfig::from_source(env.as_slice()),
            Err(ConfigError::Invalid { name, .. }) if name == "MAX_UPLOAD_BYTES"
        ));
    }

    #[test]
    fn session_limits_default_under_the_validator_timeout_and_can_be_set() {
        let d = SessionLimits::default();
        for ms in [
            d.statement_timeout_ms,
            d.lock_timeout_ms,
            d.idle_in_transaction_timeout_ms,
        ] {
            assert!(
                ms < 60_000,
                "{ms} ms is not shorter than the validator's 60 s timeout"
            );
        }
        let env: &[(&str, &str)] = &[("DB_LOCK_TIMEOUT_MS", "250")];
        let limits = SessionLimits::from_source(env).unwrap_or_default();
        assert_eq!(limits.lock_timeout_ms, 250);
        assert_eq!(
            limits.options(),
            "-c statement_timeout=20000 -c lock_timeout=250 -c idle_in_transaction_session_timeout=30000"
        );
    }

    #[test]
    fn the_reconciler_waits_15_minutes_unless_told_and_needs_its_queues() {
        let mut env: Vec<(&str, &str)> = vec![
            ("UPLOAD_RECORDS_TABLE", "t"),
            ("UPLOAD_BUCKET", "b"),
            ("DATABASE_URL", "postgres://x"),
            ("PARSER_FAILURE_QUEUE_URL", "q1"),
            ("VALIDATOR_FAILURE_QUEUE_URL", "q2"),
        ];
        assert!(matches!(
            ReconcilerConfig::from_source(env.as_slice()),
            Err(ConfigError::Missing { name, .. }) if name == "ERROR_PROCESSOR_FAILURE_QUEUE_URL"
        ));
        env.push(("ERROR_PROCESSOR_FAILURE_QUEUE_URL", "q3"));
        let config = ReconcilerConfig::from_source(env.as_slice()).ok();
        assert_eq!(config.map(|c| c.reconcile_after.as_secs()), Some(900));
        let with = |after: &'static str| {
            let mut e = env.clone();
            e.push(("RECONCILE_AFTER", after));
            ReconcilerConfig::from_source(e.as_slice())
        };
        assert_eq!(with("90s").ok().map(|c| c.reconcile_after.as_secs()), Some(90));
        assert!(matches!(
            with("soon"),
            Err(ConfigError::Invalid { name, .. }) if name == "RECONCILE_AFTER"
        ));
    }

    #[test]
    fn iam_mode_needs_host_and_user() {
        let env: &[(&str, &str)] = &[
            ("DB_AUTH_MODE", "iam"),
            ("DB_NAME", "catalog"),
            ("AWS_REGION", "eu-west-1"),
        ];
        assert!(matches!(
            DatabaseConfig::from_source(env),
            Err(ConfigError::Missing { name, .. }) if name == "DB_HOST"
        ));
        let env: &[(&str, &str)] = &[("DB_AUTH_MODE", "carrier-pigeon")];
        assert!(matches!(
            DatabaseConfig::from_source(env),
            Err(ConfigError::Invalid { .. })
        ));
    }
}
