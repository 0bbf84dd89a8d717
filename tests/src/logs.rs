//! What logs must never hold: tokens and personal data of the test's own items.

/// Panics naming each secret found in `logs` (only a prefix of it, so the failure
/// message does not become the leak).
pub fn assert_no_secrets(what: &str, logs: &str, secrets: &[&str]) {
    let found: Vec<String> = secrets
        .iter()
        .filter(|s| !s.is_empty() && logs.contains(*s))
        .map(|s| format!("{}…", s.chars().take(6).collect::<String>()))
        .collect();
    assert!(
        found.is_empty(),
        "{what}: the logs hold {} secret(s) of the test data: {found:?}",
        found.len()
    );
}
