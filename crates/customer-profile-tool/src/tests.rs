use super::*;
use domain::tools::into_result;
use domain::tools::profile::CustomerProfile;
use rust_decimal::Decimal;
use serde_json::json;
use std::str::FromStr;
use testkit::InMemoryProfiles;

fn store() -> InMemoryProfiles {
    InMemoryProfiles::new(vec![CustomerProfile {
        customer_id: "CUST001".into(),
        first_name: Some("John".into()),
        last_name: Some("Doe".into()),
        email: Some("john.doe@example.com".into()),
        phone: Some("+1-555-0101".into()),
        date_of_birth: Some("1985-03-15".into()),
        tier: Some("Gold".into()),
        total_purchases: Some(15),
        lifetime_value: Decimal::from_str("12345.67").ok(),
        ..Default::default()
    }])
}

async fn run(tool: &str, args: Value, s: &InMemoryProfiles) -> Value {
    match call(tool, args, s).await {
        Ok(r) => into_result(r),
        Err(e) => panic!("fault: {e}"),
    }
}

#[tokio::test]
async fn reads_by_id_or_by_email_case_insensitively() {
    let s = store();
    let by_id = run(GET_CUSTOMER_PROFILE, json!({"customer_id": "CUST001"}), &s).await;
    assert_eq!(by_id["tier"], "Gold");
    assert_eq!(by_id["lifetime_value"], "12345.67");
    assert!(by_id.get("date_of_birth").is_none(), "{by_id}");
    let by_email = run(GET_CUSTOMER_PROFILE, json!({"email": "John.DOE@example.com"}), &s).await;
    assert_eq!(by_email, by_id);
    assert_eq!(
        run(GET_CUSTOMER_PROFILE, json!({"customer_id": "CUST999"}), &s).await["error"]["code"],
        "NOT_FOUND"
    );
    assert_eq!(
        run(GET_CUSTOMER_PROFILE, json!({"email": "x@example.com"}), &s).await["error"]["code"],
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn updates_existing_profiles_only() {
    let s = store();
    let out = run(
        UPDATE_CUSTOMER_PROFILE,
        json!({
            "customer_id": "CUST001",
            "phone": "+1 (555) 010-9999",
            "address": {"street": "1 Main St", "city": "Springfield", "zip": "12345", "country": "USA"},
            "communication_preferences": {"email": true, "sms": false, "phone": false},
            "notes": "prefers e-mail"
        }),
        &s,
    )
    .await;
    assert_eq!(out["phone"], "+1 (555) 010-9999", "{out}");
    assert_eq!(out["address"]["city"], "Springfield");
    assert_eq!(out["communication_preferences"]["sms"], false);
    assert_eq!(out["lifetime_value"], "12345.67");
    let missing = run(
        UPDATE_CUSTOMER_PROFILE,
        json!({"customer_id": "CUST404", "notes": "x"}),
        &s,
    )
    .await;
    assert_eq!(missing["error"]["code"], "NOT_FOUND");
    assert_eq!(s.profiles.lock().map(|p| p.len()).unwrap_or_default(), 1);
}

#[tokio::test]
async fn malformed_arguments_are_json_errors() {
    let s = store();
    let get_bad = [
        json!({}),
        json!({"customer_id": "CUST001", "email": "john.doe@example.com"}),
        json!({"customer_id": "C1"}),
        json!({"customer_id": 1}),
        json!({"email": "nope"}),
        json!({"customer_id": "CUST001", "tier": "VIP"}),
    ];
    for args in get_bad {
        assert_eq!(
            run(GET_CUSTOMER_PROFILE, args.clone(), &s).await["error"]["code"],
            "INVALID_ARGUMENT",
            "{args}"
        );
    }
    let long_notes = "x".repeat(1001);
    let update_bad = [
        json!({"customer_id": "CUST001"}),
        json!({"phone": "+15550101"}),
        json!({"customer_id": "CUST001", "phone": "call me"}),
        json!({"customer_id": "CUST001", "phone": "123"}),
        json!({"customer_id": "CUST001", "notes": long_notes}),
        json!({"customer_id": "CUST001", "notes": 5}),
        json!({"customer_id": "CUST001", "address": "1 Main St"}),
        json!({"customer_id": "CUST001", "address": {"city": "X"}}),
        json!({"customer_id": "CUST001", "address": {"street": "s", "city": "c", "country": "d", "planet": "e"}}),
        json!({"customer_id": "CUST001", "address": {"street": "s", "city": 5, "country": "d"}}),
        json!({"customer_id": "CUST001", "communication_preferences": {"email": "yes", "sms": true, "phone": true}}),
        json!({"customer_id": "CUST001", "communication_preferences": {"email": true}}),
        json!({"customer_id": "CUST001", "communication_preferences": {"email": true, "sms": true, "phone": true, "fax": true}}),
        json!({"customer_id": "CUST001", "tier": "VIP"}),
        json!({"customer_id": "CUST001", "lifetime_value": 1}),
    ];
    for args in update_bad {
        assert_eq!(
            run(UPDATE_CUSTOMER_PROFILE, args.clone(), &s).await["error"]["code"],
            "INVALID_ARGUMENT",
            "{args}"
        );
    }
    assert_eq!(
        run("delete_customer_profile", json!({}), &s).await["error"]["code"],
        "UNKNOWN_TOOL"
    );
}
