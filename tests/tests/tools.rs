//! The agent tools against the local stack (DynamoDB Local), each test with data it
//! inserts itself (unique tenants, products, serials, customers), through
//! `devstack tool`'s code path: the real interceptor with a JWT for the tenant, then the
//! tool's Lambda handler with the Gateway's event and client context. Plus the tool
//! schemas of `infra/tool-schemas/` against the handlers.

use adapters::dynamodb::DynamoReviewIndex;
use aws_sdk_dynamodb::types::AttributeValue;
use devstack::ToolArgs;
use domain::tools::reviews::TokenSigner;
use e2e::stack::{aws, load_env, unique, var};
use e2e::tools::{ids, put, review, unique_customer, unique_product, unique_serial};
use serde_json::{json, Value};
use std::collections::HashSet;

async fn dynamodb() -> aws_sdk_dynamodb::Client {
    adapters::dynamodb::client(&aws().await)
}

async fn tool(name: &str, args: Value, tenant: Option<&str>) -> Value {
    load_env();
    devstack::tool::call(&ToolArgs {
        tool_name: name.to_string(),
        args: args.to_string(),
        tenant: tenant.map(String::from),
    })
    .await
    .unwrap_or_else(|e| panic!("devstack tool {name}: {e:#}"))
}

#[tokio::test]
async fn a_tenant_sees_only_its_reviews_whatever_tenant_id_the_agent_sends() {
    let db = dynamodb().await;
    let table = var("PRODUCT_REVIEWS_TABLE");
    let (a, b) = (unique("tenA"), unique("tenB"));
    let product = unique_product();
    put(
        &db,
        &table,
        review(&a, product, "a1", 5, "2024-12-01T10:00:00Z", true),
    )
    .await;
    put(
        &db,
        &table,
        review(&a, product, "a2", 4, "2024-12-02T10:00:00Z", true),
    )
    .await;
    put(
        &db,
        &table,
        review(&b, product, "b1", 1, "2024-12-03T10:00:00Z", true),
    )
    .await;

    let out = tool(
        "get_product_reviews",
        json!({"tenant_id": b, "product_id": product}),
        Some(&a),
    )
    .await;
    let mut got = ids(&out);
    got.sort();
    assert_eq!(got, vec!["a1", "a2"], "{out}");
    assert_eq!(out["summary"]["review_count"], 2);
    assert!(
        out["reviews"][0].get("customer_email").is_none() && out["reviews"][0].get("tenant_id").is_none()
    );

    let out = tool("search_reviews", json!({"tenant_id": a}), Some(&b)).await;
    assert_eq!(ids(&out), vec!["b1"], "{out}");

    // No tenant claim (an empty one): refused by the interceptor, the tool never runs.
    let refused = tool(
        "get_product_reviews",
        json!({"tenant_id": a, "product_id": product}),
        Some(""),
    )
    .await;
    assert_eq!(
        refused["error"]["code"],
        gateway_interceptor::UNAUTHORIZED,
        "{refused}"
    );
    assert_eq!(refused["jsonrpc"], "2.0");
}

#[tokio::test]
async fn filters_and_summary_cover_every_matching_review() {
    let db = dynamodb().await;
    let table = var("PRODUCT_REVIEWS_TABLE");
    let t = unique("tenF");
    let p = unique_product();
    for (id, rating, date, verified) in [
        ("f1", 5, "2024-11-30T23:59:59Z", true),
        ("f2", 4, "2024-12-01T00:00:00Z", true),
        ("f3", 2, "2024-12-15T12:00:00Z", false),
        ("f4", 5, "2024-12-31T23:59:59Z", true),
        ("f5", 3, "2025-01-01T00:00:00Z", true),
        ("f6", 4, "2024-12-20T08:00:00Z", true),
    ] {
        put(&db, &table, review(&t, p, id, rating, date, verified)).await;
    }
    let out = tool(
        "get_product_reviews",
        json!({"product_id": p, "start_date": "2024-12-01", "end_date": "2024-12-31", "limit": 1}),
        Some(&t),
    )
    .await;
    // f2, f3, f4, f6: both bounds inclusive, the end date through 23:59:59.
    assert_eq!(out["summary"]["review_count"], 4, "{out}");
    assert_eq!(out["summary"]["average_rating"], json!(3.75));
    assert_eq!(
        out["summary"]["rating_counts"],
        json!({"1": 0, "2": 1, "3": 0, "4": 2, "5": 1})
    );
    assert_eq!(ids(&out).len(), 1);
    assert!(out["next_token"].is_string());

    let out = tool(
        "get_product_reviews",
        json!({"product_id": p, "min_rating": 4, "max_rating": 4, "verified_only": true}),
        Some(&t),
    )
    .await;
    let mut got = ids(&out);
    got.sort();
    assert_eq!(got, vec!["f2", "f6"], "{out}");
    assert_eq!(out["next_token"], Value::Null);

    let none = tool(
        "get_product_reviews",
        json!({"product_id": p, "min_rating": 1, "max_rating": 1}),
        Some(&t),
    )
    .await;
    assert_eq!(
        none["summary"],
        json!({"review_count": 0, "average_rating": null, "rating_counts": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}, "complete": true})
    );
}

#[tokio::test]
async fn paging_returns_every_review_exactly_once() {
    load_env();
    let db = dynamodb().await;
    let table = var("PRODUCT_REVIEWS_TABLE");
    let t = unique("tenP");
    let products = [unique_product(), unique_product()];
    let mut expected = HashSet::new();
    for i in 0..31 {
        let p = products[i % 2];
        let rating = (i % 5) as i64 + 1;
        let id = format!("p{i:03}");
        put(
            &db,
            &table,
            review(
                &t,
                p,
                &id,
                rating,
                &format!("2024-10-{:02}T09:00:00Z", i % 28 + 1),
                i % 3 != 0,
            ),
        )
        .await;
        if rating >= 3 {
            expected.insert(id);
        }
    }
    // Small DynamoDB pages, so filtered pages come back short and the loop must refill.
    let config = reviews_tool::ReviewsConfig {
        signer: TokenSigner::new(var("REVIEWS_TOKEN_SECRET")),
        page_size: 3,
        target: var("REVIEWS_TARGET_NAME"),
        summary_max: reviews_tool::DEFAULT_SUMMARY_MAX,
    };
    let index = DynamoReviewIndex::new(db.clone(), table);
    for limit in [1, 4, 7] {
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..200 {
            let mut args = json!({"tenant_id": t, "min_rating": 3, "limit": limit});
            if let Some(tk) = &token {
                args["next_token"] = json!(tk);
            }
            let out = reviews_tool::call("search_reviews", args, &index, &config)
                .await
                .map(domain::tools::into_result)
                .unwrap_or_else(|e| panic!("fault: {e}"));
            assert!(out.get("error").is_none(), "{out}");
            assert!(ids(&out).len() <= limit);
            assert_eq!(out["summary"]["review_count"], expected.len());
            seen.extend(ids(&out));
            match out["next_token"].as_str() {
                Some(tk) => token = Some(tk.to_string()),
                None => break,
            }
        }
        let unique_seen: HashSet<String> = seen.iter().cloned().collect();
        assert_eq!(
            seen.len(),
            unique_seen.len(),
            "limit {limit}: repeated reviews in {seen:?}"
        );
        assert_eq!(unique_seen, expected, "limit {limit}");
    }
    // A token minted for this tenant is refused for another.
    let first = reviews_tool::call(
        "search_reviews",
        json!({"tenant_id": t, "limit": 1}),
        &index,
        &config,
    )
    .await
    .map(domain::tools::into_result)
    .unwrap_or_default();
    let token = first["next_token"].as_str().unwrap_or_default().to_string();
    // Without a token the check below would pass for the wrong reason.
    assert!(!token.is_empty(), "no next_token to steal: {first}");
    let stolen = tool(
        "search_reviews",
        json!({"next_token": token}),
        Some(&unique("tenX")),
    )
    .await;
    assert_eq!(stolen["error"]["code"], "INVALID_NEXT_TOKEN", "{stolen}");
}

#[tokio::test]
async fn warranty_status_days_and_owner_gating() {
    let db = dynamodb().await;
    let warranties = var("WARRANTY_TABLE");
    let profiles = var("CUSTOMER_PROFILE_TABLE");
    let today = chrono::Utc::now().date_naive();
    let customer = unique_customer();
    let email = format!("{}@example.com", customer.to_lowercase());
    put(
        &db,
        &profiles,
        json!({"customer_id": customer, "first_name": "Ada", "last_name": "Lovelace", "email": email}),
    )
    .await;
    let w = |serial: &str, end: chrono::NaiveDate| {
        json!({"serial_number": serial, "product_name": "Tablet", "purchase_date": "2024-01-01",
               "warranty_end_date": end.format("%Y-%m-%d").to_string(), "warranty_type": "Standard",
               "customer_name": "ada  LOVELACE", "coverage_details": "Parts"})
    };
    let (today_s, past_s, future_s) = (unique_serial("WT"), unique_serial("WP"), unique_serial("WF"));
    put(&db, &warranties, w(&today_s, today)).await;
    put(&db, &warranties, w(&past_s, today - chrono::Duration::days(1))).await;
    put(&db, &warranties, w(&future_s, today + chrono::Duration::days(30))).await;

    let out = tool("check_warranty_status", json!({"serial_number": today_s}), None).await;
    assert_eq!(
        (out["status"].clone(), out["days_remaining"].clone()),
        (json!("active"), json!(0)),
        "{out}"
    );
    assert!(out.get("customer_name").is_none() && out.get("purchase_date").is_none());
    let out = tool("check_warranty_status", json!({"serial_number": past_s}), None).await;
    assert_eq!(
        (out["status"].clone(), out["days_remaining"].clone()),
        (json!("expired"), json!(0))
    );
    let out = tool(
        "check_warranty_status",
        json!({"serial_number": future_s, "customer_email": email.to_uppercase()}),
        None,
    )
    .await;
    assert_eq!(out["days_remaining"], 30);
    assert_eq!(out["owner_verified"], true, "{out}");
    assert_eq!(out["customer_name"], "ada  LOVELACE");
    assert_eq!(out["purchase_date"], "2024-01-01");
    let stranger = tool(
        "check_warranty_status",
        json!({"serial_number": future_s, "customer_email": "x@example.com"}),
        None,
    )
    .await;
    assert!(stranger.get("customer_name").is_none() && stranger["owner_verified"] == false);

    let missing = tool(
        "check_warranty_status",
        json!({"serial_number": unique_serial("NO")}),
        None,
    )
    .await;
    assert_eq!(missing["error"]["code"], "NOT_FOUND");
    let malformed = tool("check_warranty_status", json!({"serial_number": "abc-123"}), None).await;
    assert_eq!(malformed["error"]["code"], "INVALID_ARGUMENT");
}

#[tokio::test]
async fn profiles_by_id_and_email_and_updates_that_never_create() {
    let db = dynamodb().await;
    let table = var("CUSTOMER_PROFILE_TABLE");
    let id = unique_customer();
    let email = format!("{}@example.com", id.to_lowercase());
    put(
        &db,
        &table,
        json!({"customer_id": id, "first_name": "Grace", "last_name": "Hopper", "email": email,
               "date_of_birth": "1906-12-09", "tier": "VIP", "lifetime_value": 98765.43,
               "total_purchases": 12, "support_cases_count": 1,
               "communication_preferences": {"email": true, "sms": false, "phone": false}}),
    )
    .await;
    let by_id = tool("get_customer_profile", json!({"customer_id": id}), None).await;
    assert_eq!(by_id["tier"], "VIP", "{by_id}");
    assert_eq!(by_id["lifetime_value"], "98765.43");
    assert!(by_id.get("date_of_birth").is_none());
    let by_email = tool(
        "get_customer_profile",
        json!({"email": email.to_uppercase()}),
        None,
    )
    .await;
    assert_eq!(by_email, by_id);

    let updated = tool(
        "update_customer_profile",
        json!({"customer_id": id, "phone": "+1 555 0100", "notes": "call after 5pm",
               "communication_preferences": {"email": false, "sms": true, "phone": false}}),
        None,
    )
    .await;
    assert_eq!(updated["phone"], "+1 555 0100", "{updated}");
    assert_eq!(updated["communication_preferences"]["sms"], true);
    assert_eq!(updated["lifetime_value"], "98765.43");

    let ghost = unique_customer();
    let refused = tool(
        "update_customer_profile",
        json!({"customer_id": ghost, "notes": "x"}),
        None,
    )
    .await;
    assert_eq!(refused["error"]["code"], "NOT_FOUND", "{refused}");
    let stored = db
        .get_item()
        .table_name(&table)
        .key("customer_id", AttributeValue::S(ghost))
        .send()
        .await
        .map(|o| o.item)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(stored.is_none(), "the update created a profile");
    for bad in [
        json!({"customer_id": id}),
        json!({"customer_id": id, "phone": "not a phone"}),
        json!({"customer_id": id, "notes": "x".repeat(1001)}),
        json!({"customer_id": "CUST1", "notes": "x"}),
    ] {
        let out = tool("update_customer_profile", bad.clone(), None).await;
        assert_eq!(out["error"]["code"], "INVALID_ARGUMENT", "{bad}: {out}");
    }
}

mod schemas {
    //! Each handler accepts every argument its schema allows and refuses, with a JSON
    //! error, what it does not. Runs on the in-memory ports: no stack needed.

    use domain::tools::profile::CustomerProfile;
    use domain::tools::reviews::TokenSigner;
    use domain::tools::warranty::{FixedClock, WarrantyRecord};
    use serde_json::{json, Value};
    use testkit::{InMemoryProfiles, InMemoryReviewIndex, InMemoryWarranties};

    fn schema(target: &str) -> Vec<Value> {
        let path = format!(
            "{}/../infra/tool-schemas/{target}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        match serde_json::from_str(&text) {
            Ok(Value::Array(tools)) => tools,
            other => panic!("{path} is not an array of tools: {other:?}"),
        }
    }

    /// AgentCore's inline schema subset: type, description, properties, required, items.
    fn only_agentcore_keys(s: &Value, at: &str) {
        let obj = s.as_object().unwrap_or_else(|| panic!("{at} is not an object"));
        for (k, v) in obj {
            assert!(
                ["type", "description", "properties", "required", "items"].contains(&k.as_str()),
                "{at}: {k} is not in AgentCore's schema subset"
            );
            if k == "properties" {
                for (name, p) in v.as_object().into_iter().flatten() {
                    only_agentcore_keys(p, &format!("{at}.{name}"));
                }
            }
            if k == "items" {
                only_agentcore_keys(v, &format!("{at}[]"));
            }
        }
    }

    /// A valid value for every argument (the schemas' types, the code's rules).
    fn valid(tool: &str) -> Value {
        match tool {
            "get_product_reviews" => {
                json!({"tenant_id": "t1", "product_id": 1, "min_rating": 2, "max_rating": 5,
                "start_date": "2024-01-01", "end_date": "2024-12-31T23:59:59Z", "verified_only": true, "limit": 50})
            }
            "search_reviews" => {
                json!({"tenant_id": "t1", "min_rating": 1, "start_date": "2024-01-01T00:00:00+02:00",
                "end_date": "2024-12-31", "limit": 1})
            }
            "check_warranty_status" => {
                json!({"serial_number": "SN12345678", "customer_email": "A@B.example"})
            }
            "get_customer_profile" => json!({"customer_id": "CUST001"}),
            "update_customer_profile" => json!({"customer_id": "CUST001", "phone": "+1 (555) 010-0101",
                "address": {"street": "1 Main", "city": "X", "state": "CA", "zip": "94000", "country": "US"},
                "communication_preferences": {"email": true, "sms": false, "phone": true}, "notes": "n"}),
            other => panic!("no example for {other}"),
        }
    }

    fn wrong_type(t: &str) -> Value {
        match t {
            "string" => json!(12),
            "integer" | "number" => json!("12"),
            "boolean" => json!("true"),
            "object" => json!("{}"),
            _ => json!(null),
        }
    }

    async fn run(tool: &str, args: Value) -> Value {
        let index = InMemoryReviewIndex::new(vec![]);
        let reviews = reviews_tool::ReviewsConfig {
            signer: TokenSigner::new("s"),
            page_size: 10,
            target: "reviews".into(),
            summary_max: reviews_tool::DEFAULT_SUMMARY_MAX,
        };
        let warranties = InMemoryWarranties(vec![WarrantyRecord {
            serial_number: "SN12345678".into(),
            product_name: None,
            purchase_date: None,
            warranty_end_date: "2030-01-01".into(),
            warranty_type: None,
            customer_name: None,
            coverage_details: None,
        }]);
        let profiles = InMemoryProfiles::new(vec![CustomerProfile {
            customer_id: "CUST001".into(),
            ..Default::default()
        }]);
        let clock = FixedClock(chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default());
        let outcome = match tool {
            "get_product_reviews" | "search_reviews" => {
                reviews_tool::call(tool, args, &index, &reviews).await
            }
            "check_warranty_status" => {
                let ports = warranty_tool::WarrantyPorts {
                    warranties: &warranties,
                    profiles: &profiles,
                    clock: &clock,
                };
                warranty_tool::call(tool, args, &ports).await
            }
            _ => customer_profile_tool::call(tool, args, &profiles).await,
        };
        outcome
            .map(domain::tools::into_result)
            .unwrap_or_else(|e| panic!("fault: {e}"))
    }

    #[tokio::test]
    async fn handlers_accept_exactly_what_their_schemas_allow() {
        let served: [(&str, &[&str]); 3] = [
            ("reviews", reviews_tool::TOOLS),
            ("warranty", warranty_tool::TOOLS),
            ("customer-profile", customer_profile_tool::TOOLS),
        ];
        for (target, tools) in served {
            let defs = schema(target);
            let names: Vec<&str> = defs.iter().filter_map(|d| d["name"].as_str()).collect();
            assert_eq!(
                names,
                tools.to_vec(),
                "{target}: schema and handler disagree on the tools"
            );
            for def in &defs {
                let name = def["name"].as_str().unwrap_or("");
                assert!(def["description"].as_str().is_some_and(|d| !d.is_empty()));
                let input = &def["inputSchema"];
                only_agentcore_keys(input, name);
                let validator = jsonschema::validator_for(input).unwrap_or_else(|e| panic!("{name}: {e}"));
                let ok = valid(name);
                assert!(
                    validator.is_valid(&ok),
                    "{name}: the example does not match the schema"
                );
                let out = run(name, ok.clone()).await;
                assert!(
                    out.get("error").is_none(),
                    "{name} refused every-argument call {ok}: {out}"
                );
                // Every required argument on its own (plus customer_id's alternative).
                let required: Vec<&str> = input["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                for (prop, spec) in input["properties"].as_object().into_iter().flatten() {
                    let mut bad = ok.clone();
                    bad[prop] = wrong_type(spec["type"].as_str().unwrap_or(""));
                    assert!(
                        !validator.is_valid(&bad),
                        "{name}.{prop}: the schema allows {}",
                        bad[prop]
                    );
                    let out = run(name, bad.clone()).await;
                    assert_eq!(
                        out["error"]["code"], "INVALID_ARGUMENT",
                        "{name}.{prop} wrong type: {out}"
                    );
                    if required.contains(&prop.as_str()) {
                        let mut missing = ok.clone();
                        if let Some(m) = missing.as_object_mut() {
                            m.remove(prop);
                        }
                        assert!(!validator.is_valid(&missing));
                        assert_eq!(
                            run(name, missing).await["error"]["code"],
                            "INVALID_ARGUMENT",
                            "{name} without {prop}"
                        );
                    }
                }
                let mut extra = ok.clone();
                extra["not_an_argument"] = json!(1);
                assert_eq!(
                    run(name, extra).await["error"]["code"],
                    "INVALID_ARGUMENT",
                    "{name} with an unknown argument"
                );
            }
        }
        for (tool, args) in [
            (
                "get_product_reviews",
                json!({"tenant_id": "t", "product_id": 1, "limit": 0}),
            ),
            (
                "get_product_reviews",
                json!({"tenant_id": "t", "product_id": 1, "limit": 51}),
            ),
            ("search_reviews", json!({"tenant_id": "", "limit": 5})),
            ("check_warranty_status", json!({"serial_number": "SN12345"})),
            ("check_warranty_status", json!({"serial_number": "sn12345678"})),
            ("get_customer_profile", json!({"customer_id": "CUST01"})),
        ] {
            assert_eq!(
                run(tool, args.clone()).await["error"]["code"],
                "INVALID_ARGUMENT",
                "{tool} {args}"
            );
        }
        assert_eq!(
            run("get_product_review", json!({})).await["error"]["code"],
            "UNKNOWN_TOOL"
        );
    }

    #[tokio::test]
    async fn the_sample_events_are_what_the_handlers_expect() {
        let dir = format!("{}/../events/tools", env!("CARGO_MANIFEST_DIR"));
        let read = |name: &str| -> String {
            std::fs::read_to_string(format!("{dir}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
        };
        for tool in [
            "get_product_reviews",
            "search_reviews",
            "check_warranty_status",
            "get_customer_profile",
            "update_customer_profile",
        ] {
            let cc = read(&format!("{tool}.client-context.json"));
            let ctx = adapters::gateway::lambda_context("sample", Some(cc.trim()))
                .unwrap_or_else(|e| panic!("{tool}: the runtime would refuse this client context: {e}"));
            let name = adapters::gateway::tool_name(&ctx).unwrap_or_else(|e| panic!("{tool}: {e}"));
            assert_eq!(name.tool, tool);
            let args: Value = serde_json::from_str(&read(&format!("{tool}.args.json")))
                .unwrap_or_else(|e| panic!("{tool}: {e}"));
            let out = run(tool, args).await;
            assert_ne!(
                out.pointer("/error/code").and_then(Value::as_str),
                Some("INVALID_ARGUMENT"),
                "{tool}: {out}"
            );
        }
        let input: Value =
            serde_json::from_str(&read("interceptor.tools-call.json")).unwrap_or_else(|e| panic!("{e}"));
        let config = gateway_interceptor::InterceptorConfig::new("tenant_id", "reviews");
        let out = gateway_interceptor::intercept(input, &config);
        assert_eq!(
            out["mcp"]["transformedGatewayRequest"]["body"]["params"]["arguments"]["tenant_id"], "tenanta",
            "{out}"
        );
    }
}
