//! What API Gateway (an HTTP API with a JWT authorizer, payload format 2.0) does
//! around the function: match a route (404 `{"message":"Not Found"}` otherwise),
//! check the bearer token (401 `{"message":"Unauthorized"}`), build the event the
//! function receives (claims as strings), and turn the function's answer back into
//! HTTP.

use crate::jwt::Refusal;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http::{HeaderMap, Method};
use lambda_http::Body;
use serde_json::{json, Map, Value};
use std::net::SocketAddr;

/// A route of the template: its key and the `upload_id` path parameter, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub key: &'static str,
    pub upload_id: Option<String>,
}

/// The route a request matches, as API Gateway matches `vendor_api::routes::ALL`.
pub fn match_route(method: &Method, path: &str) -> Option<Route> {
    let segments: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
    let id = |raw: &str| {
        let decoded = percent_encoding::percent_decode_str(raw)
            .decode_utf8()
            .ok()?
            .into_owned();
        (!decoded.is_empty()).then_some(decoded)
    };
    let (key, upload_id) = match (method.as_str(), segments.as_slice()) {
        ("POST", ["uploads"]) => (vendor_api::routes::CREATE_UPLOAD, None),
        ("GET", ["uploads"]) => (vendor_api::routes::LIST_UPLOADS, None),
        ("GET", ["uploads", raw]) => (vendor_api::routes::GET_UPLOAD, Some(id(raw)?)),
        ("GET", ["uploads", raw, "errors"]) => (vendor_api::routes::LIST_ERRORS, Some(id(raw)?)),
        ("GET", ["uploads", raw, "report"]) => (vendor_api::routes::GET_REPORT, Some(id(raw)?)),
        _ => return None,
    };
    Some(Route { key, upload_id })
}

/// The token of the identity source `$request.header.Authorization`; API Gateway
/// accepts it with or without the `Bearer ` prefix.
pub fn token_of(header: Option<&str>) -> Result<&str, Refusal> {
    let value = header
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(Refusal::Missing)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(token.trim())
        }
        Some(_) => Err(Refusal::Malformed),
        None => Ok(value),
    }
}

/// Claims as the JWT authorizer passes them to a payload 2.0 function: every value a
/// string; numbers and booleans in their JSON spelling, arrays as `[a b]`.
pub fn string_claims(claims: &Map<String, Value>) -> Map<String, Value> {
    fn text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(items) => format!("[{}]", items.iter().map(text).collect::<Vec<_>>().join(" ")),
            other => other.to_string(),
        }
    }
    claims
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(text(v))))
        .collect()
}

/// The request as it reached the local endpoint.
pub struct Incoming<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    /// Exactly as received, without `?`.
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub peer: SocketAddr,
    pub request_id: &'a str,
}

fn is_text(content_type: &str) -> bool {
    let ct = content_type.to_ascii_lowercase();
    ct.is_empty()
        || ct.starts_with("text/")
        || ct.contains("json")
        || ct.contains("xml")
        || ct.contains("x-www-form-urlencoded")
        || ct.contains("javascript")
}

/// The payload 2.0 event API Gateway sends for this request.
pub fn event(route: &Route, request: &Incoming<'_>, claims: &Map<String, Value>) -> Value {
    let now = chrono::Utc::now();
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for name in request.headers.keys() {
        let values: Vec<String> = request
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        if name.as_str() == "cookie" {
            cookies.extend(values.iter().flat_map(|c| c.split("; ").map(str::to_string)));
        } else {
            headers.insert(name.as_str().to_string(), Value::String(values.join(",")));
        }
    }
    let mut query: Map<String, Value> = Map::new();
    for (k, v) in url::form_urlencoded::parse(request.raw_query.as_bytes()) {
        let joined = match query.get(k.as_ref()).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v.into_owned(),
        };
        query.insert(k.into_owned(), Value::String(joined));
    }
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let host = header("host");
    let mut event = json!({
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "devstack",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or(host),
            "requestId": request.request_id,
            "routeKey": route.key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
            "http": {
                "method": request.method.as_str(),
                "path": request.path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.peer.ip().to_string(),
                "userAgent": header("user-agent"),
            },
            "authorizer": { "jwt": { "claims": string_claims(claims), "scopes": null } },
        },
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query.is_empty() {
        event["queryStringParameters"] = Value::Object(query);
    }
    if let Some(id) = &route.upload_id {
        event["pathParameters"] = json!({ "upload_id": id });
    }
    if !request.body.is_empty() {
        match std::str::from_utf8(request.body) {
            Ok(text) if is_text(header("content-type")) => event["body"] = json!(text),
            _ => {
                event["body"] = json!(BASE64.encode(request.body));
                event["isBase64Encoded"] = json!(true);
            }
        }
    }
    event
}

/// The function's answer in the payload 2.0 response format (what the Lambda runtime
/// posts back to API Gateway).
pub fn v2_response(response: &lambda_http::Response<Body>) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in response.headers() {
        let Ok(value) = value.to_str() else { continue };
        if name.as_str() == "set-cookie" {
            cookies.push(Value::String(value.to_string()));
        } else {
            headers.insert(name.as_str().to_string(), Value::String(value.to_string()));
        }
    }
    let (body, base64) = match response.body() {
        Body::Empty => (Value::Null, false),
        Body::Text(t) => (Value::String(t.clone()), false),
        Body::Binary(b) => (Value::String(BASE64.encode(b)), true),
        _ => (Value::Null, false),
    };
    json!({
        "statusCode": response.status().as_u16(),
        "headers": headers,
        "multiValueHeaders": {},
        "body": body,
        "isBase64Encoded": base64,
        "cookies": cookies,
    })
}

/// The HTTP response API Gateway makes of a payload 2.0 answer.
pub fn http_response(answer: &Value, request_id: &str) -> http::Response<Vec<u8>> {
    let status = answer["statusCode"]
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .unwrap_or(500);
    let body = match (answer["body"].as_str(), answer["isBase64Encoded"].as_bool()) {
        (Some(b), Some(true)) => BASE64.decode(b).unwrap_or_default(),
        (Some(b), _) => b.as_bytes().to_vec(),
        (None, _) => Vec::new(),
    };
    let mut builder = http::Response::builder()
        .status(status)
        .header("apigw-requestid", request_id);
    if let Some(headers) = answer["headers"].as_object() {
        for (k, v) in headers {
            if let Some(v) = v.as_str() {
                builder = builder.header(k.as_str(), v);
            }
        }
    }
    for cookie in answer["cookies"].as_array().into_iter().flatten() {
        if let Some(c) = cookie.as_str() {
            builder = builder.header("set-cookie", c);
        }
    }
    builder
        .body(body)
        .unwrap_or_else(|_| plain(500, "Internal Server Error", request_id))
}

/// API Gateway's own answers: `{"message": "..."}`.
pub fn plain(status: u16, message: &str, request_id: &str) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(json!({ "message": message }).to_string().into_bytes());
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    response
        .headers_mut()
        .insert("content-type", http::HeaderValue::from_static("application/json"));
    if let Ok(v) = http::HeaderValue::from_str(request_id) {
        response.headers_mut().insert("apigw-requestid", v);
    }
    response
}

/// 401 as the JWT authorizer answers it: a `www-authenticate` reason for a bad token,
/// none for a missing one.
pub fn unauthorized(refusal: &Refusal, request_id: &str) -> http::Response<Vec<u8>> {
    let mut response = plain(401, "Unauthorized", request_id);
    if *refusal != Refusal::Missing {
        let challenge = format!("Bearer scope=\"\" error=\"invalid_token\" error_description=\"{refusal}\"");
        if let Ok(v) = http::HeaderValue::from_str(&challenge) {
            response.headers_mut().insert("www-authenticate", v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_the_templates_five_and_nothing_else() {
        let get = Method::GET;
        assert_eq!(
            match_route(&Method::POST, "/uploads").map(|r| r.key),
            Some("POST /uploads")
        );
        assert_eq!(match_route(&get, "/uploads").map(|r| r.key), Some("GET /uploads"));
        let r = match_route(&get, "/uploads/UPLOAD_1%20x/errors");
        assert_eq!(r.as_ref().map(|r| r.key), Some("GET /uploads/{upload_id}/errors"));
        assert_eq!(r.and_then(|r| r.upload_id).as_deref(), Some("UPLOAD_1 x"));
        assert_eq!(
            match_route(&get, "/uploads/U/report").map(|r| r.key),
            Some("GET /uploads/{upload_id}/report")
        );
        for (m, p) in [
            (Method::DELETE, "/uploads/U"),
            (get.clone(), "/uploads/"),
            (get.clone(), "/"),
            (get.clone(), "/uploads/U/other"),
            (Method::POST, "/uploads/U"),
        ] {
            assert_eq!(match_route(&m, p), None, "{m} {p}");
        }
    }

    #[test]
    fn the_bearer_prefix_is_optional_as_for_api_gateway() {
        assert_eq!(token_of(Some("Bearer abc")), Ok("abc"));
        assert_eq!(token_of(Some("abc")), Ok("abc"));
        assert_eq!(token_of(Some("Basic abc")), Err(Refusal::Malformed));
        assert_eq!(token_of(None), Err(Refusal::Missing));
        assert_eq!(token_of(Some("  ")), Err(Refusal::Missing));
    }

    #[test]
    fn claims_reach_the_function_as_strings() {
        let claims =
            json!({"vendor_id": "VEND001", "exp": 1_700_000_000, "admin": false, "groups": ["a", "b"]});
        let strings = string_claims(claims.as_object().unwrap_or(&Map::new()));
        assert_eq!(
            Value::Object(strings),
            json!({"vendor_id": "VEND001", "exp": "1700000000", "admin": "false", "groups": "[a b]"})
        );
    }

    #[test]
    fn the_event_is_a_payload_2_0_request_lambda_http_reads() {
        let mut headers = HeaderMap::new();
        headers.insert("host", http::HeaderValue::from_static("127.0.0.1:8788"));
        headers.insert("content-type", http::HeaderValue::from_static("application/json"));
        headers.append("x-tag", http::HeaderValue::from_static("a"));
        headers.append("x-tag", http::HeaderValue::from_static("b"));
        let route = Route {
            key: vendor_api::routes::LIST_ERRORS,
            upload_id: Some("U1".into()),
        };
        let incoming = Incoming {
            method: &Method::GET,
            path: "/uploads/U1/errors",
            raw_query: "limit=5&tag=a&tag=b%20c",
            headers: &headers,
            body: b"",
            peer: SocketAddr::from(([127, 0, 0, 1], 5000)),
            request_id: "req-1",
        };
        let claims = json!({"vendor_id": "VEND001", "exp": 1});
        let e = event(&route, &incoming, claims.as_object().unwrap_or(&Map::new()));
        assert_eq!(e["headers"]["x-tag"], "a,b");
        assert_eq!(e["queryStringParameters"], json!({"limit": "5", "tag": "a,b c"}));
        assert_eq!(e["pathParameters"], json!({"upload_id": "U1"}));
        assert_eq!(e["requestContext"]["authorizer"]["jwt"]["claims"]["exp"], "1");
        let request = lambda_http::request::from_str(&e.to_string());
        assert!(request.is_ok(), "{e}");
    }

    #[test]
    fn answers_round_trip_through_the_payload_2_0_response() {
        let response = lambda_http::Response::builder()
            .status(302)
            .header("location", "http://x/")
            .header("set-cookie", "a=1")
            .body(Body::Text("{}".into()))
            .unwrap_or_default();
        let v2 = v2_response(&response);
        assert_eq!(v2["cookies"], json!(["a=1"]));
        let http = http_response(&v2, "r");
        assert_eq!(http.status(), 302);
        assert_eq!(
            http.headers().get("location").and_then(|v| v.to_str().ok()),
            Some("http://x/")
        );
        assert_eq!(
            http.headers().get("set-cookie").and_then(|v| v.to_str().ok()),
            Some("a=1")
        );
        assert_eq!(http.body(), b"{}");
        let refusal = unauthorized(&Refusal::Expired, "r");
        assert_eq!(refusal.status(), 401);
        assert_eq!(refusal.body(), br#"{"message":"Unauthorized"}"#);
        assert!(refusal.headers().contains_key("www-authenticate"));
    }
}
