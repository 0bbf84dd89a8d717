//! An HTTP proxy in front of DynamoDB Local that answers some calls as a struggling
//! DynamoDB would: throttled, half a batch written and the rest handed back as
//! `UnprocessedItems`, or the connection gone (before the call reached the table, or
//! after). A rule decides per call, from the operation and how many calls of it came
//! before. DynamoDB Local does not check request signatures, so a body may be rewritten.
//!
//! Only the client built on [`HttpFaultProxy::endpoint`] sees the faults; the test's own
//! reads, the stream and other tests go to DynamoDB Local directly.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The `__type` DynamoDB answers a throttled call with (HTTP 400).
pub const THROTTLED: &str = "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException";

/// A call as the rule sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// `BatchWriteItem`, `Query`, … (the `X-Amz-Target` header's last part).
    pub operation: &'a str,
    /// How many calls of this operation the proxy saw before this one.
    pub nth: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    Forward,
    /// The connection closes without an answer; the table never sees the call.
    Cut,
    /// The table gets the call, then the connection closes without an answer: it took
    /// effect, and the caller cannot know.
    ForwardThenCut,
    /// HTTP 400 `ProvisionedThroughputExceededException`; the table never sees the call.
    Throttle,
    /// `BatchWriteItem`: the first half of each table's writes is forwarded, the rest
    /// comes back as `UnprocessedItems`.
    Halve,
    /// Forwarded after [`SLOW`]: a slow table, so that every call the client has in
    /// flight is seen in flight.
    Slow,
}

/// How long a [`Fault::Slow`] call waits before it is forwarded.
pub const SLOW: std::time::Duration = std::time::Duration::from_millis(150);

pub type Rule = Box<dyn Fn(&Call<'_>) -> Fault + Send + Sync>;

struct Shared {
    target: SocketAddr,
    rule: Rule,
    calls: Mutex<HashMap<String, usize>>,
    applied: Mutex<HashMap<Fault, usize>>,
    /// Per operation: calls in flight now, and the most seen at once.
    in_flight: Mutex<HashMap<String, (usize, usize)>>,
    /// The number of writes (all tables) of each `BatchWriteItem` call, in arrival order.
    batch_writes: Mutex<Vec<usize>>,
}

/// Counts a call in flight until dropped.
struct InFlight<'a> {
    shared: &'a Shared,
    operation: String,
}

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared, operation: &str) -> InFlight<'a> {
        if let Ok(mut all) = shared.in_flight.lock() {
            let (now, peak) = all.entry(operation.to_string()).or_default();
            *now += 1;
            *peak = (*peak).max(*now);
        }
        InFlight {
            shared,
            operation: operation.to_string(),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut all) = self.shared.in_flight.lock() {
            if let Some((now, _)) = all.get_mut(&self.operation) {
                *now -= 1;
            }
        }
    }
}

/// The connection is closed without an answer.
#[derive(Debug)]
struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection cut by the fault proxy")
    }
}

impl std::error::Error for Cut {}

pub struct HttpFaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl HttpFaultProxy {
    /// A proxy to `target` (DynamoDB Local's `host:port`) applying `rule` to every call.
    pub async fn start(
        target: SocketAddr,
        rule: impl Fn(&Call<'_>) -> Fault + Send + Sync + 'static,
    ) -> std::io::Result<HttpFaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target,
            rule: Box::new(rule),
            calls: Mutex::default(),
            applied: Mutex::default(),
            in_flight: Mutex::default(),
            batch_writes: Mutex::default(),
        });
        let s = shared.clone();
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let s = s.clone();
                        async move { s.handle(req).await }
                    });
                    // A service error closes the connection without an answer (a cut).
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(HttpFaultProxy { addr, shared, accept })
    }

    /// In front of the stack's DynamoDB Local (`AWS_ENDPOINT_URL_DYNAMODB`).
    pub async fn dynamodb(
        rule: impl Fn(&Call<'_>) -> Fault + Send + Sync + 'static,
    ) -> std::io::Result<HttpFaultProxy> {
        let endpoint = crate::stack::var("AWS_ENDPOINT_URL_DYNAMODB");
        let target = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(|e| std::io::Error::other(format!("{endpoint}: {e}")))?;
        Self::start(target, rule).await
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A DynamoDB client that goes through the proxy.
    pub fn client(&self, sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
        let conf = aws_sdk_dynamodb::config::Builder::from(sdk)
            .endpoint_url(self.endpoint())
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }

    /// How many calls got `fault`.
    pub fn applied(&self, fault: Fault) -> usize {
        self.shared
            .applied
            .lock()
            .map(|a| a.get(&fault).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// The most calls of `operation` the proxy had in flight at once.
    pub fn peak_in_flight(&self, operation: &str) -> usize {
        self.shared
            .in_flight
            .lock()
            .map(|c| c.get(operation).map_or(0, |(_, peak)| *peak))
            .unwrap_or(0)
    }

    /// The number of writes each `BatchWriteItem` call carried, in arrival order.
    pub fn batch_writes(&self) -> Vec<usize> {
        self.shared
            .batch_writes
            .lock()
            .map(|w| w.clone())
            .unwrap_or_default()
    }

    /// How many calls of `operation` the proxy saw.
    pub fn calls(&self, operation: &str) -> usize {
        self.shared
            .calls
            .lock()
            .map(|c| c.get(operation).copied().unwrap_or(0))
            .unwrap_or(0)
    }
}

impl Drop for HttpFaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl Shared {
    async fn handle(&self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Cut> {
        let operation = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or_default()
            .to_string();
        let nth = {
            let mut calls = self.calls.lock().map_err(|_| Cut)?;
            let n = calls.entry(operation.clone()).or_default();
            *n += 1;
            *n - 1
        };
        let fault = (self.rule)(&Call {
            operation: &operation,
            nth,
        });
        if let Ok(mut applied) = self.applied.lock() {
            *applied.entry(fault).or_default() += 1;
        }
        let _in_flight = InFlight::enter(self, &operation);
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map_err(|_| Cut)?.to_bytes();
        if operation == "BatchWriteItem" {
            let writes = write_count(&body);
            if let Ok(mut all) = self.batch_writes.lock() {
                all.push(writes);
            }
        }
        match fault {
            Fault::Forward => self.forward(parts, body).await,
            Fault::Cut => Err(Cut),
            Fault::ForwardThenCut => {
                let _ = self.forward(parts, body).await;
                Err(Cut)
            }
            Fault::Throttle => Ok(throttled()),
            Fault::Halve => self.halve(parts, body).await,
            Fault::Slow => {
                tokio::time::sleep(SLOW).await;
                self.forward(parts, body).await
            }
        }
    }

    async fn forward(
        &self,
        mut parts: http::request::Parts,
        body: Bytes,
    ) -> Result<Response<Full<Bytes>>, Cut> {
        // The length follows the (possibly rewritten) body.
        parts.headers.remove(http::header::CONTENT_LENGTH);
        let stream = TcpStream::connect(self.target).await.map_err(|_| Cut)?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| Cut)?;
        tokio::spawn(conn);
        let answer = sender
            .send_request(Request::from_parts(parts, Full::new(body)))
            .await
            .map_err(|_| Cut)?;
        let (mut parts, body) = answer.into_parts();
        let body = body.collect().await.map_err(|_| Cut)?.to_bytes();
        parts.headers.remove(http::header::CONTENT_LENGTH);
        parts.headers.remove(http::header::TRANSFER_ENCODING);
        Ok(Response::from_parts(parts, Full::new(body)))
    }

    /// Forwards the first half of every table's writes; the rest is unprocessed.
    async fn halve(&self, parts: http::request::Parts, body: Bytes) -> Result<Response<Full<Bytes>>, Cut> {
        let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
            return self.forward(parts, body).await;
        };
        let mut rest = serde_json::Map::new();
        if let Some(tables) = request.get_mut("RequestItems").and_then(Value::as_object_mut) {
            for (table, writes) in tables.iter_mut() {
                if let Some(writes) = writes.as_array_mut() {
                    let keep = writes.len().div_ceil(2);
                    let later = writes.split_off(keep);
                    if !later.is_empty() {
                        rest.insert(table.clone(), Value::Array(later));
                    }
                }
            }
        }
        let body = Bytes::from(serde_json::to_vec(&request).map_err(|_| Cut)?);
        let answer = self.forward(parts, body).await?;
        if answer.status() != StatusCode::OK || rest.is_empty() {
            return Ok(answer);
        }
        let (mut parts, body) = answer.into_parts();
        let body = body.collect().await.map_err(|_| Cut)?.to_bytes();
        let mut out: Value = serde_json::from_slice(&body).map_err(|_| Cut)?;
        let unprocessed = out
            .as_object_mut()
            .ok_or(Cut)?
            .entry("UnprocessedItems")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(map) = unprocessed.as_object_mut() {
            map.extend(rest);
        }
        parts.headers.remove("x-amz-crc32"); // the body changed
        let body = serde_json::to_vec(&out).map_err(|_| Cut)?;
        Ok(Response::from_parts(parts, Full::new(Bytes::from(body))))
    }
}

/// The writes of a `BatchWriteItem` body, over all its tables.
fn write_count(body: &[u8]) -> usize {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|b| {
            b.get("RequestItems")
                .and_then(Value::as_object)
                .map(|tables| tables.values().filter_map(Value::as_array).map(Vec::len).sum())
        })
        .unwrap_or(0)
}

fn throttled() -> Response<Full<Bytes>> {
    let body = serde_json::json!({
        "__type": THROTTLED,
        "message": "The level of configured provisioned throughput for the table was exceeded. \
                    Consider increasing your provisioning level with the UpdateTable API.",
    });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    response
}
