//! Typed errors as the `Thought` stores them: a call record, a critique, a validation
//! or the run itself carries `{kind, status, message}`, so a stored run can tell a 429
//! from a 500 without parsing prose.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of failure an error is: how a model call failed (the model's
/// `ModelErrorKind` is this type), or which part of a run failed otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// HTTP 429 or an equivalent: try again later.
    RateLimit,
    /// The account is out of quota or credit: retrying will not help.
    Quota,
    /// The key is missing, wrong or not allowed (401/403).
    Auth,
    /// The prompt is too long for the model.
    ContextLength,
    /// The server rejected the requested response format (e.g. `json_schema`).
    UnsupportedFormat,
    /// Any other rejected request (4xx).
    InvalidRequest,
    /// The server failed (5xx).
    Server,
    /// The call, or a critic, took too long.
    Timeout,
    /// The connection was dropped or reset after it was made.
    Connection,
    /// The server could not be reached at all: connection refused, no route, a name
    /// that does not resolve.
    Unreachable,
    /// The server answered with something that is not a valid completion.
    Malformed,
    /// A budget (tokens, cost or time) refused the call before it was sent.
    Budget,
    /// The request was sent, and the run stopped waiting for its answer (cancelled,
    /// deadline reached, critic timed out).
    Abandoned,
    /// The run was cancelled.
    Cancelled,
    /// A critic's answer was not a valid verdict, or its prompt did not render.
    Critic,
    /// A validator could not run.
    Validator,
    /// The run could not go on for a reason of its own: an empty input or draft.
    Run,
}

impl ErrorKind {
    /// The snake_case name used in JSON and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RateLimit => "rate_limit",
            Self::Quota => "quota",
            Self::Auth => "auth",
            Self::ContextLength => "context_length",
            Self::UnsupportedFormat => "unsupported_format",
            Self::InvalidRequest => "invalid_request",
            Self::Server => "server",
            Self::Timeout => "timeout",
            Self::Connection => "connection",
            Self::Unreachable => "unreachable",
            Self::Malformed => "malformed",
            Self::Budget => "budget",
            Self::Abandoned => "abandoned",
            Self::Cancelled => "cancelled",
            Self::Critic => "critic",
            Self::Validator => "validator",
            Self::Run => "run",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as stored: its kind, the HTTP status when a server gave one, and the
/// readable message (never holding a key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// The HTTP status, when a server answered with one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What happened, in words.
    pub message: String,
}

impl ErrorInfo {
    /// An error of `kind` with no HTTP status.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, status: None, message: message.into() }
    }
}

impl fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_kind_status_message() {
        let e = ErrorInfo { kind: ErrorKind::RateLimit, status: Some(429), message: "slow".into() };
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "rate_limit", "status": 429, "message": "slow"})
        );
        let back: ErrorInfo = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
        let plain = serde_json::to_value(ErrorInfo::new(ErrorKind::Run, "empty")).unwrap();
        assert_eq!(plain, serde_json::json!({"kind": "run", "message": "empty"}));
    }

    #[test]
    fn names_match_serde() {
        for kind in [ErrorKind::ContextLength, ErrorKind::Abandoned, ErrorKind::Budget] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
    }
}
