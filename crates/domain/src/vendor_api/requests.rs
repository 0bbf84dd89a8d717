//! What a request may ask for, parsed once: code past this point never re-checks.

use super::{
    ApiError, ApiErrorCode, DEFAULT_ERRORS_LIMIT, DEFAULT_UPLOADS_LIMIT, MAX_ERRORS_LIMIT,
    MAX_FILE_NAME_CHARS, MAX_UPLOADS_LIMIT,
};
use crate::dates::{parse_end, parse_start};
use crate::ports::UploadFilter;
use crate::upload::{UploadKey, UploadStatus};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// `POST /uploads` `{"file_name", "content_length"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUpload {
    pub file_name: String,
    pub content_length: u64,
}

impl NewUpload {
    /// Every problem of the body, the first one found per field; `max_bytes` is
    /// `MAX_UPLOAD_BYTES` (over it: 413).
    pub fn parse(body: Option<&Value>, max_bytes: u64) -> Result<NewUpload, ApiError> {
        let Some(Value::Object(body)) = body else {
            return Err(ApiError::new(
                ApiErrorCode::InvalidRequest,
                "the body must be a JSON object {\"file_name\": \"products.csv\", \"content_length\": <bytes>}",
            ));
        };
        let file_name = match body.get("file_name") {
            Some(Value::String(name)) => file_name(name)?,
            Some(_) => return Err(bad_name("file_name must be a string")),
            None => return Err(bad_name("file_name is required")),
        };
        let content_length = match body.get("content_length") {
            Some(Value::Number(n)) => whole_bytes(n, max_bytes)?,
            Some(_) => {
                return Err(bad_length(
                    "content_length must be a number (the file's size in bytes)",
                ))
            }
            None => return Err(bad_length("content_length is required: the file's size in bytes")),
        };
        if content_length == 0 {
            return Err(bad_length(
                "content_length must be at least 1: an empty file has no products",
            ));
        }
        if content_length > max_bytes {
            return Err(too_large(content_length, max_bytes));
        }
        Ok(NewUpload {
            file_name,
            content_length,
        })
    }

    /// `uploads/{vendor}/{file_name}`.
    pub fn key(&self, vendor_id: &str) -> String {
        format!("uploads/{vendor_id}/{}", self.file_name)
    }
}

/// A JSON number of bytes: whole and not negative, however it is written (`1000`,
/// `1000.0`, `1e3`). One past `u64` is still a length, over any limit: 413, not 400.
fn whole_bytes(n: &serde_json::Number, max_bytes: u64) -> Result<u64, ApiError> {
    if let Some(bytes) = n.as_u64() {
        return Ok(bytes);
    }
    match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 => {
            if f > max_bytes as f64 {
                Err(too_large(n, max_bytes))
            } else {
                // Whole, not negative and at most `max_bytes`: exact in a u64.
                Ok(f as u64)
            }
        }
        _ => Err(bad_length(format!(
            "content_length must be a positive whole number of bytes, not {n}"
        ))),
    }
}

fn too_large(length: impl std::fmt::Display, max_bytes: u64) -> ApiError {
    ApiError::new(
        ApiErrorCode::FileTooLarge,
        format!(
            "content_length {length} is over the limit of {max_bytes} bytes; split the file and upload each part"
        ),
    )
}

fn bad_name(message: impl Into<String>) -> ApiError {
    ApiError::new(ApiErrorCode::InvalidFileName, message)
}

fn bad_length(message: impl Into<String>) -> ApiError {
    ApiError::new(ApiErrorCode::InvalidContentLength, message)
}

/// 1–200 characters, ending in `.csv` (lower case: the bucket notification's suffix
/// filter is case-sensitive), no `/`, no control characters: a name the pipeline will
/// pick up as `uploads/{vendor}/{file_name}`.
fn file_name(name: &str) -> Result<String, ApiError> {
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_FILE_NAME_CHARS {
        return Err(bad_name(format!(
            "file_name must be 1 to {MAX_FILE_NAME_CHARS} characters, not {chars}"
        )));
    }
    if name.contains('/') {
        return Err(bad_name("file_name may not contain '/'"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad_name("file_name may not contain control characters"));
    }
    if !name.ends_with(".csv") || UploadKey::parse(&format!("uploads/v/{name}")).is_none() {
        return Err(bad_name(format!(
            "file_name must end in \".csv\" (lower case) after a name, e.g. \"products.csv\"; got {name:?}"
        )));
    }
    Ok(name.to_string())
}

/// `limit`: absent or empty (`?limit=`, as the route's template reads) → the default;
/// otherwise a whole number in `1..=max`.
fn limit(raw: Option<&str>, default: u32, max: u32) -> Result<u32, ApiError> {
    let Some(raw) = non_empty(raw) else {
        return Ok(default);
    };
    match raw.trim().parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ApiError::new(
            ApiErrorCode::InvalidLimit,
            format!("limit must be a whole number from 1 to {max}, not {raw:?}"),
        )),
    }
}

fn non_empty(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}

/// `GET /uploads?status=&from=&to=&limit=&next_token=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadsQuery {
    pub status: Option<UploadStatus>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: u32,
    pub next_token: Option<String>,
}

impl UploadsQuery {
    /// From the query string (`param` returns a parameter's first value).
    pub fn parse<'a>(param: impl Fn(&str) -> Option<&'a str>) -> Result<UploadsQuery, ApiError> {
        let status = match non_empty(param("status")) {
            None => None,
            Some(s) => Some(UploadStatus::parse(s.trim()).ok_or_else(|| {
                ApiError::new(
                    ApiErrorCode::InvalidStatus,
                    format!("status must be one of processing, completed, partial, failed; not {s:?}"),
                )
            })?),
        };
        let date = |name: &str, parse: fn(&str) -> Result<DateTime<Utc>, String>| {
            non_empty(param(name))
                .map(|raw| {
                    parse(raw)
                        .map_err(|why| ApiError::new(ApiErrorCode::InvalidDate, format!("{name}: {why}")))
                })
                .transpose()
        };
        let from = date("from", parse_start)?;
        let to = date("to", parse_end)?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(ApiError::new(ApiErrorCode::InvalidDate, "from is after to"));
            }
        }
        Ok(UploadsQuery {
            status,
            from,
            to,
            limit: limit(param("limit"), DEFAULT_UPLOADS_LIMIT, MAX_UPLOADS_LIMIT)?,
            next_token: non_empty(param("next_token")).map(str::to_string),
        })
    }

    pub fn filter(&self, vendor_id: &str) -> UploadFilter {
        UploadFilter {
            vendor_id: vendor_id.to_string(),
            status: self.status,
            from: self.from,
            to: self.to,
        }
    }
}

/// What an uploads `next_token` is bound to: the vendor and every filter (not the page
/// size, which may change between pages).
pub fn uploads_binding(filter: &UploadFilter) -> String {
    let instant = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339_opts(SecondsFormat::Nanos, true));
    format!(
        "vendor={};status={:?};from={:?};to={:?}",
        filter.vendor_id,
        filter.status.map(UploadStatus::as_str),
        instant(filter.from),
        instant(filter.to)
    )
}

/// `GET /uploads/{upload_id}/errors?limit=&next_token=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorsQuery {
    pub limit: u32,
    pub next_token: Option<String>,
}

impl ErrorsQuery {
    pub fn parse<'a>(param: impl Fn(&str) -> Option<&'a str>) -> Result<ErrorsQuery, ApiError> {
        Ok(ErrorsQuery {
            limit: limit(param("limit"), DEFAULT_ERRORS_LIMIT, MAX_ERRORS_LIMIT)?,
            next_token: non_empty(param("next_token")).map(str::to_string),
        })
    }
}

/// What an errors `next_token` is bound to: the vendor and the upload.
pub fn errors_binding(vendor_id: &str, upload_id: &str) -> String {
    format!("vendor={vendor_id};upload={upload_id}")
}
