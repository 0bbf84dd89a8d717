//! Customer profiles (`CustomerProfile` table, `customer_id` S hash, `email-index` GSI).
//!
//! What leaves through a tool: everything but `date_of_birth` (personal data the agent
//! needs for nothing; only the birth year could be derived, and is not). Money
//! (`lifetime_value`) is a `rust_decimal::Decimal`, read from the item's number text
//! exactly, and emitted as a JSON string (`"1234.56"`): a JSON number would go through
//! `f64` in `serde_json::Value`.

use crate::error::PortError;
use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize, Serializer};
use std::str::FromStr;

pub const GET_CUSTOMER_PROFILE: &str = "get_customer_profile";
pub const UPDATE_CUSTOMER_PROFILE: &str = "update_customer_profile";
pub const EMAIL_INDEX: &str = "email-index";

pub const MAX_NOTES_CHARS: usize = 1000;
pub const MAX_ADDRESS_FIELD_CHARS: usize = 200;
pub const MAX_ZIP_CHARS: usize = 20;
pub const MAX_EMAIL_CHARS: usize = 254;

/// DynamoDB's limit on a partition key's value: no longer id can name a customer.
pub const MAX_CUSTOMER_ID_BYTES: usize = 2048;

/// `CUST` followed by at least three digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CustomerId(String);

impl CustomerId {
    pub fn parse(s: &str) -> Result<CustomerId, String> {
        let digits = s.strip_prefix("CUST").unwrap_or("");
        if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{s:?} does not match ^CUST\\d{{3,}}$ (e.g. CUST001)"));
        }
        if s.len() > MAX_CUSTOMER_ID_BYTES {
            return Err(format!(
                "customer_id is {} bytes; a customer id has at most {MAX_CUSTOMER_ID_BYTES} (DynamoDB's key limit)",
                s.len()
            ));
        }
        Ok(CustomerId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, lower-cased: the table stores them lower-cased, so comparing
/// lower-cased text is the case-insensitive comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Email, String> {
        let t = s.trim().to_lowercase();
        let shape_ok = match t.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
        if !shape_ok || t.len() > MAX_EMAIL_CHARS || t.chars().any(char::is_whitespace) {
            return Err(format!("{s:?} is not an e-mail address"));
        }
        Ok(Email(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommunicationPreferences {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerProfile {
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Read (the item has it) but never written out.
    #[serde(default, skip_serializing)]
    pub date_of_birth: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub communication_preferences: Option<CommunicationPreferences>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_cases_count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_purchases: Option<i64>,
    /// Filled from the item's number text by [`profile_from_item`], never via `f64`.
    #[serde(
        skip_deserializing,
        serialize_with = "money_as_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub lifetime_value: Option<Decimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

fn money_as_string<S: Serializer>(v: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(d) => s.serialize_str(&d.to_string()),
        None => s.serialize_none(),
    }
}

impl CustomerProfile {
    /// `first_name last_name`, the name the warranty owner check compares.
    pub fn full_name(&self) -> String {
        format!(
            "{} {}",
            self.first_name.as_deref().unwrap_or(""),
            self.last_name.as_deref().unwrap_or("")
        )
    }

    pub fn to_json(&self) -> Result<serde_json::Value, PortError> {
        serde_json::to_value(self).map_err(|e| PortError::rejected("profile serializer", e))
    }
}

/// Lower-cased, runs of whitespace folded to one space, trimmed.
pub fn normalize_name(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// `lifetime_value` from the exact number text DynamoDB stores, shown in cents:
/// DynamoDB keeps numbers without trailing zeros (4875.20 comes back as 4875.2).
pub fn money_in_cents(text: &str) -> Result<Decimal, String> {
    let mut d = Decimal::from_str(text)
        .or_else(|_| Decimal::from_scientific(text))
        // The amount stays out of the message: it is logged as a fault.
        .map_err(|_| "lifetime_value is not a decimal number".to_string())?;
    if d.scale() < 2 {
        d.rescale(2);
    }
    Ok(d)
}

/// The fields `update_customer_profile` may set; `None` leaves a field as it is.
/// `address` and `communication_preferences` replace the stored map as a whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileUpdate {
    pub phone: Option<String>,
    pub address: Option<Address>,
    pub communication_preferences: Option<CommunicationPreferences>,
    pub notes: Option<String>,
}

impl ProfileUpdate {
    pub fn is_empty(&self) -> bool {
        self.phone.is_none()
            && self.address.is_none()
            && self.communication_preferences.is_none()
            && self.notes.is_none()
    }
}

#[async_trait]
pub trait ProfilesByEmail: Send + Sync {
    /// Every profile whose (lower-cased) e-mail is this one; normally zero or one.
    async fn profiles_by_email(&self, email: &Email) -> Result<Vec<CustomerProfile>, PortError>;
}

#[async_trait]
pub trait ProfileStore: ProfilesByEmail {
    async fn profile(&self, id: &CustomerId) -> Result<Option<CustomerProfile>, PortError>;
    /// Updates an existing profile and returns it as stored; `None` when there is no
    /// profile with that id (the write never creates one).
    async fn update_profile(
        &self,
        id: &CustomerId,
        update: &ProfileUpdate,
    ) -> Result<Option<CustomerProfile>, PortError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_of_up_to_254_characters_is_kept_lower_cased() {
        let longest = format!(
            "{}@example.com",
            "a".repeat(MAX_EMAIL_CHARS - "@example.com".len())
        );
        assert_eq!(longest.len(), MAX_EMAIL_CHARS);
        assert_eq!(
            Email::parse(&longest.to_uppercase()).map(|e| e.as_str().to_string()),
            Ok(longest.clone())
        );
        assert!(Email::parse(&format!("a{longest}")).is_err());
    }

    #[test]
    fn the_full_name_is_first_then_last() {
        let p = CustomerProfile {
            first_name: Some("John".into()),
            last_name: Some("Doe".into()),
            ..Default::default()
        };
        assert_eq!(p.full_name(), "John Doe");
        assert_eq!(CustomerProfile::default().full_name(), " ");
    }

    #[test]
    fn an_update_is_empty_only_when_it_sets_nothing() {
        assert!(ProfileUpdate::default().is_empty());
        let one_each = [
            ProfileUpdate {
                phone: Some("555 0100".into()),
                ..Default::default()
            },
            ProfileUpdate {
                address: Some(Address::default()),
                ..Default::default()
            },
            ProfileUpdate {
                communication_preferences: Some(CommunicationPreferences::default()),
                ..Default::default()
            },
            ProfileUpdate {
                notes: Some("n".into()),
                ..Default::default()
            },
        ];
        for update in one_each {
            assert!(!update.is_empty(), "{update:?}");
        }
    }

    #[test]
    fn ids_and_emails_parse_or_say_why_not() {
        assert_eq!(
            CustomerId::parse("CUST001").map(|id| id.as_str().to_string()),
            Ok("CUST001".to_string())
        );
        assert!(CustomerId::parse("CUST12345").is_ok());
        assert!(CustomerId::parse("CUST01").is_err());
        assert!(CustomerId::parse("cust001").is_err());
        assert!(CustomerId::parse("CUST00a").is_err());
        // As many digits as a DynamoDB key holds: 21 is an id like any other.
        assert!(CustomerId::parse(&format!("CUST{}", "9".repeat(21))).is_ok());
        let longest = format!("CUST{}", "9".repeat(MAX_CUSTOMER_ID_BYTES - 4));
        assert!(CustomerId::parse(&longest).is_ok());
        let over = CustomerId::parse(&format!("{longest}9")).map(|id| id.as_str().len());
        assert!(
            over.as_ref().is_err_and(|e| e.contains("at most 2048")),
            "{over:?}"
        );
        assert_eq!(
            Email::parse(" John.Doe@Example.COM ")
                .map(|e| e.0)
                .ok()
                .as_deref(),
            Some("john.doe@example.com")
        );
        assert!(Email::parse("john").is_err());
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("a b@c.d").is_err());
    }

    #[test]
    fn money_is_shown_in_cents_even_when_dynamodb_dropped_the_zero() {
        for (stored, shown) in [
            ("4875.2", "4875.20"),
            ("100", "100.00"),
            ("0.125", "0.125"),
            ("12345.67", "12345.67"),
        ] {
            assert_eq!(
                money_in_cents(stored).map(|d| d.to_string()).as_deref(),
                Ok(shown)
            );
        }
        assert!(money_in_cents("lots").is_err());
        assert_eq!(normalize_name("  John   DOE "), "john doe");
    }

    #[test]
    fn the_birth_date_never_leaves() {
        let p = CustomerProfile {
            customer_id: "CUST001".into(),
            first_name: Some("John".into()),
            last_name: None,
            email: None,
            phone: None,
            address: None,
            date_of_birth: Some("1985-03-15".into()),
            registration_date: None,
            tier: None,
            communication_preferences: None,
            support_cases_count: None,
            total_purchases: Some(15),
            lifetime_value: money_in_cents("12345.67").ok(),
            notes: None,
        };
        let json = p.to_json().unwrap_or_default();
        assert_eq!(json["lifetime_value"], "12345.67");
        assert_eq!(json["total_purchases"], 15);
        assert!(json.get("date_of_birth").is_none());
    }
}
