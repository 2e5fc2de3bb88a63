//! What differs between vendors' HTTP APIs, as one trait: a [`Dialect`] says where a
//! request goes, which headers carry the key, how a [`Request`] becomes a body, how a
//! body becomes a [`Completion`], how an error answer becomes a typed [`ModelError`],
//! and how a streamed answer is framed and decoded. Everything else — the transport,
//! the audit trace, key scrubbing, remembering a rejected schema — is written once in
//! [`HttpModel`](super::HttpModel).
//!
//! Every method is pure translation with no I/O, so a dialect is unit-tested on
//! recorded JSON without a server.

use crate::model::stream::{Framing, StreamDecoder};
use crate::model::{Completion, ModelError, Request};
use reqwest::header::HeaderMap;
use serde::Serialize;

/// Where one model's requests go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The URL a whole answer is asked from.
    pub complete: String,
    /// The URL a streamed answer is asked from (often the same).
    pub stream: String,
}

impl Endpoints {
    /// One URL for both kinds of request.
    pub fn same(url: String) -> Self {
        Self { stream: url.clone(), complete: url }
    }
}

/// One vendor's HTTP API: the translation [`HttpModel`](super::HttpModel) needs to
/// speak it.
///
/// Static dispatch: a model's dialect is fixed when it is built, and the dyn boundary
/// is [`LanguageModel`](crate::model::LanguageModel) itself, so the dialect can have an
/// associated stream-decoder type and `OpenAi`, `Gemini`, … stay concrete types with
/// their own builder methods.
pub trait Dialect: Send + Sync + std::fmt::Debug + 'static {
    /// The decoder of one streamed answer.
    type Decoder: StreamDecoder;

    /// The provider name errors and call records carry, e.g. `openai`.
    const PROVIDER: &'static str;

    /// How a streamed answer is framed (SSE or NDJSON).
    const FRAMING: Framing;

    /// What a rejected JSON schema is replaced by, for the log line (e.g. "later
    /// schema requests are sent as json_object"); `None` when the dialect never sends
    /// a schema a server could reject as a format, so nothing is learned.
    const SCHEMA_FALLBACK: Option<&'static str>;

    /// The endpoints for `model` under the configured `base_url` (a query string in
    /// `base_url` stays after the path: see [`crate::model::url::join`]).
    fn endpoints(&self, base_url: &str, model: &str) -> Endpoints;

    /// Add the dialect's fixed headers and the key (trimmed, non-empty), if any, to
    /// `headers`, which holds the user's custom headers: what the dialect inserts wins.
    /// A key unfit for a header is an [`Auth`](crate::model::ModelErrorKind::Auth)
    /// error that does not show it.
    fn headers(&self, headers: &mut HeaderMap, key: Option<&str>) -> Result<(), ModelError>;

    /// The JSON body asking `model` for `request`, streamed or whole, as the bytes
    /// sent (see [`json_bytes`]). `schema_supported` is false once the server
    /// rejected a JSON schema: the dialect then asks for JSON with the schema in the
    /// prompt.
    fn body(&self, model: &str, request: &Request, schema_supported: bool, stream: bool)
    -> Vec<u8>;

    /// A 2xx body as a completion, or a [`Malformed`](crate::model::ModelErrorKind::Malformed)
    /// error.
    fn parse(&self, body: &[u8]) -> Result<Completion, ModelError>;

    /// A non-2xx answer to a request for `model` as a typed error (kind, status,
    /// `Retry-After`).
    fn classify(&self, model: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> ModelError;

    /// A fresh decoder for one streamed answer.
    fn decoder(&self) -> Self::Decoder;
}

/// `body` serialised as compact JSON, for a request about `request`: the buffer is
/// sized for the messages up front, so a long conversation is not copied as it grows.
pub(crate) fn json_bytes(body: &impl Serialize, request: &Request) -> Vec<u8> {
    let size: usize = request.messages.iter().map(|m| m.content.len() + 32).sum();
    let mut out = Vec::with_capacity(size + 512);
    // Serialising these bodies (strings, numbers, JSON values) into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut out, body);
    out
}
