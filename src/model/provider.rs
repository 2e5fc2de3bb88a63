//! Building the configured provider: the one place that maps a provider name (from
//! [`crate::config::KNOWN_PROVIDERS`]) to code. The provider is always named in config,
//! never guessed from a model name or from which API keys happen to be set.

use super::LanguageModel;
use super::anthropic::{Anthropic, AnthropicSettings};
use super::gemini::{Gemini, GeminiSettings};
use super::headers::custom_headers;
use super::ollama::{Ollama, OllamaSettings};
use super::openai::{OpenAi, OpenAiSettings};
use super::transport::{Transport, TransportSettings};
use crate::Error;
use crate::config::{KNOWN_PROVIDERS, ProviderConfig};
use std::sync::Arc;

/// The HTTP transport `config`'s timeouts describe. Build it once and share it: every
/// model built on it reuses its connections.
pub fn transport(config: &ProviderConfig) -> Result<Transport, Error> {
    Transport::new(TransportSettings {
        connect_timeout: config.connect_timeout,
        request_timeout: config.timeout,
    })
}

/// The model `config` names, over the shared `transport`, with its custom headers,
/// stream idle timeout and (for openai) dialect options applied.
pub fn build(
    config: &ProviderConfig,
    transport: &Transport,
) -> Result<Arc<dyn LanguageModel>, Error> {
    let headers = custom_headers(&config.headers).map_err(|reason| Error::Provider {
        provider: config.name.clone(),
        reason: format!("provider.headers: {reason}"),
    })?;
    let (base_url, model, api_key) =
        (config.base_url.clone(), config.model.clone(), config.api_key.clone());
    let idle = config.stream_idle_timeout;
    let model: Arc<dyn LanguageModel> = match config.name.as_str() {
        "openai" => {
            let mut openai =
                OpenAi::new(transport.clone(), OpenAiSettings { base_url, model, api_key })
                    .with_idle_timeout(idle)
                    .with_headers(headers)
                    .with_reasoning(config.reasoning);
            if let Some(version) = &config.azure_api_version {
                openai = openai.with_azure_api_version(version);
            }
            if let Some(org) = &config.organization {
                openai = openai.with_organization(org);
            }
            Arc::new(openai)
        }
        "anthropic" => Arc::new(
            Anthropic::new(transport.clone(), AnthropicSettings { base_url, model, api_key })
                .with_idle_timeout(idle)
                .with_headers(headers),
        ),
        "gemini" => Arc::new(
            Gemini::new(transport.clone(), GeminiSettings { base_url, model, api_key })
                .with_idle_timeout(idle)
                .with_headers(headers),
        ),
        "ollama" => Arc::new(
            Ollama::new(transport.clone(), OllamaSettings { base_url, model, api_key })
                .with_idle_timeout(idle)
                .with_headers(headers),
        ),
        other => {
            return Err(Error::Provider {
                provider: other.to_owned(),
                reason: format!(
                    "unknown provider; known providers: {}",
                    KNOWN_PROVIDERS.join(", ")
                ),
            });
        }
    };
    Ok(model)
}
