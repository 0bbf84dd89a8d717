//! vendor-api: the vendor's side of the pipeline behind an API Gateway HTTP API
//! (payload 2.0, JWT authorizer), DESIGN.md §7.
//!
//! | route | answer |
//! |---|---|
//! | `POST /uploads` | 201: a presigned PUT for `uploads/{vendor}/{file_name}` |
//! | `GET /uploads` | the vendor's uploads, newest first, paged |
//! | `GET /uploads/{upload_id}` | one upload |
//! | `GET /uploads/{upload_id}/errors` | its errors in row order, paged |
//! | `GET /uploads/{upload_id}/report` | 302 to a fresh presigned GET of its report |
//!
//! The vendor is the verified claim named by `VENDOR_CLAIM`, never a path or body
//! value; another vendor's upload answers exactly like a missing one.

pub mod routes;
mod wiring;

pub use wiring::{InitError, Settings, Wiring, DEFAULT_VENDOR_CLAIM, TOKEN_SECRET_ENV, VENDOR_CLAIM_ENV};

use domain::paging::CursorSigner;
use domain::ports::{UploadHistory, UrlSigner};
use domain::vendor_api::{vendor_from_claim, ApiError};
use domain::PortError;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::Value;
use tracing::Instrument;

/// The API's ports, borrowed for one request.
pub struct VendorApi<'a, H, S> {
    pub history: &'a H,
    pub urls: &'a S,
    pub cursors: &'a CursorSigner,
    pub settings: &'a Settings,
}

/// Why a request did not get its answer: a refusal the vendor can act on, or a fault
/// (logged with its cause, answered 500 without it).
enum Failure {
    Refused(ApiError),
    Fault(PortError),
}

impl From<ApiError> for Failure {
    fn from(e: ApiError) -> Self {
        Failure::Refused(e)
    }
}

impl From<PortError> for Failure {
    fn from(e: PortError) -> Self {
        Failure::Fault(e)
    }
}

type Answer = Result<Response<Body>, Failure>;

/// The matched route, as API Gateway names it (`GET /uploads/{upload_id}`).
fn route_key(request: &Request) -> &str {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.route_key.as_deref().unwrap_or(""),
        _ => "",
    }
}

/// API Gateway's request id, for the log.
fn request_id(request: &Request) -> &str {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.as_deref().unwrap_or(""),
        _ => "",
    }
}

/// The verified claims the JWT authorizer passed on (values are strings).
fn claim<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .and_then(|jwt| jwt.claims.get(name))
            .map(String::as_str),
        _ => None,
    }
}

fn json(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::Text(body.to_string()))
        .unwrap_or_else(|_| Response::new(Body::Text(body.to_string())))
}

impl<H: UploadHistory, S: UrlSigner> VendorApi<'_, H, S> {
    /// Every request gets an answer: a route's, a refusal as `{"error": {...}}`, or a 500
    /// with no detail (the cause is logged).
    pub async fn handle(&self, request: &Request) -> Response<Body> {
        let route = route_key(request).to_string();
        let span = tracing::info_span!(
            "request",
            route = %route,
            vendor_id = tracing::field::Empty,
            request_id = %request_id(request)
        );
        async {
            match self.dispatch(request, &route).await {
                Ok(response) => {
                    tracing::info!(status = response.status().as_u16(), "answered");
                    response
                }
                Err(Failure::Refused(e)) => {
                    tracing::info!(status = e.code.http_status(), code = e.code.as_str(), "refused");
                    json(e.code.http_status(), &e.to_json())
                }
                Err(Failure::Fault(e)) => {
                    tracing::error!(error = %e, transient = e.is_transient(), "request failed");
                    json(500, &ApiError::internal().to_json())
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn dispatch(&self, request: &Request, route: &str) -> Answer {
        if !routes::ALL.contains(&route) {
            return Err(ApiError::not_found("no such route").into());
        }
        let vendor = vendor_from_claim(claim(request, &self.settings.vendor_claim))?;
        tracing::Span::current().record("vendor_id", vendor.as_str());
        let upload_id = request
            .path_parameters_ref()
            .and_then(|p| p.first("upload_id"))
            .unwrap_or_default();
        let param = |name: &str| request.query_string_parameters_ref().and_then(|q| q.first(name));
        match route {
            routes::CREATE_UPLOAD => self.create_upload(&vendor, request.body()).await,
            routes::LIST_UPLOADS => self.list_uploads(&vendor, param).await,
            routes::GET_UPLOAD => self.get_upload(&vendor, upload_id).await,
            routes::LIST_ERRORS => self.list_errors(&vendor, upload_id, param).await,
            _ => self.report(&vendor, upload_id).await,
        }
    }
}

/// The body as JSON, `None` when it is absent or not JSON.
fn body_json(body: &Body) -> Option<Value> {
    match body {
        Body::Empty => None,
        Body::Text(text) => serde_json::from_str(text).ok(),
        Body::Binary(bytes) => serde_json::from_slice(bytes).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
