//! The built `reviews-tool` binary against a minimal Lambda Runtime API: the Gateway's
//! client context arrives as the plain-JSON `Lambda-Runtime-Client-Context` header, the
//! tool name is read from it, and the result is POSTed as the invocation response.
//!
//! Also pins what lambda_runtime 1.5 does with a client context it cannot deserialize
//! (`"client": null`, `"client": {}`, a non-string `custom` value): `Context::new` fails before the
//! handler runs, the error propagates out of `lambda_runtime::run`, and the process
//! exits without answering that invocation (Lambda reports `Runtime.ExitError` to the
//! caller and starts a fresh execution environment for the next one). See
//! docs/tools.md, "Client context the runtime cannot read".

use e2e::runtime_api::{binary, invoke_binary, invoke_binary_many, Invocation, Outcome};
use serde_json::{json, Value};

/// Settings that need no running stack: the calls below never reach DynamoDB (they are
/// refused on their arguments or tool name before any query), and the endpoint points
/// at a closed port so nothing could leak to a real account.
const OFFLINE_ENV: &[(&str, &str)] = &[
    ("PRODUCT_REVIEWS_TABLE", "ProductReviews"),
    ("REVIEWS_TOKEN_SECRET", "runtime-api-test-secret"),
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

    let unknown = invoke_binary(&bin, OFFLINE_ENV, json!({"tenant_id": "t"}), Some(gateway_context("reviews___drop_table"))).await;
    assert_eq!(error_code(&unknown).as_deref(), Some("UNKNOWN_TOOL"), "{unknown:?}");

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
        Outcome::Error(v) => assert!(v["errorMessage"].as_str().unwrap_or("").contains("DynamoDB"), "{v}"),
        other => panic!("expected an invocation error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_client_context_the_runtime_cannot_read_ends_the_process_unanswered() {
    let bin = binary("reviews-tool", "reviews-tool");
    let good = gateway_context("reviews___get_product_reviews");
    let bad_args = json!({"tenant_id": "t", "product_id": 1, "limit": 0});
    for bad in [
        json!({"client": null, "custom": {"bedrockAgentCoreToolName": "reviews___get_product_reviews"}}).to_string(),
        // Even an empty `client` object: lambda_runtime's ClientApplication has no
        // per-field defaults, so `{}` lacks `installationId`.
        json!({"client": {}, "custom": {"bedrockAgentCoreToolName": "reviews___get_product_reviews"}}).to_string(),
        json!({"custom": {"bedrockAgentCoreToolName": "reviews___get_product_reviews", "n": 5}}).to_string(),
    ] {
        let outcomes = invoke_binary_many(
            &bin,
            OFFLINE_ENV,
            vec![
                Invocation {
                    event: bad_args.clone(),
                    client_context: Some(good.clone()),
                },
                Invocation {
                    event: bad_args.clone(),
                    client_context: Some(bad.clone()),
                },
                Invocation {
                    event: bad_args.clone(),
                    client_context: Some(good.clone()),
                },
            ],
        )
        .await;
        assert_eq!(error_code(&outcomes[0]).as_deref(), Some("INVALID_ARGUMENT"), "{outcomes:?}");
        match &outcomes[1] {
            Outcome::ProcessExited(status, stderr) => {
                assert!(status.is_some_and(|s| !s.success()), "{status:?}");
                assert!(stderr.contains("invalid type") || stderr.contains("missing field"), "{stderr}");
            }
            other => panic!("expected the process to exit, got {other:?}"),
        }
        assert!(matches!(outcomes[2], Outcome::ProcessExited(..)), "{outcomes:?}");
    }
}
