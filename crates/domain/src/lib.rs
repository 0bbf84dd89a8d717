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
pub mod report;
pub mod tools;
pub mod upload;
pub mod validation;
pub mod vendor;
pub mod vendor_api;

pub use codes::ErrorCode;
pub use error::PortError;
