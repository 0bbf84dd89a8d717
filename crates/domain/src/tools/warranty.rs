//! Warranties (`Warranty` table, `serial_number` S hash) and the clock that decides
//! whether one is still active.

use crate::error::PortError;
use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub const CHECK_WARRANTY_STATUS: &str = "check_warranty_status";

/// `^[A-Z0-9]{8,20}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SerialNumber(String);

impl SerialNumber {
    pub fn parse(s: &str) -> Result<SerialNumber, String> {
        let ok =
            (8..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(SerialNumber(s.to_string()))
        } else {
            Err(format!(
                "{s:?} does not match ^[A-Z0-9]{{8,20}}$ (8 to 20 upper-case letters and digits)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarrantyRecord {
    pub serial_number: String,
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub purchase_date: Option<String>,
    pub warranty_end_date: String,
    #[serde(default)]
    pub warranty_type: Option<String>,
    #[serde(default)]
    pub customer_name: Option<String>,
    #[serde(default)]
    pub coverage_details: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WarrantyStatus {
    Active,
    Expired,
}

/// Active through its end date (0 days remaining on the last day), expired after it
/// (with 0).
pub fn status_on(end: NaiveDate, today: NaiveDate) -> (WarrantyStatus, i64) {
    let days = (end - today).num_days();
    if days >= 0 {
        (WarrantyStatus::Active, days)
    } else {
        (WarrantyStatus::Expired, 0)
    }
}

/// "Today" as the tool sees it (UTC), injectable so tests can pin it.
pub trait Clock: Send + Sync {
    fn today(&self) -> NaiveDate;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn today(&self) -> NaiveDate {
        chrono::Utc::now().date_naive()
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub NaiveDate);

impl Clock for FixedClock {
    fn today(&self) -> NaiveDate {
        self.0
    }
}

#[async_trait]
pub trait WarrantyLookup: Send + Sync {
    async fn warranty(&self, serial: &SerialNumber) -> Result<Option<WarrantyRecord>, PortError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clocks_tell_today_and_the_fixed_day() {
        let before = chrono::Utc::now().date_naive();
        let today = SystemClock.today();
        assert!(today >= before && today <= chrono::Utc::now().date_naive());
        assert_eq!(FixedClock(d("2025-06-15")).today(), d("2025-06-15"));
    }

    #[test]
    fn a_serial_number_shows_as_given() {
        assert_eq!(
            SerialNumber::parse("LAPTOP0012345").map(|s| s.as_str().to_string()),
            Ok("LAPTOP0012345".to_string())
        );
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_default()
    }

    #[test]
    fn active_through_the_end_date_expired_after() {
        assert_eq!(
            status_on(d("2025-01-31"), d("2025-01-01")),
            (WarrantyStatus::Active, 30)
        );
        assert_eq!(
            status_on(d("2025-01-31"), d("2025-01-31")),
            (WarrantyStatus::Active, 0)
        );
        assert_eq!(
            status_on(d("2025-01-31"), d("2025-02-01")),
            (WarrantyStatus::Expired, 0)
        );
    }

    #[test]
    fn serial_numbers_are_upper_case_alphanumerics_of_8_to_20() {
        assert!(SerialNumber::parse("ABC12345").is_ok());
        assert!(SerialNumber::parse("A1B2C3D4E5F6G7H8I9J0").is_ok());
        assert!(SerialNumber::parse("ABC1234").is_err());
        assert!(SerialNumber::parse("abc12345").is_err());
        assert!(SerialNumber::parse("ABC-12345").is_err());
        assert!(SerialNumber::parse("A1B2C3D4E5F6G7H8I9J0K").is_err());
    }
}
