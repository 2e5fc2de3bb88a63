//! The Ollama native dialect (`POST {base_url}/api/chat`), for Ollama's own API
//! rather than its OpenAI-compatible `/v1` (which the `openai` dialect speaks).
//!
//! Shaped like [`crate::model::openai`]: [`request_body`] and [`parse_response`]
//! translate (pure, tested on recorded JSON), [`classify_error`] types failures,
//! [`LineDecoder`] reads the NDJSON stream, and [`OllamaDialect`] ties them together for
//! [`HttpModel`], which does the I/O. The base URL is the host root
//! (`http://127.0.0.1:11434`). No key is needed locally; when one is set (ollama.com,
//! or a proxy) it is sent as a bearer token. Structured output sends the JSON schema
//! as `format`; once a server rejects it (before 0.5), later schema requests send
//! `format: "json"` with the schema in the prompt.

mod errors;
mod stream;
mod wire;

pub use errors::{classify_error, classify_line};
pub use stream::LineDecoder;
pub use wire::{parse_response, request_body};

use super::headers::secret_value;
use super::http::{Dialect, Endpoints, HttpModel, json_bytes};
use super::stream::Framing;
use super::transport::Transport;
use super::{Completion, ModelError, Request};
use reqwest::header::{AUTHORIZATION, HeaderMap};
use secrecy::SecretString;

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
pub type Ollama = HttpModel<OllamaDialect>;

/// The native `/api/chat` dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct OllamaDialect;

impl Dialect for OllamaDialect {
    type Decoder = LineDecoder;
    const PROVIDER: &'static str = PROVIDER;
    const FRAMING: Framing = Framing::Ndjson;
    const SCHEMA_FALLBACK: Option<&'static str> = Some("later schema requests use format \"json\"");

    fn endpoints(&self, base_url: &str, _model: &str) -> Endpoints {
        Endpoints::same(super::url::join(base_url, "/api/chat", None))
    }

    fn headers(&self, headers: &mut HeaderMap, key: Option<&str>) -> Result<(), ModelError> {
        if let Some(key) = key {
            headers.insert(AUTHORIZATION, secret_value(PROVIDER, "Bearer ", key)?);
        }
        Ok(())
    }

    fn body(
        &self,
        model: &str,
        request: &Request,
        schema_supported: bool,
        stream: bool,
    ) -> Vec<u8> {
        json_bytes(&request_body(model, request, stream, schema_supported), request)
    }

    fn parse(&self, body: &[u8]) -> Result<Completion, ModelError> {
        parse_response(body)
    }

    /// Names the model in a "not found" error, with the `ollama pull` that fixes it.
    fn classify(&self, model: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> ModelError {
        classify_error(status, headers, body, model)
    }

    fn decoder(&self) -> LineDecoder {
        LineDecoder::default()
    }
}

impl HttpModel<OllamaDialect> {
    /// A model sending to `{base_url}/api/chat` through `transport`.
    pub fn new(transport: Transport, settings: OllamaSettings) -> Self {
        let OllamaSettings { base_url, model, api_key } = settings;
        Self::with_dialect(transport, OllamaDialect, base_url, model, api_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LanguageModel;
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
