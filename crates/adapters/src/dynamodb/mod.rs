//! DynamoDB: `UploadRecords` items, and the tables the agent tools read.

mod by_status;
mod first_writes;
mod profiles;
mod records;
mod reviews;
mod warranties;

pub use by_status::STATUS_INDEX;
pub use first_writes::TRANSACT_ITEMS_LIMIT;
pub use profiles::{profile_from_item, DynamoProfiles};
pub use records::{DynamoRecords, BATCH_GET_LIMIT, BATCH_WRITE_LIMIT, DEFAULT_CONCURRENCY};
pub use reviews::DynamoReviewIndex;
pub use warranties::DynamoWarranties;

use std::time::Duration;

pub fn client(config: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

/// Full jitter: a random wait in [0, min(cap, base·2^attempt)).
pub fn backoff(attempt: u32) -> Duration {
    let cap_ms = 2_000u64;
    let exp = 50u64.saturating_mul(1u64 << attempt.min(10));
    let ceiling = exp.min(cap_ms).max(1);
    Duration::from_millis(rand::random::<u64>() % ceiling)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_cap() {
        for attempt in 0..20 {
            assert!(backoff(attempt) < Duration::from_millis(2_000));
        }
    }
}
