//! Rewrites a `Lambda-Runtime-Client-Context` header value into the shape
//! lambda_runtime 1.5 deserializes (`ClientContext { client: ClientApplication,
//! custom: HashMap<String, String>, environment: HashMap<String, String> }`), keeping
//! every string the caller sent.
//!
//! The runtime fails the whole process on a value it cannot read (see docs/tools.md),
//! so anything that is JSON is repaired rather than refused: the tool name in `custom`
//! must survive a sibling value of the wrong type.

use serde_json::{Map, Value};

/// `ClientApplication`'s fields: each is a required `String` (camelCase, with a
/// snake_case alias) and the struct has no per-field defaults.
const CLIENT_FIELDS: [(&str, &str); 5] = [
    ("installationId", "installation_id"),
    ("appTitle", "app_title"),
    ("appVersionName", "app_version_name"),
    ("appVersionCode", "app_version_code"),
    ("appPackageName", "app_package_name"),
];

/// The `HashMap<String, String>` members of `ClientContext`.
const STRING_MAPS: [&str; 2] = ["custom", "environment"];

/// What to do with the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sanitized {
    /// Replace the header with this value: compact JSON, visible ASCII only (what
    /// `HeaderValue::to_str` accepts), which lambda_runtime deserializes.
    Rewritten(String),
    /// Remove the header: there is nothing in it the runtime could read.
    Dropped(DropReason),
}

/// Why a header was removed. Carries no part of the header, so it can be logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    NotJson,
    NotAnObject,
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DropReason::NotJson => "the client context is not JSON",
            DropReason::NotAnObject => "the client context is JSON but not an object",
        })
    }
}

/// Sanitizes one raw header value.
///
/// - `client`: an object with the five string fields (missing or `null` → `""`, other
///   values → their JSON text, snake_case aliases folded into the camelCase name);
///   `null` or any non-object → removed (the runtime then uses its default).
/// - `custom`, `environment`: string values kept, `null` values dropped, other values
///   → their compact JSON text (`5` → `"5"`); a non-object member is removed.
/// - Other top-level keys are kept (the runtime ignores them).
///
/// The result is always re-serialized, which also collapses duplicate keys (the
/// runtime refuses a duplicated struct field) and escapes non-ASCII characters.
pub fn sanitize(raw: &[u8]) -> Sanitized {
    let value: Value = match serde_json::from_slice(raw) {
        Ok(v) => v,
        Err(_) => return Sanitized::Dropped(DropReason::NotJson),
    };
    let Value::Object(mut context) = value else {
        return Sanitized::Dropped(DropReason::NotAnObject);
    };
    // `remove` then re-insert: a member of any other type stays removed (the runtime
    // falls back to its default for a missing member).
    if let Some(Value::Object(client)) = context.remove("client") {
        context.insert("client".into(), Value::Object(client_application(client)));
    }
    for key in STRING_MAPS {
        if let Some(Value::Object(map)) = context.remove(key) {
            context.insert(key.into(), Value::Object(string_map(map)));
        }
    }
    Sanitized::Rewritten(header_safe(&Value::Object(context).to_string()))
}

fn client_application(mut client: Map<String, Value>) -> Map<String, Value> {
    for (name, alias) in CLIENT_FIELDS {
        let camel = client.remove(name);
        let snake = client.remove(alias);
        let text = match camel.or(snake) {
            None | Some(Value::Null) => String::new(),
            Some(other) => as_text(other),
        };
        client.insert(name.into(), Value::String(text));
    }
    client
}

fn string_map(map: Map<String, Value>) -> Map<String, Value> {
    map.into_iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k, Value::String(as_text(v))))
        .collect()
}

/// A string as itself, anything else as its compact JSON text.
fn as_text(value: Value) -> String {
    match value {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

/// Escapes every character a header value cannot carry as text (non-ASCII and DEL)
/// as `\uXXXX`. serde_json already escapes control characters, and such characters
/// can only occur inside JSON strings, so the result is the same JSON document.
fn header_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() && c != '\x7f' {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::{Config, Context};
    use serde_json::json;
    use std::sync::Arc;

    const TOOL: &str = "reviews___get_product_reviews";

    /// `client.installationId` and the sorted `custom` pairs the runtime read.
    type Read = (String, Vec<(String, String)>);

    /// What lambda_runtime 1.5 builds from the header, exactly as it does per
    /// invocation: `Ok` means the process survives.
    fn runtime_reads(header: &[u8]) -> Result<Option<Read>, String> {
        let mut headers = http::HeaderMap::new();
        headers.insert("lambda-runtime-deadline-ms", http::HeaderValue::from_static("0"));
        headers.insert(
            "lambda-runtime-client-context",
            http::HeaderValue::from_bytes(header).map_err(|e| e.to_string())?,
        );
        let ctx = Context::new("req", Arc::new(Config::default()), &headers).map_err(|e| e.to_string())?;
        Ok(ctx.client_context.map(|cc| {
            let mut custom: Vec<_> = cc.custom.into_iter().collect();
            custom.sort();
            (cc.client.installation_id, custom)
        }))
    }

    fn rewritten(input: &Value) -> Value {
        match sanitize(input.to_string().as_bytes()) {
            Sanitized::Rewritten(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
            other => panic!("expected a rewrite of {input}, got {other:?}"),
        }
    }

    #[test]
    fn repairs_what_the_runtime_cannot_read() {
        let empty_client = json!({
            "installationId": "", "appTitle": "", "appVersionName": "",
            "appVersionCode": "", "appPackageName": ""
        });
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "client null is removed",
                json!({"client": null, "custom": {"bedrockAgentCoreToolName": TOOL}}),
                json!({"custom": {"bedrockAgentCoreToolName": TOOL}}),
            ),
            (
                "empty client gets every field",
                json!({"client": {}, "custom": {"bedrockAgentCoreToolName": TOOL}}),
                json!({"client": empty_client, "custom": {"bedrockAgentCoreToolName": TOOL}}),
            ),
            (
                "client that is not an object is removed",
                json!({"client": "mobile", "custom": {}}),
                json!({"custom": {}}),
            ),
            (
                "partial client keeps its strings, non-strings become text, aliases fold",
                json!({"client": {"installation_id": "i-1", "appTitle": null, "appVersionCode": 7, "extra": [1]}}),
                json!({"client": {
                    "installationId": "i-1", "appTitle": "", "appVersionName": "",
                    "appVersionCode": "7", "appPackageName": "", "extra": [1]
                }}),
            ),
            (
                "non-string custom values become their JSON text, nulls are dropped",
                json!({"custom": {
                    "bedrockAgentCoreToolName": TOOL, "n": 5, "f": 1.5, "b": true,
                    "o": {"a": [1, "x"]}, "a": [], "gone": null
                }}),
                json!({"custom": {
                    "bedrockAgentCoreToolName": TOOL, "n": "5", "f": "1.5", "b": "true",
                    "o": "{\"a\":[1,\"x\"]}", "a": "[]"
                }}),
            ),
            (
                "environment is treated like custom",
                json!({"environment": {"locale": "en", "tz": 0, "x": null}}),
                json!({"environment": {"locale": "en", "tz": "0"}}),
            ),
            (
                "null or non-object maps are removed",
                json!({"custom": null, "environment": ["a"]}),
                json!({}),
            ),
            (
                "unknown top-level keys stay",
                json!({"custom": {"k": "v"}, "other": {"deep": 1}}),
                json!({"custom": {"k": "v"}, "other": {"deep": 1}}),
            ),
            (
                "a valid context is unchanged in meaning",
                json!({"custom": {"bedrockAgentCoreToolName": TOOL, "bedrockAgentCoreGatewayId": "gw"}}),
                json!({"custom": {"bedrockAgentCoreToolName": TOOL, "bedrockAgentCoreGatewayId": "gw"}}),
            ),
        ];
        for (name, input, expected) in cases {
            let out = rewritten(&input);
            assert_eq!(out, expected, "{name}");
            let header = out.to_string();
            assert!(
                runtime_reads(header.as_bytes()).is_ok(),
                "{name}: the runtime refuses {header}"
            );
        }
    }

    #[test]
    fn the_runtime_refuses_each_input_the_shim_repairs() {
        // Pins why the shim exists: should lambda_runtime ever accept these, the shim
        // may be retired.
        for input in [
            json!({"client": null, "custom": {"bedrockAgentCoreToolName": TOOL}}),
            json!({"client": {}, "custom": {"bedrockAgentCoreToolName": TOOL}}),
            json!({"custom": {"bedrockAgentCoreToolName": TOOL, "n": 5}}),
            json!({"custom": {"bedrockAgentCoreToolName": TOOL, "gone": null}}),
        ] {
            assert!(runtime_reads(input.to_string().as_bytes()).is_err(), "{input}");
            let Sanitized::Rewritten(text) = sanitize(input.to_string().as_bytes()) else {
                panic!("{input} not rewritten");
            };
            let (_, custom) = runtime_reads(text.as_bytes())
                .unwrap_or_else(|e| panic!("{text}: {e}"))
                .unwrap_or_default();
            assert!(
                custom.contains(&("bedrockAgentCoreToolName".into(), TOOL.into())),
                "{text}"
            );
        }
    }

    #[test]
    fn non_ascii_text_is_escaped_so_the_header_is_readable() {
        let raw = "{\"custom\":{\"bedrockAgentCoreToolName\":\"t\",\"note\":\"café 🦀 \u{7f}\"}}";
        let without_del = raw.replace('\u{7f}', "");
        assert!(
            runtime_reads(without_del.as_bytes()).is_err(),
            "to_str refuses non-ASCII header bytes"
        );
        let Sanitized::Rewritten(text) = sanitize(raw.as_bytes()) else {
            panic!("not rewritten");
        };
        assert!(text.bytes().all(|b| (0x20..0x7f).contains(&b)), "{text}");
        let (_, custom) = runtime_reads(text.as_bytes())
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .unwrap_or_default();
        assert!(
            custom.contains(&("note".into(), "café 🦀 \u{7f}".into())),
            "{custom:?}"
        );
    }

    #[test]
    fn duplicate_fields_are_collapsed() {
        let raw = r#"{"client":{"installationId":"a","installation_id":"b"},"custom":{"k":"v"},"custom":{"k":"w"}}"#;
        assert!(runtime_reads(raw.as_bytes()).is_err());
        let Sanitized::Rewritten(text) = sanitize(raw.as_bytes()) else {
            panic!("not rewritten");
        };
        let read = runtime_reads(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(read, Some(("a".into(), vec![("k".into(), "w".into())])));
    }

    #[test]
    fn drops_what_is_not_a_json_object() {
        let cases: [(&[u8], DropReason); 6] = [
            (b"not json", DropReason::NotJson),
            (b"{\"custom\":", DropReason::NotJson),
            (b"eyJjdXN0b20iOnt9fQ==", DropReason::NotJson),
            (b"null", DropReason::NotAnObject),
            (b"[1,2]", DropReason::NotAnObject),
            (b"\"text\"", DropReason::NotAnObject),
        ];
        for (raw, reason) in cases {
            assert_eq!(
                sanitize(raw),
                Sanitized::Dropped(reason),
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }
}
