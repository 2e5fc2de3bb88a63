//! The library's error type. The binary maps it to exit codes and readable messages.

use std::path::PathBuf;

/// Everything that can stop redraft before or outside a run. (Failures during a run
/// end the run with `stop_reason = failed` and are recorded on the `Thought`.)
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is wrong.
    #[error("config error in {source_name}{}: {reason}", key.as_ref().map(|k| format!(" at `{k}`")).unwrap_or_default())]
    Config {
        /// The file (or `environment`, or `command line`) the value came from.
        source_name: String,
        /// The offending key, dotted (`engine.max_iterations`).
        key: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// A critic name that no built-in or loaded critic file defines.
    #[error("unknown critic `{name}`; known critics: {}", known.join(", "))]
    UnknownCritic {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: Vec<String>,
    },
    /// A critic definition is invalid.
    #[error("invalid critic `{name}` ({origin}): {reason}")]
    InvalidCritic {
        /// The critic's name.
        name: String,
        /// Where it was defined (a file path or `built-in`).
        origin: String,
        /// What is wrong.
        reason: String,
    },
    /// A validator spec is invalid (unknown kind, bad argument, invalid regex, …).
    #[error("invalid validator `{spec}`: {reason}")]
    InvalidValidator {
        /// The spec as written.
        spec: String,
        /// What is wrong.
        reason: String,
    },
    /// The model provider could not be set up.
    #[error("provider `{provider}`: {reason}")]
    Provider {
        /// The provider name.
        provider: String,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A config error.
    pub fn config(
        source_name: impl Into<String>,
        key: Option<&str>,
        reason: impl Into<String>,
    ) -> Self {
        Self::Config {
            source_name: source_name.into(),
            key: key.map(str::to_owned),
            reason: reason.into(),
        }
    }
}
