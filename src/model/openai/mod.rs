//! The OpenAI-compatible chat-completions provider: OpenAI itself and every server
//! that speaks its `/v1/chat/completions` dialect (Groq, vLLM, llama.cpp server,
//! Ollama's `/v1`, LM Studio, …).
//!
//! The provider is thin: [`request_body`] and [`parse_response`] translate requests
//! and responses (pure, tested on recorded JSON), [`classify_error`] turns failures
//! into typed [`ModelError`]s, and the shared [`Transport`] does the I/O. The provider itself adds the URL, the optional
//! bearer key, and one piece of memory: once a server rejects `json_schema`, later
//! schema requests go out as `json_object` with the schema in the prompt.

mod errors;
mod stream;
mod wire;

pub use errors::classify_error;
pub use stream::{ChunkDecoder, stream_body};
pub use wire::{parse_response, request_body};

use super::stream::{CompletionStream, Framing, decode};
use super::transport::Transport;
use super::{Completion, LanguageModel, ModelError, ModelErrorKind, Request, ResponseFormat};
use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The provider name errors and call records carry.
const PROVIDER: &str = "openai";

/// How long a streamed answer may go without a byte, unless set otherwise.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Keys shorter than this are not scrubbed from messages (scrubbing `"x"` would
/// mangle every message, and such a key protects nothing).
const MIN_REDACTED_KEY_LEN: usize = 4;

/// Where and how to reach an OpenAI-compatible server.
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// The API root including the version, e.g. `https://api.openai.com/v1` or
    /// `http://localhost:11434/v1`; a trailing slash is fine.
    pub base_url: String,
    /// The model to ask, e.g. `gpt-4o-mini`.
    pub model: String,
    /// The bearer key; `None` (or an empty key) for local servers that need none.
    pub api_key: Option<SecretString>,
}

/// An OpenAI-compatible chat-completions model.
pub struct OpenAi {
    transport: Transport,
    url: String,
    model: String,
    api_key: Option<SecretString>,
    schema_supported: AtomicBool,
    idle_timeout: Duration,
}

impl OpenAi {
    /// A provider sending to `{base_url}/chat/completions` through `transport`.
    pub fn new(transport: Transport, settings: OpenAiSettings) -> Self {
        let url = format!("{}/chat/completions", settings.base_url.trim_end_matches('/'));
        Self {
            transport,
            url,
            model: settings.model,
            api_key: settings.api_key,
            schema_supported: AtomicBool::new(true),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }

    /// How long a streamed answer may go without a byte before it fails as a timeout.
    /// Default: 60 s.
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// Note a rejected `json_schema` so later schema requests go out as `json_object`.
    fn learn(&self, error: &ModelError, request: &Request, schema_supported: bool) {
        let sent_schema =
            schema_supported && matches!(request.format, ResponseFormat::JsonSchema { .. });
        if error.kind == ModelErrorKind::UnsupportedFormat && sent_schema {
            self.schema_supported.store(false, Ordering::Relaxed);
            tracing::info!(
                model = %self.model,
                "server rejected json_schema; later schema requests are sent as json_object"
            );
        }
    }

    /// The endpoint requests are sent to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether `json_schema` requests are still sent as such: false once the server
    /// rejected one, after which they go out as `json_object` with the schema in the
    /// system prompt.
    pub fn schema_supported(&self) -> bool {
        self.schema_supported.load(Ordering::Relaxed)
    }

    fn headers(&self) -> Result<HeaderMap, ModelError> {
        let mut headers = HeaderMap::new();
        let key = self.api_key.as_ref().map(|k| k.expose_secret().trim());
        if let Some(key) = key.filter(|k| !k.is_empty()) {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                ModelError::new(
                    ModelErrorKind::Auth,
                    PROVIDER,
                    "the API key contains characters not allowed in an HTTP header",
                )
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Ok(headers)
    }

    /// Scrub the key from an error, in case a server echoed it back.
    fn redact(&self, mut error: ModelError) -> ModelError {
        if let Some(key) = &self.api_key {
            let key = key.expose_secret().trim();
            if key.len() >= MIN_REDACTED_KEY_LEN && error.message.contains(key) {
                error.message = error.message.replace(key, "[REDACTED]");
            }
        }
        error
    }
}

impl std::fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAi")
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("schema_supported", &self.schema_supported())
            .finish()
    }
}

#[async_trait]
impl LanguageModel for OpenAi {
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
        let body = request_body(&self.model, request, schema_supported);
        let headers = self.headers()?;
        let response = self
            .transport
            .post_json(PROVIDER, &self.url, headers, &body)
            .await
            .map_err(|e| self.redact(e))?;
        if !response.is_success() {
            let error = classify_error(response.status, &response.headers, &response.body);
            self.learn(&error, request, schema_supported);
            return Err(self.redact(error));
        }
        parse_response(&response.body).map_err(|e| self.redact(e))
    }

    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        let schema_supported = self.schema_supported();
        let body = stream_body(request_body(&self.model, request, schema_supported));
        let headers = self.headers()?;
        let response = self
            .transport
            .post_stream(PROVIDER, &self.url, headers, &body, self.idle_timeout)
            .await
            .map_err(|e| self.redact(e))?;
        if !response.is_success() {
            let full = response.read_all().await.map_err(|e| self.redact(e))?;
            let error = classify_error(full.status, &full.headers, &full.body);
            self.learn(&error, request, schema_supported);
            return Err(self.redact(error));
        }
        Ok(decode(response.body, Framing::Sse, ChunkDecoder::default(), PROVIDER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::transport::TransportSettings;

    fn provider(base_url: &str, key: Option<&str>) -> OpenAi {
        let transport = Transport::new(TransportSettings::default()).unwrap();
        OpenAi::new(
            transport,
            OpenAiSettings {
                base_url: base_url.to_owned(),
                model: "gpt-4o-mini".to_owned(),
                api_key: key.map(SecretString::from),
            },
        )
    }

    #[test]
    fn url_tolerates_a_trailing_slash() {
        assert_eq!(provider("http://h/v1/", None).url(), "http://h/v1/chat/completions");
        assert_eq!(provider("http://h/v1", None).url(), "http://h/v1/chat/completions");
    }

    #[test]
    fn bearer_header_only_with_a_key() {
        assert!(provider("http://h/v1", None).headers().unwrap().is_empty());
        assert!(provider("http://h/v1", Some("  ")).headers().unwrap().is_empty());
        let headers = provider("http://h/v1", Some(" sk-secret-key\n")).headers().unwrap();
        let auth = headers.get(AUTHORIZATION).unwrap();
        assert_eq!(auth.to_str().unwrap(), "Bearer sk-secret-key");
        assert!(auth.is_sensitive());
    }

    #[test]
    fn a_key_unfit_for_a_header_is_an_auth_error_without_the_key() {
        let err = provider("http://h/v1", Some("sk-bad\u{7f}key")).headers().unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Auth);
        assert!(!err.to_string().contains("sk-bad"), "{err}");
    }

    #[test]
    fn debug_and_errors_never_show_the_key() {
        let p = provider("http://h/v1", Some("sk-secret-key"));
        let debug = format!("{p:?}");
        assert!(!debug.contains("sk-secret-key"), "{debug}");
        assert!(debug.contains("[REDACTED]"), "{debug}");
        let echoed = ModelError::new(ModelErrorKind::Auth, PROVIDER, "bad key sk-secret-key!");
        assert_eq!(p.redact(echoed).message, "bad key [REDACTED]!");
        let settings = OpenAiSettings {
            base_url: "u".into(),
            model: "m".into(),
            api_key: Some("sk-secret-key".into()),
        };
        assert!(!format!("{settings:?}").contains("sk-secret-key"));
    }

    #[test]
    fn names_provider_and_model() {
        let p = provider("http://h/v1", None);
        assert_eq!(p.provider(), "openai");
        assert_eq!(p.model(), "gpt-4o-mini");
        assert!(p.schema_supported());
    }
}
