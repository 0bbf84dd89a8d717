//! `infra/template.yaml` is the single source of truth for the stream settings, the
//! table shapes and the Gateway tool schemas: these tests fail when it drifts from
//! `infra/dynamodb-tables.json`, `infra/tool-schemas/*.json`, the contract's event
//! source semantics, or least privilege. (cfn-lint and `sam validate` run in `make lint`.)

use e2e::template::{
    flatten_statements, get_att_target, ids_of_type, load_template, project_tools, properties, resource,
    string_list, workspace_root,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;

type TestResult = anyhow::Result<()>;

/// Logical id → cargo binary (crate) name.
const FUNCTIONS: [(&str, &str); 9] = [
    ("CsvParserFunction", "csv-parser"),
    ("StreamValidatorFunction", "stream-validator"),
    ("ErrorProcessorFunction", "error-processor"),
    ("ReviewsToolFunction", "reviews-tool"),
    ("WarrantyToolFunction", "warranty-tool"),
    ("CustomerProfileToolFunction", "customer-profile-tool"),
    ("GatewayInterceptorFunction", "gateway-interceptor"),
    ("VendorApiFunction", "vendor-api"),
    ("UploadReconcilerFunction", "upload-reconciler"),
];

/// Logical id, stream event name, expected filter pattern.
const STREAM_EVENTS: [(&str, &str, &str); 2] = [
    (
        "StreamValidatorFunction",
        "UploadRecordsStream",
        r#"{"eventName":["INSERT"],"dynamodb":{"NewImage":{"status":{"S":["pending_validation"]}}}}"#,
    ),
    (
        "ErrorProcessorFunction",
        "UploadRecordsErrors",
        r#"{"eventName":["INSERT","MODIFY"],"dynamodb":{"NewImage":{"status":{"S":["error"]}}}}"#,
    ),
];

fn read_json(relative: &str) -> anyhow::Result<Value> {
    let path = workspace_root().join(relative);
    let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// Arrays of objects compared regardless of order (by their JSON text).
fn sorted(value: Option<&Value>) -> Vec<String> {
    let mut items: Vec<String> = match value {
        Some(Value::Array(items)) => items.iter().map(Value::to_string).collect(),
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    };
    items.sort();
    items
}

#[test]
fn tables_match_the_local_definitions() -> TestResult {
    let template = load_template()?;
    let local = read_json("infra/dynamodb-tables.json")?;
    let local = local
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("dynamodb-tables.json is not an object"))?;

    let template_tables: BTreeSet<String> = ids_of_type(&template, "AWS::DynamoDB::Table")?
        .into_iter()
        .collect();
    let expected_tables: BTreeSet<String> = local.keys().map(|name| format!("{name}Table")).collect();
    assert_eq!(
        template_tables, expected_tables,
        "the template declares exactly the tables of dynamodb-tables.json"
    );

    for (name, want) in local {
        let id = format!("{name}Table");
        let got = properties(&template, &id)?;
        for key in ["AttributeDefinitions", "KeySchema"] {
            assert_eq!(sorted(got.get(key)), sorted(want.get(key)), "{id}.{key}");
        }
        // KeySchema order matters (HASH first): compare it exactly too.
        assert_eq!(
            got.get("KeySchema"),
            want.get("KeySchema"),
            "{id}.KeySchema order"
        );
        assert_eq!(
            sorted(got.get("GlobalSecondaryIndexes")),
            sorted(want.get("GlobalSecondaryIndexes")),
            "{id}.GlobalSecondaryIndexes"
        );

        let want_stream = want
            .get("StreamSpecification")
            .filter(|s| s.get("StreamEnabled") == Some(&json!(true)))
            .and_then(|s| s.get("StreamViewType"));
        let got_stream = got
            .get("StreamSpecification")
            .and_then(|s| s.get("StreamViewType"));
        assert_eq!(got_stream, want_stream, "{id} stream view type");

        let want_ttl = want.get("TimeToLiveAttribute");
        let got_ttl = got
            .get("TimeToLiveSpecification")
            .filter(|t| t.get("Enabled") == Some(&json!(true)))
            .and_then(|t| t.get("AttributeName"));
        assert_eq!(got_ttl, want_ttl, "{id} TTL attribute");

        assert_eq!(
            got.get("BillingMode"),
            Some(&json!("PAY_PER_REQUEST")),
            "{id} billing"
        );
        assert_eq!(
            got.pointer("/PointInTimeRecoverySpecification/PointInTimeRecoveryEnabled"),
            Some(&json!(true)),
            "{id} PITR"
        );
        assert_eq!(
            got.pointer("/SSESpecification/SSEEnabled"),
            Some(&json!(true)),
            "{id} SSE"
        );
    }
    Ok(())
}

/// The queue a destination names must exist and have a depth alarm.
fn assert_alarmed_queue(
    template: &Value,
    destination: Option<&Value>,
    context: &str,
) -> anyhow::Result<String> {
    let destination = destination.ok_or_else(|| anyhow::anyhow!("{context}: no on-failure destination"))?;
    let queue = get_att_target(destination, "Arn")
        .ok_or_else(|| anyhow::anyhow!("{context}: destination {destination} is not !GetAtt <queue>.Arn"))?;
    assert_eq!(
        resource(template, queue)?.get("Type"),
        Some(&json!("AWS::SQS::Queue")),
        "{context}: {queue} is an SQS queue"
    );
    let alarmed = ids_of_type(template, "AWS::CloudWatch::Alarm")?
        .into_iter()
        .any(|alarm| {
            let Ok(p) = properties(template, &alarm) else {
                return false;
            };
            let watches_queue = p
                .get("Dimensions")
                .and_then(Value::as_array)
                .map(|dims| {
                    dims.iter().any(|d| {
                        d.get("Name") == Some(&json!("QueueName"))
                            && d.get("Value").and_then(|v| get_att_target(v, "QueueName")) == Some(queue)
                    })
                })
                .unwrap_or(false);
            watches_queue
                && p.get("Namespace") == Some(&json!("AWS/SQS"))
                && p.get("MetricName") == Some(&json!("ApproximateNumberOfMessagesVisible"))
                && p.get("ComparisonOperator") == Some(&json!("GreaterThanThreshold"))
                && p.get("Threshold") == Some(&json!(0))
        });
    assert!(
        alarmed,
        "{context}: {queue} has an ApproximateNumberOfMessagesVisible > 0 alarm"
    );
    Ok(queue.to_string())
}

/// The function's own role may send to its on-failure queue (Lambda sends with it).
fn assert_role_may_send(template: &Value, function: &str, queue: &str) -> TestResult {
    let role_ref = properties(template, function)?
        .get("Role")
        .ok_or_else(|| anyhow::anyhow!("{function} has no Role"))?;
    let role =
        get_att_target(role_ref, "Arn").ok_or_else(|| anyhow::anyhow!("{function}: Role is not !GetAtt"))?;
    let may_send = role_statements(template, role)?.iter().any(|s| {
        string_list(s.get("Action"))
            .iter()
            .any(|a| a == "sqs:SendMessage")
            && s.get("Resource").and_then(|r| get_att_target(r, "Arn")) == Some(queue)
    });
    assert!(may_send, "{role} may sqs:SendMessage to {queue}");
    Ok(())
}

fn role_statements<'a>(template: &'a Value, role: &str) -> anyhow::Result<Vec<&'a Value>> {
    let mut out = Vec::new();
    if let Some(Value::Array(policies)) = properties(template, role)?.get("Policies") {
        for p in policies {
            if let Some(statements) = p.pointer("/PolicyDocument/Statement") {
                out.extend(flatten_statements(statements));
            }
        }
    }
    Ok(out)
}

#[test]
fn stream_event_sources_are_bounded_filtered_and_report_partial_failures() -> TestResult {
    let template = load_template()?;
    for (function, event, pattern) in STREAM_EVENTS {
        let context = format!("{function}.Events.{event}");
        let e = properties(&template, function)?
            .pointer(&format!("/Events/{event}"))
            .ok_or_else(|| anyhow::anyhow!("{context} is missing"))?;
        assert_eq!(e.get("Type"), Some(&json!("DynamoDB")), "{context}");
        let p = e
            .get("Properties")
            .ok_or_else(|| anyhow::anyhow!("{context} has no Properties"))?;

        assert_eq!(
            p.get("Stream").and_then(|s| get_att_target(s, "StreamArn")),
            Some("UploadRecordsTable"),
            "{context}: reads the UploadRecords stream"
        );
        assert_eq!(
            p.get("StartingPosition"),
            Some(&json!("TRIM_HORIZON")),
            "{context}"
        );
        assert_eq!(
            p.get("FunctionResponseTypes"),
            Some(&json!(["ReportBatchItemFailures"])),
            "{context}"
        );
        assert_eq!(
            p.get("BisectBatchOnFunctionError"),
            Some(&json!(true)),
            "{context}"
        );

        let int = |k: &str| p.get(k).and_then(Value::as_i64);
        assert!(
            matches!(int("MaximumRetryAttempts"), Some(1..=10)),
            "{context}: bounded retries"
        );
        assert!(
            matches!(int("MaximumRecordAgeInSeconds"), Some(60..=604_800)),
            "{context}: bounded record age (not -1)"
        );
        assert!(
            matches!(int("BatchSize"), Some(1..=10_000)),
            "{context}: BatchSize"
        );
        assert!(
            matches!(int("MaximumBatchingWindowInSeconds"), Some(0..=300)),
            "{context}: MaximumBatchingWindowInSeconds"
        );
        assert!(
            matches!(int("ParallelizationFactor"), Some(1..=10)),
            "{context}: ParallelizationFactor"
        );

        let filters = p
            .pointer("/FilterCriteria/Filters")
            .and_then(Value::as_array)
            .ok_or_else(|| anyhow::anyhow!("{context}: no FilterCriteria.Filters"))?;
        assert_eq!(filters.len(), 1, "{context}: one filter");
        let got: Value = serde_json::from_str(
            filters[0]
                .get("Pattern")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow::anyhow!("{context}: Pattern is not a string"))?,
        )?;
        let want: Value = serde_json::from_str(pattern)?;
        assert_eq!(got, want, "{context}: filter pattern");

        assert_eq!(
            p.pointer("/DestinationConfig/OnFailure/Type"),
            Some(&json!("SQS")),
            "{context}"
        );
        let queue = assert_alarmed_queue(
            &template,
            p.pointer("/DestinationConfig/OnFailure/Destination"),
            &context,
        )?;
        assert_role_may_send(&template, function, &queue)?;
    }
    Ok(())
}

#[test]
fn csv_parser_gets_csv_uploads_and_a_dead_letter_destination() -> TestResult {
    let template = load_template()?;
    let p = properties(&template, "CsvParserFunction")?;
    let events: Vec<&Value> = p
        .get("Events")
        .and_then(Value::as_object)
        .map(|e| {
            e.values()
                .filter(|e| e.get("Type") == Some(&json!("S3")))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(events.len(), 1, "one S3 event");
    let s3 = events[0]
        .get("Properties")
        .ok_or_else(|| anyhow::anyhow!("S3 event has no Properties"))?;
    assert_eq!(s3.get("Bucket"), Some(&json!({"Ref": "UploadBucket"})));
    assert!(string_list(s3.get("Events"))
        .iter()
        .any(|e| e == "s3:ObjectCreated:*"));
    let rules = sorted(s3.pointer("/Filter/S3Key/Rules"));
    let want = sorted(Some(&json!([
        {"Name": "prefix", "Value": "uploads/"},
        {"Name": "suffix", "Value": ".csv"},
    ])));
    assert_eq!(rules, want, "prefix uploads/ and suffix .csv");

    let invoke = p
        .get("EventInvokeConfig")
        .ok_or_else(|| anyhow::anyhow!("no EventInvokeConfig"))?;
    assert!(matches!(
        invoke.get("MaximumRetryAttempts").and_then(Value::as_i64),
        Some(0..=2)
    ));
    assert_eq!(
        invoke.pointer("/DestinationConfig/OnFailure/Type"),
        Some(&json!("SQS"))
    );
    let queue = assert_alarmed_queue(
        &template,
        invoke.pointer("/DestinationConfig/OnFailure/Destination"),
        "CsvParserFunction.EventInvokeConfig",
    )?;
    assert_role_may_send(&template, "CsvParserFunction", &queue)?;
    Ok(())
}

#[test]
fn every_function_is_an_arm64_cargo_lambda_binary_with_json_logs() -> TestResult {
    let template = load_template()?;
    let declared: BTreeSet<String> = ids_of_type(&template, "AWS::Serverless::Function")?
        .into_iter()
        .collect();
    let expected: BTreeSet<String> = FUNCTIONS.iter().map(|(id, _)| id.to_string()).collect();
    assert_eq!(declared, expected, "exactly the functions of FUNCTIONS");

    for (id, binary) in FUNCTIONS {
        let r = resource(&template, id)?;
        assert_eq!(
            r.pointer("/Metadata/BuildMethod"),
            Some(&json!("rust-cargolambda")),
            "{id}"
        );
        assert_eq!(
            r.pointer("/Metadata/BuildProperties/Binary"),
            Some(&json!(binary)),
            "{id}"
        );
        assert!(
            workspace_root()
                .join("crates")
                .join(binary)
                .join("Cargo.toml")
                .is_file(),
            "{id}: crates/{binary} exists"
        );
        let p = properties(&template, id)?;
        assert_eq!(p.get("Runtime"), Some(&json!("provided.al2023")), "{id}");
        assert_eq!(p.get("Architectures"), Some(&json!(["arm64"])), "{id}");
        assert_eq!(p.get("Handler"), Some(&json!("bootstrap")), "{id}");
        assert_eq!(
            p.get("CodeUri"),
            Some(&json!("..")),
            "{id}: CodeUri is the workspace root"
        );
        assert_eq!(
            p.pointer("/LoggingConfig/LogFormat"),
            Some(&json!("JSON")),
            "{id}"
        );
        assert!(
            p.get("MemorySize").and_then(Value::as_i64).is_some(),
            "{id}: MemorySize"
        );
        assert!(
            p.get("Timeout").and_then(Value::as_i64).is_some(),
            "{id}: Timeout"
        );
        let role = p.get("Role").and_then(|r| get_att_target(r, "Arn"));
        assert!(
            role.is_some_and(
                |r| resource(&template, r).is_ok_and(|res| res.get("Type") == Some(&json!("AWS::IAM::Role")))
            ),
            "{id}: its own role in the template"
        );
    }
    let roles: BTreeSet<String> = FUNCTIONS
        .iter()
        .filter_map(|(id, _)| {
            properties(&template, id)
                .ok()
                .and_then(|p| p.get("Role"))
                .and_then(|r| get_att_target(r, "Arn"))
                .map(str::to_string)
        })
        .collect();
    assert_eq!(roles.len(), FUNCTIONS.len(), "one role per function");
    Ok(())
}

#[test]
fn functions_get_the_environment_their_code_reads() -> TestResult {
    use adapters::config::{
        CUSTOMER_PROFILE_TABLE, MAX_UPLOAD_BYTES, PRODUCT_REVIEWS_TABLE, RECORD_TTL_DAYS, UPLOAD_BUCKET,
        UPLOAD_RECORDS_TABLE, UPLOAD_TOPIC_ARN, VENDOR_API_URL, WARRANTY_TABLE,
    };
    let template = load_template()?;
    let database = [
        "DB_AUTH_MODE",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_SECRET_ARN",
        "DB_CA_BUNDLE",
    ];
    let pipeline: Vec<&str> = [
        UPLOAD_RECORDS_TABLE,
        UPLOAD_BUCKET,
        MAX_UPLOAD_BYTES,
        RECORD_TTL_DAYS,
        UPLOAD_TOPIC_ARN,
        VENDOR_API_URL,
    ]
    .into_iter()
    .chain(database)
    .collect();
    let vendor_api: Vec<&str> = [
        UPLOAD_BUCKET,
        MAX_UPLOAD_BYTES,
        vendor_api::VENDOR_CLAIM_ENV,
        vendor_api::TOKEN_SECRET_ENV,
    ]
    .into_iter()
    .chain(database)
    .collect();
    let reconciler: Vec<&str> = pipeline
        .iter()
        .copied()
        .chain([
            "RECONCILE_AFTER",
            "PARSER_FAILURE_QUEUE_URL",
            "VALIDATOR_FAILURE_QUEUE_URL",
            "ERROR_PROCESSOR_FAILURE_QUEUE_URL",
        ])
        .collect();
    let expected: [(&str, &[&str]); 9] = [
        ("CsvParserFunction", &pipeline),
        ("StreamValidatorFunction", &pipeline),
        ("ErrorProcessorFunction", &pipeline),
        (
            "ReviewsToolFunction",
            &[
                PRODUCT_REVIEWS_TABLE,
                "REVIEWS_TOKEN_SECRET",
                "REVIEWS_TARGET_NAME",
            ],
        ),
        ("WarrantyToolFunction", &[WARRANTY_TABLE, CUSTOMER_PROFILE_TABLE]),
        ("CustomerProfileToolFunction", &[CUSTOMER_PROFILE_TABLE]),
        (
            "GatewayInterceptorFunction",
            &["TENANT_CLAIM", "REVIEWS_TARGET_NAME"],
        ),
        ("VendorApiFunction", &vendor_api),
        ("UploadReconcilerFunction", &reconciler),
    ];
    for (id, names) in expected {
        let vars = properties(&template, id)?
            .pointer("/Environment/Variables")
            .and_then(Value::as_object)
            .ok_or_else(|| anyhow::anyhow!("{id} has no environment"))?;
        let got: BTreeSet<&str> = vars.keys().map(String::as_str).collect();
        let want: BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(got, want, "{id} environment");

        // The CA bundle the database functions verify TLS with comes from the layer.
        if let Some(bundle) = vars.get("DB_CA_BUNDLE") {
            assert_eq!(bundle, &json!("/opt/rds-ca/global-bundle.pem"), "{id}");
            assert!(
                properties(&template, id)?
                    .get("Layers")
                    .is_some_and(|l| l == &json!([{"Ref": "RdsCaBundleLayer"}])),
                "{id} mounts RdsCaBundleLayer"
            );
            assert!(
                properties(&template, id)?.get("VpcConfig").is_some(),
                "{id} runs in the database's VPC"
            );
        }
    }
    Ok(())
}

/// Actions that AWS only grants on `Resource: "*"`.
const STAR_RESOURCE_ALLOWED: [&str; 7] = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "dynamodb:ListStreams",
];

#[test]
fn no_policy_grants_wildcard_actions_or_resources_beyond_what_aws_requires() -> TestResult {
    let template = load_template()?;
    let mut checked = 0;
    for role in ids_of_type(&template, "AWS::IAM::Role")? {
        let p = properties(&template, &role)?;
        assert!(
            p.get("ManagedPolicyArns").is_none(),
            "{role}: inline least-privilege statements only"
        );
        for statement in role_statements(&template, &role)? {
            checked += 1;
            assert_eq!(
                statement.get("Effect"),
                Some(&json!("Allow")),
                "{role}: {statement}"
            );
            let actions = string_list(statement.get("Action"));
            assert!(
                !actions.is_empty(),
                "{role}: statement without Action: {statement}"
            );
            assert!(
                statement.get("NotAction").is_none() && statement.get("NotResource").is_none(),
                "{role}"
            );
            for action in &actions {
                assert!(!action.contains('*'), "{role}: wildcard action {action}");
            }
            if string_list(statement.get("Resource")).iter().any(|r| r == "*") {
                for action in &actions {
                    assert!(
                        STAR_RESOURCE_ALLOWED.contains(&action.as_str()),
                        "{role}: {action} on Resource \"*\""
                    );
                }
            }
        }
    }
    // SAM-level policies would bypass the check above: there must be none.
    for (id, _) in FUNCTIONS {
        assert!(
            properties(&template, id)?.get("Policies").is_none(),
            "{id}: no SAM Policies"
        );
    }
    assert!(checked > 20, "walked the statements ({checked})");
    Ok(())
}

#[test]
fn the_gateway_authenticates_pins_tenants_and_may_invoke_only_its_functions() -> TestResult {
    let template = load_template()?;
    let gateways = ids_of_type(&template, "AWS::BedrockAgentCore::Gateway")?;
    assert_eq!(gateways.len(), 1);
    let g = properties(&template, &gateways[0])?;
    assert_eq!(g.get("ProtocolType"), Some(&json!("MCP")));
    assert_eq!(g.get("AuthorizerType"), Some(&json!("CUSTOM_JWT")));
    assert!(g
        .pointer("/AuthorizerConfiguration/CustomJWTAuthorizer/DiscoveryUrl")
        .is_some());
    let interceptors = g
        .get("InterceptorConfigurations")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow::anyhow!("no InterceptorConfigurations"))?;
    assert_eq!(interceptors.len(), 1);
    let i = &interceptors[0];
    assert_eq!(i.get("InterceptionPoints"), Some(&json!(["REQUEST"])));
    assert_eq!(
        i.pointer("/InputConfiguration/PassRequestHeaders"),
        Some(&json!(true))
    );
    assert_eq!(
        i.pointer("/Interceptor/Lambda/Arn")
            .and_then(|a| get_att_target(a, "Arn")),
        Some("GatewayInterceptorFunction")
    );

    let role = g
        .get("RoleArn")
        .and_then(|r| get_att_target(r, "Arn"))
        .ok_or_else(|| anyhow::anyhow!("Gateway RoleArn is not !GetAtt <role>.Arn"))?;
    let mut invocable = BTreeSet::new();
    for s in role_statements(&template, role)? {
        assert_eq!(
            string_list(s.get("Action")),
            vec!["lambda:InvokeFunction".to_string()],
            "{s}"
        );
        if let Some(Value::Array(resources)) = s.get("Resource") {
            for r in resources {
                invocable.insert(
                    get_att_target(r, "Arn")
                        .map(str::to_string)
                        .unwrap_or_else(|| r.to_string()),
                );
            }
        }
    }
    let want: BTreeSet<String> = [
        "ReviewsToolFunction",
        "WarrantyToolFunction",
        "CustomerProfileToolFunction",
        "GatewayInterceptorFunction",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(
        invocable, want,
        "the Gateway role invokes exactly the tools and the interceptor"
    );
    Ok(())
}

#[test]
fn gateway_targets_embed_the_tool_schema_files() -> TestResult {
    let template = load_template()?;
    let expected = [
        ("reviews", "ReviewsToolFunction"),
        ("warranty", "WarrantyToolFunction"),
        ("customer-profile", "CustomerProfileToolFunction"),
    ];
    let targets = ids_of_type(&template, "AWS::BedrockAgentCore::GatewayTarget")?;
    assert_eq!(targets.len(), expected.len(), "one target per tool function");
    for (name, function) in expected {
        let target = targets
            .iter()
            .find(|t| {
                properties(&template, t)
                    .is_ok_and(|p| resolved(&template, p.get("Name")).as_deref() == Some(name))
            })
            .ok_or_else(|| anyhow::anyhow!("no GatewayTarget named {name}"))?;
        let p = properties(&template, target)?;
        assert_eq!(
            p.get("CredentialProviderConfigurations"),
            Some(&json!([{"CredentialProviderType": "GATEWAY_IAM_ROLE"}])),
            "{target}"
        );
        let lambda = p
            .pointer("/TargetConfiguration/Mcp/Lambda")
            .ok_or_else(|| anyhow::anyhow!("{target}: not an MCP Lambda target"))?;
        assert_eq!(
            lambda.get("LambdaArn").and_then(|a| get_att_target(a, "Arn")),
            Some(function),
            "{target}"
        );
        let inline = lambda
            .pointer("/ToolSchema/InlinePayload")
            .ok_or_else(|| anyhow::anyhow!("{target}: no inline tool schema"))?;
        let file = read_json(&format!("infra/tool-schemas/{name}.json"))?;
        assert_eq!(
            inline,
            &project_tools(&file)?,
            "{target}: InlinePayload differs from infra/tool-schemas/{name}.json; \
             run scripts/infra/embed-tool-schemas.py"
        );
    }
    Ok(())
}

/// A literal, or a `!Ref` to a parameter resolved to its default.
fn resolved(template: &Value, value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        v => {
            let parameter = v.get("Ref")?.as_str()?;
            template
                .pointer(&format!("/Parameters/{parameter}/Default"))
                .and_then(Value::as_str)
                .map(String::from)
        }
    }
}

fn environment<'a>(template: &'a Value, function: &str, name: &str) -> anyhow::Result<Option<&'a Value>> {
    Ok(properties(template, function)?.pointer(&format!("/Environment/Variables/{name}")))
}

#[test]
fn tenant_pinning_and_the_reviews_target_share_one_name() -> TestResult {
    let template = load_template()?;
    let one_setting = json!({"Ref": "ReviewsTargetName"});
    let reviews_target = ids_of_type(&template, "AWS::BedrockAgentCore::GatewayTarget")?
        .into_iter()
        .find(|t| {
            properties(&template, t).is_ok_and(|p| {
                p.pointer("/TargetConfiguration/Mcp/Lambda/LambdaArn")
                    .and_then(|a| get_att_target(a, "Arn"))
                    == Some("ReviewsToolFunction")
            })
        })
        .ok_or_else(|| anyhow::anyhow!("no GatewayTarget for ReviewsToolFunction"))?;
    assert_eq!(
        properties(&template, &reviews_target)?.get("Name"),
        Some(&one_setting),
        "the reviews target's name is the parameter"
    );
    for function in ["GatewayInterceptorFunction", "ReviewsToolFunction"] {
        assert_eq!(
            environment(&template, function, "REVIEWS_TARGET_NAME")?,
            Some(&one_setting),
            "{function} reads the same parameter"
        );
    }
    // No other target may be named like it (a second target in front of the function).
    let names: Vec<Option<String>> = ids_of_type(&template, "AWS::BedrockAgentCore::GatewayTarget")?
        .iter()
        .map(|t| {
            properties(&template, t)
                .ok()
                .and_then(|p| resolved(&template, p.get("Name")))
        })
        .collect();
    let unique: BTreeSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "target names are distinct: {names:?}");
    Ok(())
}

#[test]
fn the_gateway_role_trusts_only_this_gateway() -> TestResult {
    let template = load_template()?;
    let g = properties(&template, "ToolsGateway")?;
    assert_eq!(g.get("Name"), Some(&json!({"Ref": "GatewayName"})));
    let role = g
        .get("RoleArn")
        .and_then(|r| get_att_target(r, "Arn"))
        .ok_or_else(|| anyhow::anyhow!("Gateway RoleArn is not !GetAtt <role>.Arn"))?;
    let trust = properties(&template, role)?
        .pointer("/AssumeRolePolicyDocument/Statement")
        .map(flatten_statements)
        .unwrap_or_default();
    assert_eq!(trust.len(), 1, "{trust:?}");
    let t = trust[0];
    assert_eq!(
        t.pointer("/Principal/Service"),
        Some(&json!("bedrock-agentcore.amazonaws.com"))
    );
    assert_eq!(
        t.pointer("/Condition/StringEquals/aws:SourceAccount"),
        Some(&json!({"Ref": "AWS::AccountId"}))
    );
    let source_arn = t
        .pointer("/Condition/ArnLike/aws:SourceArn/Fn::Sub")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("no ArnLike aws:SourceArn !Sub in {t}"))?;
    let (prefix, id) = source_arn
        .split_once(":gateway/")
        .ok_or_else(|| anyhow::anyhow!("{source_arn} names no gateway"))?;
    assert_eq!(
        prefix,
        "arn:${AWS::Partition}:bedrock-agentcore:${AWS::Region}:${AWS::AccountId}"
    );
    // "{name}-" and exactly the ten characters AgentCore appends: no other gateway.
    assert_eq!(id, "${GatewayName}-??????????", "{source_arn}");
    assert!(!id.contains('*'));
    Ok(())
}

#[test]
fn the_reviews_role_queries_only_the_tenant_index() -> TestResult {
    let template = load_template()?;
    let statements = role_statements(&template, "ReviewsToolRole")?;
    let dynamodb: Vec<&&Value> = statements
        .iter()
        .filter(|s| {
            string_list(s.get("Action"))
                .iter()
                .any(|a| a.starts_with("dynamodb:"))
        })
        .collect();
    assert_eq!(dynamodb.len(), 1, "{dynamodb:?}");
    assert_eq!(
        string_list(dynamodb[0].get("Action")),
        vec!["dynamodb:Query".to_string()]
    );
    assert_eq!(
        dynamodb[0].get("Resource"),
        Some(&json!({"Fn::Sub": "${ProductReviewsTable.Arn}/index/tenant_id-product_id-index"})),
        "the index only, never the table"
    );
    Ok(())
}

/// The functions that can make an upload final, and so publish its notification.
const FINALISERS: [(&str, &str); 4] = [
    ("CsvParserFunction", "CsvParserRole"),
    ("StreamValidatorFunction", "StreamValidatorRole"),
    ("ErrorProcessorFunction", "ErrorProcessorRole"),
    ("UploadReconcilerFunction", "UploadReconcilerRole"),
];

/// Every (role, action, resource) the template grants.
fn grants(template: &Value) -> anyhow::Result<Vec<(String, String, Value)>> {
    let mut out = Vec::new();
    for role in ids_of_type(template, "AWS::IAM::Role")? {
        for statement in role_statements(template, &role)? {
            let resources = match statement.get("Resource") {
                Some(Value::Array(items)) => items.clone(),
                Some(one) => vec![one.clone()],
                None => Vec::new(),
            };
            for action in string_list(statement.get("Action")) {
                for resource in &resources {
                    out.push((role.clone(), action.clone(), resource.clone()));
                }
            }
        }
    }
    Ok(out)
}

#[test]
fn the_upload_topic_is_encrypted_and_only_the_finalisers_publish_to_it() -> TestResult {
    let template = load_template()?;
    let topics = ids_of_type(&template, "AWS::SNS::Topic")?;
    assert_eq!(topics, vec!["UploadFinishedTopic".to_string()]);
    let topic = properties(&template, "UploadFinishedTopic")?;
    assert!(
        topic
            .get("KmsMasterKeyId")
            .is_some_and(|k| k.as_str().is_some_and(|s| !s.is_empty())),
        "the topic is encrypted at rest"
    );
    let publishers: BTreeSet<String> = grants(&template)?
        .into_iter()
        .filter(|(_, action, _)| action.starts_with("sns:"))
        .map(|(role, action, resource)| {
            assert_eq!(action, "sns:Publish", "{role}");
            assert_eq!(
                resource,
                json!({"Ref": "UploadFinishedTopic"}),
                "{role} publishes to the topic only"
            );
            role
        })
        .collect();
    let want: BTreeSet<String> = FINALISERS.iter().map(|(_, role)| role.to_string()).collect();
    assert_eq!(publishers, want, "exactly the finalising functions may publish");
    for (function, _) in FINALISERS {
        let vars = properties(&template, function)?
            .pointer("/Environment/Variables")
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            vars.get("UPLOAD_TOPIC_ARN"),
            Some(&json!({"Ref": "UploadFinishedTopic"})),
            "{function}"
        );
        let url = vars
            .get("VENDOR_API_URL")
            .map(Value::to_string)
            .unwrap_or_default();
        assert!(
            url.contains("${VendorHttpApi}.execute-api"),
            "{function}: report links go to the vendor API: {url}"
        );
    }
    Ok(())
}

#[test]
fn the_vendor_api_serves_exactly_the_five_routes_behind_its_jwt_authorizer() -> TestResult {
    let template = load_template()?;
    let api = properties(&template, "VendorHttpApi")?;
    assert_eq!(
        resource(&template, "VendorHttpApi")?.get("Type"),
        Some(&json!("AWS::Serverless::HttpApi"))
    );
    assert_eq!(api.pointer("/Auth/DefaultAuthorizer"), Some(&json!("VendorJwt")));
    let jwt = api
        .pointer("/Auth/Authorizers/VendorJwt")
        .ok_or_else(|| anyhow::anyhow!("no VendorJwt authorizer"))?;
    assert_eq!(
        jwt.get("IdentitySource"),
        Some(&json!("$request.header.Authorization"))
    );
    assert_eq!(
        jwt.pointer("/JwtConfiguration/issuer"),
        Some(&json!({"Ref": "VendorJwtIssuer"}))
    );
    assert_eq!(
        jwt.pointer("/JwtConfiguration/audience"),
        Some(&json!({"Ref": "VendorJwtAudiences"}))
    );
    for parameter in ["VendorJwtIssuer", "VendorJwtAudiences", "VendorClaim"] {
        assert!(
            template.pointer(&format!("/Parameters/{parameter}")).is_some(),
            "{parameter}"
        );
    }
    assert!(api.get("AccessLogSettings").is_some(), "access logs");

    let function = properties(&template, "VendorApiFunction")?;
    assert_eq!(
        function.pointer("/Environment/Variables/VENDOR_CLAIM"),
        Some(&json!({"Ref": "VendorClaim"}))
    );
    let events = function
        .get("Events")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow::anyhow!("VendorApiFunction has no Events"))?;
    let mut routes = BTreeSet::new();
    for (name, event) in events {
        assert_eq!(event.get("Type"), Some(&json!("HttpApi")), "{name}");
        let p = event.get("Properties").cloned().unwrap_or_default();
        assert_eq!(p.get("ApiId"), Some(&json!({"Ref": "VendorHttpApi"})), "{name}");
        // A number here passes the linters but fails the SAM translator.
        assert_eq!(p.get("PayloadFormatVersion"), Some(&json!("2.0")), "{name}");
        assert!(
            p.get("Auth").is_none(),
            "{name}: no route opts out of the JWT authorizer"
        );
        let method = p.get("Method").and_then(Value::as_str).unwrap_or_default();
        let path = p.get("Path").and_then(Value::as_str).unwrap_or_default();
        routes.insert(format!("{method} {path}"));
    }
    let want: BTreeSet<String> = vendor_api::routes::ALL.iter().map(|r| r.to_string()).collect();
    assert_eq!(
        routes, want,
        "the template's routes are the ones the handler serves"
    );
    for output in ["VendorApiUrl", "UploadFinishedTopicArn"] {
        assert!(
            template.pointer(&format!("/Outputs/{output}")).is_some(),
            "output {output}"
        );
    }
    Ok(())
}

#[test]
fn the_vendor_api_may_presign_put_on_uploads_and_get_on_reports_and_nothing_else() -> TestResult {
    let template = load_template()?;
    let bucket = "arn:${AWS::Partition}:s3:::${BucketNamePrefix}-${AWS::AccountId}-${AWS::Region}";
    let mut s3 = BTreeSet::new();
    for (role, action, resource) in grants(&template)? {
        if role != "VendorApiRole" {
            continue;
        }
        let service = action.split(':').next().unwrap_or_default().to_string();
        assert!(
            ["logs", "s3", "ec2", "rds-db", "secretsmanager", "kms"].contains(&service.as_str()),
            "vendor-api may not {action}"
        );
        if service == "s3" {
            let arn = resource.get("Fn::Sub").cloned().unwrap_or(resource);
            s3.insert((
                action,
                arn.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| arn.to_string()),
            ));
        }
    }
    let want: BTreeSet<(String, String)> = [
        ("s3:PutObject".to_string(), format!("{bucket}/uploads/*")),
        ("s3:GetObject".to_string(), format!("{bucket}/reports/*")),
    ]
    .into_iter()
    .collect();
    assert_eq!(s3, want);
    Ok(())
}

#[test]
fn the_reconciler_runs_every_five_minutes_one_run_at_a_time_with_a_role_scoped_to_its_work() -> TestResult {
    let template = load_template()?;
    let function = properties(&template, "UploadReconcilerFunction")?;
    assert_eq!(
        function.pointer("/Events/EveryFiveMinutes/Properties/Schedule"),
        Some(&json!("rate(5 minutes)"))
    );
    assert_eq!(function.get("ReservedConcurrentExecutions"), Some(&json!(1)));
    let mut by_service: BTreeSet<(String, String)> = BTreeSet::new();
    for (role, action, resource) in grants(&template)? {
        if role != "UploadReconcilerRole" {
            continue;
        }
        let service = action.split(':').next().unwrap_or_default().to_string();
        if ["dynamodb", "sqs", "sns"].contains(&service.as_str()) {
            by_service.insert((action, resource.to_string()));
        }
    }
    let want: BTreeSet<(String, String)> = [
        (
            "dynamodb:BatchGetItem",
            json!({"Fn::GetAtt": ["UploadRecordsTable", "Arn"]}),
        ),
        (
            "dynamodb:BatchWriteItem",
            json!({"Fn::GetAtt": ["UploadRecordsTable", "Arn"]}),
        ),
        (
            "dynamodb:PutItem",
            json!({"Fn::GetAtt": ["UploadRecordsTable", "Arn"]}),
        ),
        (
            "dynamodb:Query",
            json!({"Fn::Sub": "${UploadRecordsTable.Arn}/index/StatusIndex"}),
        ),
        (
            "sqs:ReceiveMessage",
            json!({"Fn::GetAtt": ["CsvParserDLQ", "Arn"]}),
        ),
        (
            "sqs:ReceiveMessage",
            json!({"Fn::GetAtt": ["StreamValidatorDLQ", "Arn"]}),
        ),
        (
            "sqs:ReceiveMessage",
            json!({"Fn::GetAtt": ["ErrorProcessorDLQ", "Arn"]}),
        ),
        (
            "sqs:DeleteMessage",
            json!({"Fn::GetAtt": ["CsvParserDLQ", "Arn"]}),
        ),
        (
            "sqs:DeleteMessage",
            json!({"Fn::GetAtt": ["StreamValidatorDLQ", "Arn"]}),
        ),
        (
            "sqs:DeleteMessage",
            json!({"Fn::GetAtt": ["ErrorProcessorDLQ", "Arn"]}),
        ),
        ("sns:Publish", json!({"Ref": "UploadFinishedTopic"})),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_string(), r.to_string()))
    .collect();
    assert_eq!(by_service, want, "the reconciler's DynamoDB, SQS and SNS grants");
    Ok(())
}
