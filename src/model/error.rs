//! The typed model error: retry, fallback and the CLI decide on its fields, never on
//! its message.

use std::time::Duration;

use crate::thought::ErrorInfo;
/// What kind of failure a model call met: the `Thought`'s [`ErrorKind`](crate::thought::ErrorKind), so a stored
/// call record keeps it as it is. A model error is one of the first eleven kinds
/// (`rate_limit` … `malformed`), or `budget` when a budget refused the call.
pub use crate::thought::ErrorKind as ModelErrorKind;

impl ModelErrorKind {
    /// Whether a later attempt may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::RateLimit | Self::Server | Self::Timeout | Self::Connection | Self::Unreachable
        )
    }

    /// Whether every later call of a run would fail the same way — a missing or wrong
    /// key, an exhausted quota, a text beyond the model's context — so the run should
    /// stop at the first one rather than send more.
    pub fn fails_every_call(self) -> bool {
        matches!(self, Self::Auth | Self::Quota | Self::ContextLength)
    }
}

/// A failed model call. Never holds an API key.
#[derive(Debug, thiserror::Error)]
#[error("{provider} {kind}{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
#[non_exhaustive]
pub struct ModelError {
    /// What went wrong.
    pub kind: ModelErrorKind,
    /// The provider that failed, e.g. `openai`.
    pub provider: String,
    /// The HTTP status, when there was one.
    pub status: Option<u16>,
    /// How long the server asked us to wait (`Retry-After`, `retry-after-ms`).
    pub retry_after: Option<Duration>,
    /// A readable explanation (the provider's own message when it gave one).
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
    /// Failed attempts made before this one (retries, failovers), oldest first.
    pub failed_attempts: Vec<super::Attempt>,
}

impl ModelError {
    /// A new error with no status, `Retry-After` or source.
    pub fn new(
        kind: ModelErrorKind,
        provider: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            provider: provider.into(),
            status: None,
            retry_after: None,
            message: message.into(),
            source: None,
            failed_attempts: Vec::new(),
        }
    }

    /// Set the HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Set the server's requested wait.
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }

    /// The error as the `Thought` stores it.
    pub fn info(&self) -> ErrorInfo {
        ErrorInfo { kind: self.kind, status: self.status, message: self.to_string() }
    }

    /// Set the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_provider_kind_and_status() {
        let e = ModelError::new(ModelErrorKind::RateLimit, "openai", "slow down").with_status(429);
        assert_eq!(e.to_string(), "openai rate_limit (HTTP 429): slow down");
        assert!(e.kind.is_retryable());
        assert!(!ModelErrorKind::Auth.is_retryable());
    }
}
