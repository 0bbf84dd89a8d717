//! DynamoDB Streams API records → the event Lambda hands to a function.
//!
//! Written by hand over the SDK's `AttributeValue` (ten variants) rather than through
//! serde_dynamo's `From` impl, which panics on the SDK's non-exhaustive `Unknown`
//! variant; here an unknown type is an error.

use anyhow::{anyhow, bail, Context};
use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Deserialize as _;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// A stream record as the mapping holds it: the JSON Lambda would send (what filters
/// see) and, once a consumer wants it, the typed record handlers receive. Most records
/// of a busy stream are filtered out (in the pipeline, the validator's own
/// write-backs), so they are never typed.
#[derive(Debug)]
pub struct ConvertedRecord {
    pub sequence_number: String,
    /// `ApproximateCreationDateTime`, in whole seconds as Lambda sends it (the Unix
    /// epoch when the record has none, as `aws_lambda_events` reads it).
    pub created: DateTime<Utc>,
    pub json: Value,
    pub(crate) typed: OnceLock<EventRecord>,
}

impl ConvertedRecord {
    /// The record as `aws_lambda_events`' `EventRecord`, read from [`Self::json`] the
    /// first time it is asked for. An error means the emulation has the shape wrong.
    pub fn record(&self) -> anyhow::Result<&EventRecord> {
        if let Some(typed) = self.typed.get() {
            return Ok(typed);
        }
        // Read from the document in place: a copy of it to consume would cost as much
        // as the conversion (`make bench` §5 counts this process's CPU).
        let typed = EventRecord::deserialize(&self.json).with_context(|| {
            format!(
                "stream record {} does not fit aws_lambda_events' EventRecord",
                self.sequence_number
            )
        })?;
        Ok(self.typed.get_or_init(|| typed))
    }
}

/// One attribute value in DynamoDB JSON (`{"S": "…"}`, `{"N": "12"}`, …).
pub fn attribute_to_json(value: &AttributeValue) -> anyhow::Result<Value> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::B(b) => json!({ "B": b64(b.as_ref()) }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(b) => json!({ "NULL": b }),
        AttributeValue::Ss(v) => json!({ "SS": v }),
        AttributeValue::Ns(v) => json!({ "NS": v }),
        AttributeValue::Bs(v) => json!({ "BS": v.iter().map(|b| b64(b.as_ref())).collect::<Vec<_>>() }),
        AttributeValue::L(items) => {
            json!({ "L": items.iter().map(attribute_to_json).collect::<anyhow::Result<Vec<_>>>()? })
        }
        AttributeValue::M(map) => json!({ "M": item_to_json(map)? }),
        other => bail!("unsupported DynamoDB attribute type in stream record: {other:?}"),
    })
}

/// An item (attribute name → value) in DynamoDB JSON.
pub fn item_to_json(item: &HashMap<String, AttributeValue>) -> anyhow::Result<Value> {
    let mut out = Map::with_capacity(item.len());
    for (name, value) in item {
        out.insert(
            name.clone(),
            attribute_to_json(value).with_context(|| format!("attribute {name:?}"))?,
        );
    }
    Ok(Value::Object(out))
}

/// A DynamoDB Streams record → the Lambda event record JSON
/// (`eventID`, `eventName`, `eventVersion`, `eventSource`, `awsRegion`, `dynamodb`,
/// `eventSourceARN`, and `userIdentity` for TTL deletions).
pub fn record_to_json(record: &Record, stream_arn: &str, default_region: &str) -> anyhow::Result<Value> {
    let stream = record
        .dynamodb
        .as_ref()
        .ok_or_else(|| anyhow!("stream record has no dynamodb part"))?;
    let sequence_number = stream
        .sequence_number
        .as_deref()
        .ok_or_else(|| anyhow!("stream record has no SequenceNumber"))?;
    let mut ddb = Map::new();
    if let Some(t) = stream.approximate_creation_date_time {
        // Lambda sends whole epoch seconds as a JSON number.
        ddb.insert("ApproximateCreationDateTime".into(), json!(t.secs()));
    }
    for (key, image) in [
        ("Keys", &stream.keys),
        ("NewImage", &stream.new_image),
        ("OldImage", &stream.old_image),
    ] {
        if let Some(image) = image {
            ddb.insert(
                key.into(),
                item_to_json(image).with_context(|| format!("{key} of {sequence_number}"))?,
            );
        }
    }
    ddb.insert("SequenceNumber".into(), json!(sequence_number));
    ddb.insert("SizeBytes".into(), json!(stream.size_bytes.unwrap_or(0)));
    if let Some(view) = &stream.stream_view_type {
        ddb.insert("StreamViewType".into(), json!(view.as_str()));
    }

    let mut out = Map::new();
    out.insert(
        "eventID".into(),
        json!(record.event_id.as_deref().unwrap_or(sequence_number)),
    );
    let event_name = record
        .event_name
        .as_ref()
        .ok_or_else(|| anyhow!("stream record {sequence_number} has no eventName"))?;
    out.insert("eventName".into(), json!(event_name.as_str()));
    out.insert("eventVersion".into(), json!("1.1"));
    out.insert("eventSource".into(), json!("aws:dynamodb"));
    out.insert(
        "awsRegion".into(),
        json!(record.aws_region.as_deref().unwrap_or(default_region)),
    );
    out.insert("dynamodb".into(), Value::Object(ddb));
    out.insert("eventSourceARN".into(), json!(stream_arn));
    if let Some(identity) = &record.user_identity {
        out.insert(
            "userIdentity".into(),
            json!({ "type": identity.r#type.as_deref().unwrap_or_default(), "principalId": identity.principal_id.as_deref().unwrap_or_default() }),
        );
    }
    Ok(Value::Object(out))
}

/// Converts one record into the JSON Lambda sends; the typed record is made when a
/// consumer first asks for it ([`ConvertedRecord::record`]).
pub fn convert_record(
    record: &Record,
    stream_arn: &str,
    default_region: &str,
) -> anyhow::Result<ConvertedRecord> {
    let json = record_to_json(record, stream_arn, default_region)?;
    let stream = record.dynamodb.as_ref();
    let created = stream
        .and_then(|s| s.approximate_creation_date_time)
        .and_then(|t| DateTime::from_timestamp(t.secs(), 0))
        .unwrap_or_default();
    let sequence_number = stream.and_then(|s| s.sequence_number.clone()).unwrap_or_default();
    Ok(ConvertedRecord {
        sequence_number,
        created,
        json,
        typed: OnceLock::new(),
    })
}

/// A string key attribute (`{"S": …}`) of a stream record in Lambda's JSON, e.g. the
/// `upload_id` a drain's [`RecordFilter`](super::RecordFilter) selects on.
pub fn string_key<'a>(record: &'a Value, name: &str) -> Option<&'a str> {
    record["dynamodb"]["Keys"][name]["S"].as_str()
}

/// The batch a function receives: `{"Records": [...]}` as `aws_lambda_events`' `Event`.
pub fn batch_event(records: &[Arc<ConvertedRecord>]) -> anyhow::Result<Event> {
    let mut event = Event::default();
    event.records = records
        .iter()
        .map(|r| r.record().cloned())
        .collect::<anyhow::Result<_>>()?;
    Ok(event)
}

/// The batch as the JSON document Lambda would post (used for the on-failure log and
/// tests that pin the wire shape).
pub fn batch_json(records: &[Arc<ConvertedRecord>]) -> Value {
    json!({ "Records": records.iter().map(|r| r.json.clone()).collect::<Vec<_>>() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::primitives::{Blob, DateTime};
    use aws_sdk_dynamodbstreams::types::{OperationType, StreamRecord, StreamViewType};

    const ARN: &str =
        "arn:aws:dynamodb:eu-west-1:000000000000:table/UploadRecords/stream/2025-01-01T00:00:00.000";

    fn sample() -> Record {
        let product = HashMap::from([
            ("sku".to_string(), AttributeValue::S("AB-1".into())),
            ("price".to_string(), AttributeValue::N("19.99".into())),
            (
                "tags".to_string(),
                AttributeValue::L(vec![AttributeValue::S("x".into()), AttributeValue::Null(true)]),
            ),
        ]);
        let new_image = HashMap::from([
            ("upload_id".to_string(), AttributeValue::S("UPLOAD_1".into())),
            ("record_id".to_string(), AttributeValue::S("REC_000001".into())),
            ("row_number".to_string(), AttributeValue::N("12".into())),
            ("product_data".to_string(), AttributeValue::M(product)),
            ("ok".to_string(), AttributeValue::Bool(true)),
            (
                "raw".to_string(),
                AttributeValue::B(Blob::new(b"hi\x00".to_vec())),
            ),
            (
                "set".to_string(),
                AttributeValue::Ss(vec!["a".into(), "b".into()]),
            ),
            (
                "nums".to_string(),
                AttributeValue::Ns(vec!["1".into(), "2.5".into()]),
            ),
            (
                "blobs".to_string(),
                AttributeValue::Bs(vec![Blob::new(b"a".to_vec())]),
            ),
        ]);
        let keys = HashMap::from([
            ("upload_id".to_string(), AttributeValue::S("UPLOAD_1".into())),
            ("record_id".to_string(), AttributeValue::S("REC_000001".into())),
        ]);
        Record::builder()
            .event_id("abc")
            .event_name(OperationType::Insert)
            .event_version("1.1")
            .event_source("aws:dynamodb")
            .aws_region("eu-west-1")
            .dynamodb(
                StreamRecord::builder()
                    .approximate_creation_date_time(DateTime::from_secs(1_700_000_000))
                    .set_keys(Some(keys))
                    .set_new_image(Some(new_image))
                    .sequence_number("000000000000000000101")
                    .size_bytes(321)
                    .stream_view_type(StreamViewType::NewImage)
                    .build(),
            )
            .build()
    }

    #[test]
    fn record_has_lambda_shape() -> anyhow::Result<()> {
        let json = record_to_json(&sample(), ARN, "us-east-1")?;
        assert_eq!(json["eventID"], "abc");
        assert_eq!(json["eventName"], "INSERT");
        assert_eq!(json["eventVersion"], "1.1");
        assert_eq!(json["eventSource"], "aws:dynamodb");
        assert_eq!(json["awsRegion"], "eu-west-1");
        assert_eq!(json["eventSourceARN"], ARN);
        let d = &json["dynamodb"];
        assert_eq!(d["ApproximateCreationDateTime"], json!(1_700_000_000));
        assert_eq!(d["SequenceNumber"], "000000000000000000101");
        assert_eq!(d["SizeBytes"], 321);
        assert_eq!(d["StreamViewType"], "NEW_IMAGE");
        assert_eq!(
            d["Keys"],
            json!({"upload_id": {"S": "UPLOAD_1"}, "record_id": {"S": "REC_000001"}})
        );
        assert!(d.get("OldImage").is_none());
        let img = &d["NewImage"];
        assert_eq!(img["row_number"], json!({"N": "12"}));
        assert_eq!(img["ok"], json!({"BOOL": true}));
        assert_eq!(img["raw"], json!({"B": "aGkA"}));
        assert_eq!(img["set"], json!({"SS": ["a", "b"]}));
        assert_eq!(img["nums"], json!({"NS": ["1", "2.5"]}));
        assert_eq!(img["blobs"], json!({"BS": ["YQ=="]}));
        assert_eq!(
            img["product_data"],
            json!({"M": {"sku": {"S": "AB-1"}, "price": {"N": "19.99"}, "tags": {"L": [{"S": "x"}, {"NULL": true}]}}})
        );
        Ok(())
    }

    #[test]
    fn batch_deserializes_into_lambda_event() -> anyhow::Result<()> {
        let converted = Arc::new(convert_record(&sample(), ARN, "us-east-1")?);
        assert_eq!(converted.sequence_number, "000000000000000000101");
        assert_eq!(converted.created.timestamp(), 1_700_000_000);
        // The wire shape round-trips through aws_lambda_events' Event.
        let from_wire: Event = serde_json::from_value(batch_json(std::slice::from_ref(&converted)))?;
        let event = batch_event(&[converted])?;
        assert_eq!(from_wire, event);
        let rec = &event.records[0];
        assert_eq!(rec.event_name, "INSERT");
        assert_eq!(rec.event_source_arn.as_deref(), Some(ARN));
        assert_eq!(
            rec.change.approximate_creation_date_time.timestamp(),
            1_700_000_000
        );
        assert_eq!(rec.change.size_bytes, 321);
        #[derive(serde::Deserialize)]
        struct Row {
            row_number: u32,
            product_data: HashMap<String, Value>,
        }
        let row: Row = serde_dynamo::from_item(rec.change.new_image.clone())?;
        assert_eq!(row.row_number, 12);
        assert_eq!(row.product_data["sku"], "AB-1");
        assert_eq!(
            rec.change.new_image.get("raw"),
            Some(&serde_dynamo::AttributeValue::B(b"hi\x00".to_vec()))
        );
        Ok(())
    }

    #[test]
    fn the_typed_record_is_made_when_first_asked_for_and_kept() -> anyhow::Result<()> {
        let converted = convert_record(&sample(), ARN, "us-east-1")?;
        assert!(
            converted.typed.get().is_none(),
            "converting does not type the record"
        );
        let first: *const EventRecord = converted.record()?;
        assert!(std::ptr::eq(first, converted.record()?), "typed once");
        assert_eq!(converted.record()?.event_name, "INSERT");
        Ok(())
    }

    #[test]
    fn a_record_that_does_not_fit_is_an_error_when_asked_for() -> anyhow::Result<()> {
        let mut converted = convert_record(&sample(), ARN, "us-east-1")?;
        converted.json["dynamodb"]["SizeBytes"] = json!("many");
        match converted.record() {
            Ok(typed) => panic!("a SizeBytes of \"many\" was read as {typed:?}"),
            Err(err) => assert!(format!("{err:#}").contains("000000000000000000101"), "{err:#}"),
        }
        assert!(batch_event(&[Arc::new(converted)]).is_err());
        Ok(())
    }

    #[test]
    fn string_keys_are_read_from_the_records_keys() -> anyhow::Result<()> {
        let json = record_to_json(&sample(), ARN, "us-east-1")?;
        assert_eq!(string_key(&json, "upload_id"), Some("UPLOAD_1"));
        assert_eq!(string_key(&json, "record_id"), Some("REC_000001"));
        assert_eq!(string_key(&json, "row_number"), None, "not a key");
        assert_eq!(string_key(&json!({}), "upload_id"), None);
        Ok(())
    }

    #[test]
    fn missing_parts_are_errors() {
        let no_ddb = Record::builder().event_name(OperationType::Insert).build();
        assert!(record_to_json(&no_ddb, ARN, "r").is_err());
        let no_seq = Record::builder()
            .event_name(OperationType::Remove)
            .dynamodb(StreamRecord::builder().build())
            .build();
        assert!(record_to_json(&no_seq, ARN, "r").is_err());
    }
}
