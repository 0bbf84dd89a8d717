//! Date bounds as people write them in filters: `YYYY-MM-DD` (the whole day, UTC) or a
//! full ISO 8601 instant with an offset. Both bounds are inclusive: an end date
//! `2024-12-31` includes every moment of that day. Shared by the reviews tool and the
//! vendor API.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

/// A lower bound: a date means its first instant.
pub fn parse_start(s: &str) -> Result<DateTime<Utc>, String> {
    parse_bound(s, NaiveTime::MIN)
}

/// An upper bound: a date means its last instant.
pub fn parse_end(s: &str) -> Result<DateTime<Utc>, String> {
    let last = NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).unwrap_or(NaiveTime::MIN);
    parse_bound(s, last)
}

fn parse_bound(s: &str, time_of_day: NaiveTime) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if s.len() == 10 {
            return Ok(d.and_time(time_of_day).and_utc());
        }
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{s:?} is neither YYYY-MM-DD nor an ISO 8601 date-time with offset"))
}
