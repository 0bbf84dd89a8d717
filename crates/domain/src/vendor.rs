//! Vendors as the pipeline sees them: whether one may upload.

use std::fmt;

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
    fn only_active_vendors_may_upload_and_names_round_trip() {
        for status in VendorStatus::ALL {
            assert_eq!(VendorStatus::parse(status.as_str()), Some(status));
            assert_eq!(status.may_upload(), status == VendorStatus::Active);
        }
        assert_eq!(VendorStatus::parse("Active"), None);
        assert_eq!(VendorStatus::parse(""), None);
    }
}
