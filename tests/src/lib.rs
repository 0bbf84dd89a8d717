//! Helpers shared by the end-to-end tests.

pub mod binaries;
pub mod drive;
pub mod exact;
pub mod faults;
pub mod gateway;
pub mod http_faults;
pub mod interpose;
pub mod keepalive;
pub mod logs;
pub mod pipeline;
pub mod runtime_api;
pub mod stack;
pub mod template;
pub mod tools;
pub mod vendor_api;
