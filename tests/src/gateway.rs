//! `devstack gateway` as a child process on a port the system picks, its stderr kept
//! (the log tests read it).

use crate::runtime_api::binary;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct GatewayProcess {
    child: Child,
    /// `http://127.0.0.1:PORT/mcp`.
    pub url: String,
    stderr: Arc<Mutex<String>>,
}

impl GatewayProcess {
    /// Starts the built `devstack gateway --port 0` with the test's environment (the
    /// `.local/env` settings) plus `env`, and waits for its `listening on` line.
    pub async fn start(env: &[(&str, &str)]) -> GatewayProcess {
        crate::stack::load_env();
        let mut cmd = Command::new(binary("devstack", "devstack"));
        cmd.args(["gateway", "--port", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start devstack gateway: {e}"));
        let pipe = child
            .stderr
            .take()
            .unwrap_or_else(|| panic!("devstack gateway has no stderr"));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut tx = Some(tx);
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(url) = line.strip_prefix("listening on ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(url.trim().to_string());
                    }
                }
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let base = tokio::time::timeout(Duration::from_secs(60), rx)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_else(|| {
                panic!(
                    "devstack gateway did not say `listening on` within 60 s; stderr:\n{}",
                    stderr.lock().map(|s| s.clone()).unwrap_or_default()
                )
            });
        assert!(
            base.starts_with("http://127.0.0.1:"),
            "listens on loopback: {base}"
        );
        GatewayProcess {
            child,
            url: format!("{base}/mcp"),
            stderr,
        }
    }

    /// Stops the gateway and returns everything it wrote on stderr.
    pub async fn stop(mut self) -> String {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        // Let the reader drain what the pipe still holds.
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
