//! Implementations of the ports on real services (and in memory, for unit tests).

pub mod db_auth;
