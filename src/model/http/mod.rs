//! One HTTP model for every vendor: [`HttpModel`] implements
//! [`LanguageModel`] once over the shared [`Transport`], and a per-vendor
//! `Dialect` supplies only the translation (URLs, headers, body, response, error
//! classification, stream framing and decoding).
//!
//! What is written here once, for every dialect:
//!
//! - the request goes through [`Transport::exchange`] / [`Transport::exchange_stream`]
//!   with the request's [`CallTrace`](crate::model::CallTrace), which marks it sent
//!   for the audit trail the moment it leaves;
//! - the user's custom headers, then the dialect's headers and key on top;
//! - a key a server echoed back is scrubbed from every error;
//! - a server that rejects JSON schemas is remembered (`SchemaSupport`), and
//!   [`LanguageModel::supports_json_schema`] says so;
//! - the stream idle timeout.
//!
//! `OpenAi`, `Anthropic`, `Gemini` and `Ollama` are this type over their dialects
//! (see [`crate::model::openai`] and its siblings).

mod dialect;
mod schema;

pub(crate) use dialect::{Dialect, Endpoints, json_bytes};
pub(crate) use schema::SchemaSupport;

use super::headers::{key_text, redact};
use super::stream::{CompletionStream, decode};
use super::transport::{Post, Target, Transport};
use super::{Completion, LanguageModel, ModelError, Request};
use async_trait::async_trait;
use futures::StreamExt;
use reqwest::header::HeaderMap;
use secrecy::SecretString;
use std::time::Duration;

/// The endpoints, each parsed once for every call to come.
fn targets(endpoints: &Endpoints) -> (Target, Target) {
    (Target::new(&endpoints.complete), Target::new(&endpoints.stream))
}

/// How long a streamed answer may go without a byte, unless set otherwise.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A model behind a vendor's HTTP API, spoken in dialect `D`.
pub struct HttpModel<D: Dialect> {
    transport: Transport,
    dialect: D,
    base_url: String,
    endpoints: Endpoints,
    /// The endpoints parsed once: (complete, stream).
    targets: (Target, Target),
    model: String,
    api_key: Option<SecretString>,
    extra_headers: HeaderMap,
    idle_timeout: Duration,
    schema: SchemaSupport,
}

impl<D: Dialect> HttpModel<D> {
    /// A model `model` at `base_url` speaking `dialect` through `transport`, with the
    /// key `api_key` (`None`, or an empty key, sends none).
    pub fn with_dialect(
        transport: Transport,
        dialect: D,
        base_url: String,
        model: String,
        api_key: Option<SecretString>,
    ) -> Self {
        let endpoints = dialect.endpoints(&base_url, &model);
        Self {
            transport,
            dialect,
            base_url,
            targets: targets(&endpoints),
            endpoints,
            model,
            api_key,
            extra_headers: HeaderMap::new(),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            schema: SchemaSupport::default(),
        }
    }

    /// How long a streamed answer may go without a byte before it fails as a timeout.
    /// Default: 60 s.
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Send these headers with every request (the dialect's own headers and the key's
    /// win over custom headers of the same name). Default: none.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.extra_headers = headers;
        self
    }

    /// The endpoint whole answers are asked from.
    pub fn url(&self) -> &str {
        &self.endpoints.complete
    }

    /// The endpoint streamed answers are asked from.
    pub fn stream_url(&self) -> &str {
        &self.endpoints.stream
    }

    /// Whether JSON-schema requests are still sent with the schema as such: false once
    /// the server rejected one, after which they go out in the dialect's fallback form.
    pub fn schema_supported(&self) -> bool {
        self.schema.get()
    }

    /// The dialect.
    pub fn dialect(&self) -> &D {
        &self.dialect
    }

    /// Change the dialect's settings and recompute the endpoints from them.
    pub(crate) fn map_dialect(mut self, change: impl FnOnce(&mut D)) -> Self {
        change(&mut self.dialect);
        self.endpoints = self.dialect.endpoints(&self.base_url, &self.model);
        self.targets = targets(&self.endpoints);
        self
    }

    /// The headers of every request: the custom ones, then the dialect's and the key.
    pub(crate) fn headers(&self) -> Result<HeaderMap, ModelError> {
        let mut headers = self.extra_headers.clone();
        self.dialect.headers(&mut headers, key_text(self.api_key.as_ref()))?;
        Ok(headers)
    }

    /// The body for `request`, in this model's dialect, as the bytes sent.
    pub(crate) fn body(&self, request: &Request, schema_supported: bool, stream: bool) -> Vec<u8> {
        self.dialect.body(&self.model, request, schema_supported, stream)
    }

    /// A failed exchange: note a rejected schema, then scrub the key from the error.
    pub(crate) fn fail(
        &self,
        error: ModelError,
        request: &Request,
        schema_supported: bool,
    ) -> ModelError {
        if let Some(fallback) = D::SCHEMA_FALLBACK
            && self.schema.learn(&error, request, schema_supported)
        {
            tracing::info!(
                provider = D::PROVIDER,
                model = %self.model,
                "server rejected a JSON schema; {fallback}"
            );
        }
        self.redact(error)
    }

    /// `error` without the key, in case a server echoed it back.
    pub(crate) fn redact(&self, error: ModelError) -> ModelError {
        redact(error, self.api_key.as_ref())
    }

    fn classify(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ModelError {
        self.dialect.classify(&self.model, status, headers, body)
    }
}

impl<D: Dialect> std::fmt::Debug for HttpModel<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpModel")
            .field("provider", &D::PROVIDER)
            .field("url", &super::url::redacted(&self.endpoints.complete))
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("schema_supported", &self.schema_supported())
            .field("headers", &self.extra_headers.keys().collect::<Vec<_>>())
            .field("dialect", &self.dialect)
            .finish()
    }
}

#[async_trait]
impl<D: Dialect> LanguageModel for HttpModel<D> {
    fn provider(&self) -> &str {
        D::PROVIDER
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn supports_json_schema(&self) -> bool {
        self.schema_supported()
    }

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        let schema_supported = self.schema_supported();
        let body = self.body(request, schema_supported, false);
        let headers = self.headers()?;
        let answer = self
            .transport
            .exchange(
                Post {
                    provider: D::PROVIDER,
                    target: &self.targets.0,
                    headers,
                    body,
                    trace: &request.trace,
                },
                &|status, headers, body| self.classify(status, headers, body),
            )
            .await
            .map_err(|e| self.fail(e, request, schema_supported))?;
        self.dialect.parse(&answer).map_err(|e| self.redact(e))
    }

    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        let schema_supported = self.schema_supported();
        let body = self.body(request, schema_supported, true);
        let headers = self.headers()?;
        let answer = self
            .transport
            .exchange_stream(
                Post {
                    provider: D::PROVIDER,
                    target: &self.targets.1,
                    headers,
                    body,
                    trace: &request.trace,
                },
                self.idle_timeout,
                &|status, headers, body| self.classify(status, headers, body),
            )
            .await
            .map_err(|e| self.fail(e, request, schema_supported))?;
        let events = decode(answer, D::FRAMING, self.dialect.decoder(), D::PROVIDER);
        // A key echoed back in an error event mid-stream is scrubbed too.
        let key = self.api_key.clone();
        Ok(Box::pin(events.map(move |event| event.map_err(|e| redact(e, key.as_ref())))))
    }
}
