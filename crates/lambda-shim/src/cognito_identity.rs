//! Decides whether lambda_runtime 1.5 can read a `Lambda-Runtime-Cognito-Identity`
//! header. Like the client context, the runtime deserializes it in `Context::new`,
//! before any handler runs, and a failure ends the process; unlike the client context
//! it is written by Lambda from the caller's Cognito credentials, not by the caller,
//! so there is nothing to repair: a value the runtime cannot read is removed and the
//! invocation runs without an identity (none of our functions reads it).

use serde::Deserialize;

/// The shape lambda_runtime 1.5 requires (`lambda_runtime::types::CognitoIdentity`,
/// which the crate does not export): both ids, as strings, under any of the names
/// it accepts. A key named twice, through an alias, is refused as it is there.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)] // Only whether it deserializes matters.
struct CognitoIdentity {
    #[serde(alias = "cognitoIdentityId", alias = "identity_id")]
    identity_id: String,
    #[serde(alias = "cognitoIdentityPoolId", alias = "identity_pool_id")]
    identity_pool_id: String,
}

/// True when the runtime reads `raw` (the header's bytes) without failing: an empty
/// value ("no identity") or visible-ASCII JSON of the shape above.
pub fn readable(raw: &[u8]) -> bool {
    if raw.is_empty() {
        return true;
    }
    // `HeaderValue::to_str` accepts visible ASCII, spaces and tabs only.
    if !raw.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b)) {
        return false;
    }
    let Ok(text) = std::str::from_utf8(raw) else {
        return false;
    };
    serde_json::from_str::<CognitoIdentity>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_runtime::{Config, Context};
    use std::sync::Arc;

    /// Whether lambda_runtime 1.5 builds a `Context` from the header (the process
    /// survives) and the identity id it read.
    fn runtime_reads(raw: &[u8]) -> Result<Option<String>, String> {
        let mut headers = http::HeaderMap::new();
        headers.insert("lambda-runtime-deadline-ms", http::HeaderValue::from_static("0"));
        headers.insert(
            "lambda-runtime-cognito-identity",
            http::HeaderValue::from_bytes(raw).map_err(|e| e.to_string())?,
        );
        let ctx = Context::new("req", Arc::new(Config::default()), &headers).map_err(|e| e.to_string())?;
        Ok(ctx.identity.map(|i| i.identity_id))
    }

    #[test]
    fn agrees_with_the_runtime_on_every_shape() {
        let cases: [(&[u8], bool); 14] = [
            (b"", true),
            (
                br#"{"cognitoIdentityId":"us-east-1:1","cognitoIdentityPoolId":"us-east-1:p"}"#,
                true,
            ),
            (br#"{"identityId":"a","identityPoolId":"p"}"#, true),
            (br#"{"identity_id":"a","identity_pool_id":"p","extra":1}"#, true),
            (br#"{"cognitoIdentityId":"a"}"#, false),
            (
                br#"{"cognitoIdentityId":"a","cognitoIdentityPoolId":null}"#,
                false,
            ),
            (br#"{"cognitoIdentityId":1,"cognitoIdentityPoolId":"p"}"#, false),
            (
                br#"{"identityId":"a","identity_id":"b","identityPoolId":"p"}"#,
                false,
            ),
            (br#"{}"#, false),
            (b"null", false),
            (b"[]", false),
            (b"not json", false),
            (
                "{\"identityId\":\"caf\u{e9}\",\"identityPoolId\":\"p\"}".as_bytes(),
                false,
            ),
            (b"{\"identityId\":\"a\",\t\"identityPoolId\":\"p\"}", true),
        ];
        for (raw, expected) in cases {
            let shown = String::from_utf8_lossy(raw);
            assert_eq!(readable(raw), expected, "shim on {shown}");
            assert_eq!(runtime_reads(raw).is_ok(), expected, "runtime on {shown}");
        }
    }

    #[test]
    fn a_readable_identity_reaches_the_context() {
        let raw = br#"{"cognitoIdentityId":"us-east-1:1","cognitoIdentityPoolId":"us-east-1:p"}"#;
        assert_eq!(runtime_reads(raw), Ok(Some("us-east-1:1".to_string())));
    }
}
