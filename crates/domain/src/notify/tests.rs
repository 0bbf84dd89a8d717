use super::message::*;
use crate::ports::FinishedUpload;
use crate::upload::UploadStatus;
use chrono::TimeZone;
use serde_json::{json, Value};

const API: &str = "https://api.example.com/";

fn upload(status: UploadStatus, total: i64, valid: i64, errors: i64) -> FinishedUpload {
    FinishedUpload {
        upload_id: "UPLOAD_20261123T103045_abcdef012345".into(),
        vendor_id: "VEND001".into(),
        file_name: "spring sale.csv".into(),
        status,
        total_records: total,
        valid_records: valid,
        error_records: errors,
        error_file_s3_key: (errors > 0 || total == 0)
            .then(|| "reports/VEND001/UPLOAD_20261123T103045_abcdef012345.csv".to_string()),
        completed_at: chrono::Utc
            .with_ymd_and_hms(2026, 11, 23, 10, 31, 2)
            .single()
            .unwrap_or_default(),
    }
}

fn parts(n: &crate::ports::Notification) -> (Value, String) {
    let structure: Value = serde_json::from_str(&n.message).unwrap_or_default();
    let default: Value = structure["default"]
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    (
        default,
        structure["email"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn the_subject_has_the_originals_format() {
    assert_eq!(
        subject(&upload(UploadStatus::Partial, 15, 14, 1)),
        "Product upload partial: spring sale.csv (93.33% valid)"
    );
    assert_eq!(
        subject(&upload(UploadStatus::Completed, 30, 30, 0)),
        "Product upload completed: spring sale.csv (100% valid)"
    );
    assert_eq!(
        subject(&upload(UploadStatus::Failed, 0, 0, 0)),
        "Product upload failed: spring sale.csv (0% valid)"
    );
    // 2/3 rounds half away from zero, as the recent_uploads view does.
    assert_eq!(
        subject(&upload(UploadStatus::Partial, 3, 2, 1)),
        "Product upload partial: spring sale.csv (66.67% valid)"
    );
}

#[test]
fn the_subject_stays_under_100_ascii_characters_whatever_the_file_name() {
    let mut u = upload(UploadStatus::Partial, 3, 1, 2);
    u.file_name = format!("{}été\n\u{7}.csv", "x".repeat(300));
    let s = subject(&u);
    assert!(s.len() <= SUBJECT_MAX_CHARS, "{} chars: {s}", s.len());
    assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '), "{s:?}");
    assert!(s.starts_with("Product upload partial: xxx"), "{s}");
    assert!(s.ends_with("... (33.33% valid)"), "{s}");
    u.file_name = "été.csv".into();
    assert_eq!(subject(&u), "Product upload partial: _t_.csv (33.33% valid)");
}

#[test]
fn the_default_message_has_every_field_of_the_contract() {
    let n = render(&upload(UploadStatus::Partial, 15, 14, 1), API).unwrap_or_else(|e| panic!("{e}"));
    let (default, _) = parts(&n);
    assert_eq!(
        default,
        json!({
            "type": "UPLOAD_FINISHED",
            "upload_id": "UPLOAD_20261123T103045_abcdef012345",
            "vendor_id": "VEND001",
            "file_name": "spring sale.csv",
            "status": "partial",
            "total_records": 15,
            "valid_records": 14,
            "error_records": 1,
            "success_rate_percent": 93.33,
            "error_file_s3_key": "reports/VEND001/UPLOAD_20261123T103045_abcdef012345.csv",
            "report_url": "https://api.example.com/uploads/UPLOAD_20261123T103045_abcdef012345/report",
            "completed_at": "2026-11-23T10:31:02.000Z",
        })
    );
    assert_eq!(
        n.attributes,
        vec![
            ("vendor_id".to_string(), "VEND001".to_string()),
            ("status".to_string(), "partial".to_string())
        ]
    );
    assert_eq!(
        n.subject,
        "Product upload partial: spring sale.csv (93.33% valid)"
    );
}

#[test]
fn a_clean_upload_has_no_report_and_a_file_level_failure_has_no_rate() {
    let (clean, email) =
        parts(&render(&upload(UploadStatus::Completed, 30, 30, 0), API).unwrap_or_else(|e| panic!("{e}")));
    assert!(
        clean["report_url"].is_null() && clean["error_file_s3_key"].is_null(),
        "{clean}"
    );
    assert_eq!(clean["success_rate_percent"], json!(100.0));
    assert!(!email.contains("Error report:"), "{email}");
    let (failed, email) =
        parts(&render(&upload(UploadStatus::Failed, 0, 0, 0), API).unwrap_or_else(|e| panic!("{e}")));
    assert!(failed["success_rate_percent"].is_null(), "{failed}");
    assert!(failed["report_url"].is_string(), "{failed}");
    assert!(email.contains("could not be processed"), "{email}");
}

#[test]
fn the_email_text_names_the_upload_the_counts_with_percentages_the_status_and_the_report() {
    let (_, email) =
        parts(&render(&upload(UploadStatus::Partial, 15, 14, 1), API).unwrap_or_else(|e| panic!("{e}")));
    for line in [
        "Product upload partial: spring sale.csv (93.33% valid)",
        "Upload ID:     UPLOAD_20261123T103045_abcdef012345",
        "File:          spring sale.csv",
        "Status:        partial",
        "Total records: 15",
        "Valid records: 14 (93.33%)",
        "Error records: 1 (6.67%)",
        "Error report:  https://api.example.com/uploads/UPLOAD_20261123T103045_abcdef012345/report",
    ] {
        assert!(
            email.lines().any(|l| l == line),
            "{line:?} missing from:\n{email}"
        );
    }
}

#[test]
fn report_links_point_at_the_vendor_api_with_the_id_as_one_path_segment() {
    assert_eq!(
        report_url("http://127.0.0.1:8788", "U_1"),
        "http://127.0.0.1:8788/uploads/U_1/report"
    );
    assert_eq!(
        report_url("http://h/", "a/b c"),
        "http://h/uploads/a%2Fb%20c/report"
    );
}

#[test]
fn the_email_says_whether_the_file_or_its_rows_failed() {
    let email = |u: FinishedUpload| {
        let n = render(&u, API).unwrap_or_else(|e| panic!("{e}"));
        parts(&n).1
    };
    let file = email(upload(UploadStatus::Failed, 0, 0, 0));
    assert!(
        file.contains("The file could not be processed; the error report says why."),
        "{file}"
    );
    let rows = email(upload(UploadStatus::Failed, 3, 0, 3));
    assert!(
        rows.contains("No row was imported; the error report lists every problem."),
        "{rows}"
    );
}
