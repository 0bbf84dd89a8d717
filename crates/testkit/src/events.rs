//! The events a function receives, built once for every test (and for devstack, which
//! delivers them to the real handlers): S3 `ObjectCreated:Put` notifications and
//! DynamoDB stream batches.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::s3::S3Event;
use chrono::{DateTime, Utc};
use domain::model::UploadRecord;
use domain::upload::encode_event_key;
use serde_json::{json, Value};

/// One S3 PUT as its notification describes it.
#[derive(Debug, Clone)]
pub struct S3Put<'a> {
    pub region: &'a str,
    pub bucket: &'a str,
    /// The decoded key; the event carries it URL-encoded, as S3 does.
    pub key: &'a str,
    pub size: i64,
    pub etag: &'a str,
    pub version_id: Option<&'a str>,
    pub sequencer: &'a str,
    pub at: DateTime<Utc>,
}

impl S3Put<'_> {
    /// The `ObjectCreated:Put` notification S3 sends, in its exact JSON shape.
    pub fn json(&self) -> Value {
        let mut object = json!({
            "key": encode_event_key(self.key),
            "size": self.size,
            "eTag": self.etag.trim_matches('"'),
            "sequencer": self.sequencer,
        });
        if let Some(v) = self.version_id {
            object["versionId"] = Value::String(v.to_string());
        }
        json!({
            "Records": [{
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": self.region,
                "eventTime": self.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "eventName": "ObjectCreated:Put",
                "userIdentity": { "principalId": "AWS:AIDADEVSTACK" },
                "requestParameters": { "sourceIPAddress": "127.0.0.1" },
                "responseElements": {
                    "x-amz-request-id": "DEVSTACK",
                    "x-amz-id-2": "devstack"
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "CsvUploads",
                    "bucket": {
                        "name": self.bucket,
                        "ownerIdentity": { "principalId": "DEVSTACK" },
                        "arn": format!("arn:aws:s3:::{}", self.bucket)
                    },
                    "object": object
                }
            }]
        })
    }

    pub fn event(&self) -> Result<S3Event, serde_json::Error> {
        serde_json::from_value(self.json())
    }
}

/// A PUT of `key` in bucket `bucket` now, with a fixed sequencer (tests vary it to make
/// two PUTs of one key).
pub fn s3_put<'a>(bucket: &'a str, key: &'a str, sequencer: &'a str) -> S3Put<'a> {
    S3Put {
        region: "us-east-1",
        bucket,
        key,
        size: 0,
        etag: "0",
        version_id: None,
        sequencer,
        at: Utc::now(),
    }
}

/// An item as DynamoDB JSON (what a stream record's `NewImage` holds).
pub fn image(item: &UploadRecord) -> Result<Value, String> {
    let image: serde_dynamo::Item = serde_dynamo::to_item(item).map_err(|e| e.to_string())?;
    serde_json::to_value(image).map_err(|e| e.to_string())
}

/// A stream record as Lambda delivers it (INSERT, NEW_IMAGE).
pub fn stream_record(sequence_number: &str, new_image: Value) -> Value {
    let keys: serde_json::Map<String, Value> = ["upload_id", "record_id"]
        .into_iter()
        .filter_map(|k| new_image.get(k).map(|v| (k.to_string(), v.clone())))
        .collect();
    json!({
        "eventID": sequence_number,
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_700_000_000,
            "Keys": keys,
            "NewImage": new_image,
            "SequenceNumber": sequence_number,
            "SizeBytes": 100,
            "StreamViewType": "NEW_IMAGE"
        },
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/UploadRecords/stream/x"
    })
}

/// `{"Records": [...]}` of these stream records, as JSON.
pub fn stream_batch_json(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}

/// A stream batch of these records.
pub fn stream_batch(records: Vec<Value>) -> Result<Event, serde_json::Error> {
    serde_json::from_value(stream_batch_json(records))
}

/// The handlers treat sequence numbers as opaque; this one says whose record it is.
pub fn sequence_of(item: &UploadRecord) -> String {
    format!("{}/{}", item.upload_id, item.row_number)
}

/// A batch of these items, each under [`sequence_of`].
pub fn stream_event(items: &[&UploadRecord]) -> Result<Event, String> {
    let records = items
        .iter()
        .map(|i| image(i).map(|img| stream_record(&sequence_of(i), img)))
        .collect::<Result<Vec<_>, _>>()?;
    stream_batch(records).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_put_event_has_the_lambda_shape_with_the_key_encoded_like_s3() {
        let put = S3Put {
            version_id: Some("v1"),
            size: 10,
            etag: "\"abc\"",
            ..s3_put("b", "uploads/V/spring sale+été (1).csv", "00AB")
        };
        let event = put.event().unwrap_or_else(|e| panic!("{e}"));
        let record = &event.records[0];
        assert_eq!(
            record.s3.object.key.as_deref(),
            Some("uploads/V/spring+sale%2B%C3%A9t%C3%A9+%281%29.csv")
        );
        assert_eq!(record.s3.object.sequencer.as_deref(), Some("00AB"));
        assert_eq!(record.s3.object.version_id.as_deref(), Some("v1"));
        assert_eq!(record.s3.object.e_tag.as_deref(), Some("abc"));
        assert_eq!(record.event_name.as_deref(), Some("ObjectCreated:Put"));
    }
}
