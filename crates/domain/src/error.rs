//! Failures of the outside world, classified once: transient (retry: the event source
//! redelivers, the record goes to `batchItemFailures`) or permanent (a bug or a
//! misconfiguration: still never a verdict about the data, but retrying now will not
//! help). Verdicts about data are not errors at all: they are `ErrorCode`s.

#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// The dependency is down, slow, throttling or lost a race: try again later.
    #[error("{service} is unavailable (transient): {message}")]
    Unavailable { service: &'static str, message: String },
    /// The dependency refused the request for a reason retrying will not change.
    #[error("{service} rejected the request: {message}")]
    Rejected { service: &'static str, message: String },
}

impl PortError {
    pub fn unavailable(service: &'static str, message: impl std::fmt::Display) -> Self {
        PortError::Unavailable {
            service,
            message: message.to_string(),
        }
    }

    pub fn rejected(service: &'static str, message: impl std::fmt::Display) -> Self {
        PortError::Rejected {
            service,
            message: message.to_string(),
        }
    }

    /// The one place that decides whether a failure is worth retrying.
    pub fn is_transient(&self) -> bool {
        matches!(self, PortError::Unavailable { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unavailable_is_transient() {
        assert!(PortError::unavailable("PostgreSQL", "connection refused").is_transient());
        assert!(!PortError::rejected("DynamoDB", "ValidationException").is_transient());
    }
}
