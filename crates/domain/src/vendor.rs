//! Vendors as the pipeline sees them: what can be a vendor id, and whether one may
//! upload.

use std::fmt;

/// A string that can be a `vendors.vendor_id`: 1–50 characters of `A–Z a–z 0–9 - _`.
/// Whether such a vendor is registered is the vendor directory's business.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VendorId(String);

/// Why a string cannot be a vendor id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VendorIdIssue {
    Empty,
    /// More than [`VendorId::MAX_CHARS`] characters.
    TooLong {
        chars: usize,
    },
    /// The first character outside the alphabet.
    BadCharacter(char),
}

impl VendorId {
    pub const MAX_CHARS: usize = 50;

    /// Too long wins over bad characters, as for a sku.
    pub fn parse(value: &str) -> Result<VendorId, VendorIdIssue> {
        if value.is_empty() {
            return Err(VendorIdIssue::Empty);
        }
        let chars = value.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(VendorIdIssue::TooLong { chars });
        }
        match value
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_')))
        {
            Some(c) => Err(VendorIdIssue::BadCharacter(c)),
            None => Ok(VendorId(value.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VendorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for VendorIdIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VendorIdIssue::Empty => f.write_str("is empty"),
            VendorIdIssue::TooLong { chars } => write!(
                f,
                "is {chars} characters long; a vendor id has at most {}",
                VendorId::MAX_CHARS
            ),
            VendorIdIssue::BadCharacter(c) => write!(
                f,
                "contains '{}'; a vendor id has only letters, digits, '-' and '_'",
                c.escape_default()
            ),
        }
    }
}

/// `vendors.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VendorStatus {
    Active,
    Suspended,
    Inactive,
    PendingApproval,
}

impl VendorStatus {
    pub const ALL: [VendorStatus; 4] = [
        VendorStatus::Active,
        VendorStatus::Suspended,
        VendorStatus::Inactive,
        VendorStatus::PendingApproval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VendorStatus::Active => "active",
            VendorStatus::Suspended => "suspended",
            VendorStatus::Inactive => "inactive",
            VendorStatus::PendingApproval => "pending_approval",
        }
    }

    /// `None` for a value the `vendors` CHECK would refuse.
    pub fn parse(s: &str) -> Option<VendorStatus> {
        VendorStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Only active vendors may upload.
    pub fn may_upload(self) -> bool {
        self == VendorStatus::Active
    }
}

impl fmt::Display for VendorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_shows_as_its_stored_name() {
        assert_eq!(VendorStatus::Active.to_string(), VendorStatus::Active.as_str());
        assert_eq!(VendorStatus::Active.to_string(), "active");
    }

    #[test]
    fn vendor_ids_are_1_to_50_characters_of_the_alphabet() {
        for ok in ["VEND001", "a", "vendor-1_B", &"V".repeat(50)] {
            assert_eq!(VendorId::parse(ok).map(|v| v.to_string()), Ok(ok.to_string()));
        }
        assert_eq!(VendorId::parse(""), Err(VendorIdIssue::Empty));
        assert_eq!(
            VendorId::parse(&"V".repeat(51)),
            Err(VendorIdIssue::TooLong { chars: 51 })
        );
        assert_eq!(
            VendorId::parse(&"é".repeat(60)),
            Err(VendorIdIssue::TooLong { chars: 60 })
        );
        for (bad, c) in [("VEND 001", ' '), ("VEND.1", '.'), ("V\u{0}", '\0'), ("Vé", 'é')] {
            assert_eq!(
                VendorId::parse(bad),
                Err(VendorIdIssue::BadCharacter(c)),
                "{bad:?}"
            );
        }
        assert_eq!(
            VendorIdIssue::BadCharacter('\0').to_string(),
            "contains '\\u{0}'; a vendor id has only letters, digits, '-' and '_'"
        );
    }

    #[test]
    fn only_active_vendors_may_upload_and_names_round_trip() {
        for status in VendorStatus::ALL {
            assert_eq!(VendorStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.may_upload(), status == VendorStatus::Active);
        }
        assert_eq!(VendorStatus::parse("Active"), None);
        assert_eq!(VendorStatus::parse(""), None);
    }
}
