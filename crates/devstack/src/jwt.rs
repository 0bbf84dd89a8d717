//! The local identity provider: HS256 tokens standing in for the ones a real IdP (e.g.
//! Cognito) issues, and the checks API Gateway's JWT authorizer and AgentCore Gateway's
//! CUSTOM_JWT authorizer make before anything reaches a function: signature, expiry,
//! issuer and audience, and, when the token carries them, `nbf` and `iat` before now
//! (API Gateway's JWT authorizer refuses a token not yet valid), with no leeway.
//!
//! One signing key (`JWT_SIGNING_SECRET`) and issuer (`JWT_ISSUER`); the vendor API and
//! the agent gateway are two audiences, so a token minted for one is refused by the other.

use adapters::config::{parsed_or, required, Source};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};
use std::time::Duration;

pub const SECRET_ENV: &str = "JWT_SIGNING_SECRET";
pub const ISSUER_ENV: &str = "JWT_ISSUER";
pub const VENDOR_AUDIENCE_ENV: &str = "VENDOR_API_AUDIENCE";
pub const GATEWAY_AUDIENCE_ENV: &str = "GATEWAY_AUDIENCE";
pub const DEFAULT_ISSUER: &str = "devstack";
pub const DEFAULT_VENDOR_AUDIENCE: &str = "vendor-api";
pub const DEFAULT_GATEWAY_AUDIENCE: &str = "agentcore-gateway";
/// How long a minted token lives unless asked otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// Why a token was refused (never its content: the caller logs this, not the token).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error("no bearer token")]
    Missing,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf or iat after now)")]
    NotYetValid,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token was not issued for this audience")]
    WrongAudience,
    #[error("the token was not issued by this issuer")]
    WrongIssuer,
    #[error("the token is malformed or lacks a required claim")]
    Malformed,
}

/// Signs and checks tokens with one key and issuer.
#[derive(Clone)]
pub struct Jwt {
    secret: Vec<u8>,
    issuer: String,
    pub vendor_audience: String,
    pub gateway_audience: String,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt")
            .field("issuer", &self.issuer)
            .field("vendor_audience", &self.vendor_audience)
            .field("gateway_audience", &self.gateway_audience)
            .finish_non_exhaustive()
    }
}

impl Jwt {
    pub fn new(secret: impl Into<Vec<u8>>, issuer: impl Into<String>) -> Jwt {
        Jwt {
            secret: secret.into(),
            issuer: issuer.into(),
            vendor_audience: DEFAULT_VENDOR_AUDIENCE.to_string(),
            gateway_audience: DEFAULT_GATEWAY_AUDIENCE.to_string(),
        }
    }

    /// The `iss` this provider signs and the authorizers require.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// From `.local/env`'s settings.
    pub fn from_source(src: &(impl Source + ?Sized)) -> anyhow::Result<Jwt> {
        let secret = required(
            src,
            SECRET_ENV,
            "the HS256 key of the local identity provider (source .local/env)",
        )?;
        Ok(Jwt {
            secret: secret.into_bytes(),
            issuer: parsed_or(src, ISSUER_ENV, DEFAULT_ISSUER.to_string())?,
            vendor_audience: parsed_or(src, VENDOR_AUDIENCE_ENV, DEFAULT_VENDOR_AUDIENCE.to_string())?,
            gateway_audience: parsed_or(src, GATEWAY_AUDIENCE_ENV, DEFAULT_GATEWAY_AUDIENCE.to_string())?,
        })
    }

    /// A token for `audience` carrying `claims` (e.g. `{"vendor_id": "VEND001"}`) besides
    /// `sub`, `iss`, `aud`, `iat` and `exp`.
    pub fn mint(&self, audience: &str, claims: Map<String, Value>, ttl: Duration) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let mut all = Map::new();
        all.insert("sub".into(), Value::String("devstack-user".into()));
        all.insert("iss".into(), Value::String(self.issuer.clone()));
        all.insert("aud".into(), Value::String(audience.to_string()));
        all.insert("iat".into(), Value::from(now));
        all.insert("exp".into(), Value::from(now.saturating_add(ttl)));
        all.extend(claims);
        let key = EncodingKey::from_secret(&self.secret)?;
        Ok(encode(&Header::new(Algorithm::HS256), &all, &key)?)
    }

    /// The token's claims when it is signed with our key, unexpired, already valid (`nbf`
    /// and `iat`, when present, not after now), from our issuer and for `audience`.
    pub fn verify(&self, token: &str, audience: &str) -> Result<Map<String, Value>, Refusal> {
        if token.trim().is_empty() {
            return Err(Refusal::Missing);
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_audience(&[audience]);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let key = DecodingKey::from_secret(&self.secret).map_err(|_| Refusal::BadSignature)?;
        let claims = decode::<Map<String, Value>>(token.trim(), &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| refusal(e.kind()))?;
        // jsonwebtoken leaves `iat` alone; the authorizer wants it in the past too.
        match claims.get("iat") {
            None => Ok(claims),
            Some(iat) => match iat.as_f64() {
                Some(at) if at <= chrono::Utc::now().timestamp() as f64 => Ok(claims),
                Some(_) => Err(Refusal::NotYetValid),
                None => Err(Refusal::Malformed),
            },
        }
    }
}

fn refusal(kind: &jsonwebtoken::errors::ErrorKind) -> Refusal {
    use jsonwebtoken::errors::ErrorKind;
    match kind {
        ErrorKind::ExpiredSignature => Refusal::Expired,
        ErrorKind::ImmatureSignature => Refusal::NotYetValid,
        ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => Refusal::BadSignature,
        ErrorKind::InvalidAudience => Refusal::WrongAudience,
        ErrorKind::InvalidIssuer => Refusal::WrongIssuer,
        _ => Refusal::Malformed,
    }
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, Refusal> {
    let value = header.ok_or(Refusal::Missing)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(Refusal::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Refusal::Malformed);
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn a_token_verifies_only_for_its_audience_issuer_and_key() {
        let jwt = Jwt::new("k", "devstack");
        let t = jwt
            .mint("vendor-api", claims(json!({"vendor_id": "VEND001"})), DEFAULT_TTL)
            .unwrap_or_default();
        let got = jwt.verify(&t, "vendor-api").unwrap_or_default();
        assert_eq!(got.get("vendor_id"), Some(&json!("VEND001")));
        assert_eq!(jwt.verify(&t, "agentcore-gateway"), Err(Refusal::WrongAudience));
        assert_eq!(
            Jwt::new("other", "devstack").verify(&t, "vendor-api"),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            Jwt::new("k", "someone-else").verify(&t, "vendor-api"),
            Err(Refusal::WrongIssuer)
        );
        assert_eq!(jwt.verify("not.a.jwt", "vendor-api"), Err(Refusal::Malformed));
        assert_eq!(jwt.verify("", "vendor-api"), Err(Refusal::Missing));
    }

    #[test]
    fn an_expired_token_is_refused_without_leeway() {
        let jwt = Jwt::new("k", "devstack");
        let mut past = claims(json!({"tenant_id": "tenanta"}));
        past.insert("exp".into(), json!(chrono::Utc::now().timestamp() - 1));
        let t = jwt
            .mint("agentcore-gateway", past, DEFAULT_TTL)
            .unwrap_or_default();
        assert_eq!(jwt.verify(&t, "agentcore-gateway"), Err(Refusal::Expired));
    }

    #[test]
    fn a_token_not_valid_yet_is_refused_as_api_gateway_does() {
        let jwt = Jwt::new("k", "devstack");
        let now = chrono::Utc::now().timestamp();
        let with = |extra: Value| {
            jwt.mint("vendor-api", claims(extra), DEFAULT_TTL)
                .unwrap_or_default()
        };
        for future in [json!({"nbf": now + 3600}), json!({"iat": now + 3600})] {
            assert_eq!(
                jwt.verify(&with(future.clone()), "vendor-api"),
                Err(Refusal::NotYetValid),
                "{future}"
            );
        }
        assert_eq!(
            jwt.verify(&with(json!({"iat": "yesterday"})), "vendor-api"),
            Err(Refusal::Malformed)
        );
        let past = with(json!({"nbf": now - 60, "iat": now - 60, "vendor_id": "V"}));
        assert_eq!(
            jwt.verify(&past, "vendor-api")
                .map(|c| c.get("vendor_id").cloned()),
            Ok(Some(json!("V")))
        );
    }

    #[test]
    fn the_bearer_scheme_is_required() {
        assert_eq!(bearer(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer(Some("Basic abc")), Err(Refusal::Malformed));
        assert_eq!(bearer(Some("Bearer ")), Err(Refusal::Malformed));
        assert_eq!(bearer(None), Err(Refusal::Missing));
    }
}
