//! Building an engine from a resolved [`Config`]: the provider, the critics by name from
//! the critic registry, the validators from their specs, the settings and budgets, and
//! the redacted configuration stored in every thought.

use super::{Budget, Engine, EngineBuilder, Settings, ValidatorEntry};
use crate::Error;
use crate::config::{Config, ProviderConfig};
use crate::critic::{OwnModel, Registry};
use crate::model::transport::Transport;
use crate::model::{LanguageModel, provider};
use crate::validator::{Presets, SpecItem, build_items};
use std::sync::Arc;

impl Engine {
    /// The engine `config` describes, talking to the provider it names.
    pub fn from_config(config: &Config) -> Result<Engine, Error> {
        let transport = provider::transport(&config.provider)?;
        let model = provider::build(&config.provider, &config.local, &transport)?;
        EngineBuilder::from_config(config, model, &transport)?.build()
    }
}

impl EngineBuilder {
    /// A builder set up from `config` around `model` (critics, validators, settings,
    /// budget and the redacted config snapshot); add more before building if you like.
    /// Critics with a model of their own reach it over `transport`.
    pub fn from_config(
        config: &Config,
        model: Arc<dyn LanguageModel>,
        transport: &Transport,
    ) -> Result<Self, Error> {
        let registry = Registry::with_dirs(&config.critics.dirs)?;
        let presets = Presets::load_dirs(&config.validators.dirs)?;
        let engine = &config.engine;
        let settings = Settings {
            max_iterations: engine.max_iterations,
            accept_when: engine.accept_when,
            confidence_floor: engine.confidence_floor,
            critic_timeout: engine.critic_timeout,
            skip_critique_on_hard_failure: engine.skip_critique_on_hard_failure,
            generation: config.generation.sampling(),
            budget: Budget {
                max_tokens: config.budget.max_tokens,
                deadline: config.budget.deadline,
            },
        };
        let mut builder =
            Engine::builder(model).settings(settings).config_snapshot(config.redacted());
        let critic_sampling = config.critics.sampling.sampling();
        for name in &config.critics.enabled {
            let vars = config.critics.vars.get(name);
            let critic = registry.build(name, vars, critic_sampling)?;
            let own_model = registry.get(name).and_then(|spec| spec.model.name.clone());
            builder = builder.critic(match own_model {
                Some(model) => {
                    let provider = ProviderConfig { model, ..config.provider.clone() };
                    Arc::new(OwnModel::new(
                        critic,
                        provider::build(&provider, &config.local, transport)?,
                    ))
                }
                None => critic,
            });
        }
        let items = config
            .validators
            .enabled
            .iter()
            .map(|v| {
                serde_json::from_value::<SpecItem>(v.clone()).map_err(|e| Error::InvalidValidator {
                    spec: v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for v in build_items(&items, &presets)? {
            builder =
                builder.validator_entry(ValidatorEntry { validator: v.validator, hard: v.hard });
        }
        Ok(builder)
    }
}
