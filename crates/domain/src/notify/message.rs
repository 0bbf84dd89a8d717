//! The "upload finished" message (DESIGN.md §7): the e-mail subject and text in the
//! original system's format, the JSON `default` message for machines, and the message
//! attributes per-vendor subscriptions filter on.

use crate::error::PortError;
use crate::ports::{FinishedUpload, Notification};
use crate::upload::UploadStatus;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{json, Value};

/// `type` of the `default` message.
pub const NOTIFICATION_TYPE: &str = "UPLOAD_FINISHED";
/// SNS wants a subject of "less than 100 characters", ASCII to be safe with every
/// e-mail client.
pub const SUBJECT_MAX_CHARS: usize = 99;

/// RFC 3986 unreserved characters stay as they are in a path segment.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// valid / total × 100, rounded half away from zero to 2 decimals (as the
/// `recent_uploads` view computes it); `None` when the file had no rows.
pub fn success_rate_percent(valid: i64, total: i64) -> Option<Decimal> {
    percent(valid, total)
}

fn percent(part: i64, total: i64) -> Option<Decimal> {
    if total <= 0 {
        return None;
    }
    let rate = Decimal::from(part) * Decimal::from(100) / Decimal::from(total);
    Some(rate.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// `93.33`, `100`, `0`: the shortest exact form.
fn show(p: Decimal) -> String {
    p.normalize().to_string()
}

/// The vendor API's report route: the link stays valid as long as the report is kept
/// (a presigned S3 URL signed with a Lambda role's temporary credentials would die with
/// the role session, within hours).
pub fn report_url(vendor_api_url: &str, upload_id: &str) -> String {
    let segment: String = percent_encoding::utf8_percent_encode(upload_id, PATH_SEGMENT).to_string();
    format!(
        "{}/uploads/{segment}/report",
        vendor_api_url.trim_end_matches('/')
    )
}

/// `Product upload {status}: {file_name} ({success_rate}% valid)`, at most
/// [`SUBJECT_MAX_CHARS`] printable ASCII characters: the file name is made ASCII
/// (anything else becomes `_`) and shortened with `...` when needed.
pub fn subject(u: &FinishedUpload) -> String {
    let rate = success_rate_percent(u.valid_records, u.total_records).map_or_else(|| "0".to_string(), show);
    let head = format!("Product upload {}: ", u.status.as_str());
    let tail = format!(" ({rate}% valid)");
    let name: String = u
        .file_name
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' })
        .collect();
    let room = SUBJECT_MAX_CHARS.saturating_sub(head.len() + tail.len());
    let name = if name.len() <= room {
        name
    } else {
        let keep = room.saturating_sub(3);
        format!("{}...", &name[..keep])
    };
    format!("{head}{name}{tail}")
}

fn what_happened(status: UploadStatus, total: i64) -> &'static str {
    match status {
        UploadStatus::Completed => "Every row was imported into the catalog.",
        UploadStatus::Partial => "Some rows were imported; the rows with errors were not.",
        UploadStatus::Failed if total == 0 => "The file could not be processed; the error report says why.",
        UploadStatus::Failed => "No row was imported; the error report lists every problem.",
        UploadStatus::Processing => "The upload is still being processed.",
    }
}

fn count_line(label: &str, n: i64, total: i64) -> String {
    match percent(n, total) {
        Some(p) => format!("{label:<15}{n} ({}%)", show(p)),
        None => format!("{label:<15}{n}"),
    }
}

/// The e-mail text: what happened, the upload id, the file name, the counts with their
/// percentages, the status, and the report link when there are errors.
pub fn email_text(u: &FinishedUpload, vendor_api_url: &str) -> String {
    let mut lines = vec![
        subject(u),
        String::new(),
        what_happened(u.status, u.total_records).to_string(),
        String::new(),
        format!("{:<15}{}", "Upload ID:", u.upload_id),
        format!("{:<15}{}", "File:", u.file_name),
        format!("{:<15}{}", "Status:", u.status.as_str()),
        format!(
            "{:<15}{}",
            "Completed at:",
            u.completed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
        String::new(),
        format!("{:<15}{}", "Total records:", u.total_records),
        count_line("Valid records:", u.valid_records, u.total_records),
        count_line("Error records:", u.error_records, u.total_records),
    ];
    if u.error_file_s3_key.is_some() {
        lines.push(String::new());
        lines.push(format!(
            "{:<15}{}",
            "Error report:",
            report_url(vendor_api_url, &u.upload_id)
        ));
        lines.push(
            "The report lists each error with its row number, error type and a message saying how to fix it."
                .to_string(),
        );
        lines.push("Open the link with your vendor API credentials (a bearer token).".to_string());
    }
    lines.push(String::new());
    lines.push(format!(
        "Upload history: GET {}/uploads",
        vendor_api_url.trim_end_matches('/')
    ));
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The `default` message: the fields of DESIGN.md §7, for machines.
pub fn default_message(u: &FinishedUpload, vendor_api_url: &str) -> Value {
    let rate = success_rate_percent(u.valid_records, u.total_records).and_then(|p| p.to_f64());
    json!({
        "type": NOTIFICATION_TYPE,
        "upload_id": u.upload_id,
        "vendor_id": u.vendor_id,
        "file_name": u.file_name,
        "status": u.status.as_str(),
        "total_records": u.total_records,
        "valid_records": u.valid_records,
        "error_records": u.error_records,
        "success_rate_percent": rate,
        "error_file_s3_key": u.error_file_s3_key,
        "report_url": u.error_file_s3_key.as_ref().map(|_| report_url(vendor_api_url, &u.upload_id)),
        "completed_at": u.completed_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// The message for SNS: `MessageStructure: json` with `default` and `email`, the
/// subject, and the `vendor_id` and `status` attributes.
pub fn render(u: &FinishedUpload, vendor_api_url: &str) -> Result<Notification, PortError> {
    let default = serde_json::to_string(&default_message(u, vendor_api_url))
        .map_err(|e| PortError::rejected("notification", e))?;
    let message = serde_json::to_string(&json!({
        "default": default,
        "email": email_text(u, vendor_api_url),
    }))
    .map_err(|e| PortError::rejected("notification", e))?;
    Ok(Notification {
        upload_id: u.upload_id.clone(),
        subject: subject(u),
        message,
        attributes: vec![
            ("vendor_id".to_string(), u.vendor_id.clone()),
            ("status".to_string(), u.status.as_str().to_string()),
        ],
    })
}
