//! The Ollama native provider (`POST {base_url}/api/chat`), for Ollama's own API
//! rather than its OpenAI-compatible `/v1` (which the `openai` provider speaks).
//!
//! Shaped like [`crate::model::openai`]: [`request_body`] and [`parse_response`]
//! translate (pure, tested on recorded JSON), [`classify_error`] types failures,
//! [`LineDecoder`] reads the NDJSON stream, and [`Ollama`] only does I/O over the shared
//! [`Transport`]. The base URL is the host root (`http://127.0.0.1:11434`). No key is
//! needed locally; when one is set (ollama.com, or a proxy) it is sent as a bearer
//! token. Structured output sends the JSON schema as `format`; once a server rejects
//! it (before 0.5), later schema requests send `format: "json"` with the schema in
//! the prompt.

mod errors;
mod stream;
mod wire;

pub use errors::{classify_error, classify_line};
pub use stream::LineDecoder;
pub use wire::{parse_response, request_body};

use super::headers::{key_text, redact, secret_value};
use super::stream::{CompletionStream, Framing, decode};
use super::transport::Transport;
use super::{Completion, LanguageModel, ModelError, ModelErrorKind, Request, ResponseFormat};
use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderMap};
use secrecy::SecretString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The provider name errors and call records carry.
const PROVIDER: &str = "ollama";

/// The default base URL.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:11434";

/// Where and how to reach an Ollama server.
#[derive(Debug, Clone)]
pub struct OllamaSettings {
    /// The host root, e.g. `http://127.0.0.1:11434` (no `/api`); a trailing slash is
    /// fine.
    pub base_url: String,
    /// The model as the server knows it (`ollama list`), e.g. `llama3.2`.
    pub model: String,
    /// A bearer key, for ollama.com or a proxy; `None` for a local server.
    pub api_key: Option<SecretString>,
}

/// A model served by Ollama.
pub struct Ollama {
    transport: Transport,
    url: String,
    model: String,
    api_key: Option<SecretString>,
    schema_supported: AtomicBool,
    idle_timeout: Duration,
    extra_headers: HeaderMap,
}

impl Ollama {
    /// A provider sending to `{base_url}/api/chat` through `transport`.
    pub fn new(transport: Transport, settings: OllamaSettings) -> Self {
        let url = super::url::join(&settings.base_url, "/api/chat", None);
        Self {
            transport,
            url,
            model: settings.model,
            api_key: settings.api_key,
            schema_supported: AtomicBool::new(true),
            idle_timeout: super::openai::DEFAULT_IDLE_TIMEOUT,
            extra_headers: HeaderMap::new(),
        }
    }

    /// How long a streamed answer may go without a byte before it fails as a timeout
    /// (a local model loading into memory can take a while). Default: 60 s.
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Send these headers with every request (the key's header, when there is a key,
    /// wins over a custom header of the same name). Default: none.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.extra_headers = headers;
        self
    }

    /// The endpoint requests are sent to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether schema requests still send the schema as `format` (false once the
    /// server rejected one).
    pub fn schema_supported(&self) -> bool {
        self.schema_supported.load(Ordering::Relaxed)
    }

    fn learn(&self, error: &ModelError, request: &Request, schema_supported: bool) {
        let sent_schema =
            schema_supported && matches!(request.format, ResponseFormat::JsonSchema { .. });
        if error.kind == ModelErrorKind::UnsupportedFormat && sent_schema {
            self.schema_supported.store(false, Ordering::Relaxed);
            tracing::info!(
                model = %self.model,
                "server rejected a schema format; later schema requests use format \"json\""
            );
        }
    }

    fn headers(&self) -> Result<HeaderMap, ModelError> {
        let mut headers = self.extra_headers.clone();
        if let Some(key) = key_text(self.api_key.as_ref()) {
            headers.insert(AUTHORIZATION, secret_value(PROVIDER, "Bearer ", key)?);
        }
        Ok(headers)
    }

    /// A failed exchange: note a rejected schema, then scrub the key from the error.
    fn fail(&self, error: ModelError, request: &Request, schema_supported: bool) -> ModelError {
        self.learn(&error, request, schema_supported);
        self.redact(error)
    }

    fn redact(&self, error: ModelError) -> ModelError {
        redact(error, self.api_key.as_ref())
    }
}

impl std::fmt::Debug for Ollama {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ollama")
            .field("url", &crate::model::url::redacted(&self.url))
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("schema_supported", &self.schema_supported())
            .field("headers", &self.extra_headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[async_trait]
impl LanguageModel for Ollama {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn supports_json_schema(&self) -> bool {
        self.schema_supported()
    }

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        let schema_supported = self.schema_supported();
        let body = request_body(&self.model, request, false, schema_supported);
        let headers = self.headers()?;
        let answer = self
            .transport
            .exchange(
                PROVIDER,
                &self.url,
                headers,
                &body,
                &request.trace,
                &|status, headers, body| classify_error(status, headers, body, &self.model),
            )
            .await
            .map_err(|e| self.fail(e, request, schema_supported))?;
        parse_response(&answer).map_err(|e| self.redact(e))
    }

    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        let schema_supported = self.schema_supported();
        let body = request_body(&self.model, request, true, schema_supported);
        let headers = self.headers()?;
        let answer = self
            .transport
            .exchange_stream(
                PROVIDER,
                &self.url,
                headers,
                &body,
                self.idle_timeout,
                &request.trace,
                &|status, headers, body| classify_error(status, headers, body, &self.model),
            )
            .await
            .map_err(|e| self.fail(e, request, schema_supported))?;
        Ok(decode(answer, Framing::Ndjson, LineDecoder::default(), PROVIDER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::transport::TransportSettings;

    fn provider(key: Option<&str>) -> Ollama {
        let transport = Transport::new(TransportSettings::default()).unwrap();
        Ollama::new(
            transport,
            OllamaSettings {
                base_url: format!("{DEFAULT_BASE_URL}/"),
                model: "llama3.2".into(),
                api_key: key.map(SecretString::from),
            },
        )
    }

    #[test]
    fn url_and_optional_bearer_key() {
        assert_eq!(provider(None).url(), "http://127.0.0.1:11434/api/chat");
        let transport = Transport::new(TransportSettings::default()).unwrap();
        let proxied = Ollama::new(
            transport,
            OllamaSettings {
                base_url: "http://h?token=T".into(),
                model: "m".into(),
                api_key: None,
            },
        );
        assert_eq!(proxied.url(), "http://h/api/chat?token=T");
        assert!(provider(None).headers().unwrap().is_empty());
        let p = provider(Some("ol-secret"));
        let auth = p.headers().unwrap().get(AUTHORIZATION).cloned().unwrap();
        assert_eq!(auth, "Bearer ol-secret");
        assert!(auth.is_sensitive());
        assert!(!format!("{p:?}").contains("ol-secret"));
        assert_eq!(p.provider(), "ollama");
        assert_eq!(p.model(), "llama3.2");
    }
}
