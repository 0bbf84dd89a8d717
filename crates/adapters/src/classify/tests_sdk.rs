//! `from_sdk`: one case per kind of SDK error it names, and per reason a service error is
//! transient (a listed code, a 5xx) or not.

use super::*;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;

fn response(status: u16) -> HttpResponse {
    let status = StatusCode::try_from(status).unwrap_or_else(|e| panic!("{e}"));
    HttpResponse::new(status, SdkBody::empty())
}

fn service(code: Option<&str>, status: u16) -> PortError {
    let mut meta = ErrorMetadata::builder().message("the service says no");
    if let Some(code) = code {
        meta = meta.code(code);
    }
    from_sdk("S3", SdkError::service_error(meta.build(), response(status)))
}

fn io() -> Box<dyn std::error::Error + Send + Sync> {
    "connection reset".into()
}

#[test]
fn transport_failures_and_timeouts_are_transient() {
    let dispatch: SdkError<ErrorMetadata, HttpResponse> =
        SdkError::dispatch_failure(ConnectorError::io(io()));
    let timeout: SdkError<ErrorMetadata, HttpResponse> = SdkError::timeout_error(io());
    let response_error: SdkError<ErrorMetadata, HttpResponse> = SdkError::response_error(io(), response(200));
    for err in [dispatch, timeout, response_error] {
        let e = from_sdk("DynamoDB", err);
        assert!(e.is_transient(), "{e}");
        assert!(e.to_string().starts_with("DynamoDB is unavailable"), "{e}");
    }
}

#[test]
fn a_request_that_could_not_be_built_is_permanent() {
    let err: SdkError<ErrorMetadata, HttpResponse> = SdkError::construction_failure(io());
    let e = from_sdk("S3", err);
    assert!(!e.is_transient(), "{e}");
    assert!(e.to_string().starts_with("S3 rejected the request"), "{e}");
}

#[test]
fn every_code_named_transient_is_transient_even_with_a_4xx() {
    for code in TRANSIENT_AWS_CODES {
        assert!(service(Some(code), 400).is_transient(), "{code}");
    }
    // Exact names: a code that only contains one is not one.
    for code in ["ThrottlingExceptionX", "throttlingexception", "Throttl", ""] {
        assert!(!service(Some(code), 400).is_transient(), "{code:?}");
    }
}

#[test]
fn a_5xx_is_transient_whatever_its_code_and_a_4xx_is_not() {
    for status in [500, 502, 503, 504, 599] {
        assert!(service(Some("SomethingNew"), status).is_transient(), "{status}");
        assert!(service(None, status).is_transient(), "{status} without a code");
    }
    for status in [400, 403, 404, 409, 413, 499] {
        let e = service(Some("ValidationException"), status);
        assert!(!e.is_transient(), "{status}");
        assert!(!service(None, status).is_transient(), "{status} without a code");
    }
    for code in [
        "AccessDenied",
        "NoSuchBucket",
        "ResourceNotFoundException",
        "ConditionalCheckFailedException",
    ] {
        assert!(!service(Some(code), 400).is_transient(), "{code}");
    }
}

#[test]
fn the_message_names_the_service_and_the_cause() {
    let e = service(Some("AccessDenied"), 403);
    assert!(e.to_string().starts_with("S3 rejected the request"), "{e}");
    assert!(e.to_string().contains("AccessDenied"), "{e}");
}
