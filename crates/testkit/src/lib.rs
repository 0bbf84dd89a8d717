//! Test doubles in one place (never in a production build): one in-memory
//! implementation of each port, with DynamoDB's and PostgreSQL's semantics where the
//! handlers rely on them, and the events a function receives.

pub mod events;
pub mod failed;
pub mod interpose;
pub mod memory;
pub mod notifier;
pub mod profiles;
pub mod reviews;
pub mod uploads;
pub mod warranties;

pub use failed::MemoryFailedDeliveries;
pub use memory::Memory;
pub use notifier::InMemoryNotifier;
pub use profiles::InMemoryProfiles;
pub use reviews::InMemoryReviewIndex;
pub use uploads::{InMemoryUploadHistory, InMemoryUrlSigner};
pub use warranties::InMemoryWarranties;
