use super::*;
use domain::tools::into_result;
use domain::tools::profile::CustomerProfile;
use domain::tools::warranty::{FixedClock, WarrantyRecord};
use testkit::InMemoryProfiles;
use testkit::InMemoryWarranties;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 15).unwrap_or_default()
}

fn fixtures() -> (InMemoryWarranties, InMemoryProfiles, FixedClock) {
    let w = |serial: &str, end: &str| WarrantyRecord {
        serial_number: serial.into(),
        product_name: Some("Laptop Pro".into()),
        purchase_date: Some("2023-06-15".into()),
        warranty_end_date: end.into(),
        warranty_type: Some("Extended".into()),
        customer_name: Some("John  Doe".into()),
        coverage_details: Some("Parts and labour".into()),
    };
    let warranties = InMemoryWarranties(vec![
        w("ACTIVE0001", "2025-07-15"),
        w("LASTDAY001", "2025-06-15"),
        w("EXPIRED001", "2025-06-14"),
    ]);
    let profiles = InMemoryProfiles::new(vec![
        CustomerProfile {
            customer_id: "CUST001".into(),
            first_name: Some("john".into()),
            last_name: Some("DOE".into()),
            email: Some("john.doe@example.com".into()),
            ..Default::default()
        },
        CustomerProfile {
            customer_id: "CUST002".into(),
            first_name: Some("Jane".into()),
            last_name: Some("Smith".into()),
            email: Some("jane@example.com".into()),
            ..Default::default()
        },
    ]);
    (warranties, profiles, FixedClock(today()))
}

async fn run(args: Value) -> Value {
    let (w, p, c) = fixtures();
    let ports = WarrantyPorts {
        warranties: &w,
        profiles: &p,
        clock: &c,
    };
    match call(CHECK_WARRANTY_STATUS, args, &ports).await {
        Ok(r) => into_result(r),
        Err(e) => panic!("fault: {e}"),
    }
}

#[tokio::test]
async fn status_and_days_remaining_follow_the_clock() {
    let out = run(json!({"serial_number": "ACTIVE0001"})).await;
    assert_eq!(out["status"], "active");
    assert_eq!(out["days_remaining"], 30);
    let out = run(json!({"serial_number": "LASTDAY001"})).await;
    assert_eq!(
        (out["status"].clone(), out["days_remaining"].clone()),
        (json!("active"), json!(0))
    );
    let out = run(json!({"serial_number": "EXPIRED001"})).await;
    assert_eq!(
        (out["status"].clone(), out["days_remaining"].clone()),
        (json!("expired"), json!(0))
    );
    assert_eq!(out["product_name"], "Laptop Pro");
    assert_eq!(out["coverage_details"], "Parts and labour");
}

#[tokio::test]
async fn owner_details_only_for_the_owner() {
    let anonymous = run(json!({"serial_number": "ACTIVE0001"})).await;
    assert!(anonymous.get("customer_name").is_none() && anonymous.get("purchase_date").is_none());
    assert_eq!(anonymous["owner_verified"], false);
    let owner = run(json!({"serial_number": "ACTIVE0001", "customer_email": "John.Doe@Example.com"})).await;
    assert_eq!(owner["owner_verified"], true, "{owner}");
    assert_eq!(owner["customer_name"], "John  Doe");
    assert_eq!(owner["purchase_date"], "2023-06-15");
    let stranger = run(json!({"serial_number": "ACTIVE0001", "customer_email": "jane@example.com"})).await;
    assert!(stranger.get("customer_name").is_none());
    let unknown = run(json!({"serial_number": "ACTIVE0001", "customer_email": "nobody@example.com"})).await;
    assert!(unknown.get("purchase_date").is_none());
}

#[tokio::test]
async fn unknown_serials_and_bad_arguments_are_json_errors() {
    assert_eq!(
        run(json!({"serial_number": "NOSUCH0001"})).await["error"]["code"],
        "NOT_FOUND"
    );
    for bad in [
        json!({}),
        json!({"serial_number": "abc12345"}),
        json!({"serial_number": "SHORT"}),
        json!({"serial_number": 12345678}),
        json!({"serial_number": "ACTIVE0001", "customer_email": "not-an-email"}),
        json!({"serial_number": "ACTIVE0001", "customer_email": 5}),
        json!({"serial_number": "ACTIVE0001", "extra": true}),
        json!("ACTIVE0001"),
    ] {
        assert_eq!(
            run(bad.clone()).await["error"]["code"],
            "INVALID_ARGUMENT",
            "{bad}"
        );
    }
    let (w, p, c) = fixtures();
    let ports = WarrantyPorts {
        warranties: &w,
        profiles: &p,
        clock: &c,
    };
    let out = call("extend_warranty", json!({}), &ports)
        .await
        .map(into_result)
        .unwrap_or_default();
    assert_eq!(out["error"]["code"], "UNKNOWN_TOOL");
}

#[tokio::test]
async fn the_handler_reads_the_tool_name_from_the_client_context() {
    let (w, p, c) = fixtures();
    let ports = WarrantyPorts {
        warranties: &w,
        profiles: &p,
        clock: &c,
    };
    let cc =
        domain::tools::gateway::gateway_client_context("warranty___check_warranty_status", "1").to_string();
    let ctx = adapters::gateway::lambda_context("req-1", Some(&cc)).unwrap_or_else(|e| panic!("{e}"));
    let out = handle(
        lambda_runtime::LambdaEvent::new(serde_json::json!({"serial_number": "ACTIVE0001"}), ctx),
        &ports,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["serial_number"], "ACTIVE0001", "{out}");
}
