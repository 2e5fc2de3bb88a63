//! The Google Gemini provider (`generateContent`, `streamGenerateContent?alt=sse`).
//!
//! Shaped like [`crate::model::openai`]: [`request_body`] and [`parse_response`]
//! translate (pure, tested on recorded JSON), [`classify_error`] types failures
//! (including Google's `RetryInfo` delay), [`ChunkDecoder`] reads the event stream, and
//! [`Gemini`] only does I/O over the shared [`Transport`]. The base URL includes the
//! API version, as in Google's SDKs (`https://generativelanguage.googleapis.com/v1beta`);
//! the key goes in the `x-goog-api-key` header, never in the URL. Structured output
//! uses `responseSchema` ([`openapi_schema`] translates the JSON schema); once the
//! server rejects a schema, later schema requests put it in the system instruction.

mod errors;
mod schema;
mod stream;
mod wire;

pub use errors::{classify_error, classify_value};
pub use schema::openapi_schema;
pub use stream::ChunkDecoder;
pub use wire::{parse_response, request_body};

use super::headers::{key_text, redact, secret_value};
use super::stream::{CompletionStream, Framing, decode};
use super::transport::Transport;
use super::{Completion, LanguageModel, ModelError, ModelErrorKind, Request, ResponseFormat};
use async_trait::async_trait;
use reqwest::header::{HeaderMap, HeaderName};
use secrecy::SecretString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The provider name errors and call records carry.
const PROVIDER: &str = "gemini";

/// The default base URL.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

/// Where and how to reach Gemini.
#[derive(Debug, Clone)]
pub struct GeminiSettings {
    /// The API root including the version, e.g.
    /// `https://generativelanguage.googleapis.com/v1beta`; a trailing slash is fine.
    pub base_url: String,
    /// The model, e.g. `gemini-2.0-flash` (or a full resource name such as
    /// `models/gemini-2.0-flash` or `tunedModels/my-model`).
    pub model: String,
    /// The key sent as `x-goog-api-key`.
    pub api_key: Option<SecretString>,
}

/// A Gemini model.
pub struct Gemini {
    transport: Transport,
    url: String,
    stream_url: String,
    model: String,
    api_key: Option<SecretString>,
    schema_supported: AtomicBool,
    idle_timeout: Duration,
    extra_headers: HeaderMap,
}

impl Gemini {
    /// A provider sending to `{base_url}/models/{model}:generateContent` (and
    /// `:streamGenerateContent?alt=sse`) through `transport`.
    pub fn new(transport: Transport, settings: GeminiSettings) -> Self {
        let base = &settings.base_url;
        let resource = if settings.model.contains('/') {
            settings.model.clone()
        } else {
            format!("models/{}", settings.model)
        };
        let join = super::url::join;
        Self {
            transport,
            url: join(base, &format!("/{resource}:generateContent"), None),
            stream_url: join(base, &format!("/{resource}:streamGenerateContent"), Some("alt=sse")),
            model: settings.model,
            api_key: settings.api_key,
            schema_supported: AtomicBool::new(true),
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

    /// Send these headers with every request (the key's header wins over a custom
    /// header of the same name). Default: none.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.extra_headers = headers;
        self
    }

    /// The endpoint answers are asked from.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The endpoint streamed answers are asked from.
    pub fn stream_url(&self) -> &str {
        &self.stream_url
    }

    /// Whether schema requests still send `responseSchema` (false once the server
    /// rejected one).
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
                "server rejected responseSchema; later schema requests carry it in the prompt"
            );
        }
    }

    fn headers(&self) -> Result<HeaderMap, ModelError> {
        let mut headers = self.extra_headers.clone();
        if let Some(key) = key_text(self.api_key.as_ref()) {
            headers.insert(
                HeaderName::from_static("x-goog-api-key"),
                secret_value(PROVIDER, "", key)?,
            );
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

impl std::fmt::Debug for Gemini {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gemini")
            .field("url", &crate::model::url::redacted(&self.url))
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("schema_supported", &self.schema_supported())
            .field("headers", &self.extra_headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[async_trait]
impl LanguageModel for Gemini {
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
        let body = request_body(request, schema_supported);
        let headers = self.headers()?;
        let answer = self
            .transport
            .exchange(PROVIDER, &self.url, headers, &body, &request.trace, &classify_error)
            .await
            .map_err(|e| self.fail(e, request, schema_supported))?;
        parse_response(&answer).map_err(|e| self.redact(e))
    }

    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        let schema_supported = self.schema_supported();
        let body = request_body(request, schema_supported);
        let headers = self.headers()?;
        let answer = self
            .transport
            .exchange_stream(
                PROVIDER,
                &self.stream_url,
                headers,
                &body,
                self.idle_timeout,
                &request.trace,
                &classify_error,
            )
            .await
            .map_err(|e| self.fail(e, request, schema_supported))?;
        Ok(decode(answer, Framing::Sse, ChunkDecoder::default(), PROVIDER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::transport::TransportSettings;

    fn provider(model: &str, key: Option<&str>) -> Gemini {
        let transport = Transport::new(TransportSettings::default()).unwrap();
        Gemini::new(
            transport,
            GeminiSettings {
                base_url: format!("{DEFAULT_BASE_URL}/"),
                model: model.into(),
                api_key: key.map(SecretString::from),
            },
        )
    }

    #[test]
    fn urls_name_the_model_and_never_the_key() {
        let p = provider("gemini-2.0-flash", Some("AIza-secret"));
        assert_eq!(
            p.url(),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent"
        );
        assert_eq!(
            p.stream_url(),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"
        );
        assert!(!p.url().contains("AIza") && !p.stream_url().contains("key="));
        let tuned = provider("tunedModels/mine", None);
        assert!(tuned.url().ends_with("/v1beta/tunedModels/mine:generateContent"));
        let transport = Transport::new(TransportSettings::default()).unwrap();
        let keyed = Gemini::new(
            transport,
            GeminiSettings {
                base_url: "http://h/v1beta?key=K".into(),
                model: "g".into(),
                api_key: None,
            },
        );
        assert_eq!(keyed.url(), "http://h/v1beta/models/g:generateContent?key=K");
        assert_eq!(
            keyed.stream_url(),
            "http://h/v1beta/models/g:streamGenerateContent?key=K&alt=sse"
        );
        assert!(!format!("{keyed:?}").contains("key=K"));
    }

    #[test]
    fn the_key_goes_in_a_sensitive_header() {
        let p = provider("gemini-2.0-flash", Some("AIza-secret"));
        let headers = p.headers().unwrap();
        let key = headers.get("x-goog-api-key").unwrap();
        assert_eq!(key, "AIza-secret");
        assert!(key.is_sensitive());
        assert!(!format!("{p:?}").contains("AIza-secret"));
        assert!(provider("m", None).headers().unwrap().is_empty());
    }

    #[test]
    fn a_rejected_schema_is_remembered() {
        let p = provider("m", None);
        let req = Request {
            format: ResponseFormat::JsonSchema { name: "v".into(), schema: serde_json::json!({}) },
            ..Request::default()
        };
        let rejected = ModelError::new(ModelErrorKind::UnsupportedFormat, PROVIDER, "no");
        p.learn(&rejected, &Request::default(), true);
        assert!(p.supports_json_schema());
        p.learn(&rejected, &req, true);
        assert!(!p.supports_json_schema());
    }
}
