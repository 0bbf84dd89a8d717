//! A one-line progress report for a long `devstack upload`, on a terminal only: rows
//! parsed (the upload's total, once the parser has counted them), validated and
//! recorded as errors, read from `upload_history` twice a second. Piped or in a test,
//! devstack stays quiet: stdout carries only the result.

use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Whether progress should be shown: stderr is a terminal.
pub fn wanted() -> bool {
    std::io::stderr().is_terminal()
}

/// Reports until dropped.
pub struct Progress(tokio::task::JoinHandle<()>);

impl Drop for Progress {
    fn drop(&mut self) {
        self.0.abort();
        // Leave the terminal on a fresh line.
        eprint!("\r\x1b[2K");
    }
}

/// Starts reporting the progress of `upload_id`.
pub fn start(database_url: String, upload_id: String) -> Progress {
    Progress(tokio::spawn(async move {
        let Ok((client, connection)) = tokio_postgres::connect(&database_url, tokio_postgres::NoTls).await
        else {
            return;
        };
        tokio::spawn(connection);
        loop {
            let row = client
                .query_opt(
                    "SELECT total_records, valid_records, error_records FROM upload_history WHERE upload_id = $1",
                    &[&upload_id],
                )
                .await;
            let line = match row {
                Ok(Some(r)) => line(r.get(0), r.get(1), r.get(2)),
                _ => "reading the file…".to_string(),
            };
            eprint!("\r\x1b[2K[devstack] {line}");
            let _ = std::io::stderr().flush();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }))
}

fn line(total: i32, valid: i32, errors: i32) -> String {
    format!(
        "{total} rows parsed, {valid} validated, {errors} recorded as errors ({} to go)",
        (total - valid - errors).max(0)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_line_counts_what_is_left() {
        assert_eq!(
            super::line(10, 4, 2),
            "10 rows parsed, 4 validated, 2 recorded as errors (4 to go)"
        );
    }
}
