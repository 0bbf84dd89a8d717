//! `customer-profile` Gateway target: `get_customer_profile` and
//! `update_customer_profile`.
//!
//! Reads by `customer_id` or by `email` (through `email-index`); writes are conditional
//! (`attribute_exists(customer_id)`), so an update never creates a profile.
//! `date_of_birth` never leaves the table; `lifetime_value` is an exact decimal string.

use domain::tools::args::{json_type, unknown_keys, Args};
use domain::tools::gateway::{self, unknown_tool};
use domain::tools::profile::{
    Address, CommunicationPreferences, CustomerId, Email, ProfileStore, ProfileUpdate, GET_CUSTOMER_PROFILE,
    MAX_ADDRESS_FIELD_CHARS, MAX_NOTES_CHARS, MAX_ZIP_CHARS, UPDATE_CUSTOMER_PROFILE,
};
use domain::tools::{ToolError, ToolOutcome};
use lambda_runtime::LambdaEvent;
use serde_json::{Map, Value};

pub const TOOLS: &[&str] = &[GET_CUSTOMER_PROFILE, UPDATE_CUSTOMER_PROFILE];

pub async fn handle<S: ProfileStore>(
    event: LambdaEvent<Value>,
    store: &S,
) -> Result<Value, lambda_runtime::Error> {
    adapters::gateway::serve(event, |tool, args| async move { call(&tool, args, store).await }).await
}

pub async fn call<S: ProfileStore>(tool: &str, args: Value, store: &S) -> ToolOutcome {
    match tool {
        GET_CUSTOMER_PROFILE => get(args, store).await,
        UPDATE_CUSTOMER_PROFILE => update(args, store).await,
        other => Ok(Err(unknown_tool(
            &gateway::ToolName {
                target: gateway::CUSTOMER_PROFILE_TARGET.into(),
                tool: other.into(),
            },
            TOOLS,
        ))),
    }
}

enum Lookup {
    Id(CustomerId),
    Email(Email),
}

fn customer_id(a: &mut Args, s: Option<String>) -> Option<CustomerId> {
    s.and_then(|s| match CustomerId::parse(&s) {
        Ok(id) => Some(id),
        Err(e) => {
            a.problem("customer_id", e);
            None
        }
    })
}

async fn get<S: ProfileStore>(args: Value, store: &S) -> ToolOutcome {
    let lookup = match parse_get(args) {
        Ok(l) => l,
        Err(e) => return Ok(Err(e)),
    };
    let found = match &lookup {
        Lookup::Id(id) => store.profile(id).await?,
        Lookup::Email(email) => {
            let mut all = store.profiles_by_email(email).await?;
            if all.len() > 1 {
                tracing::warn!(
                    matches = all.len(),
                    "several profiles share one e-mail; answering the first by customer_id"
                );
                all.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
            }
            all.into_iter().next()
        }
    };
    Ok(match found {
        Some(p) => Ok(p.to_json()?),
        None => Err(ToolError::not_found(match lookup {
            Lookup::Id(id) => format!("no customer profile with customer_id {}", id.as_str()),
            Lookup::Email(_) => "no customer profile with that e-mail address".to_string(),
        })),
    })
}

fn parse_get(event: Value) -> Result<Lookup, ToolError> {
    let mut a = Args::from_event(event)?;
    let raw_id = a.string("customer_id");
    let id_given = raw_id.is_some();
    let id = customer_id(&mut a, raw_id);
    let raw_email = a.string("email");
    let email_given = raw_email.is_some();
    let email = raw_email.and_then(|s| match Email::parse(&s) {
        Ok(e) => Some(e),
        Err(e) => {
            a.problem("email", e);
            None
        }
    });
    match (id_given, email_given) {
        (true, true) => a.problem(
            "customer_id",
            "give exactly one of customer_id and email, not both",
        ),
        (false, false) if !a.has_problems() => {
            a.problem("customer_id", "give exactly one of customer_id and email")
        }
        _ => {}
    }
    a.finish()?;
    match (id, email) {
        (Some(id), None) => Ok(Lookup::Id(id)),
        (None, Some(e)) => Ok(Lookup::Email(e)),
        _ => Err(ToolError::invalid_argument(
            "customer_id",
            "give exactly one of customer_id and email",
        )),
    }
}

async fn update<S: ProfileStore>(args: Value, store: &S) -> ToolOutcome {
    let (id, changes) = match parse_update(args) {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    Ok(match store.update_profile(&id, &changes).await? {
        Some(p) => Ok(p.to_json()?),
        None => Err(ToolError::not_found(format!(
            "no customer profile with customer_id {}; profiles are never created by this tool",
            id.as_str()
        ))),
    })
}

/// `^\+?[0-9 ().-]{7,20}$`.
fn valid_phone(s: &str) -> bool {
    let body = s.strip_prefix('+').unwrap_or(s);
    (7..=20).contains(&body.len())
        && body.bytes().all(|b| b.is_ascii_digit() || b" ().-".contains(&b))
        && body.bytes().any(|b| b.is_ascii_digit())
}

fn parse_update(event: Value) -> Result<(CustomerId, ProfileUpdate), ToolError> {
    let mut a = Args::from_event(event)?;
    let raw_id = a.required_string("customer_id");
    let id = customer_id(&mut a, raw_id);
    let phone = a.string("phone").and_then(|p| {
        if valid_phone(&p) {
            Some(p)
        } else {
            a.problem(
                "phone",
                format!("{p:?} is not a phone number (7 to 20 digits, spaces, ( ) . -, optional leading +)"),
            );
            None
        }
    });
    let address = a.object("address").and_then(|m| parse_address(&mut a, &m));
    let communication_preferences = a
        .object("communication_preferences")
        .and_then(|m| parse_preferences(&mut a, &m));
    let notes = a.string("notes").and_then(|n| {
        let chars = n.chars().count();
        if chars > MAX_NOTES_CHARS {
            a.problem(
                "notes",
                format!("must be at most {MAX_NOTES_CHARS} characters, got {chars}"),
            );
            None
        } else {
            Some(n)
        }
    });
    let changes = ProfileUpdate {
        phone,
        address,
        communication_preferences,
        notes,
    };
    if changes.is_empty() && !a.has_problems() {
        a.problem(
            "(arguments)",
            "give at least one of phone, address, communication_preferences, notes",
        );
    }
    a.finish()?;
    match id {
        Some(id) => Ok((id, changes)),
        None => Err(ToolError::invalid_argument("customer_id", "is required")),
    }
}

const ADDRESS_FIELDS: &[&str] = &["street", "city", "state", "zip", "country"];
const REQUIRED_ADDRESS_FIELDS: &[&str] = &["street", "city", "country"];

/// The whole address (it replaces the stored one): street, city and country required,
/// state and zip optional, each a non-empty string of bounded length.
fn parse_address(a: &mut Args, m: &Map<String, Value>) -> Option<Address> {
    let mut bad = false;
    for k in unknown_keys(m, ADDRESS_FIELDS) {
        a.problem(
            &format!("address.{k}"),
            "is not an address field (street, city, state, zip, country)",
        );
        bad = true;
    }
    let mut field = |name: &str| -> Option<String> {
        let max = if name == "zip" {
            MAX_ZIP_CHARS
        } else {
            MAX_ADDRESS_FIELD_CHARS
        };
        match m.get(name) {
            None => {
                if REQUIRED_ADDRESS_FIELDS.contains(&name) {
                    a.problem(
                        &format!("address.{name}"),
                        "is required (the address is replaced as a whole)",
                    );
                    bad = true;
                }
                None
            }
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max => {
                Some(s.trim().to_string())
            }
            Some(Value::String(_)) => {
                a.problem(
                    &format!("address.{name}"),
                    format!("must be 1 to {max} characters"),
                );
                bad = true;
                None
            }
            Some(other) => {
                a.problem(
                    &format!("address.{name}"),
                    format!("must be a string, got {}", json_type(other)),
                );
                bad = true;
                None
            }
        }
    };
    let address = Address {
        street: field("street"),
        city: field("city"),
        state: field("state"),
        zip: field("zip"),
        country: field("country"),
    };
    (!bad).then_some(address)
}

const PREFERENCE_FIELDS: &[&str] = &["email", "sms", "phone"];

/// All three booleans (the map replaces the stored one, so nothing is left implicit).
fn parse_preferences(a: &mut Args, m: &Map<String, Value>) -> Option<CommunicationPreferences> {
    let mut bad = false;
    for k in unknown_keys(m, PREFERENCE_FIELDS) {
        a.problem(
            &format!("communication_preferences.{k}"),
            "is not a channel (email, sms, phone)",
        );
        bad = true;
    }
    let mut flag = |name: &str| -> Option<bool> {
        match m.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                a.problem(
                    &format!("communication_preferences.{name}"),
                    format!("must be a boolean, got {}", json_type(other)),
                );
                bad = true;
                None
            }
            None => {
                a.problem(
                    &format!("communication_preferences.{name}"),
                    "is required (email, sms and phone are all given)",
                );
                bad = true;
                None
            }
        }
    };
    let prefs = CommunicationPreferences {
        email: flag("email"),
        sms: flag("sms"),
        phone: flag("phone"),
    };
    (!bad).then_some(prefs)
}

#[cfg(test)]
mod tests;
