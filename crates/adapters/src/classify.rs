//! The one place that decides whether a failure of the AWS SDK or PostgreSQL is worth
//! retrying: transient failures become `PortError::Unavailable` (the event source
//! redelivers), everything else `PortError::Rejected`.

#[cfg(feature = "aws")]
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
#[cfg(feature = "aws")]
use aws_smithy_runtime_api::client::result::SdkError;
#[cfg(feature = "aws")]
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use domain::PortError;

#[cfg(feature = "aws")]
/// AWS error codes that mean "later", whatever the service.
const TRANSIENT_AWS_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "TransactionConflictException",
    "TransactionInProgressException",
    "InternalServerError",
    "InternalFailure",
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeoutException",
    "LimitExceededException",
];

#[cfg(feature = "aws")]
/// Classifies any AWS SDK error: transport failures, timeouts, 5xx and throttling are
/// transient; everything else (validation, access denied, missing resources) is not.
pub fn from_sdk<E>(service: &'static str, err: SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let message = format!("{}", aws_smithy_types::error::display::DisplayErrorContext(&err));
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            PortError::unavailable(service, message)
        }
        SdkError::ServiceError(ctx) => {
            let code = ctx.err().code().unwrap_or_default();
            let is_5xx = ctx.raw().status().is_server_error();
            if TRANSIENT_AWS_CODES.contains(&code) || is_5xx {
                PortError::unavailable(service, message)
            } else {
                PortError::rejected(service, message)
            }
        }
        _ => PortError::rejected(service, message),
    }
}

#[cfg(feature = "postgres")]
/// SQLSTATE classes and codes that mean "later": connection trouble, resource
/// exhaustion, serialization failures, deadlocks, shutdown, and a unique violation
/// lost to a concurrent writer (the retry sees the winner and decides again).
pub fn from_pg(err: tokio_postgres::Error) -> PortError {
    let transient = match err.code() {
        None => true, // I/O, closed connection, timeout: no server verdict at all.
        Some(state) => {
            let code = state.code();
            code.starts_with("08")
                // An expired IAM token or a rotated secret: fresh credentials next time.
                || code.starts_with("28")
                || code.starts_with("53")
                || code.starts_with("57")
                || code == "40001"
                || code == "40P01"
                || code == "23505"
                || code == "55P03"
        }
    };
    let message = match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => err.to_string(),
    };
    if transient {
        PortError::unavailable("PostgreSQL", message)
    } else {
        PortError::rejected("PostgreSQL", message)
    }
}

#[cfg(feature = "postgres")]
/// A pool that cannot hand out a connection is a database that is not there yet.
pub fn from_pool(err: deadpool_postgres::PoolError) -> PortError {
    match err {
        deadpool_postgres::PoolError::Backend(e) => from_pg(e),
        other => PortError::unavailable("PostgreSQL", other),
    }
}
