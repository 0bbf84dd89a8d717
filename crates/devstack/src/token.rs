//! `devstack token --vendor V | --tenant T [--ttl SECONDS]`: a token of the local
//! identity provider, as a vendor's or an agent's client would hold it.

use crate::jwt::Jwt;
use adapters::config::{parsed_or, ProcessEnv, Source};
use gateway_interceptor::{DEFAULT_TENANT_CLAIM, TENANT_CLAIM_ENV};
use serde_json::{Map, Value};
use std::time::Duration;

pub const VENDOR_CLAIM_ENV: &str = "VENDOR_CLAIM";
pub const DEFAULT_VENDOR_CLAIM: &str = "vendor_id";

/// The claim names the vendor API and the interceptor read.
pub fn claim_names(src: &(impl Source + ?Sized)) -> anyhow::Result<(String, String)> {
    Ok((
        parsed_or(src, VENDOR_CLAIM_ENV, DEFAULT_VENDOR_CLAIM.to_string())?,
        parsed_or(src, TENANT_CLAIM_ENV, DEFAULT_TENANT_CLAIM.to_string())?,
    ))
}

pub fn run(vendor: Option<String>, tenant: Option<String>, ttl_seconds: i64) -> anyhow::Result<String> {
    let jwt = Jwt::from_source(&ProcessEnv)?;
    let (vendor_claim, tenant_claim) = claim_names(&ProcessEnv)?;
    let (audience, claim, value) = match (vendor, tenant) {
        (Some(v), None) => (jwt.vendor_audience.clone(), vendor_claim, v),
        (None, Some(t)) => (jwt.gateway_audience.clone(), tenant_claim, t),
        _ => anyhow::bail!("give exactly one of --vendor or --tenant"),
    };
    let mut claims = Map::new();
    claims.insert(claim, Value::String(value));
    if ttl_seconds <= 0 {
        // Already expired: `exp` in the past, whatever the minting default.
        let exp = chrono::Utc::now().timestamp() + ttl_seconds - 1;
        claims.insert("exp".into(), Value::from(exp));
        return jwt.mint(&audience, claims, Duration::ZERO);
    }
    jwt.mint(&audience, claims, Duration::from_secs(ttl_seconds.unsigned_abs()))
}
