//! The sample events in `events/` are in the exact shapes Lambda delivers, and the
//! handlers' decoders read them.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::s3::S3Event;
use domain::model::RecordStatus;

fn read(path: &str) -> String {
    let full = format!("{}/../events/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

#[test]
fn the_s3_sample_is_an_s3_event_with_an_encoded_key() {
    let event: S3Event = serde_json::from_str(&read("csv-parser/s3-put.json")).expect("S3Event");
    let object = &event.records[0].s3.object;
    let key = domain::upload::decode_event_key(object.key.as_deref().unwrap_or_default());
    let upload = domain::upload::UploadKey::parse(&key).expect("a vendor upload key");
    assert_eq!(upload.vendor_id(), "VEND001");
    assert_eq!(upload.file_name, "spring catalogue (2026).csv");
    assert_eq!(object.sequencer.as_deref(), Some("0055AED6DCD90281E5"));
}

#[test]
fn the_validator_sample_decodes_into_pending_items() {
    let event: Event = serde_json::from_str(&read("stream-validator/insert-batch.json")).expect("Event");
    let decoded = adapters::streams::decode(&event, RecordStatus::PendingValidation);
    assert!(decoded.undecodable.is_empty());
    assert_eq!(decoded.groups.len(), 1);
    let (_, rows) = &decoded.groups[0];
    assert_eq!(
        rows[0].1.product_data.get("sku").map(String::as_str),
        Some("TG-MOUSE-01")
    );
}

#[test]
fn the_error_processor_sample_decodes_into_error_rows() {
    let event: Event = serde_json::from_str(&read("error-processor/modify-error-batch.json")).expect("Event");
    let decoded = adapters::streams::decode(&event, RecordStatus::Error);
    assert!(decoded.undecodable.is_empty());
    let (_, rows) = &decoded.groups[0];
    assert_eq!(rows.len(), 2);
    let first = domain::ports::ErrorRow::from_item(&rows[0].1);
    assert_eq!(first.errors.len(), 2);
    assert!(first.original.is_some());
    let malformed = domain::ports::ErrorRow::from_item(&rows[1].1);
    assert!(
        malformed.original.is_none(),
        "a malformed row's cells are not reported"
    );
}

#[test]
fn the_reconciler_re_drives_the_s3_event_of_a_parser_failure_record() {
    let event = upload_reconciler::parser_event(&read("upload-reconciler/parser-on-failure.json"))
        .expect("the S3 event in requestPayload");
    let object = &event.records[0].s3.object;
    assert_eq!(
        object.version_id.as_deref(),
        Some("3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")
    );
    assert_eq!(object.sequencer.as_deref(), Some("0055AED6DCD90281E6"));
    // The scheduled event is read by nobody: any JSON object is a valid trigger.
    let scheduled: serde_json::Value =
        serde_json::from_str(&read("upload-reconciler/scheduled.json")).expect("JSON");
    assert_eq!(scheduled["detail-type"], "Scheduled Event");
}
