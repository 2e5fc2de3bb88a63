//! The Anthropic Messages dialect (`POST {base_url}/v1/messages`).
//!
//! Shaped like [`crate::model::openai`]: [`request_body`] and [`parse_response`]
//! translate (pure, tested on recorded JSON), [`classify_error`] types failures,
//! [`MessageDecoder`] reads the event stream, and [`AnthropicDialect`] ties them
//! together for [`HttpModel`], which does the I/O. The base URL is the host root, as in
//! Anthropic's SDKs (`https://api.anthropic.com`); the key goes in the `x-api-key`
//! header. Structured output uses tool use: a JSON-schema request forces one tool
//! whose input is the answer, so there is no schema fallback to learn.

mod errors;
mod stream;
mod wire;

pub use errors::{classify_error, classify_event};
pub use stream::{MessageDecoder, stream_body};
pub use wire::{DEFAULT_MAX_TOKENS, parse_response, request_body};

use super::headers::secret_value;
use super::http::{Dialect, Endpoints, HttpModel, json_bytes};
use super::stream::Framing;
use super::transport::Transport;
use super::{Completion, ModelError, Request};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;

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
pub type Anthropic = HttpModel<AnthropicDialect>;

/// The Messages dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnthropicDialect;

impl Dialect for AnthropicDialect {
    type Decoder = MessageDecoder;
    const PROVIDER: &'static str = PROVIDER;
    const FRAMING: Framing = Framing::Sse;
    const SCHEMA_FALLBACK: Option<&'static str> = None;

    fn endpoints(&self, base_url: &str, _model: &str) -> Endpoints {
        Endpoints::same(super::url::join(base_url, "/v1/messages", None))
    }

    fn headers(&self, headers: &mut HeaderMap, key: Option<&str>) -> Result<(), ModelError> {
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        if let Some(key) = key {
            headers.insert(HeaderName::from_static("x-api-key"), secret_value(PROVIDER, "", key)?);
        }
        Ok(())
    }

    fn body(
        &self,
        model: &str,
        request: &Request,
        _schema_supported: bool,
        stream: bool,
    ) -> Vec<u8> {
        let body = request_body(model, request);
        json_bytes(&if stream { stream_body(body) } else { body }, request)
    }

    fn parse(&self, body: &[u8]) -> Result<Completion, ModelError> {
        parse_response(body)
    }

    fn classify(&self, _model: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> ModelError {
        classify_error(status, headers, body)
    }

    fn decoder(&self) -> MessageDecoder {
        MessageDecoder::default()
    }
}

impl HttpModel<AnthropicDialect> {
    /// A model sending to `{base_url}/v1/messages` through `transport`.
    pub fn new(transport: Transport, settings: AnthropicSettings) -> Self {
        let AnthropicSettings { base_url, model, api_key } = settings;
        Self::with_dialect(transport, AnthropicDialect, base_url, model, api_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::transport::TransportSettings;
    use crate::model::{LanguageModel, ModelErrorKind};

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
