use super::*;

fn jwt(claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.c2lnbmF0dXJl")
}

fn input(headers: Value, body: Value) -> Value {
    json!({
        "interceptorInputVersion": "1.0",
        "mcp": {
            "rawGatewayRequest": {"body": body.to_string()},
            "gatewayRequest": {"path": "/mcp", "httpMethod": "POST", "headers": headers, "body": body}
        }
    })
}

fn call(tool: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
}

fn cfg() -> InterceptorConfig {
    InterceptorConfig::default()
}

#[test]
fn overwrites_the_tenant_the_agent_sent() {
    let token = jwt(json!({"sub": "u1", "tenant_id": "tenanta"}));
    let out = intercept(
        input(
            json!({"AUTHORIZATION": format!("bearer {token}")}),
            call(
                "reviews___get_product_reviews",
                json!({"tenant_id": "tenantb", "product_id": 1}),
            ),
        ),
        &cfg(),
    );
    assert_eq!(out["interceptorOutputVersion"], "1.0");
    let body = &out["mcp"]["transformedGatewayRequest"]["body"];
    assert_eq!(
        body["params"]["arguments"],
        json!({"tenant_id": "tenanta", "product_id": 1})
    );
    assert_eq!(body["id"], 7);
    assert!(out["mcp"].get("transformedGatewayResponse").is_none());
}

#[test]
fn adds_the_tenant_when_the_agent_sent_none() {
    let token = jwt(json!({"org": "tenantc"}));
    let config = InterceptorConfig {
        tenant_claim: "org".into(),
    };
    let mut body = call("reviews___search_reviews", json!({}));
    if let Some(p) = body["params"].as_object_mut() {
        p.remove("arguments");
    }
    let out = intercept(
        input(json!({"Authorization": format!("Bearer {token}")}), body),
        &config,
    );
    assert_eq!(
        out["mcp"]["transformedGatewayRequest"]["body"]["params"]["arguments"]["tenant_id"],
        "tenantc"
    );
}

#[test]
fn refuses_reviews_calls_without_a_usable_token_or_claim() {
    let no_claim = jwt(json!({"sub": "u1"}));
    let empty_claim = jwt(json!({"tenant_id": "  "}));
    let numeric_claim = jwt(json!({"tenant_id": 5}));
    for headers in [
        json!({}),
        json!({"Authorization": ""}),
        json!({"Authorization": "Basic dXNlcjpwYXNz"}),
        json!({"Authorization": "Bearer not-a-jwt"}),
        json!({"Authorization": "Bearer a.!!!.c"}),
        json!({"Authorization": format!("Bearer {no_claim}")}),
        json!({"Authorization": format!("Bearer {empty_claim}")}),
        json!({"Authorization": format!("Bearer {numeric_claim}")}),
    ] {
        let out = intercept(
            input(
                headers.clone(),
                call("reviews___get_product_reviews", json!({"tenant_id": "tenantb"})),
            ),
            &cfg(),
        );
        let response = &out["mcp"]["transformedGatewayResponse"];
        assert_eq!(
            response["body"]["error"]["code"], UNAUTHORIZED,
            "{headers}: {out}"
        );
        assert_eq!(response["body"]["id"], 7);
        assert!(out["mcp"].get("transformedGatewayRequest").is_none());
    }
    let no_headers = json!({"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": {"body": call("reviews___search_reviews", json!({}))}}});
    assert!(intercept(no_headers, &cfg())["mcp"]["transformedGatewayResponse"].is_object());
    let bad_args = intercept(
        input(
            json!({"Authorization": format!("Bearer {}", jwt(json!({"tenant_id": "a"})))}),
            call("reviews___search_reviews", json!("x")),
        ),
        &cfg(),
    );
    assert_eq!(
        bad_args["mcp"]["transformedGatewayResponse"]["body"]["error"]["code"],
        INVALID_PARAMS
    );
}

#[test]
fn everything_else_passes_through_unchanged() {
    for body in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "initialize", "params": {}}),
        call(
            "warranty___check_warranty_status",
            json!({"serial_number": "ABC12345", "tenant_id": "x"}),
        ),
        call(
            "customer-profile___get_customer_profile",
            json!({"customer_id": "CUST001"}),
        ),
    ] {
        let out = intercept(input(json!({}), body.clone()), &cfg());
        assert_eq!(out["mcp"]["transformedGatewayRequest"]["body"], body);
    }
}

#[test]
fn batches_are_pinned_message_by_message() {
    let token = jwt(json!({"tenant_id": "tenanta"}));
    let body = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        call("reviews___search_reviews", json!({"tenant_id": "tenantb"}))
    ]);
    let out = intercept(
        input(json!({"authorization": format!("Bearer {token}")}), body),
        &cfg(),
    );
    assert_eq!(
        out["mcp"]["transformedGatewayRequest"]["body"][1]["params"]["arguments"]["tenant_id"],
        "tenanta"
    );
    let refused = intercept(
        input(json!({}), json!([call("reviews___search_reviews", json!({}))])),
        &cfg(),
    );
    assert!(refused["mcp"]["transformedGatewayResponse"].is_object());
}

#[test]
fn malformed_input_is_refused_not_forwarded() {
    let out = intercept(json!({"foo": 1}), &cfg());
    assert_eq!(
        out["mcp"]["transformedGatewayResponse"]["body"]["error"]["code"],
        INVALID_REQUEST
    );
}
