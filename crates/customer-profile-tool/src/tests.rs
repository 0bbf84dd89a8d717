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
    let many_digits = format!("CUST{}", "9".repeat(21));
    assert_eq!(
        run(GET_CUSTOMER_PROFILE, json!({"customer_id": many_digits}), &s).await["error"]["code"],
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

fn problems(out: &Value) -> Vec<String> {
    out["error"]["details"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|p| {
                    format!(
                        "{}: {}",
                        p["argument"].as_str().unwrap_or("?"),
                        p["problem"].as_str().unwrap_or("?")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_lookup_names_exactly_one_of_id_and_email_and_says_which_rule_was_broken() {
    let s = store();
    let both = run(
        GET_CUSTOMER_PROFILE,
        json!({"customer_id": "CUST001", "email": "john.doe@example.com"}),
        &s,
    )
    .await;
    assert_eq!(
        problems(&both),
        ["customer_id: give exactly one of customer_id and email, not both"]
    );
    let neither = run(GET_CUSTOMER_PROFILE, json!({}), &s).await;
    assert_eq!(
        problems(&neither),
        ["customer_id: give exactly one of customer_id and email"]
    );
    // A wrong type is the problem; "give exactly one" would only add noise.
    let wrong_type = run(GET_CUSTOMER_PROFILE, json!({"customer_id": 5}), &s).await;
    assert_eq!(
        problems(&wrong_type),
        ["customer_id: must be a string, got a number"]
    );
}

#[tokio::test]
async fn several_profiles_with_one_email_answer_the_lowest_customer_id() {
    let s = InMemoryProfiles::new(
        ["CUST009", "CUST003", "CUST005"]
            .into_iter()
            .map(|id| CustomerProfile {
                customer_id: id.into(),
                email: Some("shared@example.com".into()),
                ..Default::default()
            })
            .collect(),
    );
    let out = run(GET_CUSTOMER_PROFILE, json!({"email": "shared@example.com"}), &s).await;
    assert_eq!(out["customer_id"], "CUST003", "{out}");
}

#[tokio::test]
async fn notes_and_address_fields_are_bounded_at_their_limits() {
    let s = store();
    let update = |args: Value| {
        let s = &s;
        async move { run(UPDATE_CUSTOMER_PROFILE, args, s).await }
    };
    let notes = "n".repeat(1_000);
    let ok = update(json!({"customer_id": "CUST001", "notes": notes})).await;
    assert_eq!(ok["notes"].as_str().map(str::len), Some(1_000), "{ok}");

    let address = |street: &str, zip: &str| {
        json!({"customer_id": "CUST001", "address": {
            "street": street, "city": "Springfield", "zip": zip, "country": "USA"}})
    };
    let long_street = "s".repeat(200);
    let ok = update(address(&long_street, &"9".repeat(20))).await;
    assert_eq!(ok["address"]["street"].as_str().map(str::len), Some(200), "{ok}");
    let too_long_street = "s".repeat(201);
    assert_eq!(
        problems(&update(address(&too_long_street, "1")).await),
        ["address.street: must be 1 to 200 characters"]
    );
    assert_eq!(
        problems(&update(address("1 Main St", &"9".repeat(21))).await),
        ["address.zip: must be 1 to 20 characters"]
    );
    assert_eq!(
        problems(&update(address("   ", "1")).await),
        ["address.street: must be 1 to 200 characters"]
    );
}

#[tokio::test]
async fn the_handler_reads_the_tool_name_from_the_client_context() {
    let s = store();
    let cc = domain::tools::gateway::gateway_client_context("customer-profile___get_customer_profile", "1")
        .to_string();
    let ctx = adapters::gateway::lambda_context("req-1", Some(&cc)).unwrap_or_else(|e| panic!("{e}"));
    let out = handle(
        lambda_runtime::LambdaEvent::new(json!({"customer_id": "CUST001"}), ctx),
        &s,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["customer_id"], "CUST001", "{out}");
}
