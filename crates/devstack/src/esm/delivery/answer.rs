//! What a function's answer to a batch means.

use crate::esm::convert::ConvertedRecord;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use std::sync::Arc;

/// A function's answer, as the mapping acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    /// Position in the batch of the lowest reported failure.
    Partial(usize),
    /// The whole batch failed, for this reason.
    Failed(String),
}

/// Reads the handler's answer to `batch` (`Err` is the function error's message).
///
/// Only with `ReportBatchItemFailures` is the response body looked at, as in Lambda.
/// An `itemIdentifier` that is empty or not a sequence number of the batch makes
/// the whole batch a failure: Lambda cannot tell which records to retry.
pub(crate) fn judge(
    answer: &Result<DynamoDbEventResponse, String>,
    batch: &[Arc<ConvertedRecord>],
    report_batch_item_failures: bool,
) -> Outcome {
    let response = match answer {
        Err(e) => return Outcome::Failed(format!("function error: {e}")),
        Ok(_) if !report_batch_item_failures => return Outcome::Success,
        Ok(response) => response,
    };
    let mut lowest: Option<usize> = None;
    for failure in &response.batch_item_failures {
        let id = failure.item_identifier.as_deref().unwrap_or_default();
        let Some(p) = batch
            .iter()
            .position(|r| !id.is_empty() && r.sequence_number == id)
        else {
            return Outcome::Failed(format!(
                "batchItemFailures has an itemIdentifier not in the batch: {id:?}"
            ));
        };
        lowest = Some(lowest.map_or(p, |l| l.min(p)));
    }
    lowest.map_or(Outcome::Success, Outcome::Partial)
}

/// The answer a double delivery acts on: a failure beats a partial failure, which
/// beats success; of two partial failures the lower position wins.
pub(crate) fn stricter(a: Outcome, b: Outcome) -> Outcome {
    match (a, b) {
        (Outcome::Failed(r), _) | (_, Outcome::Failed(r)) => Outcome::Failed(r),
        (Outcome::Partial(x), Outcome::Partial(y)) => Outcome::Partial(x.min(y)),
        (Outcome::Partial(x), Outcome::Success) | (Outcome::Success, Outcome::Partial(x)) => {
            Outcome::Partial(x)
        }
        (Outcome::Success, Outcome::Success) => Outcome::Success,
    }
}
