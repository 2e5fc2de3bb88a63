//! The OpenAI-compatible chat-completions provider: OpenAI itself and every server
//! that speaks its `/v1/chat/completions` dialect (Groq, vLLM, llama.cpp server,
//! Ollama's `/v1`, LM Studio, …).
//!
//! The provider is thin: [`request_body`] and [`parse_response`] translate requests
//! and responses (pure, tested on recorded JSON), [`classify_error`] turns failures
//! into typed [`ModelError`]s, and the shared [`Transport`] does the I/O. The provider
//! itself adds the URL, the optional bearer key, and one piece of memory: once a server
//! rejects `json_schema`, later schema requests go out as `json_object` with the schema
//! in the prompt.
//!
//! Real-world dialects, each switched on explicitly (never guessed from the model
//! name): reasoning models ([`OpenAi::with_reasoning`]: `max_completion_tokens`, no
//! `temperature`), Azure OpenAI ([`OpenAi::with_azure_api_version`]: the `api-version`
//! query parameter and an `api-key` header), an organisation id
//! ([`OpenAi::with_organization`]) and custom headers ([`OpenAi::with_headers`]).

mod errors;
mod stream;
mod wire;

pub use errors::classify_error;
pub use stream::{ChunkDecoder, stream_body};
pub use wire::{parse_response, reasoning_body, request_body};
pub(crate) use wire::{schema_name, temperature_json};

use super::headers::{key_text, redact, secret_value};
use super::stream::{CompletionStream, Framing, decode};
use super::transport::Transport;
use super::url;
use super::{Completion, LanguageModel, ModelError, ModelErrorKind, Request, ResponseFormat};
use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The provider name errors and call records carry.
const PROVIDER: &str = "openai";

/// How long a streamed answer may go without a byte, unless set otherwise.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

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
    base_url: String,
    url: String,
    model: String,
    api_key: Option<SecretString>,
    schema_supported: AtomicBool,
    idle_timeout: Duration,
    reasoning: bool,
    azure_api_version: Option<String>,
    organization: Option<String>,
    extra_headers: HeaderMap,
}

impl OpenAi {
    /// A provider sending to `{base_url}/chat/completions` through `transport` (a
    /// query string in `base_url` stays after the path: see [`url::join`]).
    pub fn new(transport: Transport, settings: OpenAiSettings) -> Self {
        let base_url = settings.base_url;
        Self {
            transport,
            url: url::join(&base_url, "/chat/completions", None),
            base_url,
            model: settings.model,
            api_key: settings.api_key,
            schema_supported: AtomicBool::new(true),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            reasoning: false,
            azure_api_version: None,
            organization: None,
            extra_headers: HeaderMap::new(),
        }
    }

    /// Treat the model as a reasoning model (o1, o3, o4-mini, gpt-5…): send
    /// `max_completion_tokens` instead of `max_tokens` and no `temperature`, which such
    /// models reject. Default: off.
    pub fn with_reasoning(mut self, reasoning: bool) -> Self {
        self.reasoning = reasoning;
        self
    }

    /// Speak Azure OpenAI: requests go to
    /// `{base_url}/chat/completions?api-version={version}` (the base URL is the
    /// deployment, e.g. `https://NAME.openai.azure.com/openai/deployments/DEPLOYMENT`)
    /// and the key goes in an `api-key` header instead of `Authorization: Bearer`.
    /// Default: none (plain OpenAI).
    pub fn with_azure_api_version(mut self, version: impl Into<String>) -> Self {
        let version = version.into();
        let query = format!("api-version={version}");
        self.url = url::join(&self.base_url, "/chat/completions", Some(&query));
        self.azure_api_version = Some(version);
        self
    }

    /// Send `OpenAI-Organization: {id}` with every request. Default: none.
    pub fn with_organization(mut self, id: impl Into<String>) -> Self {
        self.organization = Some(id.into());
        self
    }

    /// Send these headers with every request (the key's header, when there is a key,
    /// wins over a custom header of the same name). Default: none.
    pub fn with_headers(mut self, headers: HeaderMap) -> Self {
        self.extra_headers = headers;
        self
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
        let mut headers = self.extra_headers.clone();
        if let Some(org) = &self.organization {
            let value = HeaderValue::from_str(org.trim()).map_err(|_| {
                ModelError::new(
                    ModelErrorKind::InvalidRequest,
                    PROVIDER,
                    "the organization id contains characters not allowed in an HTTP header",
                )
            })?;
            headers.insert(HeaderName::from_static("openai-organization"), value);
        }
        if let Some(key) = key_text(self.api_key.as_ref()) {
            if self.azure_api_version.is_some() {
                let value = secret_value(PROVIDER, "", key)?;
                headers.insert(HeaderName::from_static("api-key"), value);
            } else {
                headers.insert(AUTHORIZATION, secret_value(PROVIDER, "Bearer ", key)?);
            }
        }
        Ok(headers)
    }

    /// The request body for `request`, in this provider's dialect.
    fn body(&self, request: &Request, schema_supported: bool) -> serde_json::Value {
        let body = request_body(&self.model, request, schema_supported);
        if self.reasoning { reasoning_body(body) } else { body }
    }

    /// Scrub the key from an error, in case a server echoed it back.
    /// A failed exchange: note a rejected schema, then scrub the key from the error.
    fn fail(&self, error: ModelError, request: &Request, schema_supported: bool) -> ModelError {
        self.learn(&error, request, schema_supported);
        self.redact(error)
    }

    fn redact(&self, error: ModelError) -> ModelError {
        redact(error, self.api_key.as_ref())
    }
}

impl std::fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAi")
            .field("url", &crate::model::url::redacted(&self.url))
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("schema_supported", &self.schema_supported())
            .field("reasoning", &self.reasoning)
            .field("azure_api_version", &self.azure_api_version)
            .field("organization", &self.organization)
            .field("headers", &self.extra_headers.keys().collect::<Vec<_>>())
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
        let body = self.body(request, schema_supported);
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
        let body = stream_body(self.body(request, schema_supported));
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
            .map_err(|e| self.fail(e, request, schema_supported))?;
        Ok(decode(answer, Framing::Sse, ChunkDecoder::default(), PROVIDER))
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
        let keyed = provider("http://h/v1?api-key=K", None);
        assert_eq!(keyed.url(), "http://h/v1/chat/completions?api-key=K");
        assert!(!format!("{keyed:?}").contains("=K"));
        let azure =
            provider("https://r/openai/deployments/d?x=1", None).with_azure_api_version("v");
        assert_eq!(
            azure.url(),
            "https://r/openai/deployments/d/chat/completions?x=1&api-version=v"
        );
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
    fn azure_uses_api_version_and_an_api_key_header() {
        let p = provider("https://r.openai.azure.com/openai/deployments/gpt4o/", Some("az-key"))
            .with_azure_api_version("2024-10-21");
        assert_eq!(
            p.url(),
            "https://r.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21"
        );
        let headers = p.headers().unwrap();
        assert!(headers.get(AUTHORIZATION).is_none());
        let key = headers.get("api-key").unwrap();
        assert_eq!(key.to_str().unwrap(), "az-key");
        assert!(key.is_sensitive());
        assert!(!format!("{p:?}").contains("az-key"));
    }

    #[test]
    fn organization_and_custom_headers_are_sent_and_the_key_wins() {
        let mut custom = HeaderMap::new();
        custom.insert("x-custom", HeaderValue::from_static("v"));
        custom.insert(AUTHORIZATION, HeaderValue::from_static("Bearer from-config"));
        let p = provider("http://h/v1", Some("sk-real"))
            .with_organization("org-123")
            .with_headers(custom.clone());
        let headers = p.headers().unwrap();
        assert_eq!(headers.get("openai-organization").unwrap(), "org-123");
        assert_eq!(headers.get("x-custom").unwrap(), "v");
        assert_eq!(headers.get(AUTHORIZATION).unwrap(), "Bearer sk-real");
        // Without a key, a custom Authorization (a gateway's) goes through.
        let p = provider("http://h/v1", None).with_headers(custom);
        assert_eq!(p.headers().unwrap().get(AUTHORIZATION).unwrap(), "Bearer from-config");
        let bad = provider("http://h/v1", None).with_organization("org\u{7f}");
        assert_eq!(bad.headers().unwrap_err().kind, ModelErrorKind::InvalidRequest);
    }

    #[test]
    fn reasoning_switches_the_body_dialect() {
        let req = Request {
            sampling: crate::model::Sampling { temperature: Some(0.5), max_tokens: Some(9) },
            ..Request::default()
        };
        let body = provider("http://h/v1", None).with_reasoning(true).body(&req, true);
        assert_eq!(body["max_completion_tokens"], 9);
        assert!(body.get("temperature").is_none());
        let body = provider("http://h/v1", None).body(&req, true);
        assert_eq!(body["max_tokens"], 9);
    }

    #[test]
    fn names_provider_and_model() {
        let p = provider("http://h/v1", None);
        assert_eq!(p.provider(), "openai");
        assert_eq!(p.model(), "gpt-4o-mini");
        assert!(p.schema_supported());
    }
}
