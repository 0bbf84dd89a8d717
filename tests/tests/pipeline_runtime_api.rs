//! The built pipeline binaries against a minimal Lambda Runtime API: proves each
//! `main.rs` (clients and pool from the environment, event types, response shape),
//! not only the handlers.

use e2e::pipeline::{
    insert_batch_json as insert_batch, items, pg, put_with_event, stack, unique, valid_row, HEADER,
};
use e2e::runtime_api::{binary, invoke_binary, Outcome};
use serde_json::{json, Value};

fn env() -> Vec<(&'static str, &'static str)> {
    e2e::stack::load_env()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parser_and_validator_binaries_answer_the_runtime_api() {
    let stack = stack().await;
    let db = pg().await;
    let env = env();
    let p = unique("RT");
    let mut body = String::from(HEADER);
    for i in 1..=4 {
        body.push('\n');
        body.push_str(&valid_row(&p, i, "2.50"));
    }
    let key = format!("uploads/VEND001/{p} runtime.csv");
    let (event, upload_id) = put_with_event(&stack, &key, body.into_bytes()).await;

    let parser = binary("csv-parser", "csv-parser");
    let outcome = invoke_binary(&parser, &env, serde_json::to_value(&event).expect("json"), None).await;
    assert_eq!(
        outcome,
        Outcome::Response(Value::Null),
        "csv-parser answers with no payload"
    );
    let written = items(&stack, &upload_id).await;
    assert_eq!(written.len(), 4);

    let validator = binary("stream-validator", "stream-validator");
    let outcome = invoke_binary(&validator, &env, insert_batch(&written), None).await;
    assert_eq!(outcome, Outcome::Response(json!({ "batchItemFailures": [] })));
    let row = db
        .query_one(
            "SELECT status, valid_records FROM upload_history WHERE upload_id = $1",
            &[&upload_id],
        )
        .await
        .expect("history");
    assert_eq!(row.get::<_, String>(0), "completed");
    assert_eq!(row.get::<_, i32>(1), 4);

    // A record that is not an UploadRecords item is reported, not swallowed.
    let mut junk = insert_batch(&written[..1]);
    junk["Records"][0]["dynamodb"]["NewImage"] = json!({ "upload_id": { "S": upload_id } });
    let outcome = invoke_binary(&validator, &env, junk, None).await;
    assert_eq!(
        outcome,
        Outcome::Response(json!({ "batchItemFailures": [ { "itemIdentifier": format!("{:021}", 1) } ] }))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_without_its_table_name_fails_at_init_naming_it() {
    // Empty counts as missing (the child inherits the test's environment otherwise).
    let mut env: Vec<(&str, &str)> = env()
        .into_iter()
        .filter(|(k, _)| *k != "UPLOAD_RECORDS_TABLE")
        .collect();
    env.push(("UPLOAD_RECORDS_TABLE", ""));
    let parser = binary("csv-parser", "csv-parser");
    match invoke_binary(&parser, &env, json!({ "Records": [] }), None).await {
        Outcome::Error(e) => assert!(e.to_string().contains("UPLOAD_RECORDS_TABLE"), "{e}"),
        Outcome::ProcessExited(_, stderr) => assert!(stderr.contains("UPLOAD_RECORDS_TABLE"), "{stderr}"),
        other => panic!("expected an init failure, got {other:?}"),
    }
}
