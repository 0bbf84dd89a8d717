use super::*;
use crate::upload::UploadStatus;
use serde_json::json;
use std::collections::HashMap;

fn query(pairs: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
    pairs.iter().copied().collect()
}

fn code<T: std::fmt::Debug>(r: Result<T, ApiError>) -> Option<&'static str> {
    r.err().map(|e| e.code.as_str())
}

#[test]
fn a_new_upload_names_a_csv_the_pipeline_picks_up() {
    let body = json!({"file_name": "spring sale.csv", "content_length": 11});
    let up = NewUpload::parse(Some(&body), 100).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(up.content_length, 11);
    assert_eq!(up.key("VEND001"), "uploads/VEND001/spring sale.csv");
}

#[test]
fn bad_file_names_are_400_with_a_message_naming_the_field() {
    let max = 1_000;
    for name in [
        json!(""),
        json!("x.txt"),
        json!("X.CSV"),
        json!(".csv"),
        json!("a/b.csv"),
        json!("a\u{0}b.csv"),
        json!("line\nbreak.csv"),
        json!(format!("{}.csv", "n".repeat(197))),
        json!(42),
    ] {
        let err = NewUpload::parse(Some(&json!({"file_name": name, "content_length": 1})), max)
            .err()
            .unwrap_or_else(|| panic!("{name} accepted"));
        assert_eq!(err.code, ApiErrorCode::InvalidFileName, "{name}");
        assert_eq!(err.code.http_status(), 400);
        assert!(err.message.contains("file_name"), "{}", err.message);
    }
    // 200 characters (multi-byte ones count once) are fine.
    let name = format!("{}.csv", "é".repeat(196));
    assert!(NewUpload::parse(Some(&json!({"file_name": name, "content_length": 1})), max).is_ok());
    assert_eq!(
        code(NewUpload::parse(Some(&json!({"content_length": 1})), max)),
        Some("INVALID_FILE_NAME")
    );
}

#[test]
fn content_length_is_a_positive_whole_number_up_to_the_limit() {
    let parse = |v: serde_json::Value| {
        NewUpload::parse(Some(&json!({"file_name": "a.csv", "content_length": v})), 100)
    };
    assert_eq!(parse(json!(100)).map(|u| u.content_length).ok(), Some(100));
    let too_big = parse(json!(101)).err();
    assert_eq!(too_big.as_ref().map(|e| e.code.http_status()), Some(413));
    assert_eq!(too_big.as_ref().map(|e| e.code.as_str()), Some("FILE_TOO_LARGE"));
    // A JSON number is a number however it is written.
    assert_eq!(parse(json!(1e2)).map(|u| u.content_length).ok(), Some(100));
    assert_eq!(parse(json!(64.0)).map(|u| u.content_length).ok(), Some(64));
    // Past u64 (serde_json holds it as 1e23): still a length, over the limit.
    let huge: serde_json::Value = serde_json::from_str("99999999999999999999999").unwrap_or_default();
    let huge = parse(huge).err();
    assert_eq!(huge.as_ref().map(|e| e.code.as_str()), Some("FILE_TOO_LARGE"));
    assert!(huge.is_some_and(|e| e.message.contains("over the limit of 100 bytes")));
    for bad in [
        json!(0),
        json!(-1),
        json!(1.5),
        json!(-1e30),
        json!("10"),
        json!(null),
    ] {
        assert_eq!(code(parse(bad.clone())), Some("INVALID_CONTENT_LENGTH"), "{bad}");
    }
    assert_eq!(
        code(NewUpload::parse(Some(&json!({"file_name": "a.csv"})), 100)),
        Some("INVALID_CONTENT_LENGTH")
    );
    assert_eq!(code(NewUpload::parse(None, 100)), Some("INVALID_REQUEST"));
    assert_eq!(
        code(NewUpload::parse(Some(&json!([1])), 100)),
        Some("INVALID_REQUEST")
    );
}

#[test]
fn from_and_to_may_be_the_same_instant() {
    let q = UploadsQuery::parse(|k| {
        query(&[("from", "2026-01-01T10:00:00Z"), ("to", "2026-01-01T10:00:00Z")])
            .get(k)
            .copied()
    })
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(q.from, q.to);
    assert!(q.from.is_some());
}

#[test]
fn listing_parameters_have_defaults_bounds_and_named_errors() {
    let q = UploadsQuery::parse(|k| query(&[]).get(k).copied()).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((q.limit, q.status, q.from, q.to), (20, None, None, None));
    let q = UploadsQuery::parse(|k| {
        query(&[
            ("status", "partial"),
            ("from", "2026-01-01"),
            ("to", "2026-01-31"),
            ("limit", "100"),
        ])
        .get(k)
        .copied()
    })
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(q.status, Some(UploadStatus::Partial));
    assert_eq!(q.limit, 100);
    assert_eq!(
        q.to.map(|t| t.to_rfc3339()),
        Some("2026-01-31T23:59:59.999999999+00:00".to_string())
    );
    for (pairs, want) in [
        (vec![("limit", "0")], "INVALID_LIMIT"),
        (vec![("limit", "101")], "INVALID_LIMIT"),
        (vec![("limit", "ten")], "INVALID_LIMIT"),
        (vec![("limit", "-1")], "INVALID_LIMIT"),
        (vec![("status", "done")], "INVALID_STATUS"),
        (vec![("from", "yesterday")], "INVALID_DATE"),
        (vec![("from", "2026-02-01"), ("to", "2026-01-01")], "INVALID_DATE"),
    ] {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        assert_eq!(
            code(UploadsQuery::parse(|k| map.get(k).copied())),
            Some(want),
            "{pairs:?}"
        );
    }
    let errors = |l: &'static str| ErrorsQuery::parse(move |k| (k == "limit").then_some(l));
    assert_eq!(errors("1000").map(|q| q.limit).ok(), Some(1000));
    assert_eq!(code(errors("1001")), Some("INVALID_LIMIT"));
    assert_eq!(ErrorsQuery::parse(|_| None).map(|q| q.limit).ok(), Some(100));
    // The route's template as written (every parameter empty) is the defaults.
    let empty = |k: &str| {
        ["status", "from", "to", "limit", "next_token"]
            .contains(&k)
            .then_some("")
    };
    let q = UploadsQuery::parse(empty).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        (q.limit, q.status, q.from, q.to, q.next_token),
        (20, None, None, None, None)
    );
    assert_eq!(ErrorsQuery::parse(empty).map(|q| q.limit).ok(), Some(100));
}

#[test]
fn tokens_are_bound_to_the_vendor_and_every_filter() {
    let q = UploadsQuery::parse(|k| query(&[("status", "failed")]).get(k).copied())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let a = uploads_binding(&q.filter("A"));
    assert_ne!(a, uploads_binding(&q.filter("B")));
    let all = UploadsQuery::parse(|_| None).unwrap_or_else(|e| panic!("{e:?}"));
    assert_ne!(a, uploads_binding(&all.filter("A")));
    assert_ne!(errors_binding("A", "U1"), errors_binding("B", "U1"));
    assert_ne!(errors_binding("A", "U1"), errors_binding("A", "U2"));
}

#[test]
fn the_vendor_is_a_claim_that_can_name_a_key_segment() {
    assert_eq!(
        vendor_from_claim(Some("VEND001")).ok().as_deref(),
        Some("VEND001")
    );
    for ok in ["vendor-1", "vendor_1", " V-1_b "] {
        assert_eq!(
            vendor_from_claim(Some(ok)).ok().as_deref(),
            Some(ok.trim()),
            "{ok:?}"
        );
    }
    for bad in [
        None,
        Some(""),
        Some("  "),
        Some("a/b"),
        Some("VEND 1"),
        Some("x".repeat(51).leak() as &str),
    ] {
        assert_eq!(code(vendor_from_claim(bad)), Some("UNAUTHORIZED"), "{bad:?}");
    }
}

#[test]
fn each_refusal_has_its_http_status() {
    use ApiErrorCode::*;
    let statuses: Vec<(&str, u16)> = [
        InvalidRequest,
        InvalidFileName,
        InvalidContentLength,
        FileTooLarge,
        InvalidLimit,
        InvalidStatus,
        InvalidDate,
        InvalidNextToken,
        Unauthorized,
        NotFound,
        InternalError,
    ]
    .into_iter()
    .map(|c| (c.as_str(), c.http_status()))
    .collect();
    assert_eq!(
        statuses,
        [
            ("INVALID_REQUEST", 400),
            ("INVALID_FILE_NAME", 400),
            ("INVALID_CONTENT_LENGTH", 400),
            ("FILE_TOO_LARGE", 413),
            ("INVALID_LIMIT", 400),
            ("INVALID_STATUS", 400),
            ("INVALID_DATE", 400),
            ("INVALID_NEXT_TOKEN", 400),
            ("UNAUTHORIZED", 401),
            ("NOT_FOUND", 404),
            ("INTERNAL_ERROR", 500),
        ]
    );
}

#[test]
fn presigned_urls_live_15_minutes_for_a_put_and_5_for_the_report() {
    assert_eq!(PUT_URL_LIFETIME.as_secs(), 900);
    assert_eq!(GET_URL_LIFETIME.as_secs(), 300);
}

#[test]
fn errors_render_as_the_contract_shape() {
    assert_eq!(
        ApiError::internal().to_json(),
        json!({"error": {"code": "INTERNAL_ERROR", "message": "internal error; try again later"}})
    );
    assert_eq!(ApiError::no_such_upload("U").code.http_status(), 404);
}
