//! The Google Gemini dialect (`generateContent`, `streamGenerateContent?alt=sse`).
//!
//! Shaped like [`crate::model::openai`]: [`request_body`] and [`parse_response`]
//! translate (pure, tested on recorded JSON), [`classify_error`] types failures
//! (including Google's `RetryInfo` delay), [`ChunkDecoder`] reads the event stream, and
//! [`GeminiDialect`] ties them together for [`HttpModel`], which does the I/O. The base
//! URL includes the API version, as in Google's SDKs
//! (`https://generativelanguage.googleapis.com/v1beta`); the key goes in the
//! `x-goog-api-key` header, never in the URL. Structured output uses `responseSchema`
//! ([`openapi_schema`] translates the JSON schema); once the server rejects a schema,
//! later schema requests put it in the system instruction.

mod errors;
mod schema;
mod stream;
mod wire;

pub use errors::{classify_error, classify_value};
pub use schema::openapi_schema;
pub use stream::ChunkDecoder;
pub use wire::{parse_response, request_body};

use super::headers::secret_value;
use super::http::{Dialect, Endpoints, HttpModel, json_bytes};
use super::stream::Framing;
use super::transport::Transport;
use super::{Completion, ModelError, Request};
use reqwest::header::{HeaderMap, HeaderName};
use secrecy::SecretString;

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
pub type Gemini = HttpModel<GeminiDialect>;

/// The `generateContent` dialect.
#[derive(Debug, Clone, Copy, Default)]
pub struct GeminiDialect;

impl Dialect for GeminiDialect {
    type Decoder = ChunkDecoder;
    const PROVIDER: &'static str = PROVIDER;
    const FRAMING: Framing = Framing::Sse;
    const SCHEMA_FALLBACK: Option<&'static str> =
        Some("later schema requests carry it in the system instruction");

    /// `{base_url}/models/{model}:generateContent` and
    /// `:streamGenerateContent?alt=sse`; a model with a `/` is a full resource name.
    fn endpoints(&self, base_url: &str, model: &str) -> Endpoints {
        let resource =
            if model.contains('/') { model.to_owned() } else { format!("models/{model}") };
        let join = super::url::join;
        Endpoints {
            complete: join(base_url, &format!("/{resource}:generateContent"), None),
            stream: join(base_url, &format!("/{resource}:streamGenerateContent"), Some("alt=sse")),
        }
    }

    fn headers(&self, headers: &mut HeaderMap, key: Option<&str>) -> Result<(), ModelError> {
        if let Some(key) = key {
            headers.insert(
                HeaderName::from_static("x-goog-api-key"),
                secret_value(PROVIDER, "", key)?,
            );
        }
        Ok(())
    }

    /// The same body whole or streamed: the endpoint says which.
    fn body(
        &self,
        _model: &str,
        request: &Request,
        schema_supported: bool,
        _stream: bool,
    ) -> Vec<u8> {
        json_bytes(&request_body(request, schema_supported), request)
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

impl HttpModel<GeminiDialect> {
    /// A model sending to `{base_url}/models/{model}:generateContent` (and
    /// `:streamGenerateContent?alt=sse`) through `transport`.
    pub fn new(transport: Transport, settings: GeminiSettings) -> Self {
        let GeminiSettings { base_url, model, api_key } = settings;
        Self::with_dialect(transport, GeminiDialect, base_url, model, api_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LanguageModel;
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
            format: crate::model::ResponseFormat::JsonSchema {
                name: "v".into(),
                schema: serde_json::json!({}).into(),
            },
            ..Request::default()
        };
        let rejected =
            || ModelError::new(crate::model::ModelErrorKind::UnsupportedFormat, PROVIDER, "no");
        p.fail(rejected(), &Request::default(), true);
        assert!(p.supports_json_schema());
        p.fail(rejected(), &req, true);
        assert!(!p.supports_json_schema());
    }
}
