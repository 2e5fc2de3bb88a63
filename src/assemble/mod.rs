//! The wiring: configuration becomes objects here, and only here.
//!
//! Everything below this module is built from plain values and knows nothing of
//! configuration files; everything above it (the binary's `cli`, batch jobs)
//! asks this module for a ready [`Engine`](crate::Engine). What lives here:
//!
//! - [`provider`] — a [`ProviderConfig`] becomes a provider (the one place a
//!   [`ProviderKind`](crate::config::ProviderKind) maps to code);
//! - [`model`] and [`critic_model`] — the provider wrapped in the middleware, the
//!   `[[fallback]]` chain and the response cache;
//! - [`engine`] — the whole engine: model, critics by name, validators from their specs,
//!   settings, budgets, prices;
//! - [`resume`] — the engine that made a stored thought, rebuilt from its run settings
//!   and the environment's API keys;
//! - [`store`] — the thought store `[store]` describes, and the observer that saves a
//!   run's thought after every phase;
//! - [`dry_run`] — the same engine with every model replaced by a stand-in, to plan a
//!   run without sending anything.
//!
//! # Order
//!
//! This is the one place the stacking order is built (what each layer does and why
//! the order is what it is: [`crate::middleware`]). Outermost first:
//!
//! ```text
//! cache                 the response cache, when [cache] is on
//!  └ fallback           the primary, then each [[fallback]] model, in order
//!     └ retry           ┐
//!        └ concurrency  │ per model: middleware::wrap
//!           └ rate limit│
//!              └ timeout┘
//!                 └ provider
//! ```

pub mod dry_run;
pub mod engine;
pub mod provider;
pub mod resume;
pub mod store;

use crate::Error;
use crate::cache::ResponseCache;
use crate::config::{Config, ProviderConfig};
use crate::middleware::cache::Cached;
use crate::middleware::{Endpoint, Fallback, Layers, Registry, wrap};
use crate::model::LanguageModel;
use crate::model::transport::Transport;
use std::sync::Arc;

/// The run's model as `config` describes it: the primary provider and each
/// `[[fallback]]`, each wrapped in its per-model layers, the fallback chain over them,
/// and `cache` on top. Fallbacks with the primary's timeouts share `transport`.
pub fn model(
    config: &Config,
    transport: &Transport,
    cache: Option<&Arc<ResponseCache>>,
) -> Result<Arc<dyn LanguageModel>, Error> {
    Ok(cached(&config.provider, uncached(config, transport)?, cache))
}

/// A critic's own model (`provider`, e.g. the run's provider with another model name):
/// its per-model layers and `cache`, no fallback.
pub fn critic_model(
    config: &Config,
    provider: &ProviderConfig,
    transport: &Transport,
    cache: Option<&Arc<ResponseCache>>,
) -> Result<Arc<dyn LanguageModel>, Error> {
    Ok(cached(provider, layered(config, provider, transport)?, cache))
}

/// [`model`] without the cache.
pub fn uncached(config: &Config, transport: &Transport) -> Result<Arc<dyn LanguageModel>, Error> {
    let primary = layered(config, &config.provider, transport)?;
    if config.fallback.is_empty() {
        return Ok(primary);
    }
    let mut fallbacks = Vec::with_capacity(config.fallback.len());
    for p in &config.fallback {
        let model = if same_timeouts(p, &config.provider) {
            layered(config, p, transport)?
        } else {
            layered(config, p, &provider::transport(p)?)?
        };
        fallbacks.push(model);
    }
    Ok(Arc::new(Fallback::new(primary, fallbacks)))
}

/// One provider wrapped in the per-model layers `config` asks for, sharing limiters
/// process-wide through [`Registry::global`].
pub fn layered(
    config: &Config,
    provider: &ProviderConfig,
    transport: &Transport,
) -> Result<Arc<dyn LanguageModel>, Error> {
    let model = provider::build(provider, &config.local, transport)?;
    Ok(wrap(model, &endpoint(provider), &layers(config, provider), Registry::global()))
}

/// `model` under `cache`, when there is one; the provider's base URL is part of every
/// key, so two servers that serve different models under one name never share answers.
fn cached(
    provider: &ProviderConfig,
    model: Arc<dyn LanguageModel>,
    cache: Option<&Arc<ResponseCache>>,
) -> Arc<dyn LanguageModel> {
    match cache {
        Some(cache) => Arc::new(Cached::new(model, Arc::clone(cache)).endpoint(&provider.base_url)),
        None => model,
    }
}

/// The layers `config` asks for around `provider`.
pub fn layers(config: &Config, provider: &ProviderConfig) -> Layers {
    Layers {
        retry: config.retry,
        rate_limit: config.rate_limit,
        concurrency: config.concurrency,
        timeout: provider.timeout,
    }
}

/// The endpoint `provider` sends to: what the process-wide limiters are shared by.
pub fn endpoint(provider: &ProviderConfig) -> Endpoint {
    Endpoint {
        provider: provider.kind.as_str().to_owned(),
        base_url: provider.base_url.clone(),
        model: provider.model.clone(),
        account: provider.api_key_env.clone(),
    }
}

fn same_timeouts(a: &ProviderConfig, b: &ProviderConfig) -> bool {
    a.timeout == b.timeout && a.connect_timeout == b.connect_timeout
}
