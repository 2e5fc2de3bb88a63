//! Records of model calls: every request sent, with its exact messages, sampling
//! parameters, tokens, latency, attempt and finish reason.

use super::ErrorInfo;
use super::message::{FinishReason, Message, Sampling};
use serde::{Deserialize, Serialize};

/// Why a call was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallRole {
    /// Writing the first draft from a prompt.
    Draft,
    /// A critic's verdict.
    Critique,
    /// Writing a revision.
    Revise,
    /// A model-backed validator or judge.
    Judge,
}

/// One request sent to a model (or answered from a cache).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallRecord {
    /// Why the call was made.
    pub role: CallRole,
    /// The critic or validator that made it, if any.
    pub critic: Option<String>,
    /// The provider that served it.
    pub provider: String,
    /// The model that served it.
    pub model: String,
    /// The exact messages sent.
    pub messages: Vec<Message>,
    /// The exact sampling parameters sent.
    pub sampling: Sampling,
    /// The response format asked for: `text`, `json_schema` or `json_object`.
    pub response_format: String,
    /// Prompt tokens reported by the provider.
    pub prompt_tokens: u64,
    /// Completion tokens reported by the provider.
    pub completion_tokens: u64,
    /// Wall time of the call in milliseconds.
    pub latency_ms: f64,
    /// 1 for the first attempt of a logical call, 2 for its re-ask or retry, and so on.
    pub attempt: u32,
    /// Why the model stopped, when it answered.
    pub finish_reason: Option<FinishReason>,
    /// Whether the answer came from a cache (no request was sent).
    #[serde(default)]
    pub cache_hit: bool,
    /// The model's answer, when it answered.
    pub response: Option<String>,
    /// The error, when the call failed: its kind, HTTP status and message.
    pub error: Option<ErrorInfo>,
    /// What the call cost in US dollars by the price table (`[prices]`): set by the
    /// engine when the record joins the thought; `None` when the model has no price.
    /// For a cache hit it is what the call would have cost (saved, not spent).
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// The short record of the call that wrote an iteration's draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationSummary {
    /// The model that wrote it.
    pub model: String,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Wall time in milliseconds.
    pub latency_ms: f64,
    /// Why the model stopped.
    pub finish_reason: Option<FinishReason>,
}

impl From<&CallRecord> for GenerationSummary {
    fn from(r: &CallRecord) -> Self {
        Self {
            model: r.model.clone(),
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
            latency_ms: r.latency_ms,
            finish_reason: r.finish_reason,
        }
    }
}
