//! Building the configured provider: the one place that maps a provider name (from
//! [`crate::config::KNOWN_PROVIDERS`]) to code. The provider is always named in config,
//! never guessed from a model name or from which API keys happen to be set.

use super::LanguageModel;
use super::openai::{OpenAi, OpenAiSettings};
use super::transport::{Transport, TransportSettings};
use crate::Error;
use crate::config::{KNOWN_PROVIDERS, ProviderConfig};
use std::sync::Arc;

/// The model `config` names, over one shared HTTP transport.
pub fn build(config: &ProviderConfig) -> Result<Arc<dyn LanguageModel>, Error> {
    let transport = Transport::new(TransportSettings {
        connect_timeout: config.connect_timeout,
        request_timeout: config.timeout,
    })?;
    match config.name.as_str() {
        "openai" => Ok(Arc::new(OpenAi::new(
            transport,
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
