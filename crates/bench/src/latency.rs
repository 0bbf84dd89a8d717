//! 8. Tool and API latency: p50/p99 of every agent tool call through `devstack gateway`
//!    (MCP over HTTP: the JWT authorizer, the interceptor, the tool's function) and of
//!    every vendor-API route through `devstack api` (the JWT authorizer, the payload 2.0
//!    event, the function), each beside what the same endpoint costs with no function
//!    behind it. Both endpoints are the built `devstack` binary, spoken to over one
//!    keep-alive HTTP/1.1 connection, one request at a time.

use crate::report::{Line, Section};
use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use serde_json::{json, Value};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Timed calls per measure (after [`WARMUP`] untimed ones): p99 is the 3rd slowest.
const CALLS: usize = 300;
const WARMUP: usize = 20;
const TENANT: &str = "tenanta";
const VENDOR: &str = "VEND002";

/// The agent tools with arguments that find something (the seed data `make up` loads).
fn tool_calls() -> Vec<(&'static str, Value)> {
    vec![
        ("get_product_reviews", json!({"product_id": 1, "limit": 3})),
        ("search_reviews", json!({"min_rating": 4, "limit": 5})),
        (
            "check_warranty_status",
            json!({"serial_number": "LAPTOP0012345", "customer_email": "John.Smith@example.com"}),
        ),
        ("get_customer_profile", json!({"email": "wei.chen@example.com"})),
        (
            "update_customer_profile",
            json!({"customer_id": "CUST002", "notes": "Prefers e-mail contact (make bench)"}),
        ),
    ]
}

pub async fn run(stack: &devstack::upload::Stack) -> anyhow::Result<Section> {
    // One finished upload with errors, for the API's upload, errors and report routes.
    let body = crate::gen::csv_bytes(&format!("LAT{}", chrono::Utc::now().timestamp_micros()), 200, 10);
    let history = stack
        .upload(
            VENDOR,
            &format!("latency-{}.csv", chrono::Utc::now().timestamp_micros()),
            body,
            false,
        )
        .await?;
    let upload_id = history["upload_id"]
        .as_str()
        .context("the upload's history has no upload_id")?
        .to_string();

    let mut s = Section::new("8", "Tool and API latency p50/p99");
    let gateway = Endpoint::start(&["gateway", "--port", "0"]).await?;
    tools(&mut s, &gateway).await?;
    let api = Endpoint::start(&["api", "--port", "0", "--exit-with-stdin"]).await?;
    routes(&mut s, &api, &upload_id).await?;
    s.note(format!(
        "{CALLS} timed calls per line after {WARMUP} untimed, one at a time over one \
         keep-alive connection to the built `devstack` binary (release), which runs the \
         functions in-process; p99 is the 3rd slowest of {CALLS}. Nothing else runs meanwhile."
    ));
    s.note(
        "Baseline: the same endpoint answering with no function behind it (the harness's \
         floor, standing in for a hello-world function: in devstack a function is an \
         in-process call, so a hello-world one would add next to nothing). For the \
         gateway, MCP `ping` (authorizer, interceptor and MCP transport, answered by the \
         gateway itself); for the API, `GET /uploads` with an expired token (routing, the \
         JWT authorizer, a 401 before any function).",
    );
    Ok(s)
}

async fn tools(s: &mut Section, gateway: &Endpoint) -> anyhow::Result<()> {
    let token = devstack::token::run(None, Some(TENANT.into()), 3_600)?;
    let mut client = Client::connect(&gateway.base).await?;
    // Stateless: every request stands alone, so one id serves them all.
    let rpc = |method: &str, params: Value| {
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string()
    };
    let listed = client
        .call("POST", "/mcp", &token, Some(&rpc("tools/list", json!({}))))
        .await?;
    let names: Vec<String> = serde_json::from_slice::<Value>(&listed.1)?["result"]["tools"]
        .as_array()
        .context("tools/list answered no tools")?
        .iter()
        .filter_map(|t| t["name"].as_str().map(str::to_string))
        .collect();

    let ping = rpc("ping", json!({}));
    let floor = timed(&mut client, ("POST", "/mcp", &token, Some(&ping)), expect_rpc).await?;
    s.line(Line::new("gateway floor: MCP ping, p50", floor.p50, "ms"));
    s.line(Line::new("gateway floor: MCP ping, p99", floor.p99, "ms"));
    for (tool, arguments) in tool_calls() {
        let full = names
            .iter()
            .find(|n| n.ends_with(&format!("___{tool}")))
            .with_context(|| format!("tools/list has no {tool}: {names:?}"))?
            .clone();
        let call = rpc("tools/call", json!({"name": full, "arguments": arguments}));
        let t = timed(&mut client, ("POST", "/mcp", &token, Some(&call)), expect_rpc).await?;
        quantiles(s, &format!("tool {tool}"), &t, &floor, "ping");
    }
    Ok(())
}

async fn routes(s: &mut Section, api: &Endpoint, upload_id: &str) -> anyhow::Result<()> {
    let token = devstack::token::run(Some(VENDOR.into()), None, 3_600)?;
    let expired = devstack::token::run(Some(VENDOR.into()), None, 0)?;
    let mut client = Client::connect(&api.base).await?;
    let floor = timed(&mut client, ("GET", "/uploads", &expired, None), |a| {
        expect_status(a, 401)
    })
    .await?;
    s.line(Line::new(
        "API floor: 401 from the authorizer, p50",
        floor.p50,
        "ms",
    ));
    s.line(Line::new(
        "API floor: 401 from the authorizer, p99",
        floor.p99,
        "ms",
    ));
    let create = json!({"file_name": "bench.csv", "content_length": 1_000}).to_string();
    let routes: [(&str, &str, String, Option<&str>, u16); 5] = [
        ("POST /uploads", "POST", "/uploads".into(), Some(&create), 201),
        ("GET /uploads", "GET", "/uploads?limit=20".into(), None, 200),
        (
            "GET /uploads/{id}",
            "GET",
            format!("/uploads/{upload_id}"),
            None,
            200,
        ),
        (
            "GET /uploads/{id}/errors",
            "GET",
            format!("/uploads/{upload_id}/errors"),
            None,
            200,
        ),
        (
            "GET /uploads/{id}/report",
            "GET",
            format!("/uploads/{upload_id}/report"),
            None,
            302,
        ),
    ];
    for (name, method, path, body, status) in routes {
        let t = timed(&mut client, (method, &path, &token, body), |a| {
            expect_status(a, status)
        })
        .await?;
        quantiles(s, &format!("route {name}"), &t, &floor, "401");
    }
    Ok(())
}

fn quantiles(s: &mut Section, what: &str, t: &Quantiles, floor: &Quantiles, floor_name: &str) {
    s.line(Line::new(format!("{what}, p50"), t.p50, "ms").vs(
        format!("{floor_name} p50"),
        floor.p50,
        t.p50 / floor.p50,
    ));
    s.line(Line::new(format!("{what}, p99"), t.p99, "ms").vs(
        format!("{floor_name} p99"),
        floor.p99,
        t.p99 / floor.p99,
    ));
}

struct Quantiles {
    p50: f64,
    p99: f64,
}

/// A request: method, path, bearer token, body.
type Request<'a> = (&'a str, &'a str, &'a str, Option<&'a str>);

/// [`WARMUP`] untimed calls, then [`CALLS`] timed ones, each answer checked: p50 and
/// p99 in milliseconds.
async fn timed(
    client: &mut Client,
    (method, path, token, body): Request<'_>,
    check: impl Fn((u16, Bytes)) -> anyhow::Result<()>,
) -> anyhow::Result<Quantiles> {
    for _ in 0..WARMUP {
        check(client.call(method, path, token, body).await?)?;
    }
    let mut ms = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let start = Instant::now();
        let answer = client.call(method, path, token, body).await?;
        ms.push(start.elapsed().as_secs_f64() * 1_000.0);
        check(answer)?;
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((q * CALLS as f64).ceil() as usize).clamp(1, CALLS) - 1];
    Ok(Quantiles {
        p50: at(0.50),
        p99: at(0.99),
    })
}

/// A JSON-RPC answer with a result (a tool's business error would be `isError`).
fn expect_rpc((status, body): (u16, Bytes)) -> anyhow::Result<()> {
    let answer: Value = serde_json::from_slice(&body)
        .with_context(|| format!("HTTP {status}: {}", String::from_utf8_lossy(&body)))?;
    if status != 200 || answer.get("result").is_none() || answer["result"]["isError"] == true {
        bail!("HTTP {status}: {answer}");
    }
    Ok(())
}

fn expect_status((status, body): (u16, Bytes), want: u16) -> anyhow::Result<()> {
    if status != want {
        bail!(
            "HTTP {status} (expected {want}): {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(())
}

/// `devstack gateway` or `devstack api`, started from the binary beside this one.
struct Endpoint {
    _child: Child,
    /// `http://127.0.0.1:PORT`.
    base: String,
}

impl Endpoint {
    async fn start(args: &[&str]) -> anyhow::Result<Endpoint> {
        let exe = std::env::current_exe()?.with_file_name("devstack");
        if !exe.exists() {
            bail!("{} is missing (`make bench` builds it)", exe.display());
        }
        let mut child = Command::new(&exe)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let mut lines = BufReader::new(child.stderr.take().context("no stderr")?).lines();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("listening on ") {
                    return Ok(url.trim().to_string());
                }
            }
            bail!("devstack {} ended before listening", args.join(" "))
        })
        .await
        .context("no `listening on` within 60 s")??;
        // Keep reading its log, so that it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Endpoint { _child: child, base })
    }
}

/// One keep-alive HTTP/1.1 connection.
struct Client {
    send: SendRequest<Full<Bytes>>,
    host: String,
}

impl Client {
    async fn connect(base: &str) -> anyhow::Result<Client> {
        let host = base
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let stream = tokio::net::TcpStream::connect(&host).await?;
        stream.set_nodelay(true)?;
        let (send, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Client { send, host })
    }

    async fn call(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&str>,
    ) -> anyhow::Result<(u16, Bytes)> {
        let request = http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(Full::new(Bytes::from(body.unwrap_or_default().to_string())))?;
        self.send.ready().await?;
        let response = self.send.send_request(request).await?;
        let status = response.status().as_u16();
        Ok((status, response.into_body().collect().await?.to_bytes()))
    }
}
