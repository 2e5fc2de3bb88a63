//! The OpenAI-compatible chat-completions dialect: OpenAI itself and every server
//! that speaks its `/v1/chat/completions` dialect (Groq, vLLM, llama.cpp server,
//! Ollama's `/v1`, LM Studio, …).
//!
//! Only translation lives here: [`request_body`] and [`parse_response`] translate
//! requests and responses (pure, tested on recorded JSON), [`classify_error`] turns
//! failures into typed [`ModelError`]s, [`ChunkDecoder`] reads the event stream, and
//! [`OpenAiDialect`] ties them together for [`HttpModel`], which does the I/O, the key
//! and the memory of a rejected schema (later schema requests go out as `json_object`
//! with the schema in the prompt). [`OpenAi`] is `HttpModel<OpenAiDialect>`.
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
pub use stream::ChunkDecoder;
pub use wire::{BodyOptions, parse_response, request_body};
pub(crate) use wire::{schema_name, temperature_json};

pub use super::http::DEFAULT_IDLE_TIMEOUT;

use super::headers::secret_value;
use super::http::{Dialect, Endpoints, HttpModel};
use super::stream::Framing;
use super::transport::Transport;
use super::url;
use super::{Completion, ModelError, ModelErrorKind, Request};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;

/// The provider name errors and call records carry.
const PROVIDER: &str = "openai";

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
pub type OpenAi = HttpModel<OpenAiDialect>;

/// The chat-completions dialect and its real-world variants. Default: plain OpenAI.
#[derive(Debug, Clone, Default)]
pub struct OpenAiDialect {
    /// A reasoning model: `max_completion_tokens`, no `temperature`.
    pub reasoning: bool,
    /// Azure OpenAI's `api-version`: sent as a query parameter, the key as `api-key`.
    pub azure_api_version: Option<String>,
    /// Sent as `OpenAI-Organization`.
    pub organization: Option<String>,
}

impl Dialect for OpenAiDialect {
    type Decoder = ChunkDecoder;
    const PROVIDER: &'static str = PROVIDER;
    const FRAMING: Framing = Framing::Sse;
    const SCHEMA_FALLBACK: Option<&'static str> =
        Some("later schema requests are sent as json_object");

    fn endpoints(&self, base_url: &str, _model: &str) -> Endpoints {
        let query = self.azure_api_version.as_ref().map(|v| format!("api-version={v}"));
        Endpoints::same(url::join(base_url, "/chat/completions", query.as_deref()))
    }

    fn headers(&self, headers: &mut HeaderMap, key: Option<&str>) -> Result<(), ModelError> {
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
        if let Some(key) = key {
            if self.azure_api_version.is_some() {
                let value = secret_value(PROVIDER, "", key)?;
                headers.insert(HeaderName::from_static("api-key"), value);
            } else {
                headers.insert(AUTHORIZATION, secret_value(PROVIDER, "Bearer ", key)?);
            }
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
        let options = BodyOptions { schema_supported, reasoning: self.reasoning, stream };
        request_body(model, request, options)
    }

    fn parse(&self, body: &[u8]) -> Result<Completion, ModelError> {
        parse_response(body)
    }

    fn classify(&self, _model: &str, status: u16, headers: &HeaderMap, body: &[u8]) -> ModelError {
        classify_error(status, headers, body)
    }

    fn decoder(&self) -> ChunkDecoder {
        ChunkDecoder::default()
    }
}

impl HttpModel<OpenAiDialect> {
    /// A model sending to `{base_url}/chat/completions` through `transport` (a
    /// query string in `base_url` stays after the path: see [`url::join`]).
    pub fn new(transport: Transport, settings: OpenAiSettings) -> Self {
        let OpenAiSettings { base_url, model, api_key } = settings;
        Self::with_dialect(transport, OpenAiDialect::default(), base_url, model, api_key)
    }

    /// Treat the model as a reasoning model (o1, o3, o4-mini, gpt-5…): send
    /// `max_completion_tokens` instead of `max_tokens` and no `temperature`, which such
    /// models reject. Default: off.
    pub fn with_reasoning(self, reasoning: bool) -> Self {
        self.map_dialect(|d| d.reasoning = reasoning)
    }

    /// Speak Azure OpenAI: requests go to
    /// `{base_url}/chat/completions?api-version={version}` (the base URL is the
    /// deployment, e.g. `https://NAME.openai.azure.com/openai/deployments/DEPLOYMENT`)
    /// and the key goes in an `api-key` header instead of `Authorization: Bearer`.
    /// Default: none (plain OpenAI).
    pub fn with_azure_api_version(self, version: impl Into<String>) -> Self {
        let version = version.into();
        self.map_dialect(|d| d.azure_api_version = Some(version))
    }

    /// Send `OpenAI-Organization: {id}` with every request. Default: none.
    pub fn with_organization(self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.map_dialect(|d| d.organization = Some(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LanguageModel;
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
        let reasoning = provider("http://h/v1", None).with_reasoning(true);
        let sent = |body: Vec<u8>| serde_json::from_slice::<serde_json::Value>(&body).unwrap();
        let body = sent(reasoning.body(&req, true, false));
        assert_eq!(body["max_completion_tokens"], 9);
        assert!(body.get("temperature").is_none());
        let streamed = sent(reasoning.body(&req, true, true));
        assert_eq!(streamed["max_completion_tokens"], 9);
        assert_eq!(streamed["stream"], true);
        let body = sent(provider("http://h/v1", None).body(&req, true, false));
        assert_eq!(body["max_tokens"], 9);
        assert!(body.get("stream").is_none());
    }

    #[test]
    fn names_provider_and_model() {
        let p = provider("http://h/v1", None);
        assert_eq!(p.provider(), "openai");
        assert_eq!(p.model(), "gpt-4o-mini");
        assert!(p.schema_supported());
    }
}
