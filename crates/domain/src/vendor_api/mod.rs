//! The vendor API's rules (DESIGN.md §7): who the caller is, what a request may ask
//! for, and how answers look. HTTP lives in the `vendor-api` crate; this module is pure.
//!
//! A vendor only ever reaches its own uploads: the vendor is the verified token's
//! claim, every read is filtered by it, and `next_token`s are sealed to the vendor and
//! the filters of the request that issued them.

mod requests;
mod views;

pub use requests::{errors_binding, uploads_binding, ErrorsQuery, NewUpload, UploadsQuery};
pub use views::{error_json, upload_json};

use serde_json::{json, Value};
use std::time::Duration;

/// A presigned PUT lives 15 minutes: enough to start a 100 MB upload on a slow line.
pub const PUT_URL_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The report redirect's presigned GET lives 5 minutes: it is followed at once.
pub const GET_URL_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// The content type signed into every upload URL (the bucket holds CSVs only).
pub const UPLOAD_CONTENT_TYPE: &str = "text/csv";
pub const MAX_FILE_NAME_CHARS: usize = 200;
pub const DEFAULT_UPLOADS_LIMIT: u32 = 20;
pub const MAX_UPLOADS_LIMIT: u32 = 100;
pub const DEFAULT_ERRORS_LIMIT: u32 = 100;
pub const MAX_ERRORS_LIMIT: u32 = 1000;
/// A vendor id that can name a key segment (DESIGN.md §3: at most 50 characters of
/// `A-Z a-z 0-9 - _`).
pub const MAX_VENDOR_ID_CHARS: usize = 50;

/// MAC domains of the two kinds of `next_token`.
pub const UPLOADS_TOKEN_PURPOSE: &str = "vendor-api-uploads-v1";
pub const ERRORS_TOKEN_PURPOSE: &str = "vendor-api-errors-v1";

/// `error.code` values of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorCode {
    /// The body is not a JSON object.
    InvalidRequest,
    InvalidFileName,
    InvalidContentLength,
    /// `content_length` over `MAX_UPLOAD_BYTES` (413).
    FileTooLarge,
    InvalidLimit,
    InvalidStatus,
    InvalidDate,
    InvalidNextToken,
    /// No usable vendor claim (401).
    Unauthorized,
    /// No such upload for this vendor, or no such route (404).
    NotFound,
    /// A fault; the cause is in the log, never in the body (500).
    InternalError,
}

impl ApiErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ApiErrorCode::InvalidRequest => "INVALID_REQUEST",
            ApiErrorCode::InvalidFileName => "INVALID_FILE_NAME",
            ApiErrorCode::InvalidContentLength => "INVALID_CONTENT_LENGTH",
            ApiErrorCode::FileTooLarge => "FILE_TOO_LARGE",
            ApiErrorCode::InvalidLimit => "INVALID_LIMIT",
            ApiErrorCode::InvalidStatus => "INVALID_STATUS",
            ApiErrorCode::InvalidDate => "INVALID_DATE",
            ApiErrorCode::InvalidNextToken => "INVALID_NEXT_TOKEN",
            ApiErrorCode::Unauthorized => "UNAUTHORIZED",
            ApiErrorCode::NotFound => "NOT_FOUND",
            ApiErrorCode::InternalError => "INTERNAL_ERROR",
        }
    }

    pub fn http_status(self) -> u16 {
        match self {
            ApiErrorCode::FileTooLarge => 413,
            ApiErrorCode::Unauthorized => 401,
            ApiErrorCode::NotFound => 404,
            ApiErrorCode::InternalError => 500,
            _ => 400,
        }
    }
}

/// A refusal the vendor can act on: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ApiErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(ApiErrorCode::NotFound, message)
    }

    /// The same answer for a missing upload and another vendor's: nothing leaks.
    pub fn no_such_upload(upload_id: &str) -> Self {
        ApiError::not_found(format!("no upload {upload_id:?} for this vendor"))
    }

    /// A fault: a fixed message, the cause goes to the log only.
    pub fn internal() -> Self {
        ApiError::new(ApiErrorCode::InternalError, "internal error; try again later")
    }

    pub fn invalid_next_token() -> Self {
        ApiError::new(
            ApiErrorCode::InvalidNextToken,
            "next_token was not issued for this vendor and these filters; repeat the request without it",
        )
    }

    pub fn to_json(&self) -> Value {
        json!({ "error": { "code": self.code.as_str(), "message": self.message } })
    }
}

/// The vendor of a request: the verified token's claim, when it can name a vendor
/// (a claim that could not be a key segment is no vendor at all).
pub fn vendor_from_claim(claim: Option<&str>) -> Result<String, ApiError> {
    let refused = || {
        ApiError::new(
            ApiErrorCode::Unauthorized,
            "the token carries no vendor claim; sign in as a vendor",
        )
    };
    let vendor = claim
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(refused)?;
    let well_formed = vendor.chars().count() <= MAX_VENDOR_ID_CHARS
        && vendor
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !well_formed {
        return Err(refused());
    }
    Ok(vendor.to_string())
}

#[cfg(test)]
mod tests;
