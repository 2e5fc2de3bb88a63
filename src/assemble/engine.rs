//! Building an engine from a resolved [`Config`]: the provider (wrapped in the response
//! cache when it is on), the critics and validators the configuration resolved when it
//! was loaded (critics bound to their models here; nothing is compiled again), the
//! settings, budgets and price table, and the redacted configuration stored in every
//! thought.

use crate::Error;
use crate::cache::ResponseCache;
use crate::config::{Config, ProviderConfig};
use crate::critic::{Critic, OwnModel};
use crate::engine::{Engine, EngineBuilder};
use crate::model::LanguageModel;
use crate::model::transport::Transport;
use std::sync::Arc;

impl Engine {
    /// The engine `config` describes, talking to the provider it names.
    pub fn from_config(config: &Config) -> Result<Engine, Error> {
        EngineBuilder::for_config(config)?.build()
    }
}

/// Builds the model a [`ProviderConfig`] describes (for critics with a model of their
/// own).
pub type BuildModel<'a> = dyn Fn(&ProviderConfig) -> Result<Arc<dyn LanguageModel>, Error> + 'a;

impl EngineBuilder {
    /// A builder for `config` with its provider built (over one shared transport), so
    /// the caller can adjust it (e.g. [`EngineBuilder::stream`]) before building.
    /// A provider that needs an API key and has none is an error here, before
    /// anything is sent (see [`ProviderConfig::needs_api_key`]).
    pub fn for_config(config: &Config) -> Result<Self, Error> {
        config.provider.require_api_key("provider")?;
        for (i, fallback) in config.fallback.iter().enumerate() {
            fallback.require_api_key(&format!("fallback[{i}]"))?;
        }
        let transport = super::provider::transport(&config.provider)?;
        let cache = ResponseCache::from_config(&config.cache)?;
        // Every model — the run's, and each critic's own — is built the same way (see
        // the order in `assemble`); the run's model has the `[[fallback]]` chain.
        let build = |p: &ProviderConfig| super::critic_model(config, p, &transport, cache.as_ref());
        let model = super::model(config, &transport, cache.as_ref())?;
        Self::from_config_with(config, model, &build)
    }

    /// A builder set up from `config` around `model` (critics, validators, settings,
    /// budget and the run settings); add more before building if you like.
    /// Critics with a model of their own reach it over `transport`.
    pub fn from_config(
        config: &Config,
        model: Arc<dyn LanguageModel>,
        transport: &Transport,
    ) -> Result<Self, Error> {
        Self::from_config_with(config, model, &|p| super::layered(config, p, transport))
    }

    /// Like [`from_config`](Self::from_config), with `build` making the model of each
    /// critic that names a model of its own (so the caller decides how models are
    /// wrapped — with the cache, or not sent at all for a dry run).
    pub fn from_config_with(
        config: &Config,
        model: Arc<dyn LanguageModel>,
        build: &BuildModel<'_>,
    ) -> Result<Self, Error> {
        check_cost_budget(config)?;
        let mut builder = Engine::builder(model)
            .settings(config.settings())
            .prices(config.prices.clone())
            .run_settings(config.run_settings());
        let critic_sampling = config.critics.sampling.sampling();
        for definition in config.critics.definitions.iter() {
            let critic: Arc<dyn Critic> = Arc::new(definition.critic(critic_sampling));
            builder = builder.critic(match &definition.spec().model.name {
                Some(model) => {
                    let provider =
                        ProviderConfig { model: model.clone(), ..config.provider.clone() };
                    Arc::new(OwnModel::new(critic, build(&provider)?))
                }
                None => critic,
            });
        }
        for validator in config.validators.compiled.iter() {
            builder = builder.validator_entry(validator.clone());
        }
        Ok(builder)
    }
}

/// A cost budget is only a limit when the run's model has a price: without one every
/// call costs nothing known and the budget would silently never stop the run.
fn check_cost_budget(config: &Config) -> Result<(), Error> {
    let p = &config.provider;
    if config.budget.max_cost_usd.is_some()
        && config.prices.get(p.kind.as_str(), &p.model).is_none()
    {
        return Err(Error::config(
            "merged configuration",
            Some("budget.max_cost_usd"),
            format!(
                "a cost budget needs a price for the model: add [prices.\"{}\"] (or \
                 [prices.\"{}/{}\"]) with input and output in US dollars per million tokens",
                p.model, p.kind, p.model
            ),
        ));
    }
    Ok(())
}
