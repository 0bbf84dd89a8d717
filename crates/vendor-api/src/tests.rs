//! The handler against in-memory ports (`testkit`): the routes, the refusals, the
//! vendor isolation and the paging, with events shaped as API Gateway sends them.

use super::*;
use chrono::{Duration, TimeZone, Utc};
use domain::ports::{ErrorView, UploadView};
use domain::upload::UploadStatus;
use serde_json::json;
use testkit::{InMemoryUploadHistory, InMemoryUrlSigner};

const BUCKET: &str = "vendor-uploads";

fn settings() -> Settings {
    Settings {
        vendor_claim: "vendor_id".into(),
        bucket: BUCKET.into(),
        max_upload_bytes: 1_000,
    }
}

struct World {
    history: InMemoryUploadHistory,
    urls: InMemoryUrlSigner,
    cursors: CursorSigner,
    settings: Settings,
}

impl World {
    fn new() -> World {
        World {
            history: InMemoryUploadHistory::default(),
            urls: InMemoryUrlSigner::default(),
            cursors: CursorSigner::new("test-secret"),
            settings: settings(),
        }
    }

    fn api(&self) -> VendorApi<'_, InMemoryUploadHistory, InMemoryUrlSigner> {
        VendorApi {
            history: &self.history,
            urls: &self.urls,
            cursors: &self.cursors,
            settings: &self.settings,
        }
    }

    /// `n` uploads of `vendor`, one minute apart, the newest last.
    fn uploads(&self, vendor: &str, n: usize, status: UploadStatus) -> Vec<String> {
        (0..n)
            .map(|i| {
                let id = format!("UPLOAD_{vendor}_{i:03}");
                self.history.add(view(&id, vendor, status, i as i64));
                id
            })
            .collect()
    }

    /// Sends a payload 2.0 event (as API Gateway builds it) to the handler.
    async fn call(
        &self,
        method: &str,
        route: &str,
        path: &str,
        query: &str,
        vendor: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value, Option<String>) {
        let event = event(method, route, path, query, vendor, body);
        let request =
            lambda_http::request::from_str(&event.to_string()).unwrap_or_else(|e| panic!("{e}: {event}"));
        let response = self.api().handle(&request).await;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = match response.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        (status, body, location)
    }

    async fn get(&self, route: &str, path: &str, query: &str, vendor: &str) -> (u16, Value) {
        let (status, body, _) = self.call("GET", route, path, query, Some(vendor), None).await;
        (status, body)
    }
}

fn view(id: &str, vendor: &str, status: UploadStatus, minute: i64) -> UploadView {
    let at = Utc
        .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::minutes(minute);
    let errors = if status == UploadStatus::Completed { 0 } else { 2 };
    UploadView {
        upload_id: id.into(),
        vendor_id: vendor.into(),
        file_name: format!("{id}.csv"),
        s3_key: format!("uploads/{vendor}/{id}.csv"),
        total_records: 10,
        valid_records: 10 - errors,
        error_records: errors,
        status,
        error_file_s3_key: (errors > 0).then(|| format!("reports/{vendor}/{id}.csv")),
        upload_timestamp: at,
        processing_started_at: Some(at),
        processing_completed_at: Some(at + Duration::seconds(3)),
        processing_duration_seconds: Some(rust_decimal::Decimal::new(3_000, 3)),
    }
}

/// The event API Gateway sends with a JWT authorizer: claims are strings.
fn event(
    method: &str,
    route: &str,
    path: &str,
    query: &str,
    vendor: Option<&str>,
    body: Option<&str>,
) -> Value {
    let mut claims = json!({"sub": "user-1", "iss": "https://idp", "exp": "1893456000"});
    if let Some(v) = vendor {
        claims["vendor_id"] = json!(v);
    }
    let route_key = format!("{method} {route}");
    let mut e = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "api.example.com", "content-type": "application/json"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
            "domainPrefix": "api", "requestId": "req-1", "routeKey": route_key, "stage": "$default",
            "time": "01/Mar/2026:12:00:00 +0000", "timeEpoch": 1_772_366_400_000_i64,
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "authorizer": {"jwt": {"claims": claims, "scopes": null}}
        },
        "isBase64Encoded": false
    });
    if let Some(id) = path
        .strip_prefix("/uploads/")
        .and_then(|rest| rest.split('/').next())
    {
        e["pathParameters"] = json!({"upload_id": id});
    }
    if let Some(b) = body {
        e["body"] = json!(b);
    }
    e
}

fn ids(body: &Value) -> Vec<String> {
    body["uploads"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["upload_id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn post_uploads_answers_a_presigned_put_with_its_signed_headers() {
    let w = World::new();
    let (status, body, _) = w
        .call(
            "POST",
            "/uploads",
            "/uploads",
            "",
            Some("VEND001"),
            Some(r#"{"file_name": "spring sale.csv", "content_length": 11}"#),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["method"], "PUT");
    assert_eq!(body["key"], "uploads/VEND001/spring sale.csv");
    assert_eq!(
        body["headers"],
        json!({"content-length": "11", "content-type": "text/csv"})
    );
    assert!(
        body["upload_url"]
            .as_str()
            .unwrap_or_default()
            .starts_with("memory://vendor-uploads/uploads/VEND001/spring sale.csv?expires=900"),
        "{body}"
    );
    let expires = body["expires_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let left = expires
        .map(|t| (t.with_timezone(&Utc) - Utc::now()).num_seconds())
        .unwrap_or_default();
    assert!((890..=900).contains(&left), "{body}");
}

#[tokio::test]
async fn post_uploads_refuses_bad_names_lengths_and_bodies_with_json_errors() {
    let w = World::new();
    for (body, status, code) in [
        (
            r#"{"file_name": "x.txt", "content_length": 1}"#,
            400,
            "INVALID_FILE_NAME",
        ),
        (
            r#"{"file_name": "a/b.csv", "content_length": 1}"#,
            400,
            "INVALID_FILE_NAME",
        ),
        (
            r#"{"file_name": "a.csv", "content_length": 1001}"#,
            413,
            "FILE_TOO_LARGE",
        ),
        (
            r#"{"file_name": "a.csv", "content_length": -5}"#,
            400,
            "INVALID_CONTENT_LENGTH",
        ),
        (r#"{"file_name": "a.csv"}"#, 400, "INVALID_CONTENT_LENGTH"),
        ("not json", 400, "INVALID_REQUEST"),
    ] {
        let (got, answer, _) = w
            .call("POST", "/uploads", "/uploads", "", Some("VEND001"), Some(body))
            .await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}: {answer}"
        );
        assert!(
            answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{answer}"
        );
    }
    let (got, answer, _) = w
        .call("POST", "/uploads", "/uploads", "", Some("VEND001"), None)
        .await;
    assert_eq!(
        (got, answer["error"]["code"].as_str()),
        (400, Some("INVALID_REQUEST"))
    );
}

#[tokio::test]
async fn no_vendor_claim_is_401_and_an_unknown_route_is_404() {
    let w = World::new();
    let (status, body, _) = w.call("GET", "/uploads", "/uploads", "", None, None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("UNAUTHORIZED"))
    );
    let (status, _, _) = w
        .call("GET", "/uploads", "/uploads", "", Some("../VEND002"), None)
        .await;
    assert_eq!(status, 401, "a claim that cannot be a vendor id is no vendor");
    let (status, body, _) = w
        .call(
            "DELETE",
            "/uploads/{upload_id}",
            "/uploads/x",
            "",
            Some("VEND001"),
            None,
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
}

#[tokio::test]
async fn paging_through_45_uploads_20_at_a_time_sees_each_once_newest_first() {
    let w = World::new();
    let mut mine = w.uploads("VEND001", 45, UploadStatus::Completed);
    w.uploads("VEND002", 5, UploadStatus::Completed);
    let mut seen = Vec::new();
    let mut query = "limit=20".to_string();
    let mut pages = 0;
    loop {
        let (status, body) = w.get("/uploads", "/uploads", &query, "VEND001").await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        seen.extend(ids(&body));
        match body["next_token"].as_str() {
            Some(t) => query = format!("limit=20&next_token={t}"),
            None => break,
        }
    }
    mine.reverse();
    assert_eq!(pages, 3);
    assert_eq!(seen, mine);
}

#[tokio::test]
async fn a_next_token_is_bound_to_the_vendor_and_the_filters() {
    let w = World::new();
    w.uploads("VEND001", 3, UploadStatus::Partial);
    w.uploads("VEND002", 3, UploadStatus::Partial);
    let (_, page) = w.get("/uploads", "/uploads", "limit=1", "VEND002").await;
    let token = page["next_token"].as_str().unwrap_or_default().to_string();
    assert!(!token.is_empty(), "{page}");
    // Vendor A replaying B's token learns nothing about B.
    let (status, body) = w
        .get(
            "/uploads",
            "/uploads",
            &format!("limit=1&next_token={token}"),
            "VEND001",
        )
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("INVALID_NEXT_TOKEN")),
        "{body}"
    );
    assert!(!body.to_string().contains("VEND002"), "{body}");
    // Same vendor, other filters.
    let (status, _) = w
        .get(
            "/uploads",
            "/uploads",
            &format!("limit=1&status=failed&next_token={token}"),
            "VEND002",
        )
        .await;
    assert_eq!(status, 400);
    let (status, body) = w
        .get("/uploads", "/uploads", "next_token=forged.token", "VEND002")
        .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("INVALID_NEXT_TOKEN"))
    );
}

#[tokio::test]
async fn filters_by_status_and_inclusive_date_range() {
    let w = World::new();
    w.uploads("VEND001", 3, UploadStatus::Completed); // 12:00, 12:01, 12:02
    w.history
        .add(view("FAILED_1", "VEND001", UploadStatus::Failed, 60)); // 13:00
    let (_, body) = w.get("/uploads", "/uploads", "status=failed", "VEND001").await;
    assert_eq!(ids(&body), ["FAILED_1"]);
    let (_, body) = w
        .get(
            "/uploads",
            "/uploads",
            "from=2026-03-01T12:01:00Z&to=2026-03-01T12:02:00%2B00:00",
            "VEND001",
        )
        .await;
    assert_eq!(ids(&body), ["UPLOAD_VEND001_002", "UPLOAD_VEND001_001"], "{body}");
    let (_, body) = w.get("/uploads", "/uploads", "from=2026-03-02", "VEND001").await;
    assert_eq!(ids(&body), Vec::<String>::new());
    let (_, body) = w.get("/uploads", "/uploads", "to=2026-03-01", "VEND001").await;
    assert_eq!(ids(&body).len(), 4, "a date as `to` covers the whole day");
    for q in ["limit=0", "limit=101", "limit=x", "status=done", "from=tomorrow"] {
        let (status, body) = w.get("/uploads", "/uploads", q, "VEND001").await;
        assert_eq!(status, 400, "{q}: {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn another_vendors_upload_is_404_exactly_like_a_missing_one() {
    let w = World::new();
    let b = w.uploads("VEND002", 1, UploadStatus::Partial).remove(0);
    w.history.add_error(
        &b,
        "VEND002",
        ErrorView {
            row_number: 1,
            error_type: "INVALID_PRICE".into(),
            error_field: "price".into(),
            error_message: "bad".into(),
        },
    );
    for route in [
        "/uploads/{upload_id}",
        "/uploads/{upload_id}/errors",
        "/uploads/{upload_id}/report",
    ] {
        let path = route.replace("{upload_id}", &b);
        let (theirs, their_body) = w.get(route, &path, "", "VEND001").await;
        let missing_path = route.replace("{upload_id}", "UPLOAD_NOPE");
        let (missing, missing_body) = w.get(route, &missing_path, "", "VEND001").await;
        assert_eq!((theirs, missing), (404, 404), "{route}");
        // Word for word the same answer, but for the id the caller gave.
        assert_eq!(
            their_body.to_string().replace(&b, "ID"),
            missing_body.to_string().replace("UPLOAD_NOPE", "ID")
        );
        let (own, _) = w.get(route, &path, "", "VEND002").await;
        assert!(own == 200 || own == 302, "{route}: {own}");
    }
}

#[tokio::test]
async fn one_upload_its_errors_in_row_order_paged_and_its_report_redirect() {
    let w = World::new();
    let id = w.uploads("VEND001", 1, UploadStatus::Partial).remove(0);
    for (row, code) in [
        (3, "INVALID_SKU"),
        (1, "INVALID_PRICE"),
        (1, "INVALID_STOCK"),
        (2, "MALFORMED_ROW"),
    ] {
        w.history.add_error(
            &id,
            "VEND001",
            ErrorView {
                row_number: row,
                error_type: code.into(),
                error_field: String::new(),
                error_message: format!("row {row}"),
            },
        );
    }
    let path = format!("/uploads/{id}");
    let (status, body) = w.get("/uploads/{upload_id}", &path, "", "VEND001").await;
    assert_eq!(status, 200);
    for field in [
        "upload_id",
        "status",
        "total_records",
        "valid_records",
        "error_records",
        "error_file_s3_key",
        "file_name",
        "upload_timestamp",
        "processing_completed_at",
    ] {
        assert!(body.get(field).is_some(), "{field} missing from {body}");
    }
    assert_eq!(body["processing_duration_seconds"], json!(3.0));

    let errors_path = format!("{path}/errors");
    let (_, first) = w
        .get("/uploads/{upload_id}/errors", &errors_path, "limit=3", "VEND001")
        .await;
    let codes: Vec<&str> = first["errors"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["error_type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(codes, ["INVALID_PRICE", "INVALID_STOCK", "MALFORMED_ROW"]);
    let token = first["next_token"].as_str().unwrap_or_default();
    let (_, second) = w
        .get(
            "/uploads/{upload_id}/errors",
            &errors_path,
            &format!("limit=3&next_token={token}"),
            "VEND001",
        )
        .await;
    assert_eq!(second["errors"][0]["error_type"], "INVALID_SKU");
    assert_eq!(second["errors"][0]["row_number"], 3);
    assert!(second["next_token"].is_null());
    let (status, _) = w
        .get(
            "/uploads/{upload_id}/errors",
            &errors_path,
            "limit=1001",
            "VEND001",
        )
        .await;
    assert_eq!(status, 400);

    let (status, body, location) = w
        .call(
            "GET",
            "/uploads/{upload_id}/report",
            &format!("{path}/report"),
            "",
            Some("VEND001"),
            None,
        )
        .await;
    assert_eq!(status, 302, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(format!("memory://vendor-uploads/reports/VEND001/{id}.csv?expires=300").as_str())
    );
}

#[tokio::test]
async fn an_upload_without_errors_has_no_report() {
    let w = World::new();
    let id = w.uploads("VEND001", 1, UploadStatus::Completed).remove(0);
    let (status, body) = w
        .get(
            "/uploads/{upload_id}/report",
            &format!("/uploads/{id}/report"),
            "",
            "VEND001",
        )
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
}

#[tokio::test]
async fn a_fault_is_500_with_no_detail_in_the_body() {
    let w = World::new();
    w.history.fail_next.arm();
    let (status, body) = w.get("/uploads", "/uploads", "", "VEND001").await;
    assert_eq!(status, 500);
    assert_eq!(
        body,
        json!({"error": {"code": "INTERNAL_ERROR", "message": "internal error; try again later"}})
    );
    w.urls.fail_next.arm();
    let (status, body, _) = w
        .call(
            "POST",
            "/uploads",
            "/uploads",
            "",
            Some("VEND001"),
            Some(r#"{"file_name":"a.csv","content_length":1}"#),
        )
        .await;
    assert_eq!(status, 500);
    assert!(!body.to_string().contains("credentials"), "{body}");
}

#[tokio::test]
async fn a_report_key_outside_the_vendors_prefix_is_never_signed() {
    let w = World::new();
    let mut v = view("U1", "VEND001", UploadStatus::Partial, 0);
    v.error_file_s3_key = Some("reports/VEND002/U1.csv".into());
    w.history.add(v);
    let (status, _) = w
        .get("/uploads/{upload_id}/report", "/uploads/U1/report", "", "VEND001")
        .await;
    assert_eq!(status, 500);
}
