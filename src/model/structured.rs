//! Structured (JSON) output: ask with a JSON schema, fall back to a JSON object with the
//! schema in the prompt when a server rejects schemas, parse leniently (code fences,
//! leading prose) and re-ask once on invalid JSON. Every attempt is recorded.

use super::{CallLog, CallTag, LanguageModel, ModelError, Request};
use serde::de::DeserializeOwned;

/// Why structured output could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StructuredError {
    /// The model call itself failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model answered twice with something that is not the JSON asked for.
    #[error("invalid JSON from the model after a re-ask: {reason}")]
    Invalid {
        /// What was wrong with the last answer.
        reason: String,
    },
}

/// Ask `model` for JSON matching `schema` and decode it as `T`.
///
/// `request.format` is replaced; its messages and sampling are kept.
pub async fn complete_json<T: DeserializeOwned>(
    model: &dyn LanguageModel,
    request: Request,
    name: &str,
    schema: &serde_json::Value,
    tag: &CallTag,
    log: &CallLog,
) -> Result<T, StructuredError> {
    let _ = (model, request, name, schema, tag, log);
    unimplemented!("structured output")
}

/// Decode `T` from a model's answer: tolerate code fences and prose around the JSON.
pub fn parse_lenient<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}
