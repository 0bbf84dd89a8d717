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
/// Whether a PostgreSQL failure with this SQLSTATE (`None`: no server verdict at all —
/// I/O, a closed connection, a client-side timeout) is worth retrying: connection trouble
/// (08), an expired IAM token or rotated secret (28: fresh credentials next time),
/// resource exhaustion (53), shutdown or a cancelled statement — `statement_timeout` is
/// 57014 (57), serialization failures and deadlocks (40001, 40P01), a unique violation lost
/// to a concurrent writer (23505: the retry sees the winner and decides again), a lock not
/// available (55P03: `lock_timeout`), and a transaction ended by
/// `idle_in_transaction_session_timeout` (25P03).
pub fn transient_sqlstate(code: Option<&str>) -> bool {
    let Some(code) = code else { return true };
    ["08", "28", "53", "57"]
        .iter()
        .any(|class| code.starts_with(class))
        || ["40001", "40P01", "23505", "55P03", "25P03"].contains(&code)
}

#[cfg(feature = "postgres")]
/// Classifies a PostgreSQL failure by its SQLSTATE ([`transient_sqlstate`]).
pub fn from_pg(err: tokio_postgres::Error) -> PortError {
    let message = match err.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => err.to_string(),
    };
    from_sqlstate(err.code().map(|c| c.code()), message)
}

#[cfg(feature = "postgres")]
/// A failure with this SQLSTATE (`None`: none) as a `PortError`.
fn from_sqlstate(code: Option<&str>, message: String) -> PortError {
    if transient_sqlstate(code) {
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

#[cfg(all(test, feature = "aws"))]
mod tests_sdk;

#[cfg(all(test, feature = "postgres"))]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_of_a_world_that_is_down_are_transient_and_data_errors_are_not() {
        let transient = [
            None,
            Some("08006"), // connection failure
            Some("08001"),
            Some("28P01"), // invalid password: an expired token
            Some("28000"),
            Some("53300"), // too many connections
            Some("57014"), // statement_timeout
            Some("57P01"), // admin shutdown
            Some("40001"), // serialization failure
            Some("40P01"), // deadlock
            Some("23505"), // unique violation lost to a concurrent writer
            Some("55P03"), // lock_timeout
            Some("25P03"), // idle_in_transaction_session_timeout
        ];
        for code in transient {
            assert!(transient_sqlstate(code), "{code:?} should be retried");
        }
        let permanent = [
            Some("22021"), // invalid byte sequence (NUL)
            Some("22001"), // value too long
            Some("23502"), // not null violation
            Some("23503"), // foreign key
            Some("23514"), // check violation
            Some("42P01"), // undefined table
            Some("42601"), // syntax error
            Some("25P02"), // in failed transaction: a bug, not the world
            Some("55000"),
        ];
        for code in permanent {
            assert!(!transient_sqlstate(code), "{code:?} should not be retried");
        }
    }

    #[test]
    fn every_sqlstate_class_named_is_classified_by_from_sqlstate() {
        // One code per class or code transient_sqlstate names, and its neighbours: the
        // class is matched by its first two characters, the codes exactly.
        let cases = [
            (None, true),
            (Some("08000"), true),
            (Some("28000"), true),
            (Some("53100"), true),
            (Some("57P03"), true),
            (Some("40001"), true),
            (Some("40P01"), true),
            (Some("23505"), true),
            (Some("55P03"), true),
            (Some("25P03"), true),
            (Some("40002"), false), // integrity constraint violation in a transaction
            (Some("40003"), false),
            (Some("23000"), false),
            (Some("55006"), false), // object in use
            (Some("25001"), false),
            (Some("09000"), false), // a neighbour of 08
            (Some("58030"), false), // I/O error class 58: the server's own disk
            (Some("P0001"), false), // raise_exception
            (Some(""), false),
            (Some("0"), false),
        ];
        for (code, transient) in cases {
            let e = from_sqlstate(code, format!("{code:?}"));
            assert_eq!(e.is_transient(), transient, "{code:?}");
            assert!(e.to_string().starts_with("PostgreSQL"), "{e}");
            assert!(e.to_string().ends_with(&format!("{code:?}")), "{e}");
        }
    }

    #[test]
    fn a_failure_without_a_server_verdict_is_transient_and_keeps_its_message() {
        // No SQLSTATE (the client gave up: I/O, closed connection, a timeout). A config
        // error is the one such failure that can be made without a server.
        let err = "port=not-a-port"
            .parse::<tokio_postgres::Config>()
            .err()
            .unwrap_or_else(|| panic!("a bad port parses"));
        let text = err.to_string();
        let e = from_pg(err);
        assert!(e.is_transient(), "{e}");
        assert!(e.to_string().contains(&text), "{e}");
    }

    #[test]
    fn a_pool_that_hands_out_no_connection_is_transient() {
        let timeout = deadpool_postgres::PoolError::Timeout(deadpool_postgres::TimeoutType::Wait);
        assert!(from_pool(timeout).is_transient());
        let closed = deadpool_postgres::PoolError::Closed;
        assert!(from_pool(closed).is_transient());
        let backend = "port=x".parse::<tokio_postgres::Config>().err();
        let backend = backend.unwrap_or_else(|| panic!("a bad port parses"));
        let e = from_pool(deadpool_postgres::PoolError::Backend(backend));
        assert!(e.to_string().starts_with("PostgreSQL is unavailable"), "{e}");
    }
}
