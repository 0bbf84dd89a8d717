//! How uploads and errors look in answers: the `upload_history` names `devstack upload`
//! prints, without internal bookkeeping.

use crate::notify::message::success_rate_percent;
use crate::ports::{ErrorView, UploadView};
use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::prelude::ToPrimitive;
use serde_json::{json, Value};

fn instant(t: Option<DateTime<Utc>>) -> Value {
    t.map_or(Value::Null, |t| {
        Value::String(t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    })
}

pub fn upload_json(u: &UploadView) -> Value {
    json!({
        "upload_id": u.upload_id,
        "vendor_id": u.vendor_id,
        "file_name": u.file_name,
        "s3_key": u.s3_key,
        "status": u.status.as_str(),
        "total_records": u.total_records,
        "valid_records": u.valid_records,
        "error_records": u.error_records,
        "success_rate_percent": success_rate_percent(u.valid_records, u.total_records).and_then(|p| p.to_f64()),
        "error_file_s3_key": u.error_file_s3_key,
        "upload_timestamp": instant(Some(u.upload_timestamp)),
        "processing_started_at": instant(u.processing_started_at),
        "processing_completed_at": instant(u.processing_completed_at),
        "processing_duration_seconds": u.processing_duration_seconds.and_then(|d| d.to_f64()),
    })
}

pub fn error_json(e: &ErrorView) -> Value {
    json!({
        "row_number": e.row_number,
        "error_type": e.error_type,
        "error_field": e.error_field,
        "error_message": e.error_message,
    })
}
