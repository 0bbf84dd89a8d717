//! `devstack api` for the vendor API's end-to-end tests: one server per test binary,
//! spoken to with curl (a real HTTP client, as a vendor would), and rows seeded
//! straight into `upload_history` where a test needs many uploads.

use crate::runtime_api::binary;
use crate::stack::load_env;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A running `devstack api`. Its standard input is held open for the life of the test
/// process: when the process ends, the pipe closes and the server stops
/// (`--exit-with-stdin`), so no run leaves one behind.
pub struct ApiServer {
    pub url: String,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

static SERVER: OnceLock<ApiServer> = OnceLock::new();

/// The test binary's server (started on first use, on a free port).
pub fn server() -> &'static ApiServer {
    SERVER.get_or_init(|| ApiServer::start().unwrap_or_else(|e| panic!("devstack api: {e}")))
}

impl ApiServer {
    fn start() -> anyhow::Result<ApiServer> {
        load_env();
        let bin = binary("devstack", "devstack");
        let mut child = Command::new(bin)
            .args(["api", "--port", "0", "--exit-with-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdin = child.stdin.take().ok_or_else(|| anyhow::anyhow!("no stdin"))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow::anyhow!("no stderr"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        let log = crate::stack::env_file()
            .with_file_name("log")
            .join("devstack-api-tests.log");
        // Reads the banner, then keeps draining the log so the server never blocks on it.
        std::thread::spawn(move || {
            let mut sink = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .ok();
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        let _ = tx.send(url.trim().to_string());
                        sent = true;
                    }
                }
                if let Some(f) = sink.as_mut() {
                    use std::io::Write;
                    let _ = writeln!(f, "{line}");
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(120))
            .map_err(|_| anyhow::anyhow!("no `listening on` line within 120 s"))?;
        Ok(ApiServer {
            url,
            _child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        })
    }
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `error.code` of a JSON error answer.
    pub fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }
}

/// `curl -s -i` and its answer, parsed. `args` go before the URL.
pub async fn curl(args: &[&str], url: &str) -> Reply {
    let out = tokio::process::Command::new("curl")
        .args(["-s", "-S", "-i", "--max-time", "60"])
        .args(args)
        .arg(url)
        .output()
        .await
        .unwrap_or_else(|e| panic!("curl: {e}"));
    assert!(
        out.status.success(),
        "curl {args:?} {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&String::from_utf8_lossy(&out.stdout))
}

fn parse(raw: &str) -> Reply {
    // With -L several header blocks precede the body: the last one is the answer's.
    let mut rest = raw;
    let mut head = "";
    while rest.starts_with("HTTP/") {
        let Some((h, b)) = rest.split_once("\r\n\r\n") else {
            break;
        };
        head = h;
        rest = b;
    }
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Reply {
        status,
        headers,
        body: serde_json::from_str(rest).unwrap_or(Value::Null),
        text: rest.to_string(),
    }
}

/// A vendor's client: a bearer token of the local identity provider.
pub struct Vendor {
    pub id: String,
    pub token: String,
}

impl Vendor {
    pub fn new(id: &str) -> Vendor {
        load_env();
        Vendor {
            id: id.to_string(),
            token: devstack::token::run(Some(id.to_string()), None, 3600)
                .unwrap_or_else(|e| panic!("token: {e}")),
        }
    }

    fn auth(&self) -> String {
        format!("Authorization: Bearer {}", self.token)
    }

    pub async fn get(&self, path_and_query: &str) -> Reply {
        curl(
            &["-H", &self.auth()],
            &format!("{}{path_and_query}", server().url),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &str) -> Reply {
        curl(
            &[
                "-X",
                "POST",
                "-H",
                &self.auth(),
                "-H",
                "content-type: application/json",
                "--data-binary",
                body,
            ],
            &format!("{}{path}", server().url),
        )
        .await
    }

    /// Every upload of a listing, following next_token to the end.
    pub async fn all_uploads(&self, query: &str) -> (Vec<Value>, usize) {
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut next: Option<String> = None;
        loop {
            let mut q = query.to_string();
            if let Some(t) = &next {
                q.push_str(&format!("&next_token={t}"));
            }
            let page = self.get(&format!("/uploads?{q}")).await;
            assert_eq!(page.status, 200, "{}", page.text);
            pages += 1;
            seen.extend(page.body["uploads"].as_array().cloned().unwrap_or_default());
            match page.body["next_token"].as_str() {
                Some(t) => next = Some(t.to_string()),
                None => return (seen, pages),
            }
        }
    }

    /// Waits until the upload named `file_name` is listed and final.
    pub async fn wait_final(&self, file_name: &str, timeout: Duration) -> Value {
        let started = Instant::now();
        loop {
            let (uploads, _) = self.all_uploads("limit=100").await;
            if let Some(u) = uploads
                .iter()
                .find(|u| u["file_name"] == file_name && u["status"] != "processing")
            {
                return u.clone();
            }
            assert!(
                started.elapsed() < timeout,
                "{file_name} not final within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The presigned PUT of a `POST /uploads` answer, made with curl: the signed headers,
/// then the body.
pub async fn put(answer: &Value, body: &std::path::Path) -> Reply {
    let mut args: Vec<String> = vec!["-X".into(), "PUT".into()];
    for (k, v) in answer["headers"].as_object().into_iter().flatten() {
        // curl sets Content-Length from the body itself.
        if k != "content-length" {
            args.push("-H".into());
            args.push(format!("{k}: {}", v.as_str().unwrap_or_default()));
        }
    }
    args.push("--data-binary".into());
    args.push(format!("@{}", body.display()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    curl(&refs, answer["upload_url"].as_str().unwrap_or_default()).await
}

/// `upload_history` rows of a vendor, straight into PostgreSQL: `(upload_id, status,
/// upload_timestamp)`; final ones complete with counts consistent with the status.
pub async fn seed_history(
    db: &tokio_postgres::Client,
    vendor: &str,
    rows: &[(String, &str, chrono::DateTime<chrono::Utc>)],
) {
    for (id, status, at) in rows {
        let (total, valid, errors, report) = match *status {
            "completed" => (3, 3, 0, None),
            "partial" => (3, 2, 1, Some(format!("reports/{vendor}/{id}.csv"))),
            "failed" => (0, 0, 0, Some(format!("reports/{vendor}/{id}.csv"))),
            _ => (3, 1, 0, None),
        };
        let done = (*status != "processing").then_some(*at);
        db.execute(
            "INSERT INTO upload_history (upload_id, vendor_id, file_name, s3_key, total_records, valid_records,
                 error_records, status, error_file_s3_key, upload_timestamp, processing_started_at,
                 processing_completed_at, notification_published_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $11)",
            &[
                id,
                &vendor,
                &format!("{id}.csv"),
                &format!("uploads/{vendor}/{id}.csv"),
                &total,
                &valid,
                &errors,
                status,
                &report,
                at,
                &done,
            ],
        )
        .await
        .unwrap_or_else(|e| panic!("seeding {id}: {e}"));
    }
}
