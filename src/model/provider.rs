//! Building the configured provider: the one place that maps a provider name (from
//! [`crate::config::KNOWN_PROVIDERS`]) to code. The provider is always named in config,
//! never guessed from a model name or from which API keys happen to be set.

use super::LanguageModel;
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

/// The model `config` names, over the shared `transport`.
pub fn build(
    config: &ProviderConfig,
    transport: &Transport,
) -> Result<Arc<dyn LanguageModel>, Error> {
    match config.name.as_str() {
        "openai" => Ok(Arc::new(OpenAi::new(
            transport.clone(),
            OpenAiSettings {
                base_url: config.base_url.clone(),
                model: config.model.clone(),
                api_key: config.api_key.clone(),
            },
        ))),
        other => Err(Error::Provider {
            provider: other.to_owned(),
            reason: format!("unknown provider; known providers: {}", KNOWN_PROVIDERS.join(", ")),
        }),
    }
}
