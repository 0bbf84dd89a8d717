//! The HTTP/1.1 forwarder between lambda_runtime and the real Runtime API. Requests
//! and bodies are streamed through untouched (response/error POSTs, including
//! chunked streaming responses and their error trailers); only the
//! `Lambda-Runtime-Client-Context` and `Lambda-Runtime-Cognito-Identity` headers of
//! `invocation/next` responses are rewritten or removed.

use crate::client_context::{sanitize, Sanitized};
use crate::ShimError;
use bytes::Bytes;
use http::header::{HeaderName, CONNECTION, HOST, UPGRADE};
use http::uri::Authority;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub(crate) const CLIENT_CONTEXT: &str = "lambda-runtime-client-context";
pub(crate) const COGNITO_IDENTITY: &str = "lambda-runtime-cognito-identity";
const NEXT_SUFFIX: &str = "/runtime/invocation/next";

type ProxyBody = Either<Incoming, Full<Bytes>>;

/// A running shim. Dropping the handle leaves the proxy running (the runtime needs it
/// for the life of the process); [`ShimHandle::shutdown`] stops it.
#[derive(Debug)]
pub struct ShimHandle {
    addr: SocketAddr,
    upstream: Authority,
    task: JoinHandle<()>,
}

impl ShimHandle {
    /// Where the proxy listens (127.0.0.1, an ephemeral port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy in `AWS_LAMBDA_RUNTIME_API` form (`host:port`).
    pub fn runtime_api(&self) -> String {
        self.addr.to_string()
    }

    /// The real Runtime API the proxy forwards to.
    pub fn upstream(&self) -> &str {
        self.upstream.as_str()
    }

    /// Stops accepting connections (connections already open are dropped with the task).
    pub fn shutdown(self) {
        self.task.abort();
    }
}

struct Upstream {
    authority: Authority,
    client: Client<HttpConnector, Incoming>,
}

/// Starts a proxy to `upstream` (`host:port`, as in `AWS_LAMBDA_RUNTIME_API`; an
/// `http://` prefix is tolerated) without touching the environment.
pub async fn start(upstream: &str) -> Result<ShimHandle, ShimError> {
    let authority = parse_upstream(upstream)?;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(ShimError::Bind)?;
    let addr = listener.local_addr().map_err(ShimError::Bind)?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let upstream = Arc::new(Upstream {
        authority: authority.clone(),
        client: Client::builder(TokioExecutor::new()).build(connector),
    });
    let task = tokio::spawn(accept_loop(listener, upstream));
    Ok(ShimHandle {
        addr,
        upstream: authority,
        task,
    })
}

fn parse_upstream(raw: &str) -> Result<Authority, ShimError> {
    let trimmed = raw.trim();
    let bare = trimmed
        .strip_prefix("http://")
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    bare.parse::<Authority>()
        .map_err(|e| ShimError::InvalidUpstream(format!("{raw:?}: {e}")))
}

async fn accept_loop(listener: TcpListener, upstream: Arc<Upstream>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Typically EMFILE; back off instead of spinning.
                tracing::warn!(%error, "lambda-shim: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let upstream = upstream.clone();
                async move { Ok::<_, Infallible>(forward(&upstream, req).await) }
            });
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "lambda-shim: connection ended with an error");
            }
        });
    }
}

async fn forward(upstream: &Upstream, req: Request<Incoming>) -> Response<ProxyBody> {
    let is_next = req.uri().path().ends_with(NEXT_SUFFIX);
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match Uri::builder()
        .scheme("http")
        .authority(upstream.authority.clone())
        .path_and_query(path)
        .build()
    {
        Ok(uri) => uri,
        Err(error) => {
            tracing::warn!(%error, "lambda-shim: cannot form the upstream URI");
            return status_only(StatusCode::BAD_REQUEST);
        }
    };
    strip_hop_by_hop(&mut parts.headers);
    // The client sets Host from the upstream URI.
    parts.headers.remove(HOST);
    match upstream.client.request(Request::from_parts(parts, body)).await {
        Ok(response) => {
            let (mut parts, body) = response.into_parts();
            strip_hop_by_hop(&mut parts.headers);
            if is_next {
                sanitize_client_context(&mut parts.headers);
                sanitize_cognito_identity(&mut parts.headers);
            }
            Response::from_parts(parts, Either::Left(body))
        }
        Err(error) => {
            tracing::error!(%error, upstream = %upstream.authority, "lambda-shim: the Runtime API is unreachable");
            status_only(StatusCode::BAD_GATEWAY)
        }
    }
}

/// Rewrites (or removes) `Lambda-Runtime-Client-Context` in place. The runtime reads
/// only the first value; extra values are removed with it.
pub(crate) fn sanitize_client_context(headers: &mut HeaderMap) {
    let Some(raw) = headers.get(CLIENT_CONTEXT).map(|v| v.as_bytes().to_vec()) else {
        return;
    };
    headers.remove(CLIENT_CONTEXT);
    if raw.is_empty() {
        // lambda_runtime reads an empty value as "no client context".
        return;
    }
    match sanitize(&raw) {
        Sanitized::Rewritten(text) => match HeaderValue::from_str(&text) {
            Ok(value) => {
                headers.insert(CLIENT_CONTEXT, value);
            }
            Err(_) => tracing::warn!(
                "lambda-shim: dropped the client context: the repaired value is not a header value"
            ),
        },
        // Never log the header itself: it is caller data.
        Sanitized::Dropped(reason) => tracing::warn!(%reason, "lambda-shim: dropped the client context"),
    }
}

/// Removes a `Lambda-Runtime-Cognito-Identity` the runtime cannot read (see
/// [`crate::cognito_identity`]); a readable one is left as it is.
pub(crate) fn sanitize_cognito_identity(headers: &mut HeaderMap) {
    let readable = headers
        .get(COGNITO_IDENTITY)
        .is_none_or(|value| crate::cognito_identity::readable(value.as_bytes()));
    if !readable {
        headers.remove(COGNITO_IDENTITY);
        // Never log the header itself: it identifies the caller.
        tracing::warn!("lambda-shim: dropped the Cognito identity: lambda_runtime cannot read it");
    }
}

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Transfer-Encoding, TE and Trailer stay: streamed responses declare their error
    // trailers with them, and hyper frames each hop from these headers.
    for name in [
        CONNECTION,
        UPGRADE,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
    ] {
        headers.remove(name);
    }
}

fn status_only(status: StatusCode) -> Response<ProxyBody> {
    let mut response = Response::new(Either::Right(Full::new(Bytes::new())));
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_accepts_the_runtime_api_forms() {
        for raw in [
            "127.0.0.1:9001",
            "http://127.0.0.1:9001",
            "127.0.0.1:9001/",
            " localhost:9001 ",
        ] {
            assert!(parse_upstream(raw).is_ok(), "{raw}");
        }
        for raw in ["", "http://", "a b:1"] {
            assert!(parse_upstream(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn the_header_is_rewritten_removed_or_left_alone() {
        let mut headers = HeaderMap::new();
        headers.insert(
            CLIENT_CONTEXT,
            HeaderValue::from_static(r#"{"client":null,"custom":{"n":5}}"#),
        );
        headers.insert("lambda-runtime-aws-request-id", HeaderValue::from_static("abc"));
        sanitize_client_context(&mut headers);
        assert_eq!(
            headers.get(CLIENT_CONTEXT).map(|v| v.as_bytes()),
            Some(&br#"{"custom":{"n":"5"}}"#[..])
        );
        assert_eq!(
            headers.get("lambda-runtime-aws-request-id").map(|v| v.as_bytes()),
            Some(&b"abc"[..])
        );

        headers.insert(CLIENT_CONTEXT, HeaderValue::from_static("not json"));
        sanitize_client_context(&mut headers);
        assert!(headers.get(CLIENT_CONTEXT).is_none());

        headers.insert(CLIENT_CONTEXT, HeaderValue::from_static(""));
        sanitize_client_context(&mut headers);
        assert!(headers.get(CLIENT_CONTEXT).is_none());

        sanitize_client_context(&mut headers);
        assert!(headers.is_empty() || headers.get(CLIENT_CONTEXT).is_none());
    }

    #[test]
    fn an_unreadable_cognito_identity_is_removed_and_a_readable_one_kept() {
        let good = r#"{"cognitoIdentityId":"us-east-1:1","cognitoIdentityPoolId":"us-east-1:p"}"#;
        let mut headers = HeaderMap::new();
        headers.insert(COGNITO_IDENTITY, HeaderValue::from_static(good));
        sanitize_cognito_identity(&mut headers);
        assert_eq!(
            headers.get(COGNITO_IDENTITY).map(|v| v.as_bytes()),
            Some(good.as_bytes())
        );

        headers.insert(
            COGNITO_IDENTITY,
            HeaderValue::from_static(r#"{"cognitoIdentityId":"a"}"#),
        );
        headers.insert("lambda-runtime-aws-request-id", HeaderValue::from_static("abc"));
        sanitize_cognito_identity(&mut headers);
        assert!(headers.get(COGNITO_IDENTITY).is_none());
        assert_eq!(
            headers.get("lambda-runtime-aws-request-id").map(|v| v.as_bytes()),
            Some(&b"abc"[..])
        );
    }
}
