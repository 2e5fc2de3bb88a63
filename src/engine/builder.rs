//! [`EngineBuilder`]: assemble an engine from a model, critics, validators and settings.

use super::{AcceptWhen, Budget, Engine, Inner, Prices, Settings};
use crate::Error;
use crate::critic::Critic;
use crate::model::{LanguageModel, Sampling};
use crate::thought::settings::{CriticSettings, ProviderSettings, RunSettings, ValidatorSettings};
use crate::validator::Validator;
use std::sync::Arc;
use std::time::Duration;

/// A validator and whether it is hard (must pass to accept) or soft (advice only):
/// what [`crate::validator::build`] makes, under the name the engine gives it.
pub use crate::validator::Configured as ValidatorEntry;

/// Builds an [`Engine`]. Every setter's doc states its default.
pub struct EngineBuilder {
    model: Arc<dyn LanguageModel>,
    critics: Vec<Arc<dyn Critic>>,
    validators: Vec<ValidatorEntry>,
    settings: Settings,
    prices: Prices,
    described: Option<RunSettings>,
}

impl EngineBuilder {
    /// A builder around `model`, with no critics, no validators and default settings.
    pub fn new(model: Arc<dyn LanguageModel>) -> Self {
        Self {
            model,
            critics: Vec::new(),
            validators: Vec::new(),
            settings: Settings::default(),
            prices: Prices::default(),
            described: None,
        }
    }

    /// Add a critic. Default: none.
    pub fn critic(mut self, critic: Arc<dyn Critic>) -> Self {
        self.critics.push(critic);
        self
    }

    /// Add a hard validator (must pass to accept). Default: none.
    pub fn validator(mut self, validator: impl Validator + 'static) -> Self {
        self.validators.push(ValidatorEntry { validator: Arc::new(validator), hard: true });
        self
    }

    /// Add a soft validator (advice for the reviser only). Default: none.
    pub fn soft_validator(mut self, validator: impl Validator + 'static) -> Self {
        self.validators.push(ValidatorEntry { validator: Arc::new(validator), hard: false });
        self
    }

    /// Add a validator entry. Default: none.
    pub fn validator_entry(mut self, entry: ValidatorEntry) -> Self {
        self.validators.push(entry);
        self
    }

    /// Replace all settings at once. Default: [`Settings::default`].
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = settings;
        self
    }

    /// How many drafts are evaluated at most. Default: 3. Must be at least 1.
    pub fn max_iterations(mut self, n: usize) -> Self {
        self.settings.max_iterations = n;
        self
    }

    /// How critics' verdicts combine. Default: [`AcceptWhen::AllSatisfied`].
    pub fn accept_when(mut self, rule: AcceptWhen) -> Self {
        self.settings.accept_when = rule;
        self
    }

    /// Confidence at or above which "needs improvement" counts. Default: 0.5; 0..=1.
    pub fn confidence_floor(mut self, floor: f64) -> Self {
        self.settings.confidence_floor = floor;
        self
    }

    /// How long one critic may take. Default: 60 s.
    pub fn critic_timeout(mut self, timeout: Duration) -> Self {
        self.settings.critic_timeout = timeout;
        self
    }

    /// Skip critics in an iteration whose hard validators failed. Default: false.
    pub fn skip_critique_on_hard_failure(mut self, skip: bool) -> Self {
        self.settings.skip_critique_on_hard_failure = skip;
        self
    }

    /// Sampling for drafts and revisions. Default: temperature 0.7, 1024 tokens.
    pub fn generation(mut self, sampling: Sampling) -> Self {
        self.settings.generation = sampling;
        self
    }

    /// Spending limits. Default: unlimited.
    pub fn budget(mut self, budget: Budget) -> Self {
        self.settings.budget = budget;
        self
    }

    /// Stream drafts and revisions as [`Event::Delta`](super::Event::Delta) events.
    /// Default: false.
    pub fn stream(mut self, stream: bool) -> Self {
        self.settings.stream = stream;
        self
    }

    /// The price table that gives every call its `cost_usd` (and the cost budget its
    /// meaning). Default: empty, so no call has a known cost.
    pub fn prices(mut self, prices: Prices) -> Self {
        self.prices = prices;
        self
    }

    /// What every thought records of the engine — its provider, critics and
    /// validators as configured (the loop settings are always the builder's). Default:
    /// what the builder knows — the model's provider and name, and the critics and
    /// validators by name.
    pub fn run_settings(mut self, settings: RunSettings) -> Self {
        self.described = Some(settings);
        self
    }

    /// Check the settings and build the engine.
    pub fn build(mut self) -> Result<Engine, Error> {
        let s = &self.settings;
        if s.max_iterations == 0 {
            return Err(Error::config(
                "engine builder",
                Some("max_iterations"),
                "must be at least 1",
            ));
        }
        if let Some(max) = s.budget.max_cost_usd
            && !(max.is_finite() && max > 0.0)
        {
            return Err(Error::config(
                "engine builder",
                Some("budget.max_cost_usd"),
                format!("must be a positive number of dollars, got {max}"),
            ));
        }
        if !(0.0..=1.0).contains(&s.confidence_floor) {
            return Err(Error::config(
                "engine builder",
                Some("confidence_floor"),
                format!("must be between 0 and 1, got {}", s.confidence_floor),
            ));
        }
        let known = self.known();
        let mut described = self.described.take().unwrap_or_else(|| known.clone());
        described.engine = self.settings.clone();
        // Only the built objects know their versions and names.
        for c in &mut described.critics {
            if let Some(k) = known.critics.iter().find(|k| k.name == c.name) {
                c.version = k.version;
            }
        }
        if described.validators.len() == known.validators.len() {
            for (v, k) in described.validators.iter_mut().zip(&known.validators) {
                v.name.clone_from(&k.name);
                v.hard = k.hard;
            }
        }
        // Cheapest first: CPU validators always run, model-backed ones short-circuit.
        self.validators.sort_by_key(|v| v.validator.cost());
        Ok(Engine {
            inner: Arc::new(Inner {
                model: self.model,
                critics: self.critics,
                validators: self.validators,
                settings: self.settings,
                prices: self.prices,
                described,
            }),
        })
    }
}

impl EngineBuilder {
    /// The run settings the builder's parts tell of themselves.
    fn known(&self) -> RunSettings {
        RunSettings {
            provider: ProviderSettings {
                kind: self.model.provider().to_owned(),
                model: self.model.model().to_owned(),
                ..ProviderSettings::default()
            },
            critics: self
                .critics
                .iter()
                .map(|c| CriticSettings {
                    name: c.name().to_owned(),
                    version: c.version(),
                    ..CriticSettings::default()
                })
                .collect(),
            validators: self
                .validators
                .iter()
                .map(|v| ValidatorSettings {
                    name: v.validator.name().to_owned(),
                    hard: v.hard,
                    spec: None,
                })
                .collect(),
            ..RunSettings::default()
        }
    }
}
