//! The catalog's schema, as the versioned SQL files of `infra/migrations/`, embedded
//! at compile time. They are applied by `devstack setup` (or a deployment step),
//! never implicitly by a function at cold start.

mod embedded {
    refinery::embed_migrations!("../../infra/migrations");
}

#[derive(Debug, thiserror::Error)]
#[error("database migration failed: {0}")]
pub struct MigrationError(#[from] refinery::Error);

/// Applies every migration the database does not have yet, each in its own
/// transaction, and returns how many were applied (0 when it was up to date).
/// Refuses to run when an applied migration's file has changed since.
pub async fn run(client: &mut tokio_postgres::Client) -> Result<usize, MigrationError> {
    let report = embedded::migrations::runner()
        .set_abort_divergent(true)
        .run_async(client)
        .await?;
    Ok(report.applied_migrations().len())
}

/// Names of the embedded migrations, in order (`V1__catalog`, ...).
pub fn names() -> Vec<String> {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| format!("V{}__{}", m.version(), m.name()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_migrations_are_embedded_in_order() {
        let names = super::names();
        assert!(names.len() >= 3, "{names:?}");
        assert_eq!(names.first().map(String::as_str), Some("V1__catalog"));
    }
}
