//! Implementations of the ports on real services (and in memory, for unit tests).

pub mod db_auth;
pub mod dynamo_records;
pub mod postgres;
pub mod s3_objects;
