//! Types, ports and adapters of the agent tools (AgentCore Gateway Lambda targets).
//!
//! A tool answers every business failure (bad argument, unknown product, unknown tool)
//! with a normal JSON result `{"error": {"code", "message", "details"?}}` the agent can
//! read and act on; only faults the agent cannot fix (DynamoDB down, a corrupt item)
//! become Lambda errors, through [`crate::PortError`].

pub mod args;
pub mod gateway;
pub mod profile;
pub mod reviews;
pub mod warranty;

use serde::Serialize;
use serde_json::{json, Value};

/// The `error.code` values of the tool contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ToolErrorCode {
    /// An argument is missing, of the wrong type, out of range, malformed or unknown.
    InvalidArgument,
    /// `next_token` was not minted by this tool for this tenant and these filters.
    InvalidNextToken,
    /// The client context names no tool, or one this function does not serve.
    UnknownTool,
    /// The serial number or customer does not exist.
    NotFound,
}

impl ToolErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ToolErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ToolErrorCode::InvalidNextToken => "INVALID_NEXT_TOKEN",
            ToolErrorCode::UnknownTool => "UNKNOWN_TOOL",
            ToolErrorCode::NotFound => "NOT_FOUND",
        }
    }
}

/// One problem with one argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArgumentProblem {
    pub argument: String,
    pub problem: String,
}

/// A business failure, answered as a normal tool result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    pub code: ToolErrorCode,
    pub message: String,
    pub details: Vec<ArgumentProblem>,
}

impl ToolError {
    pub fn new(code: ToolErrorCode, message: impl Into<String>) -> Self {
        ToolError {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ToolError::new(ToolErrorCode::NotFound, message)
    }

    pub fn invalid_argument(argument: &str, problem: impl Into<String>) -> Self {
        ToolError::invalid_arguments(vec![ArgumentProblem {
            argument: argument.to_string(),
            problem: problem.into(),
        }])
    }

    /// Every problem found, in one answer, so the agent can fix them all at once.
    pub fn invalid_arguments(details: Vec<ArgumentProblem>) -> Self {
        let message = details
            .iter()
            .map(|d| format!("{}: {}", d.argument, d.problem))
            .collect::<Vec<_>>()
            .join("; ");
        ToolError {
            code: ToolErrorCode::InvalidArgument,
            message,
            details,
        }
    }

    /// `{"error": {"code": ..., "message": ..., "details": [...]}}` (`details` only for
    /// argument problems).
    pub fn to_json(&self) -> Value {
        let mut error = json!({ "code": self.code.as_str(), "message": self.message });
        if !self.details.is_empty() {
            error["details"] = json!(self.details);
        }
        json!({ "error": error })
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

/// What a tool's logic returns: a result, a business failure (`Ok(Err)`, answered as
/// JSON) or a fault (`Err`, a Lambda error).
pub type ToolOutcome = Result<Result<Value, ToolError>, crate::PortError>;

/// Folds a business failure into the JSON result the Gateway hands to the agent.
pub fn into_result(outcome: Result<Value, ToolError>) -> Value {
    match outcome {
        Ok(v) => v,
        Err(e) => e.to_json(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_render_as_the_contract_shape() {
        let e = ToolError::not_found("no warranty for serial ABCDEFGH");
        assert_eq!(
            e.to_json(),
            json!({"error": {"code": "NOT_FOUND", "message": "no warranty for serial ABCDEFGH"}})
        );
        let e = ToolError::invalid_argument("limit", "must be between 1 and 50");
        assert_eq!(e.to_json()["error"]["code"], "INVALID_ARGUMENT");
        assert_eq!(e.to_json()["error"]["details"][0]["argument"], "limit");
        assert_eq!(e.to_string(), "INVALID_ARGUMENT: limit: must be between 1 and 50");
    }

    #[test]
    fn a_business_failure_is_folded_into_the_result_and_a_result_is_kept() {
        assert_eq!(into_result(Ok(json!({"found": true}))), json!({"found": true}));
        assert_eq!(
            into_result(Err(ToolError::not_found("no such review"))),
            json!({"error": {"code": "NOT_FOUND", "message": "no such review"}})
        );
    }
}
