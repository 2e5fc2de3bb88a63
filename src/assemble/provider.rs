//! Building the configured provider: the one place that maps a [`ProviderKind`] to
//! code. The provider is always named in config,
//! never guessed from a model name or from which API keys happen to be set.
//!
//! `local` (the in-process model, the built-in default) needs the `local` cargo
//! feature; a build without it answers a local request with how to get it.

use crate::Error;
use crate::config::{LocalConfig, ProviderConfig, ProviderKind};
use crate::model::LanguageModel;
use crate::model::anthropic::{Anthropic, AnthropicSettings};
use crate::model::gemini::{Gemini, GeminiSettings};
use crate::model::headers::custom_headers;
use crate::model::local;
use crate::model::ollama::{Ollama, OllamaSettings};
use crate::model::openai::{OpenAi, OpenAiSettings};
use crate::model::transport::{Transport, TransportSettings};
use std::sync::Arc;

/// The HTTP transport `config`'s timeouts describe. Build it once and share it: every
/// model built on it reuses its connections.
pub fn transport(config: &ProviderConfig) -> Result<Transport, Error> {
    Transport::new(TransportSettings {
        connect_timeout: config.connect_timeout,
        request_timeout: config.timeout,
    })
}

/// The model `config` names: over the shared `transport` with its custom headers,
/// stream idle timeout and (for openai) dialect options applied, or in this process
/// with the `local` settings.
pub fn build(
    config: &ProviderConfig,
    local: &LocalConfig,
    transport: &Transport,
) -> Result<Arc<dyn LanguageModel>, Error> {
    let headers = custom_headers(&config.headers).map_err(|reason| Error::Provider {
        provider: config.kind.as_str().to_owned(),
        reason: format!("provider.headers: {reason}"),
    })?;
    let (base_url, model, api_key) =
        (config.base_url.clone(), config.model.clone(), config.api_key.clone());
    let idle = config.stream_idle_timeout;
    let model: Arc<dyn LanguageModel> = match config.kind {
        ProviderKind::Local => build_local(local)?,
        ProviderKind::OpenAi => {
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
        ProviderKind::Anthropic => Arc::new(
            Anthropic::new(transport.clone(), AnthropicSettings { base_url, model, api_key })
                .with_idle_timeout(idle)
                .with_headers(headers),
        ),
        ProviderKind::Gemini => Arc::new(
            Gemini::new(transport.clone(), GeminiSettings { base_url, model, api_key })
                .with_idle_timeout(idle)
                .with_headers(headers),
        ),
        ProviderKind::Ollama => Arc::new(
            Ollama::new(transport.clone(), OllamaSettings { base_url, model, api_key })
                .with_idle_timeout(idle)
                .with_headers(headers),
        ),
    };
    Ok(model)
}

/// The in-process local model.
#[cfg(feature = "local")]
fn build_local(local: &LocalConfig) -> Result<Arc<dyn LanguageModel>, Error> {
    use local::{LocalModel, LocalSettings};
    Ok(Arc::new(LocalModel::load(LocalSettings {
        model_path: local.model_file()?,
        threads: local.threads,
        context_size: local.context_size,
        max_tokens: local.max_tokens,
        seed: local.seed,
    })?))
}

/// Without the `local` feature: say how to get it, or what to use instead.
#[cfg(not(feature = "local"))]
fn build_local(_local: &LocalConfig) -> Result<Arc<dyn LanguageModel>, Error> {
    Err(Error::Provider { provider: local::PROVIDER.to_owned(), reason: LOCAL_MISSING.to_owned() })
}

/// What a build without the `local` feature says when asked for the local model.
#[cfg(not(feature = "local"))]
const LOCAL_MISSING: &str = "this redraft was built without the in-process local model. \
Rebuild it with `cargo build --release --features local` (needs cmake, clang and \
libclang-dev), or pick another provider, e.g. `--provider openai` with OPENAI_API_KEY set, \
or `--provider openai --base-url http://127.0.0.1:8080/v1` for a local OpenAI-compatible server";

#[cfg(all(test, not(feature = "local")))]
mod tests {
    use super::*;
    use crate::config::{Config, LoadOptions};

    #[test]
    fn without_the_feature_local_says_how_to_get_it() {
        let config = Config::load_with(&LoadOptions {
            env_vars: Some(vec![]),
            workdir: Some(std::env::temp_dir().join("redraft-provider-no-such-dir")),
            ..LoadOptions::default()
        })
        .unwrap();
        let t = transport(&config.provider).unwrap();
        let Err(err) = build(&config.provider, &config.local, &t) else {
            panic!("a build without the local feature cannot build the local provider");
        };
        let err = err.to_string();
        assert!(err.contains("--features local") && err.contains("--provider openai"), "{err}");
    }
}
