//! The built `reviews-tool` binary against a minimal Lambda Runtime API: the Gateway's
//! client context arrives as the plain-JSON `Lambda-Runtime-Client-Context` header, the
//! tool name is read from it, and the result is POSTed as the invocation response.
//!
//! Also pins what the binary does with a client context lambda_runtime 1.5 cannot
//! deserialize on its own (`"client": null`, `"client": {}`, a non-string `custom`
//! value, non-ASCII text): the `lambda-shim` proxy in front of the Runtime API repairs
//! the header, so the process survives and answers that invocation and the next. A
//! client context that is not JSON at all is dropped, and the tool answers
//! `UNKNOWN_TOOL`. A Cognito identity the runtime cannot read is dropped the same way.
//! See docs/tools.md, "Client context the runtime cannot read".

use e2e::runtime_api::{binary, invoke_binary, invoke_binary_many, Invocation, Outcome};
use serde_json::{json, Value};

/// Settings that need no running stack: the calls below never reach DynamoDB (they are
/// refused on their arguments or tool name before any query), and the endpoint points
/// at a closed port so nothing could leak to a real account.
const OFFLINE_ENV: &[(&str, &str)] = &[
    ("PRODUCT_REVIEWS_TABLE", "ProductReviews"),
    ("REVIEWS_TOKEN_SECRET", "runtime-api-test-secret"),
    ("REVIEWS_TARGET_NAME", "reviews"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "local"),
    ("AWS_SECRET_ACCESS_KEY", "local"),
    ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

fn gateway_context(tool: &str) -> String {
    json!({
        "custom": {
            "bedrockAgentCoreMcpMessageId": "42",
            "bedrockAgentCoreToolName": tool,
            "bedrockAgentCoreGatewayId": "gw-123",
            "bedrockAgentCoreMessageVersion": "1.0",
            "bedrockAgentCoreAwsRequestId": "0b7c9b0e-0000-4000-8000-000000000000",
            "bedrockAgentCoreTargetId": "TARGET1"
        }
    })
    .to_string()
}

fn error_code(outcome: &Outcome) -> Option<String> {
    match outcome {
        Outcome::Response(v) => v.pointer("/error/code").and_then(Value::as_str).map(String::from),
        _ => None,
    }
}

#[tokio::test]
async fn the_binary_reads_the_tool_name_from_the_plain_json_client_context() {
    let bin = binary("reviews-tool", "reviews-tool");
    let out = invoke_binary(
        &bin,
        OFFLINE_ENV,
        json!({"tenant_id": "t", "product_id": 1, "limit": 51}),
        Some(gateway_context("reviews___get_product_reviews")),
    )
    .await;
    assert_eq!(error_code(&out).as_deref(), Some("INVALID_ARGUMENT"), "{out:?}");
    if let Outcome::Response(v) = &out {
        assert_eq!(v["error"]["details"][0]["argument"], "limit", "{v}");
    }

    let unknown = invoke_binary(
        &bin,
        OFFLINE_ENV,
        json!({"tenant_id": "t"}),
        Some(gateway_context("reviews___drop_table")),
    )
    .await;
    assert_eq!(
        error_code(&unknown).as_deref(),
        Some("UNKNOWN_TOOL"),
        "{unknown:?}"
    );

    let none = invoke_binary(&bin, OFFLINE_ENV, json!({"tenant_id": "t"}), None).await;
    assert_eq!(error_code(&none).as_deref(), Some("UNKNOWN_TOOL"), "{none:?}");
}

#[tokio::test]
async fn a_fault_is_a_lambda_error_not_a_tool_result() {
    let bin = binary("reviews-tool", "reviews-tool");
    let out = invoke_binary(
        &bin,
        OFFLINE_ENV,
        json!({"tenant_id": "t", "product_id": 1}),
        Some(gateway_context("reviews___get_product_reviews")),
    )
    .await;
    match out {
        Outcome::Error(v) => assert!(
            v["errorMessage"].as_str().unwrap_or("").contains("DynamoDB"),
            "{v}"
        ),
        other => panic!("expected an invocation error, got {other:?}"),
    }
}

/// Three invocations in one process (a warm execution environment): good, `bad`, good.
async fn around(bin: &std::path::Path, event: &Value, bad: &str) -> Vec<Outcome> {
    let good = gateway_context("reviews___get_product_reviews");
    let invocation = |client_context: &str| Invocation {
        event: event.clone(),
        client_context: Some(client_context.to_string()),
        cognito_identity: None,
    };
    invoke_binary_many(
        bin,
        OFFLINE_ENV,
        vec![invocation(&good), invocation(bad), invocation(&good)],
    )
    .await
}

#[tokio::test]
async fn a_client_context_the_runtime_cannot_read_is_repaired_and_answered() {
    let bin = binary("reviews-tool", "reviews-tool");
    let bad_args = json!({"tenant_id": "t", "product_id": 1, "limit": 0});
    for bad in [
        json!({"client": null, "custom": {"bedrockAgentCoreToolName": "reviews___get_product_reviews"}})
            .to_string(),
        // lambda_runtime's ClientApplication has no per-field defaults: `{}` alone
        // would lack `installationId`.
        json!({"client": {}, "custom": {"bedrockAgentCoreToolName": "reviews___get_product_reviews"}})
            .to_string(),
        json!({"custom": {"bedrockAgentCoreToolName": "reviews___get_product_reviews", "n": 5}}).to_string(),
        json!({"custom": {
            "bedrockAgentCoreToolName": "reviews___get_product_reviews",
            "flag": true, "nested": {"a": [1]}, "gone": null, "note": "café"
        }})
        .to_string(),
    ] {
        let outcomes = around(&bin, &bad_args, &bad).await;
        for (i, outcome) in outcomes.iter().enumerate() {
            // The tool name survived the repair: the call reached argument validation.
            assert_eq!(
                error_code(outcome).as_deref(),
                Some("INVALID_ARGUMENT"),
                "{bad} #{i}: {outcomes:?}"
            );
            if let Outcome::Response(v) = outcome {
                assert_eq!(v["error"]["details"][0]["argument"], "limit", "{v}");
            }
        }
    }
}

#[tokio::test]
async fn a_client_context_that_is_not_json_is_dropped_and_the_tool_is_unknown() {
    let bin = binary("reviews-tool", "reviews-tool");
    let bad_args = json!({"tenant_id": "t", "product_id": 1, "limit": 0});
    for bad in ["not json", "eyJjdXN0b20iOnt9fQ==", "[1, 2]"] {
        let outcomes = around(&bin, &bad_args, bad).await;
        assert_eq!(
            error_code(&outcomes[0]).as_deref(),
            Some("INVALID_ARGUMENT"),
            "{bad}: {outcomes:?}"
        );
        assert_eq!(
            error_code(&outcomes[1]).as_deref(),
            Some("UNKNOWN_TOOL"),
            "{bad}: {outcomes:?}"
        );
        assert_eq!(
            error_code(&outcomes[2]).as_deref(),
            Some("INVALID_ARGUMENT"),
            "{bad}: {outcomes:?}"
        );
    }
}

#[tokio::test]
async fn a_cognito_identity_the_runtime_cannot_read_is_dropped_and_the_call_answered() {
    let bin = binary("reviews-tool", "reviews-tool");
    let bad_args = json!({"tenant_id": "t", "product_id": 1, "limit": 0});
    let invocation = |identity: &str| Invocation {
        event: bad_args.clone(),
        client_context: Some(gateway_context("reviews___get_product_reviews")),
        cognito_identity: Some(identity.to_string()),
    };
    let good = r#"{"cognitoIdentityId":"us-east-1:1","cognitoIdentityPoolId":"us-east-1:p"}"#;
    for bad in [
        r#"{"cognitoIdentityId":"us-east-1:1"}"#,
        "not json",
        r#"{"identityId":1,"identityPoolId":"p"}"#,
    ] {
        let outcomes = invoke_binary_many(
            &bin,
            OFFLINE_ENV,
            vec![invocation(good), invocation(bad), invocation(good)],
        )
        .await;
        for (i, outcome) in outcomes.iter().enumerate() {
            assert_eq!(
                error_code(outcome).as_deref(),
                Some("INVALID_ARGUMENT"),
                "{bad} #{i}: {outcomes:?}"
            );
        }
    }
}
