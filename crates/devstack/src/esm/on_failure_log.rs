//! The SQS on-failure destination, locally: a JSON-lines file.

use anyhow::Context;
use serde_json::Value;
use std::path::Path;
use tokio::io::AsyncWriteExt;

/// Appends `entry` as one line, creating the file and its directory if need be.
pub async fn append(path: &Path, entry: &Value) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir)
            .await
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .with_context(|| format!("opening on-failure log {}", path.display()))?;
    let mut line = serde_json::to_vec(entry)?;
    line.push(b'\n');
    file.write_all(&line)
        .await
        .with_context(|| format!("writing on-failure log {}", path.display()))
}
