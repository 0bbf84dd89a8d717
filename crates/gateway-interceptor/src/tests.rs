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
    InterceptorConfig::new("tenant_id", "reviews")
}

fn token_for(tenant: &str) -> String {
    format!("Bearer {}", jwt(json!({"sub": "u1", "tenant_id": tenant})))
}

fn refused_with(out: &Value) -> Option<i64> {
    if out["mcp"].get("transformedGatewayRequest").is_some() {
        return None;
    }
    out["mcp"]["transformedGatewayResponse"]["body"]["error"]["code"].as_i64()
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
    let config = InterceptorConfig::new("org", "reviews");
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
            json!({"serial_number": "ABC12345"}),
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
fn a_body_that_is_not_one_request_object_is_refused() {
    let auth = json!({"authorization": token_for("tenanta")});
    let call_b = call("reviews___search_reviews", json!({"tenant_id": "tenantb"}));
    for body in [
        json!([{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, call_b.clone()]),
        json!([call_b.clone()]),
        Value::String(call_b.to_string()),
        Value::Null,
        json!(7),
    ] {
        let out = intercept(input(auth.clone(), body.clone()), &cfg());
        assert_eq!(refused_with(&out), Some(INVALID_REQUEST), "{body}: {out}");
    }
    let no_body = json!({"interceptorInputVersion": "1.0", "mcp": {"gatewayRequest": {"headers": auth}}});
    assert_eq!(refused_with(&intercept(no_body, &cfg())), Some(INVALID_REQUEST));
}

#[test]
fn a_tenant_id_outside_the_pinned_target_is_refused() {
    let auth = json!({"Authorization": token_for("tenanta")});
    for body in [
        // A renamed or added target that serves the same function.
        call(
            "reviews-v2___get_product_reviews",
            json!({"tenant_id": "tenantb", "product_id": 1}),
        ),
        call("reviewsarchive___search_reviews", json!({"tenant_id": "tenantb"})),
        // Another target, any spelling of the key.
        call(
            "warranty___check_warranty_status",
            json!({"serial_number": "ABC12345", "tenant_id": "x"}),
        ),
        call(
            "customer-profile___get_customer_profile",
            json!({"customer_id": "CUST001", "Tenant_ID": "x"}),
        ),
        // A name without a target, and another method carrying arguments.
        call("get_product_reviews", json!({"tenant_id": "tenantb"})),
        json!({"jsonrpc": "2.0", "id": 7, "method": "prompts/get", "params": {"name": "p", "arguments": {"tenant_id": "tenantb"}}}),
    ] {
        let out = intercept(input(auth.clone(), body.clone()), &cfg());
        assert_eq!(refused_with(&out), Some(INVALID_PARAMS), "{body}: {out}");
        assert_eq!(out["mcp"]["transformedGatewayResponse"]["body"]["id"], 7);
    }
}

#[test]
fn the_pinned_target_comes_from_configuration() {
    let config = InterceptorConfig::new("tenant_id", "product-reviews");
    let auth = json!({"Authorization": token_for("tenanta")});
    let pinned = intercept(
        input(
            auth.clone(),
            call(
                "product-reviews___get_product_reviews",
                json!({"tenant_id": "tenantb", "product_id": 1}),
            ),
        ),
        &config,
    );
    assert_eq!(
        pinned["mcp"]["transformedGatewayRequest"]["body"]["params"]["arguments"]["tenant_id"],
        "tenanta"
    );
    // The literal "reviews" is nothing special any more.
    let other = intercept(
        input(
            auth,
            call("reviews___get_product_reviews", json!({"tenant_id": "tenantb"})),
        ),
        &config,
    );
    assert_eq!(refused_with(&other), Some(INVALID_PARAMS), "{other}");
    assert!(InterceptorConfig::from_source(&[("TENANT_CLAIM", "org")][..]).is_err());
    assert_eq!(
        InterceptorConfig::from_source(&[("REVIEWS_TARGET_NAME", "r")][..]).ok(),
        Some(InterceptorConfig::new("tenant_id", "r"))
    );
}

#[test]
fn every_spelling_of_tenant_id_is_replaced_on_a_pinned_call() {
    let out = intercept(
        input(
            json!({"Authorization": token_for("tenanta")}),
            call(
                "REVIEWS___search_reviews",
                json!({"Tenant_Id": "tenantb", "TENANT_ID": "tenantc"}),
            ),
        ),
        &cfg(),
    );
    assert_eq!(
        out["mcp"]["transformedGatewayRequest"]["body"]["params"]["arguments"],
        json!({"tenant_id": "tenanta"})
    );
}

#[test]
fn two_authorization_headers_are_refused_on_every_request() {
    let forged = jwt(json!({"tenant_id": "tenantb"}));
    let call_a = call("reviews___search_reviews", json!({}));
    for headers in [
        json!({"Authorization": token_for("tenanta"), "authorization": format!("Bearer {forged}")}),
        json!({"Authorization": format!("{}, Bearer {forged}", token_for("tenanta"))}),
        json!({"Authorization": [token_for("tenanta"), format!("Bearer {forged}")]}),
    ] {
        for body in [
            call_a.clone(),
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"}),
        ] {
            let out = intercept(input(headers.clone(), body.clone()), &cfg());
            assert_eq!(refused_with(&out), Some(UNAUTHORIZED), "{headers} {body}: {out}");
        }
    }
}

#[test]
fn tools_call_params_and_arguments_must_be_objects() {
    let auth = json!({"Authorization": token_for("tenanta")});
    for body in [
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call"}),
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": "x"}),
        call("warranty___check_warranty_status", json!(["serial_number"])),
        call("reviews___search_reviews", json!(null)),
    ] {
        let out = intercept(input(auth.clone(), body.clone()), &cfg());
        assert_eq!(refused_with(&out), Some(INVALID_PARAMS), "{body}: {out}");
    }
}

#[test]
fn malformed_input_is_refused_not_forwarded() {
    let out = intercept(json!({"foo": 1}), &cfg());
    assert_eq!(
        out["mcp"]["transformedGatewayResponse"]["body"]["error"]["code"],
        INVALID_REQUEST
    );
}

#[test]
fn the_reviews_target_prefix_matches_whatever_its_case() {
    // A call the Gateway routes to the reviews target under another spelling, with no
    // tenant_id sent: not pinned, it would pass through with no tenant at all.
    for (target, tool) in [
        ("reviews", "REVIEWS___search_reviews"),
        ("reviews", "Reviews___get_product_reviews"),
        ("Product-Reviews", "product-reviews___search_reviews"),
        ("product-reviews", "PRODUCT-REVIEWS___search_reviews"),
    ] {
        let config = InterceptorConfig::new("tenant_id", target);
        let out = intercept(
            input(
                json!({"Authorization": token_for("tenanta")}),
                call(tool, json!({"product_id": 1})),
            ),
            &config,
        );
        assert_eq!(
            out["mcp"]["transformedGatewayRequest"]["body"]["params"]["arguments"],
            json!({"tenant_id": "tenanta", "product_id": 1}),
            "{target} / {tool}: {out}"
        );
    }
}

#[test]
fn refusal_codes_are_the_json_rpc_ones() {
    // The agent sees these numbers; a change is a change of contract.
    assert_eq!(
        (UNAUTHORIZED, INVALID_PARAMS, INVALID_REQUEST),
        (-32001, -32602, -32600)
    );
}

#[test]
fn a_scheme_other_than_bearer_is_refused_even_with_a_jwt() {
    let token = jwt(json!({"tenant_id": "tenanta"}));
    for authorization in [
        format!("Basic {token}"),
        format!("Token {token}"),
        format!("Bearerx {token}"),
    ] {
        let out = intercept(
            input(
                json!({"Authorization": authorization}),
                call("reviews___search_reviews", json!({})),
            ),
            &cfg(),
        );
        assert_eq!(refused_with(&out), Some(UNAUTHORIZED), "{authorization}: {out}");
    }
    // The bare token and any case of the scheme go.
    for authorization in [
        token.clone(),
        format!("BEARER {token}"),
        format!("  bearer   {token} "),
    ] {
        assert_eq!(
            tenant_from_authorization(Some(&authorization), "tenant_id"),
            Ok("tenanta".into())
        );
    }
}

#[test]
fn other_methods_pass_whatever_the_shape_of_their_params() {
    // Only tools/call must carry object params and arguments: the Gateway's own methods
    // are not the interceptor's to judge.
    for body in [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": "x"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "prompts/get", "params": {"name": "p", "arguments": 5}}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "ping", "params": [1]}),
    ] {
        let out = intercept(input(json!({}), body.clone()), &cfg());
        assert_eq!(out["mcp"]["transformedGatewayRequest"]["body"], body, "{out}");
    }
}

#[tokio::test]
async fn the_handler_answers_what_intercept_answers() {
    let body = call("reviews___search_reviews", json!({}));
    let payload = input(json!({"Authorization": token_for("tenanta")}), body);
    let event = LambdaEvent::new(payload.clone(), lambda_runtime::Context::default());
    let out = handle(event, &cfg()).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out, intercept(payload, &cfg()));
    assert_eq!(
        out["mcp"]["transformedGatewayRequest"]["body"]["params"]["arguments"]["tenant_id"],
        "tenanta"
    );
}
