//! The vendor-onboarding domain, pure: the types every function speaks, the error codes
//! of the contract, the validation rules, the streaming CSV reader, report rendering,
//! the finaliser's decision, the agent tools' rules, and the ports (narrow traits) the
//! handlers are generic over. No AWS SDK and no database driver: the `adapters` crate
//! implements the ports on real services, the `testkit` crate in memory.

pub mod codes;
pub mod csv_input;
pub mod dates;
pub mod error;
pub mod finalise;
pub mod model;
pub mod notify;
pub mod paging;
pub mod ports;
pub mod reconcile;
pub mod report;
pub mod report_upload;
pub mod text;
pub mod tools;
pub mod upload;
pub mod validation;
pub mod vendor;
pub mod vendor_api;

pub use codes::ErrorCode;

/// Property tests run `n` cases, or `PROPTEST_CASES` when set (a longer run by hand).
#[cfg(test)]
pub(crate) fn proptest_cases(n: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n)
}
pub use error::PortError;
