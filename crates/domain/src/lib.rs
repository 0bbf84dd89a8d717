//! The vendor-onboarding domain: the types every function speaks, the validation rules,
//! the error codes of the contract, the ports (narrow traits) the handlers are generic
//! over, and the adapters that implement those ports on DynamoDB, PostgreSQL and S3.

pub mod adapters;
pub mod clients;
pub mod codes;
pub mod config;
pub mod csv_input;
pub mod error;
pub mod finalise;
pub mod migrations;
pub mod model;
pub mod ports;
pub mod report;
pub mod telemetry;
pub mod tools;
pub mod upload;
pub mod validation;

pub use codes::ErrorCode;
pub use error::PortError;
