//! A minimal Lambda Runtime API, enough to run a built function binary as Lambda does:
//! `GET /2018-06-01/runtime/invocation/next` hands out the queued events (with
//! `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`, `-Invoked-Function-Arn` and, when
//! given, `Lambda-Runtime-Client-Context` as plain JSON), `POST .../{id}/response`
//! and `POST .../{id}/error` (and `/runtime/init/error`) are captured. When the queue is
//! empty, `next` is held open, as Lambda does between invocations; the binary is killed
//! once every invocation has its outcome (or when it exits on its own).
//!
//! Hand-written HTTP/1.1 on a tokio `TcpListener`: keep-alive, `Content-Length` and
//! chunked request bodies, nothing else.

use serde_json::Value;
use std::collections::VecDeque;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// What one invocation came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `POST /invocation/{id}/response`: the function's result.
    Response(Value),
    /// `POST /invocation/{id}/error` or `/init/error`: `{errorType, errorMessage}`.
    Error(Value),
    /// The process ended before answering (status, everything it wrote on stderr).
    ProcessExited(Option<ExitStatus>, String),
}

/// One queued invocation.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub event: Value,
    /// Sent verbatim as `Lambda-Runtime-Client-Context` (plain JSON, as the Runtime API
    /// does), or no header at all.
    pub client_context: Option<String>,
    /// Sent verbatim as `Lambda-Runtime-Cognito-Identity`, or no header at all.
    pub cognito_identity: Option<String>,
}

pub use crate::binaries::binary;

/// Runs `bin` against a fresh Runtime API for one invocation.
pub async fn invoke_binary(
    bin: &Path,
    env: &[(&str, &str)],
    event: Value,
    client_context: Option<String>,
) -> Outcome {
    invoke_binary_many(
        bin,
        env,
        vec![Invocation {
            event,
            client_context,
            cognito_identity: None,
        }],
    )
    .await
    .into_iter()
    .next()
    .unwrap_or(Outcome::ProcessExited(None, "no outcome".into()))
}

/// Runs `bin` for each invocation in turn (one process, like a warm execution
/// environment) and returns one outcome per invocation.
pub async fn invoke_binary_many(
    bin: &Path,
    env: &[(&str, &str)],
    invocations: Vec<Invocation>,
) -> Vec<Outcome> {
    invoke_binary_logged(bin, env, invocations).await.0
}

/// [`invoke_binary_many`], and everything the process wrote on stderr (its logs).
pub async fn invoke_binary_logged(
    bin: &Path,
    env: &[(&str, &str)],
    invocations: Vec<Invocation>,
) -> (Vec<Outcome>, String) {
    let expected = invocations.len();
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => {
            let why = format!("cannot bind: {e}");
            return (vec![Outcome::ProcessExited(None, why.clone()); expected], why);
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            let why = format!("no local address: {e}");
            return (vec![Outcome::ProcessExited(None, why.clone()); expected], why);
        }
    };
    let queue = Arc::new(Mutex::new(
        invocations
            .into_iter()
            .enumerate()
            .map(|(i, inv)| (format!("req-{i}"), inv))
            .collect::<VecDeque<_>>(),
    ));
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, Outcome)>();
    let server = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let queue = queue.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let _ = serve(stream, queue, tx).await;
            });
        }
    });

    let mut cmd = tokio::process::Command::new(bin);
    cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env(
            "AWS_LAMBDA_FUNCTION_NAME",
            bin.file_name().and_then(|n| n.to_str()).unwrap_or("function"),
        )
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "local")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            server.abort();
            let why = format!("cannot start {}: {e}", bin.display());
            return (vec![Outcome::ProcessExited(None, why.clone()); expected], why);
        }
    };
    let stderr = Arc::new(Mutex::new(String::new()));
    let stderr_task = child.stderr.take().map(|pipe| {
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(pipe).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        })
    });

    let mut outcomes: Vec<Option<Outcome>> = vec![None; expected];
    let mut received = 0;
    let mut exit: Option<Option<ExitStatus>> = None;
    while received < expected && exit.is_none() {
        tokio::select! {
            got = rx.recv() => match got {
                Some((id, outcome)) => {
                    if let Some(slot) = id.strip_prefix("req-").and_then(|i| i.parse::<usize>().ok()).and_then(|i| outcomes.get_mut(i)) {
                        if slot.is_none() { received += 1; }
                        *slot = Some(outcome);
                    } else if id == "init" {
                        // An init error answers every invocation still waiting.
                        for slot in outcomes.iter_mut().filter(|s| s.is_none()) {
                            *slot = Some(outcome.clone());
                            received += 1;
                        }
                    }
                }
                None => break,
            },
            status = child.wait() => exit = Some(status.ok()),
            _ = tokio::time::sleep(Duration::from_secs(60)) => break,
        }
    }
    if exit.is_none() {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    if let Some(task) = stderr_task {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    server.abort();
    let stderr_text = stderr.lock().map(|s| s.clone()).unwrap_or_default();
    let outcomes = outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::ProcessExited(exit.flatten(), stderr_text.clone())))
        .collect();
    (outcomes, stderr_text)
}

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn serve(
    stream: TcpStream,
    queue: Arc<Mutex<VecDeque<(String, Invocation)>>>,
    tx: mpsc::UnboundedSender<(String, Outcome)>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some(req) = read_request(&mut reader).await? {
        if req.method == "GET" && req.path.ends_with("/runtime/invocation/next") {
            let next = queue.lock().ok().and_then(|mut q| q.pop_front());
            let Some((id, inv)) = next else {
                // Lambda holds `next` until there is work: never answer.
                std::future::pending::<()>().await;
                return Ok(());
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 30_000)
                .unwrap_or_default();
            let body = inv.event.to_string();
            let mut head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Lambda-Runtime-Aws-Request-Id: {id}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:local\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000;Sampled=0\r\n",
                body.len()
            );
            if let Some(cc) = &inv.client_context {
                head.push_str(&format!("Lambda-Runtime-Client-Context: {cc}\r\n"));
            }
            if let Some(identity) = &inv.cognito_identity {
                head.push_str(&format!("Lambda-Runtime-Cognito-Identity: {identity}\r\n"));
            }
            head.push_str("\r\n");
            write.write_all(head.as_bytes()).await?;
            write.write_all(body.as_bytes()).await?;
        } else if req.method == "POST" {
            let parts: Vec<&str> = req.path.trim_matches('/').split('/').collect();
            let value: Value = serde_json::from_slice(&req.body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&req.body).into_owned()));
            match parts.as_slice() {
                [_, "runtime", "invocation", id, "response"] => {
                    let _ = tx.send((id.to_string(), Outcome::Response(value)));
                }
                [_, "runtime", "invocation", id, "error"] => {
                    let _ = tx.send((id.to_string(), Outcome::Error(value)));
                }
                [_, "runtime", "init", "error"] => {
                    let _ = tx.send(("init".to_string(), Outcome::Error(value)));
                }
                _ => {}
            }
            write
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n")
                .await?;
        } else {
            write
                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
                .await?;
        }
    }
    Ok(())
}

async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> std::io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut content_length = 0usize;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).await? == 0 {
            return Ok(None);
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "content-length" {
                content_length = v.parse().unwrap_or(0);
            } else if k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked") {
                chunked = true;
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).await?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            let mut chunk = vec![0u8; n + 2];
            reader.read_exact(&mut chunk).await?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if content_length > 0 {
        body.resize(content_length, 0);
        reader.read_exact(&mut body).await?;
    }
    Ok(Some(Request { method, path, body }))
}
