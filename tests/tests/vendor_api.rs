//! The vendor API end to end: `devstack api` (API Gateway's routing and JWT
//! authorizer, the function in-process, the bucket notification) on the local stack,
//! spoken to with curl.

use chrono::{Duration as Span, TimeZone, Utc};
use e2e::pipeline::{csv_body, pg, unique, valid_row};
use e2e::vendor_api::{curl, put, seed_history, server, Vendor};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

fn csv_file(name: &str, rows: &[String]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, csv_body(rows)).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or_default()
}

fn ids(uploads: &[Value]) -> Vec<String> {
    uploads
        .iter()
        .filter_map(|u| u["upload_id"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vendor_journey_works_with_curl_alone() {
    let vendor = Vendor::new("VEND001");
    let p = unique("JOURNEY");
    let name = format!("{p} journey.csv");
    let file = csv_file(
        &format!("{p}.csv"),
        &[
            valid_row(&p, 1, "10.00"),
            valid_row(&p, 2, "12.50"),
            format!("{p}-P3,Bad,Nope,{p}-SKU-3,abc,1,,,,"),
        ],
    );

    // 1. An upload URL.
    let answer = vendor
        .post(
            "/uploads",
            &format!(r#"{{"file_name": "{name}", "content_length": {}}}"#, len(&file)),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["method"], "PUT");
    assert_eq!(answer.body["key"], format!("uploads/VEND001/{name}").as_str());
    assert_eq!(
        answer.body["headers"]["content-length"],
        len(&file).to_string().as_str()
    );
    let url = answer.body["upload_url"].as_str().unwrap_or_default();
    assert!(
        url.contains("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost"),
        "{url}"
    );

    // 2. The PUT, with curl; nothing else is run.
    let stored = put(&answer.body, &file).await;
    assert_eq!(stored.status, 200, "{}", stored.text);

    // 3. The upload shows up and ends.
    let upload = vendor.wait_final(&name, Duration::from_secs(180)).await;
    assert_eq!(upload["status"], "partial", "{upload}");
    assert_eq!(
        (
            upload["total_records"].as_i64(),
            upload["valid_records"].as_i64(),
            upload["error_records"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );
    let id = upload["upload_id"].as_str().unwrap_or_default().to_string();
    let one = vendor.get(&format!("/uploads/{id}")).await;
    assert_eq!(one.status, 200);
    for field in [
        "upload_id",
        "status",
        "total_records",
        "valid_records",
        "error_records",
        "error_file_s3_key",
        "s3_key",
        "file_name",
        "upload_timestamp",
        "processing_completed_at",
    ] {
        assert_eq!(one.body[field], upload[field], "{field}");
    }

    // 4. Its errors, in row order.
    let errors = vendor.get(&format!("/uploads/{id}/errors")).await;
    assert_eq!(errors.status, 200);
    let codes: Vec<(i64, String)> = errors.body["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["row_number"].as_i64().unwrap_or(-1),
                e["error_type"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            (3, "INVALID_CATEGORY".to_string()),
            (3, "INVALID_PRICE".to_string())
        ]
    );
    assert!(errors.body["next_token"].is_null());

    // 5. The report: a redirect to a presigned GET that curl follows.
    let redirect = vendor.get(&format!("/uploads/{id}/report")).await;
    assert_eq!(redirect.status, 302, "{}", redirect.text);
    let location = redirect.header("location").unwrap_or_default().to_string();
    assert!(location.contains("X-Amz-Expires=300"), "{location}");
    let report = curl(&[], &location).await;
    assert_eq!(report.status, 200);
    assert!(
        report.text.contains("row_number,error_type,error_message"),
        "{}",
        report.text
    );
    assert!(report.text.contains("INVALID_PRICE"), "{}", report.text);

    // 6. The notification, once, linking the report through the API.
    let sent = devstack::notifications::collect(&id, Duration::from_secs(20))
        .await
        .unwrap_or_default();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let message = &sent[0]["message"];
    assert_eq!(message["status"], "partial");
    assert_eq!(
        message["report_url"],
        format!("{}/uploads/{id}/report", server().url).as_str()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_put_of_another_length_than_signed_is_refused_and_leaves_no_upload() {
    let vendor = Vendor::new("VEND001");
    let p = unique("LENGTH");
    let file = csv_file(&format!("{p}.csv"), &[valid_row(&p, 1, "10.00")]);
    let bad_name = format!("{p}-bad.csv");
    let answer = vendor
        .post(
            "/uploads",
            &format!(
                r#"{{"file_name": "{bad_name}", "content_length": {}}}"#,
                len(&file) - 1
            ),
        )
        .await;
    assert_eq!(answer.status, 201);
    // moto takes it (S3 would answer 403 SignatureDoesNotMatch) ...
    assert_eq!(put(&answer.body, &file).await.status, 200);
    // ... and the local stack undoes it as S3 would never have stored it.
    let sdk = e2e::stack::aws().await;
    let s3 = adapters::s3::client(&sdk);
    let bucket = e2e::stack::var("UPLOAD_BUCKET");
    let key = format!("uploads/VEND001/{bad_name}");
    let started = std::time::Instant::now();
    while s3.head_object().bucket(&bucket).key(&key).send().await.is_ok() {
        assert!(started.elapsed() < Duration::from_secs(60), "{key} still there");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A PUT with the signed length right after goes through.
    let good_name = format!("{p}-good.csv");
    let good = vendor
        .post(
            "/uploads",
            &format!(
                r#"{{"file_name": "{good_name}", "content_length": {}}}"#,
                len(&file)
            ),
        )
        .await;
    assert_eq!(put(&good.body, &file).await.status, 200);
    assert_eq!(
        vendor.wait_final(&good_name, Duration::from_secs(180)).await["status"],
        "completed"
    );
    let (all, _) = vendor.all_uploads("limit=100").await;
    assert!(
        all.iter().all(|u| u["file_name"] != bad_name.as_str()),
        "no upload for the refused PUT"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_through_45_uploads_20_at_a_time_sees_each_exactly_once() {
    let db = pg().await;
    let vendor = Vendor::new(&unique("PAGE"));
    let base = Utc
        .with_ymd_and_hms(2025, 6, 1, 8, 0, 0)
        .single()
        .unwrap_or_default();
    // Every fifth shares its timestamp with the previous one: ties are ordered by id.
    let rows: Vec<(String, &str, chrono::DateTime<Utc>)> = (0..45)
        .map(|i| {
            (
                format!("{}_{i:02}", vendor.id),
                "completed",
                base + Span::minutes(i - i64::from(i % 5 == 4)),
            )
        })
        .collect();
    seed_history(&db, &vendor.id, &rows).await;
    let (seen, pages) = vendor.all_uploads("limit=20").await;
    assert_eq!(pages, 3);
    let got = ids(&seen);
    let distinct: BTreeSet<&String> = got.iter().collect();
    assert_eq!((got.len(), distinct.len()), (45, 45), "each exactly once");
    let mut newest_first = rows.clone();
    newest_first.sort_by(|a, b| (b.2, &b.0).cmp(&(a.2, &a.0)));
    assert_eq!(got, newest_first.iter().map(|r| r.0.clone()).collect::<Vec<_>>());
    // An upload arriving between pages does not shift the pages already handed out.
    let first = vendor.get("/uploads?limit=20").await;
    seed_history(
        &db,
        &vendor.id,
        &[(format!("{}_new", vendor.id), "completed", base + Span::days(1))],
    )
    .await;
    let token = first.body["next_token"].as_str().unwrap_or_default();
    assert!(!token.is_empty(), "{}", first.body);
    let second = vendor.get(&format!("/uploads?limit=20&next_token={token}")).await;
    assert_eq!(
        ids(second.body["uploads"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()),
        got[20..40].to_vec()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_by_status_and_an_inclusive_date_range() {
    let db = pg().await;
    let vendor = Vendor::new(&unique("FILTER"));
    let day = |d: u32, h: u32| {
        Utc.with_ymd_and_hms(2025, 3, d, h, 0, 0)
            .single()
            .unwrap_or_default()
    };
    let id = |n: &str| format!("{}_{n}", vendor.id);
    seed_history(
        &db,
        &vendor.id,
        &[
            (id("a"), "completed", day(1, 0)),
            (id("b"), "failed", day(2, 9)),
            (id("c"), "partial", day(2, 23)),
            (id("d"), "failed", day(3, 12)),
            (id("e"), "processing", day(4, 1)),
        ],
    )
    .await;
    let list = |q: &'static str| {
        let vendor = &vendor;
        async move { ids(&vendor.all_uploads(q).await.0) }
    };
    assert_eq!(list("status=failed").await, [id("d"), id("b")]);
    assert_eq!(
        list("from=2025-03-02&to=2025-03-03").await,
        [id("d"), id("c"), id("b")]
    );
    assert_eq!(
        list("from=2025-03-02T09:00:00Z&to=2025-03-02T23:00:00%2B00:00").await,
        [id("c"), id("b")]
    );
    assert_eq!(list("status=failed&from=2025-03-03").await, [id("d")]);
    assert_eq!(list("to=2025-03-01").await, [id("a")]);
    assert_eq!(list("status=processing").await, [id("e")]);
    // A seeded `processing` row has nothing the reconciler could end it with: remove the
    // vendor's rows, or a later `faults_reconciler` run on this stack finds it stuck.
    db.execute("DELETE FROM upload_history WHERE vendor_id = $1", &[&vendor.id])
        .await
        .expect("remove the seeded rows");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_never_sees_lists_pages_into_or_downloads_another_vendors_uploads() {
    let db = pg().await;
    let a = Vendor::new(&unique("VA"));
    let b = Vendor::new(&unique("VB"));
    let at = Utc
        .with_ymd_and_hms(2025, 5, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    let b_rows: Vec<(String, &str, chrono::DateTime<Utc>)> = (0..3)
        .map(|i| (format!("{}_{i}", b.id), "partial", at + Span::minutes(i)))
        .collect();
    seed_history(&db, &b.id, &b_rows).await;
    seed_history(&db, &a.id, &[(format!("{}_0", a.id), "completed", at)]).await;
    let theirs = &b_rows[0].0;
    // B's report exists, so only the ownership check stands between A and it.
    let sdk = e2e::stack::aws().await;
    adapters::s3::client(&sdk)
        .put_object()
        .bucket(e2e::stack::var("UPLOAD_BUCKET"))
        .key(format!("reports/{}/{theirs}.csv", b.id))
        .body(b"secret,row_number,error_type,error_message\n".to_vec().into())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        b.get(&format!("/uploads/{theirs}/report")).await.status,
        302,
        "B reaches its own report"
    );

    for suffix in ["", "/errors", "/report"] {
        let mine = a.get(&format!("/uploads/{theirs}{suffix}")).await;
        let missing = a.get(&format!("/uploads/{}_nope{suffix}", a.id)).await;
        assert_eq!((mine.status, missing.status), (404, 404), "{suffix}");
        // Word for word a missing upload's answer, but for the id A asked about.
        assert_eq!(
            mine.text.replace(theirs.as_str(), "ID"),
            missing.text.replace(&format!("{}_nope", a.id), "ID")
        );
        assert!(mine.header("location").is_none());
    }
    let (listed, _) = a.all_uploads("limit=100").await;
    assert_eq!(ids(&listed), [format!("{}_0", a.id)]);

    let page = b.get("/uploads?limit=1").await;
    let token = page.body["next_token"].as_str().unwrap_or_default().to_string();
    assert!(!token.is_empty());
    let replayed = a.get(&format!("/uploads?limit=1&next_token={token}")).await;
    assert_eq!(
        (replayed.status, replayed.code()),
        (400, Some("INVALID_NEXT_TOKEN")),
        "{}",
        replayed.text
    );
    assert!(!replayed.text.contains(&b.id), "{}", replayed.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked_as_the_jwt_authorizer_checks_them() {
    e2e::stack::load_env();
    let url = format!("{}/uploads", server().url);
    let unauthorized = |r: &e2e::vendor_api::Reply| {
        r.status == 401 && r.body == serde_json::json!({"message": "Unauthorized"})
    };
    let none = curl(&[], &url).await;
    assert!(unauthorized(&none), "{none:?}");
    let jwt =
        devstack::jwt::Jwt::from_source(&adapters::config::ProcessEnv).unwrap_or_else(|e| panic!("{e}"));
    let claims = |v: &str| {
        serde_json::json!({"vendor_id": v})
            .as_object()
            .cloned()
            .unwrap_or_default()
    };
    let forged = devstack::jwt::Jwt::new("not-the-key", e2e::stack::var("JWT_ISSUER"))
        .mint(&jwt.vendor_audience, claims("VEND001"), Duration::from_secs(600))
        .unwrap_or_default();
    let expired = devstack::token::run(Some("VEND001".into()), None, -5).unwrap_or_default();
    let later = |claim: &str| {
        let mut c = claims("VEND001");
        c.insert(claim.into(), (Utc::now().timestamp() + 3600).into());
        jwt.mint(&jwt.vendor_audience, c, Duration::from_secs(7200))
            .unwrap_or_default()
    };
    let gateway = devstack::token::run(None, Some("tenanta".into()), 600).unwrap_or_default();
    for (what, token) in [
        ("forged", forged),
        ("expired", expired),
        ("another audience", gateway),
        ("garbage", "a.b.c".to_string()),
        ("not valid before an hour from now", later("nbf")),
        ("issued an hour from now", later("iat")),
    ] {
        let r = curl(&["-H", &format!("Authorization: Bearer {token}")], &url).await;
        assert!(unauthorized(&r), "{what}: {r:?}");
        assert!(
            r.header("www-authenticate")
                .is_some_and(|h| h.contains("invalid_token")),
            "{what}"
        );
        if what.contains("hour from now") {
            assert!(
                r.header("www-authenticate")
                    .is_some_and(|h| h.contains("not valid yet")),
                "{what}: {r:?}"
            );
        }
    }
    // Verified, but no vendor claim: the function refuses it.
    let no_vendor = jwt
        .mint(&jwt.vendor_audience, Default::default(), Duration::from_secs(600))
        .unwrap_or_default();
    let r = curl(&["-H", &format!("Authorization: Bearer {no_vendor}")], &url).await;
    assert_eq!((r.status, r.code()), (401, Some("UNAUTHORIZED")), "{}", r.text);
    let ok = Vendor::new("VEND002").get("/uploads?limit=1").await;
    assert_eq!(ok.status, 200);
}

/// The refused request's body arrives after its headers: `devstack api` must read it
/// before answering 401, or it closes the connection and loses the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_leaves_its_connection_usable_for_the_next_one() {
    let authority = server().url.trim_start_matches("http://").to_string();
    let body = r#"{"file_name": "a.csv", "content_length": 10}"#;
    let (answers, seen) = e2e::keepalive::answers_on_one_connection(&authority, "/uploads", body, 401).await;
    assert_eq!(
        answers, 2,
        "both requests on one connection are answered 401 (no token):\n{seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_errors_naming_the_problem() {
    let vendor = Vendor::new("VEND003");
    let max = e2e::stack::var("MAX_UPLOAD_BYTES")
        .parse::<u64>()
        .unwrap_or_default();
    for (body, status, code, names) in [
        (
            r#"{"file_name": "products.txt", "content_length": 10}"#.to_string(),
            400,
            "INVALID_FILE_NAME",
            "file_name",
        ),
        (
            r#"{"file_name": "a/b.csv", "content_length": 10}"#.to_string(),
            400,
            "INVALID_FILE_NAME",
            "file_name",
        ),
        (
            format!(
                r#"{{"file_name": "{}.csv", "content_length": 10}}"#,
                "x".repeat(200)
            ),
            400,
            "INVALID_FILE_NAME",
            "file_name",
        ),
        (
            format!(r#"{{"file_name": "big.csv", "content_length": {}}}"#, max + 1),
            413,
            "FILE_TOO_LARGE",
            "content_length",
        ),
        (
            r#"{"file_name": "a.csv", "content_length": "ten"}"#.to_string(),
            400,
            "INVALID_CONTENT_LENGTH",
            "content_length",
        ),
        (
            r#"{"file_name": "big.csv", "content_length": 99999999999999999999999}"#.to_string(),
            413,
            "FILE_TOO_LARGE",
            "content_length",
        ),
        ("{".to_string(), 400, "INVALID_REQUEST", "JSON"),
    ] {
        let r = vendor.post("/uploads", &body).await;
        assert_eq!((r.status, r.code()), (status, Some(code)), "{body}: {}", r.text);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(names)),
            "{}",
            r.text
        );
    }
    for q in ["limit=0", "limit=101", "limit=abc", "status=done", "from=someday"] {
        let r = vendor.get(&format!("/uploads?{q}")).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text);
        assert!(r.code().is_some(), "{q}: {}", r.text);
    }
    // An id no upload can have (PostgreSQL's text holds no NUL) is a missing upload.
    for suffix in ["", "/errors", "/report"] {
        let r = vendor.get(&format!("/uploads/a%00b{suffix}")).await;
        assert_eq!(
            (r.status, r.code()),
            (404, Some("NOT_FOUND")),
            "{suffix}: {}",
            r.text
        );
    }
    let r = vendor.get("/uploads?status=&from=&to=&limit=&next_token=").await;
    assert_eq!(r.status, 200, "the route's template as written: {}", r.text);
    let r = vendor.get("/uploads/x/errors?limit=1001").await;
    assert_eq!((r.status, r.code()), (400, Some("INVALID_LIMIT")));
    let r = vendor.get("/nowhere").await;
    assert_eq!(
        (r.status, r.body.clone()),
        (404, serde_json::json!({"message": "Not Found"}))
    );
}
