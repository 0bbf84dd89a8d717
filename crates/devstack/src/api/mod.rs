//! `devstack api [--port 8788]`: the vendor API on the laptop, as API Gateway serves it.
//!
//! Each request is matched to a route of the template, its bearer token verified the
//! way the HTTP API's JWT authorizer verifies it (signature, issuer, audience,
//! expiry, with the local identity provider of `devstack token`), and the function is
//! invoked in-process with the payload 2.0 event API Gateway sends. Beside it, the
//! bucket notification is emulated (`s3_events`): a file PUT through an upload URL it
//! issued is processed end to end with no further command. Runs until stopped.

pub mod gateway;
pub mod issued;
pub mod s3_events;

use crate::jwt::Jwt;
use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;

pub const DEFAULT_PORT: u16 = 8788;
/// API Gateway's request payload limit (HTTP APIs accept up to 10 MB).
const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// What every request needs, built once.
struct Front {
    function: vendor_api::Wiring,
    jwt: Jwt,
    requests: AtomicU64,
}

impl Front {
    async fn serve(&self, request: http::Request<Incoming>, peer: SocketAddr) -> http::Response<Vec<u8>> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let request_id = format!("devstack-{:x}-{n}", chrono::Utc::now().timestamp_millis());
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_string();
        // The body is read before any answer, refusals included: an HTTP/1.1 connection
        // whose request body is left unread is closed under a client that reuses it.
        let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return gateway::plain(413, "Request Entity Too Large", &request_id),
        };
        let Some(route) = gateway::match_route(&parts.method, &path) else {
            return gateway::plain(404, "Not Found", &request_id);
        };
        let authorization = parts.headers.get("authorization").and_then(|v| v.to_str().ok());
        let claims = match gateway::token_of(authorization)
            .and_then(|token| self.jwt.verify(token, &self.jwt.vendor_audience))
        {
            Ok(claims) => claims,
            Err(refusal) => {
                tracing::info!(route = route.key, reason = %refusal, "401 from the JWT authorizer");
                return gateway::unauthorized(&refusal, &request_id);
            }
        };
        let incoming = gateway::Incoming {
            method: &parts.method,
            path: &path,
            raw_query: parts.uri.query().unwrap_or(""),
            headers: &parts.headers,
            body: &body,
            peer,
            request_id: &request_id,
        };
        let event = gateway::event(&route, &incoming, &claims);
        let lambda_request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "the emulated event does not deserialize");
                return gateway::plain(500, "Internal Server Error", &request_id);
            }
        };
        let answer = gateway::v2_response(&self.function.api().handle(&lambda_request).await);
        if route.key == vendor_api::routes::CREATE_UPLOAD && answer["statusCode"] == 201 {
            self.remember_upload_url(&answer);
        }
        tracing::info!(route = route.key, status = %answer["statusCode"], request_id, "answered");
        gateway::http_response(&answer, &request_id)
    }

    /// The poller honours PUTs through this URL (and checks their length).
    fn remember_upload_url(&self, answer: &serde_json::Value) {
        let issued = answer["body"]
            .as_str()
            .and_then(|b| serde_json::from_str(b).ok())
            .and_then(|b: serde_json::Value| issued::Issued::from_answer(&b));
        match issued.map(|i| issued::record(&i)) {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                tracing::warn!(error = %e, "issued upload URL not recorded; its PUT will not be processed")
            }
            None => tracing::warn!("a 201 from POST /uploads without key, length or expiry"),
        }
    }
}

/// Serves until the process is stopped (or, with `exit_with_stdin`, until standard
/// input closes: a test harness's way to never leave one behind).
pub async fn run(port: u16, exit_with_stdin: bool) -> anyhow::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("binding 127.0.0.1:{port}"))?;
    let port = listener.local_addr()?.port();
    let url = format!("http://127.0.0.1:{port}");
    // Notifications of uploads this process runs link their report to this server.
    std::env::set_var(adapters::config::VENDOR_API_URL, &url);

    let front = Arc::new(Front {
        function: vendor_api::Wiring::from_env().await?,
        jwt: Jwt::from_source(&adapters::config::ProcessEnv)?,
        requests: AtomicU64::new(0),
    });
    let settings = crate::vendor_loop::VendorLoopSettings::from_env()?;
    let sdk = adapters::aws::sdk_config().await;
    let sqs = crate::vendor_loop::sqs(&sdk);
    let poller = s3_events::Poller {
        queue_url: crate::vendor_loop::queue_url(&sqs, &settings.upload_events_queue).await?,
        stack: crate::upload::Stack::from_env().await?,
        sqs,
    };
    if exit_with_stdin {
        std::thread::spawn(|| {
            let mut sink = std::io::sink();
            let _ = std::io::copy(&mut std::io::stdin(), &mut sink);
            std::process::exit(0);
        });
    }
    tokio::spawn(poller.run());
    eprintln!("listening on {url}");

    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let front = front.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let front = front.clone();
                async move {
                    let response = front
                        .serve(request, peer)
                        .await
                        .map(|b| Full::new(Bytes::from(b)));
                    Ok::<_, Infallible>(response)
                }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
}
