//! `devstack reconcile [--older-than DURATION]`: one run of upload-reconciler against the
//! local stack. The on-failure destinations are devstack's own logs: the stream
//! mappings' (`.local/devstack/on-failure.jsonl`, written by the ESM emulation) and
//! csv-parser's (`.local/devstack/parser-on-failure.jsonl`, written when an upload's S3
//! event failed every retry), one message per line.

use adapters::config::{duration_or, ProcessEnv, RECONCILE_AFTER};
use async_trait::async_trait;
use domain::ports::{FailedDeliveries, FailedDelivery, FailureSource};
use domain::PortError;
use std::path::PathBuf;
use std::time::Duration;

/// The stream mappings' on-failure log.
pub fn stream_failure_log() -> PathBuf {
    crate::upload::local_dir().join("devstack/on-failure.jsonl")
}

/// csv-parser's on-failure log.
pub fn parser_failure_log() -> PathBuf {
    crate::upload::local_dir().join("devstack/parser-on-failure.jsonl")
}

/// The two logs as one on-failure destination. A message is a line; acknowledging it
/// removes that line.
pub struct LocalFailureLogs {
    pub parser: PathBuf,
    pub stream: PathBuf,
}

impl LocalFailureLogs {
    pub fn default_paths() -> Self {
        LocalFailureLogs {
            parser: parser_failure_log(),
            stream: stream_failure_log(),
        }
    }

    fn path(&self, source: FailureSource) -> &PathBuf {
        match source {
            FailureSource::Parser => &self.parser,
            FailureSource::Stream => &self.stream,
        }
    }
}

fn io(path: &std::path::Path, e: std::io::Error) -> PortError {
    PortError::unavailable("on-failure log", format!("{}: {e}", path.display()))
}

async fn lines(path: &std::path::Path) -> Result<Vec<String>, PortError> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => Ok(text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(path, e)),
    }
}

#[async_trait]
impl FailedDeliveries for LocalFailureLogs {
    async fn receive(&self, max: usize) -> Result<Vec<FailedDelivery>, PortError> {
        let mut out = Vec::new();
        for source in [FailureSource::Parser, FailureSource::Stream] {
            for line in lines(self.path(source)).await? {
                out.push(FailedDelivery {
                    receipt: line.clone(),
                    source,
                    body: line,
                });
            }
        }
        out.truncate(max);
        Ok(out)
    }

    async fn acknowledge(&self, delivery: &FailedDelivery) -> Result<(), PortError> {
        let path = self.path(delivery.source);
        let mut kept = lines(path).await?;
        if let Some(i) = kept.iter().position(|l| *l == delivery.receipt) {
            kept.remove(i);
        }
        let mut text = kept.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        tokio::fs::write(path, text).await.map_err(|e| io(path, e))
    }
}

/// One run; prints the run's report as one JSON object.
pub async fn run(older_than: Option<Duration>) -> anyhow::Result<()> {
    let reconcile_after = match older_than {
        Some(d) => d,
        None => duration_or(
            &ProcessEnv,
            RECONCILE_AFTER,
            domain::reconcile::DEFAULT_RECONCILE_AFTER,
        )?,
    };
    let adapters = adapters::pipeline::PipelineAdapters::from_env().await?;
    let settings = csv_parser::Settings {
        max_upload_bytes: adapters.config.max_upload_bytes,
        record_ttl_days: adapters.config.record_ttl_days,
        parse_lease: adapters.config.parse_lease,
    };
    let failed = LocalFailureLogs::default_paths();
    let reconciler = upload_reconciler::Reconciler {
        objects: &adapters.objects,
        records: &adapters.records,
        ledger: &adapters.catalog,
        failed: &failed,
        settings: &settings,
        bucket: &adapters.config.upload_bucket,
        notify: adapters.notify(),
    };
    let cutoff = domain::reconcile::stuck_before(chrono::Utc::now(), reconcile_after);
    let report = reconciler.run(cutoff).await?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_is_a_line_and_acknowledging_removes_it() {
        let dir = std::env::temp_dir().join(format!("devstack-failure-logs-{}", std::process::id()));
        tokio::fs::create_dir_all(&dir).await.unwrap_or_default();
        let logs = LocalFailureLogs {
            parser: dir.join("parser.jsonl"),
            stream: dir.join("stream.jsonl"),
        };
        tokio::fs::write(&logs.parser, "{\"a\":1}\n{\"b\":2}\n")
            .await
            .unwrap_or_default();
        let got = logs.receive(10).await.unwrap_or_default();
        assert_eq!(got.len(), 2, "the stream log does not exist yet: nothing from it");
        assert!(got.iter().all(|d| d.source == FailureSource::Parser));
        logs.acknowledge(&got[0]).await.unwrap_or_else(|e| panic!("{e}"));
        let left = logs.receive(10).await.unwrap_or_default();
        assert_eq!(
            left.iter().map(|d| d.body.as_str()).collect::<Vec<_>>(),
            vec!["{\"b\":2}"]
        );
        let _ = tokio::fs::remove_dir_all(&dir).await;
    }
}
