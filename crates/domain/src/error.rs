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

    /// An item that does not read as `what` (e.g. "a ProductReviews item as a review"):
    /// permanent, with serde's reason stripped of the values it quotes, since fault
    /// messages are logged and an item holds e-mails, phone numbers and amounts.
    pub fn unreadable_item(service: &'static str, what: &str, serde_error: impl std::fmt::Display) -> Self {
        PortError::rejected(
            service,
            format!("{what}: {}", withhold_values(&serde_error.to_string())),
        )
    }

    /// The one place that decides whether a failure is worth retrying.
    pub fn is_transient(&self) -> bool {
        matches!(self, PortError::Unavailable { .. })
    }
}

/// A serde error message without the values it quotes. serde names fields in
/// backticks ("missing field `rating`", "unknown field `x`, expected one of `a`, `b`")
/// and quotes values after a colon ("invalid type: string \"jo@example.com\", expected
/// i64"): field messages are kept whole, any other message only up to its first colon.
pub fn withhold_values(message: &str) -> String {
    let m = message.trim();
    let names_fields_only = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .any(|p| m.starts_with(p))
        && !m.contains('"')
        && !m.contains('\'');
    if names_fields_only {
        return m.to_string();
    }
    match m.split_once(':') {
        Some((kind, _)) => format!("{} (value withheld)", kind.trim()),
        None if m.contains('"') || m.contains('\'') => "unreadable value (withheld)".to_string(),
        None => m.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_lose_their_values_and_keep_field_names() {
        assert_eq!(
            withhold_values("invalid type: string \"jo@example.com\", expected i64"),
            "invalid type (value withheld)"
        );
        assert_eq!(
            withhold_values("missing field `rating`"),
            "missing field `rating`"
        );
        assert_eq!(
            withhold_values("unknown field `x`, expected `a`"),
            "unknown field `x`, expected `a`"
        );
        assert_eq!(
            withhold_values("invalid value: integer `5551234`, expected a string"),
            "invalid value (value withheld)"
        );
        let e = PortError::unreadable_item("DynamoDB", "a review", "invalid type: string \"+1 555 0100\"");
        assert!(!e.to_string().contains("555"), "{e}");
    }

    #[test]
    fn a_message_quoting_a_value_without_a_colon_is_withheld_whole() {
        // A field message that also quotes something is not a field message.
        assert_eq!(
            withhold_values("missing field `a` near \"jo@example.com\""),
            "unreadable value (withheld)"
        );
        assert_eq!(
            withhold_values("unknown field `a` near 'jo@example.com'"),
            "unreadable value (withheld)"
        );
        assert_eq!(withhold_values("bad value 'x'"), "unreadable value (withheld)");
        assert_eq!(withhold_values("bad value \"x\""), "unreadable value (withheld)");
        // Nothing quoted, no colon: nothing to withhold.
        assert_eq!(withhold_values("  expected a map  "), "expected a map");
    }

    #[test]
    fn only_unavailable_is_transient() {
        assert!(PortError::unavailable("PostgreSQL", "connection refused").is_transient());
        assert!(!PortError::rejected("DynamoDB", "ValidationException").is_transient());
    }
}
