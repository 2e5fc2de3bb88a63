//! The Anthropic Messages provider (`POST {base_url}/v1/messages`).
//!
//! Shaped like [`crate::model::openai`]: [`request_body`] and [`parse_response`]
//! translate (pure, tested on recorded JSON), [`classify_error`] types failures,
//! [`MessageDecoder`] reads the event stream, and [`Anthropic`] only does I/O over the
//! shared [`Transport`]. The base URL is the host root, as in Anthropic's SDKs
//! (`https://api.anthropic.com`); the key goes in the `x-api-key` header. Structured
//! output uses tool use: a JSON-schema request forces one tool whose input is the
//! answer.

mod errors;
mod stream;
mod wire;

pub use errors::{classify_error, classify_event};
pub use stream::{MessageDecoder, stream_body};
pub use wire::{DEFAULT_MAX_TOKENS, parse_response, request_body};

use super::headers::{key_text, redact, secret_value};
use super::stream::{CompletionStream, Framing, decode};
use super::transport::Transport;
use super::{Completion, LanguageModel, ModelError, Request};
use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;
use std::time::Duration;

/// The provider name errors and call records carry.
const PROVIDER: &str = "anthropic";

/// The API version sent in `anthropic-version`.
pub const API_VERSION: &str = "2023-06-01";

/// The default base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// Where and how to reach Anthropic.
#[derive(Debug, Clone)]
pub struct AnthropicSettings {
    /// The host root, e.g. `https://api.anthropic.com` (no `/v1`); a trailing slash is
    /// fine.
    pub base_url: String,
    /// The model to ask, e.g. `claude-3-5-haiku-latest`.
    pub model: String,
    /// The key sent as `x-api-key`.
    pub api_key: Option<SecretString>,
}

/// An Anthropic Messages model.
pub struct Anthropic {
    transport: Transport,
    url: String,
    model: String,
    api_key: Option<SecretString>,
    idle_timeout: Duration,
    extra_headers: HeaderMap,
}

impl Anthropic {
    /// A provider sending to `{base_url}/v1/messages` through `transport`.
    pub fn new(transport: Transport, settings: AnthropicSettings) -> Self {
        let url = super::url::join(&settings.base_url, "/v1/messages", None);
        Self {
            transport,
            url,
            model: settings.model,
            api_key: settings.api_key,
            idle_timeout: super::openai::DEFAULT_IDLE_TIMEOUT,
            extra_headers: HeaderMap::new(),
        }
    }

    /// How long a streamed answer may go without a byte before it fails as a timeout.
    /// Default: 60 s.
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Send these headers with every request (the key and `anthropic-version` win
    /// over custom headers of the same name). Default: none.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.extra_headers = headers;
        self
    }

    /// The endpoint requests are sent to.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn headers(&self) -> Result<HeaderMap, ModelError> {
        let mut headers = self.extra_headers.clone();
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        if let Some(key) = key_text(self.api_key.as_ref()) {
            headers.insert(HeaderName::from_static("x-api-key"), secret_value(PROVIDER, "", key)?);
        }
        Ok(headers)
    }

    fn redact(&self, error: ModelError) -> ModelError {
        redact(error, self.api_key.as_ref())
    }
}

impl std::fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anthropic")
            .field("url", &crate::model::url::redacted(&self.url))
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("headers", &self.extra_headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[async_trait]
impl LanguageModel for Anthropic {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        let body = request_body(&self.model, request);
        let headers = self.headers()?;
        let answer = self
            .transport
            .exchange(PROVIDER, &self.url, headers, &body, &request.trace, &classify_error)
            .await
            .map_err(|e| self.redact(e))?;
        parse_response(&answer).map_err(|e| self.redact(e))
    }

    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        let body = stream_body(request_body(&self.model, request));
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
                &classify_error,
            )
            .await
            .map_err(|e| self.redact(e))?;
        Ok(decode(answer, Framing::Sse, MessageDecoder::default(), PROVIDER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelErrorKind;
    use crate::model::transport::TransportSettings;

    fn provider(key: Option<&str>) -> Anthropic {
        let transport = Transport::new(TransportSettings::default()).unwrap();
        Anthropic::new(
            transport,
            AnthropicSettings {
                base_url: "https://api.anthropic.com/".into(),
                model: "claude-3-5-haiku-latest".into(),
                api_key: key.map(SecretString::from),
            },
        )
    }

    #[test]
    fn url_is_the_messages_endpoint_under_the_host_root() {
        assert_eq!(provider(None).url(), "https://api.anthropic.com/v1/messages");
        let transport = Transport::new(TransportSettings::default()).unwrap();
        let settings = |base_url: &str| AnthropicSettings {
            base_url: base_url.into(),
            model: "m".into(),
            api_key: None,
        };
        let gateway = Anthropic::new(transport, settings("http://u:pw@h/?api-key=K"));
        assert_eq!(gateway.url(), "http://u:pw@h/v1/messages?api-key=K", "the query stays last");
        let debug = format!("{gateway:?}");
        assert!(!debug.contains("pw") && !debug.contains("=K"), "{debug}");
    }

    #[test]
    fn key_and_version_headers() {
        let mut custom = HeaderMap::new();
        custom.insert("x-custom", HeaderValue::from_static("v"));
        custom.insert("anthropic-version", HeaderValue::from_static("1999-01-01"));
        let headers = provider(Some(" sk-ant-secret ")).with_headers(custom).headers().unwrap();
        let key = headers.get("x-api-key").unwrap();
        assert_eq!(key, "sk-ant-secret");
        assert!(key.is_sensitive());
        assert_eq!(headers.get("anthropic-version").unwrap(), API_VERSION);
        assert_eq!(headers.get("x-custom").unwrap(), "v");
        assert!(provider(None).headers().unwrap().get("x-api-key").is_none());
    }

    #[test]
    fn debug_and_errors_never_show_the_key() {
        let p = provider(Some("sk-ant-secret"));
        assert!(!format!("{p:?}").contains("sk-ant-secret"));
        let echoed = ModelError::new(ModelErrorKind::Auth, PROVIDER, "bad sk-ant-secret");
        assert_eq!(p.redact(echoed).message, "bad [REDACTED]");
        assert_eq!(p.provider(), "anthropic");
        assert_eq!(p.model(), "claude-3-5-haiku-latest");
    }
}
