//! Language models: the [`LanguageModel`] trait, its request and completion types,
//! the typed [`ModelError`], the recorder every call goes through ([`call`]) and the
//! live trace of each call (`trace`), structured JSON output ([`structured`]), the
//! providers (one [`http::HttpModel`] over per-vendor dialects, on one HTTP transport),
//! and the in-process local model. The layers that wrap a model (retry, limits,
//! fallback, cache) are [`crate::middleware`].

pub mod anthropic;
pub mod call;
mod error;
pub mod gemini;
pub(crate) mod headers;
pub mod http;
pub mod local;
pub(crate) mod ndjson;
pub mod ollama;
pub mod openai;
#[cfg(feature = "test-util")]
pub mod scripted;
pub(crate) mod sse;
pub mod stream;
pub mod structured;
pub(crate) mod trace;
pub mod transport;
pub mod url;

pub use crate::thought::message::{FinishReason, Message, Role, Sampling};
pub use call::{Allowance, CallLog, CallTag};
pub use error::{ModelError, ModelErrorKind};
pub use stream::{CompletionStream, StreamEvent};
pub use trace::CallTrace;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::sync::Arc;

/// The shape of answer asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ResponseFormat {
    /// Free text.
    #[default]
    Text,
    /// JSON matching a JSON schema (OpenAI `response_format: json_schema`).
    JsonSchema {
        /// Schema name (letters, digits, `_`, `-`).
        name: String,
        /// The JSON schema, shared: the same schema goes with every request of a
        /// critic, and a request is copied for its call record.
        schema: Arc<serde_json::Value>,
    },
    /// Any JSON object (OpenAI `response_format: json_object`); the schema is in the prompt.
    JsonObject,
}

impl ResponseFormat {
    /// The label recorded in call records.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::JsonSchema { .. } => "json_schema",
            Self::JsonObject => "json_object",
        }
    }
}

/// One request to a model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// The conversation; the text under review goes, delimited, in the last user message.
    pub messages: Vec<Message>,
    /// Sampling parameters.
    pub sampling: Sampling,
    /// The answer format asked for.
    pub format: ResponseFormat,
    /// The live trace of the call this request belongs to: what sends it marks it
    /// sent, so an abandoned call still records it. Set by the recorder
    /// ([`call::call`]); not part of equality or the cache key.
    pub trace: CallTrace,
}

/// Tokens reported for one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Tokens in the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
}

/// A model's answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    /// The generated text.
    pub text: String,
    /// Why it stopped.
    pub finish_reason: FinishReason,
    /// Tokens used.
    pub usage: TokenUsage,
    /// The model that answered, as the provider reports it.
    pub model: String,
    /// The provider that answered (empty: the one the call was sent to). Set by
    /// providers so that a fallback chain's answer is attributed correctly.
    pub provider: String,
    /// Whether the answer came from a cache (no request was sent for it).
    pub cache_hit: bool,
    /// Failed attempts made before this answer (retries, failovers), oldest first.
    pub failed_attempts: Vec<Attempt>,
}

/// A failed attempt that a middleware retried or failed over from. The recorder turns
/// each into a call record, so `usage.calls` counts every request sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// The provider the attempt went to.
    pub provider: String,
    /// The model the attempt went to.
    pub model: String,
    /// How long the attempt took, in milliseconds.
    pub latency_ms: f64,
    /// How long the middleware waited after it before trying again, in milliseconds.
    pub backoff_ms: f64,
    /// What went wrong (kind, status and message; never holds a key).
    pub error: crate::thought::ErrorInfo,
    /// Tokens the attempt reported, if any.
    pub usage: TokenUsage,
}

/// How much prompt a model handles well. The engine picks the shape of its own
/// prompts (the revision) by it; everything else about a request stays the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PromptStyle {
    /// Full instructions with the text delimited by tags: for capable models.
    #[default]
    Standard,
    /// Short instructions and the bare text: for small models, which copy tags and
    /// long instructions into their answer.
    Compact,
}

/// A language model. Dyn-safe: configuration picks the implementation at run time.
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// The provider's name, e.g. `openai`.
    fn provider(&self) -> &str;
    /// The model's name, e.g. `gpt-4o-mini`.
    fn model(&self) -> &str;
    /// Whether `ResponseFormat::JsonSchema` requests are sent as such. Defaults to true;
    /// a provider that learned its server rejects schemas answers false, and
    /// [`structured::complete_json`] then asks for a JSON object with the schema in the
    /// prompt, so the recorded request is exactly the one sent.
    fn supports_json_schema(&self) -> bool {
        true
    }
    /// The request as this model will really be sent it. [`call::call`] records this
    /// form, so the audit trail shows exactly what the model saw. The default changes
    /// nothing; a small local model caps `max_tokens` and adds an example answer to a
    /// structured request. Must be idempotent: preparing a prepared request changes
    /// nothing.
    fn prepare<'a>(&self, request: &'a Request) -> Cow<'a, Request> {
        Cow::Borrowed(request)
    }
    /// The shape of prompt this model handles best. Defaults to
    /// [`PromptStyle::Standard`]; the small local model answers
    /// [`PromptStyle::Compact`].
    fn prompt_style(&self) -> PromptStyle {
        PromptStyle::Standard
    }
    /// Send one request.
    async fn complete(&self, request: &Request) -> Result<Completion, ModelError>;
    /// Send one request and stream the answer: text deltas as they arrive, then the
    /// whole [`Completion`]. The default sends [`complete`](Self::complete) and yields
    /// its text as one delta.
    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        let completion = self.complete(request).await?;
        Ok(stream::once(completion))
    }
}

/// Writes the metadata methods of [`LanguageModel`] — `provider`, `model`,
/// `supports_json_schema`, `prepare`, `prompt_style` — as forwarded to the model a
/// wrapper holds, so every wrapper (the middleware layers, `Arc`, `Box`) states them
/// once: `forward_metadata!(inner)` forwards to the field `inner`,
/// `forward_metadata!(fn primary)` to what the method `primary()` returns, and
/// `forward_metadata!(deref)` to `**self`. Use it inside an `impl LanguageModel`.
#[macro_export]
macro_rules! forward_metadata {
    (@to $to:expr, $self:ident) => {
        fn provider(&$self) -> &str {
            $to.provider()
        }
        fn model(&$self) -> &str {
            $to.model()
        }
        fn supports_json_schema(&$self) -> bool {
            $to.supports_json_schema()
        }
        fn prepare<'a>(
            &$self,
            request: &'a $crate::model::Request,
        ) -> ::std::borrow::Cow<'a, $crate::model::Request> {
            $to.prepare(request)
        }
        fn prompt_style(&$self) -> $crate::model::PromptStyle {
            $to.prompt_style()
        }
    };
    (deref) => {
        $crate::forward_metadata!(@to (**self), self);
    };
    (fn $method:ident) => {
        $crate::forward_metadata!(@to self.$method(), self);
    };
    ($field:ident) => {
        $crate::forward_metadata!(@to self.$field, self);
    };
}

#[async_trait]
impl<T: LanguageModel + ?Sized> LanguageModel for std::sync::Arc<T> {
    forward_metadata!(deref);
    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        (**self).complete(request).await
    }
    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        (**self).stream(request).await
    }
}

#[async_trait]
impl<T: LanguageModel + ?Sized> LanguageModel for Box<T> {
    forward_metadata!(deref);
    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        (**self).complete(request).await
    }
    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        (**self).stream(request).await
    }
}
