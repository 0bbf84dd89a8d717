//! The shim between a client and a fake Runtime API: `invocation/next` comes back with
//! a repaired client context, everything else (other headers, bodies, chunked
//! streaming POSTs with their error trailers) passes through byte for byte.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Channel, Empty, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const EVENT: &str = r#"{"tenant_id":"t","product_id":1}"#;

/// What the fake Runtime API received on a POST.
#[derive(Debug, Clone)]
struct Posted {
    path: String,
    headers: HeaderMap,
    body: Bytes,
    trailers: Option<HeaderMap>,
}

/// A fake Runtime API: `next` answers with `EVENT` and `client_context` (raw bytes,
/// as sent on the wire); every POST is recorded and answered 202.
async fn fake_runtime_api(client_context: Option<&'static [u8]>) -> (SocketAddr, Arc<Mutex<Vec<Posted>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let posted = Arc::new(Mutex::new(Vec::new()));
    let sink = posted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let sink = sink.clone();
                    async move { Ok::<_, Infallible>(answer(req, client_context, &sink).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, posted)
}

async fn answer(
    req: Request<Incoming>,
    client_context: Option<&'static [u8]>,
    sink: &Mutex<Vec<Posted>>,
) -> Response<Full<Bytes>> {
    let mut response = Response::builder()
        .header("lambda-runtime-aws-request-id", "req-1")
        .header("lambda-runtime-deadline-ms", "1700000000000")
        .header(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:0:function:f",
        );
    if let Some(cc) = client_context {
        response = response.header(
            "lambda-runtime-client-context",
            HeaderValue::from_bytes(cc).expect("test header"),
        );
    }
    if req.method() == Method::GET {
        return response
            .body(Full::new(Bytes::from_static(EVENT.as_bytes())))
            .expect("response");
    }
    let path = req.uri().path().to_string();
    let headers = req.headers().clone();
    let collected = req.into_body().collect().await.expect("request body");
    let trailers = collected.trailers().cloned();
    sink.lock().expect("lock").push(Posted {
        path,
        headers,
        body: collected.to_bytes(),
        trailers,
    });
    response
        .status(StatusCode::ACCEPTED)
        .body(Full::new(Bytes::from_static(b"{\"status\":\"OK\"}")))
        .expect("response")
}

async fn next_through_shim(client_context: Option<&'static [u8]>) -> (HeaderMap, Bytes) {
    let (upstream, _) = fake_runtime_api(client_context).await;
    let shim = lambda_shim::start(&upstream.to_string()).await.expect("shim");
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let uri = format!("http://{}{NEXT}", shim.runtime_api());
    let response = client.get(uri.parse().expect("uri")).await.expect("next");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    shim.shutdown();
    (headers, body)
}

fn client_context(headers: &HeaderMap) -> Option<&[u8]> {
    headers
        .get("lambda-runtime-client-context")
        .map(HeaderValue::as_bytes)
}

#[tokio::test]
async fn next_carries_a_repaired_client_context_and_everything_else_unchanged() {
    let (headers, body) = next_through_shim(Some(
        br#"{"client":null,"custom":{"bedrockAgentCoreToolName":"reviews___search_reviews","n":5,"x":null}}"#,
    ))
    .await;
    assert_eq!(
        client_context(&headers),
        Some(&br#"{"custom":{"bedrockAgentCoreToolName":"reviews___search_reviews","n":"5"}}"#[..])
    );
    assert_eq!(body, EVENT.as_bytes());
    assert_eq!(
        headers
            .get("lambda-runtime-aws-request-id")
            .map(HeaderValue::as_bytes),
        Some(&b"req-1"[..])
    );
    assert_eq!(
        headers
            .get("lambda-runtime-deadline-ms")
            .map(HeaderValue::as_bytes),
        Some(&b"1700000000000"[..])
    );
    assert_eq!(
        headers
            .get("lambda-runtime-invoked-function-arn")
            .map(HeaderValue::as_bytes),
        Some(&b"arn:aws:lambda:us-east-1:0:function:f"[..])
    );
}

#[tokio::test]
async fn next_escapes_non_ascii_and_drops_what_is_not_json() {
    let (headers, _) = next_through_shim(Some("{\"custom\":{\"note\":\"café\"}}".as_bytes())).await;
    assert_eq!(
        client_context(&headers),
        Some(&br#"{"custom":{"note":"caf\u00e9"}}"#[..])
    );

    let (headers, body) = next_through_shim(Some(b"eyJjdXN0b20iOnt9fQ==")).await;
    assert_eq!(client_context(&headers), None);
    assert_eq!(
        headers
            .get("lambda-runtime-aws-request-id")
            .map(HeaderValue::as_bytes),
        Some(&b"req-1"[..])
    );
    assert_eq!(body, EVENT.as_bytes());

    let (headers, _) = next_through_shim(None).await;
    assert_eq!(client_context(&headers), None);
}

#[tokio::test]
async fn posts_pass_through_byte_for_byte() {
    let (upstream, posted) = fake_runtime_api(Some(b"{\"client\":null}")).await;
    let shim = lambda_shim::start(&upstream.to_string()).await.expect("shim");
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let body = Bytes::from_static("{\"reviews\":[],\"note\":\"naïve\",\"n\":5}".as_bytes());
    let request = Request::post(format!(
        "http://{}/2018-06-01/runtime/invocation/req-1/response",
        shim.runtime_api()
    ))
    .header("content-type", "application/json")
    .header("lambda-runtime-client-context", "{\"client\":null}")
    .body(Full::new(body.clone()))
    .expect("request");
    let response = client.request(request).await.expect("post");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    // Only `next` is rewritten: the same header on another response is left alone.
    assert_eq!(
        client_context(response.headers()),
        Some(&b"{\"client\":null}"[..])
    );
    let answer = response.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(answer, &b"{\"status\":\"OK\"}"[..]);

    let got = posted.lock().expect("lock").clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].path, "/2018-06-01/runtime/invocation/req-1/response");
    assert_eq!(got[0].body, body);
    assert_eq!(
        got[0].headers.get("content-type").map(HeaderValue::as_bytes),
        Some(&b"application/json"[..])
    );
    assert_eq!(
        got[0]
            .headers
            .get("lambda-runtime-client-context")
            .map(HeaderValue::as_bytes),
        Some(&b"{\"client\":null}"[..])
    );
    assert_eq!(
        got[0].headers.get("host").map(HeaderValue::as_bytes),
        Some(upstream.to_string().as_bytes())
    );
    shim.shutdown();
}

#[tokio::test]
async fn a_streamed_response_keeps_its_chunks_and_error_trailers() {
    let (upstream, posted) = fake_runtime_api(None).await;
    let shim = lambda_shim::start(&upstream.to_string()).await.expect("shim");
    let client = Client::builder(TokioExecutor::new()).build_http::<Channel<Bytes>>();
    let (mut tx, body) = Channel::<Bytes>::new(4);
    // As lambda_runtime streams: chunked, with the error trailers declared up front.
    let request = Request::post(format!(
        "http://{}/2018-06-01/runtime/invocation/req-1/response",
        shim.runtime_api()
    ))
    .header("lambda-runtime-function-response-mode", "streaming")
    .header("transfer-encoding", "chunked")
    .header("trailer", "Lambda-Runtime-Function-Error-Type")
    .header("trailer", "Lambda-Runtime-Function-Error-Body")
    .body(body)
    .expect("request");
    let sender = tokio::spawn(async move {
        tx.send_data(Bytes::from_static(b"first,")).await.expect("chunk");
        tx.send_data(Bytes::from_static(b"second")).await.expect("chunk");
        let mut trailers = HeaderMap::new();
        trailers.insert(
            "lambda-runtime-function-error-type",
            HeaderValue::from_static("Runtime.StreamError"),
        );
        trailers.insert(
            "lambda-runtime-function-error-body",
            HeaderValue::from_static("Ym9vbQ=="),
        );
        tx.send_trailers(trailers).await.expect("trailers");
    });
    let response = client.request(request).await.expect("post");
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    sender.await.expect("sender");

    let got = posted.lock().expect("lock").clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].body, &b"first,second"[..]);
    assert_eq!(
        got[0]
            .headers
            .get("lambda-runtime-function-response-mode")
            .map(HeaderValue::as_bytes),
        Some(&b"streaming"[..])
    );
    let trailers = got[0].trailers.clone().unwrap_or_default();
    assert_eq!(
        trailers
            .get("lambda-runtime-function-error-type")
            .map(HeaderValue::as_bytes),
        Some(&b"Runtime.StreamError"[..]),
        "{got:?}"
    );
    assert_eq!(
        trailers
            .get("lambda-runtime-function-error-body")
            .map(HeaderValue::as_bytes),
        Some(&b"Ym9vbQ=="[..])
    );
    shim.shutdown();
}

#[tokio::test]
async fn an_unreachable_runtime_api_is_a_bad_gateway() {
    let closed = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = closed.local_addr().expect("addr");
    drop(closed);
    let shim = lambda_shim::start(&addr.to_string()).await.expect("shim");
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let response = client
        .get(
            format!("http://{}{NEXT}", shim.runtime_api())
                .parse()
                .expect("uri"),
        )
        .await
        .expect("the shim answers");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    shim.shutdown();
}
