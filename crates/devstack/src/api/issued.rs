//! The upload URLs `devstack api` handed out, and the check S3 makes of a PUT through
//! one of them (which moto does not make: it ignores presigned signatures).
//!
//! In AWS a presigned PUT whose body is not exactly the signed `content-length`, or
//! that arrives after the URL expired, is refused by S3 (403) and leaves nothing in
//! the bucket. Locally the object lands anyway, so the poller compares it, by
//! HeadObject, with the URL it came through and undoes a PUT S3 would have refused.
//! The log is shared (`.local/devstack/issued-uploads.jsonl`), so a URL issued by one
//! `devstack api` is honoured by another.

use crate::upload::local_dir;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;

/// Clock skew allowed between the URL's expiry and the object's LastModified (moto's
/// LastModified has whole seconds).
const SKEW: Duration = Duration::seconds(1);

/// One upload URL: where it puts, how many bytes it signed, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issued {
    pub key: String,
    pub content_length: u64,
    pub expires_at: DateTime<Utc>,
}

impl Issued {
    /// From a `POST /uploads` 201 body (`key`, `headers.content-length`, `expires_at`).
    pub fn from_answer(body: &Value) -> Option<Issued> {
        Some(Issued {
            key: body.get("key")?.as_str()?.to_string(),
            content_length: body
                .get("headers")?
                .get("content-length")?
                .as_str()?
                .parse()
                .ok()?,
            expires_at: DateTime::parse_from_rfc3339(body.get("expires_at")?.as_str()?)
                .ok()?
                .with_timezone(&Utc),
        })
    }
}

pub fn log_path() -> PathBuf {
    local_dir().join("devstack/issued-uploads.jsonl")
}

pub fn record(issued: &Issued) -> std::io::Result<()> {
    let path = log_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut line = serde_json::to_vec(issued)?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(&line)
}

/// Every URL issued for `key`.
pub fn for_key(key: &str) -> std::io::Result<Vec<Issued>> {
    let text = match std::fs::read_to_string(log_path()) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<Issued>(l).ok())
        .filter(|i| i.key == key)
        .collect())
}

/// What S3 would have made of a PUT of `size` bytes at `key`, stored at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutCheck {
    /// Through a URL of ours, with the signed length, in time.
    Accepted,
    /// No URL of ours names this key: someone else's PUT (`devstack upload`, a test),
    /// which delivers its own event.
    NotOurs,
    /// S3 would have answered 403; why.
    Refused(String),
}

pub fn check(issued: &[Issued], size: u64, at: DateTime<Utc>) -> PutCheck {
    if issued.is_empty() {
        return PutCheck::NotOurs;
    }
    let sized: Vec<&Issued> = issued.iter().filter(|i| i.content_length == size).collect();
    if sized.is_empty() {
        let signed: Vec<String> = issued.iter().map(|i| i.content_length.to_string()).collect();
        return PutCheck::Refused(format!(
            "SignatureDoesNotMatch: the body is {size} bytes, the URL signed content-length {}",
            signed.join(" or ")
        ));
    }
    if sized.iter().all(|i| at > i.expires_at + SKEW) {
        return PutCheck::Refused("AccessDenied: Request has expired".to_string());
    }
    PutCheck::Accepted
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn issued(len: u64) -> Issued {
        Issued {
            key: "uploads/V/a.csv".into(),
            content_length: len,
            expires_at: "2026-01-01T00:15:00Z".parse().unwrap_or_default(),
        }
    }

    #[test]
    fn a_put_is_accepted_only_with_the_signed_length_before_expiry() {
        let at: DateTime<Utc> = "2026-01-01T00:10:00Z".parse().unwrap_or_default();
        assert_eq!(check(&[issued(11)], 11, at), PutCheck::Accepted);
        assert_eq!(check(&[], 11, at), PutCheck::NotOurs);
        assert!(
            matches!(check(&[issued(11)], 13, at), PutCheck::Refused(why) if why.contains("content-length 11"))
        );
        let late: DateTime<Utc> = "2026-01-01T00:16:00Z".parse().unwrap_or_default();
        assert!(matches!(check(&[issued(11)], 11, late), PutCheck::Refused(why) if why.contains("expired")));
        // Two URLs for one key: either length goes.
        assert_eq!(check(&[issued(11), issued(13)], 13, at), PutCheck::Accepted);
    }

    #[test]
    fn an_issued_url_is_read_from_the_functions_answer() {
        let body = json!({"key": "uploads/V/a.csv", "headers": {"content-length": "11", "content-type": "text/csv"}, "expires_at": "2026-01-01T00:15:00Z", "method": "PUT", "upload_url": "http://x"});
        assert_eq!(Issued::from_answer(&body), Some(issued(11)));
        assert_eq!(Issued::from_answer(&json!({"error": {}})), None);
    }
}
