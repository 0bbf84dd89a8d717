//! `warranty` Gateway target: `check_warranty_status`.
//!
//! The Warranty table has no e-mail. Owner details (`customer_name`, `purchase_date`)
//! are returned only when `customer_email` belongs to a CustomerProfile whose full name
//! (`first_name last_name`) is the warranty's `customer_name`, compared
//! case-insensitively with whitespace folded; otherwise they are left out and
//! `owner_verified` is false.

use chrono::NaiveDate;
use domain::tools::args::Args;
use domain::tools::gateway::{self, unknown_tool};
use domain::tools::profile::{normalize_name, Email, ProfilesByEmail};
use domain::tools::warranty::{status_on, Clock, SerialNumber, WarrantyLookup, CHECK_WARRANTY_STATUS};
use domain::tools::{ToolError, ToolOutcome};
use domain::PortError;
use lambda_runtime::LambdaEvent;
use serde_json::{json, Value};

pub const TOOLS: &[&str] = &[CHECK_WARRANTY_STATUS];

/// The ports the tool reads through.
pub struct WarrantyPorts<'a, W, P, C> {
    pub warranties: &'a W,
    pub profiles: &'a P,
    pub clock: &'a C,
}

pub async fn handle<W, P, C>(
    event: LambdaEvent<Value>,
    ports: &WarrantyPorts<'_, W, P, C>,
) -> Result<Value, lambda_runtime::Error>
where
    W: WarrantyLookup,
    P: ProfilesByEmail,
    C: Clock,
{
    adapters::gateway::serve(event, |tool, args| async move { call(&tool, args, ports).await }).await
}

pub async fn call<W, P, C>(tool: &str, args: Value, ports: &WarrantyPorts<'_, W, P, C>) -> ToolOutcome
where
    W: WarrantyLookup,
    P: ProfilesByEmail,
    C: Clock,
{
    if tool != CHECK_WARRANTY_STATUS {
        return Ok(Err(unknown_tool(
            &gateway::ToolName {
                target: gateway::WARRANTY_TARGET.into(),
                tool: tool.into(),
            },
            TOOLS,
        )));
    }
    let (serial, email) = match parse(args) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let Some(record) = ports.warranties.warranty(&serial).await? else {
        return Ok(Err(ToolError::not_found(format!(
            "no warranty is registered for serial number {}",
            serial.as_str()
        ))));
    };
    // The stored value stays out of the fault message (it is logged).
    let end = NaiveDate::parse_from_str(record.warranty_end_date.trim(), "%Y-%m-%d").map_err(|_| {
        PortError::rejected(
            "DynamoDB",
            format!(
                "warranty {} has a warranty_end_date that is not YYYY-MM-DD",
                record.serial_number
            ),
        )
    })?;
    let (status, days_remaining) = status_on(end, ports.clock.today());
    let owner_verified = match &email {
        Some(email) => is_owner(email, record.customer_name.as_deref(), ports.profiles).await?,
        None => false,
    };
    let mut out = json!({
        "serial_number": record.serial_number,
        "product_name": record.product_name,
        "warranty_type": record.warranty_type,
        "warranty_end_date": record.warranty_end_date,
        "coverage_details": record.coverage_details,
        "status": status,
        "days_remaining": days_remaining,
        "owner_verified": owner_verified,
    });
    if owner_verified {
        out["customer_name"] = json!(record.customer_name);
        out["purchase_date"] = json!(record.purchase_date);
    }
    Ok(Ok(out))
}

fn parse(event: Value) -> Result<(SerialNumber, Option<Email>), ToolError> {
    let mut a = Args::from_event(event)?;
    let serial = a
        .required_string("serial_number")
        .and_then(|s| match SerialNumber::parse(&s) {
            Ok(v) => Some(v),
            Err(e) => {
                a.problem("serial_number", e);
                None
            }
        });
    let email = a.string("customer_email").and_then(|s| match Email::parse(&s) {
        Ok(v) => Some(v),
        Err(e) => {
            a.problem("customer_email", e);
            None
        }
    });
    a.finish()?;
    match serial {
        Some(s) => Ok((s, email)),
        None => Err(ToolError::invalid_argument("serial_number", "is required")),
    }
}

async fn is_owner<P: ProfilesByEmail>(
    email: &Email,
    customer_name: Option<&str>,
    profiles: &P,
) -> Result<bool, PortError> {
    let Some(owner) = customer_name.map(normalize_name).filter(|n| !n.is_empty()) else {
        return Ok(false);
    };
    let candidates = profiles.profiles_by_email(email).await?;
    Ok(candidates.iter().any(|p| normalize_name(&p.full_name()) == owner))
}

#[cfg(test)]
mod tests;
