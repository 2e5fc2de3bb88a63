//! The typed model error: retry, fallback and the CLI decide on its fields, never on
//! its message.

use std::time::Duration;

/// What kind of failure a model call met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ModelErrorKind {
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
    /// The call took too long.
    Timeout,
    /// The connection was dropped or reset after it was made.
    Connection,
    /// The server could not be reached at all: connection refused, no route, a name
    /// that does not resolve. Retried, but fewer times than other failures
    /// (`retry.max_connect_attempts`): nothing is listening, and waiting rarely helps.
    Unreachable,
    /// The server answered with something that is not a valid completion.
    Malformed,
}

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

    /// A short snake_case name.
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
        }
    }
}

impl std::fmt::Display for ModelErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
