//! Run settings both ways: what a [`Config`] records in every thought
//! ([`Config::run_settings`]), and a stored thought's settings as a configuration layer
//! ([`LoadOptions::stored`](super::LoadOptions::stored)), so the engine that made the
//! thought can be rebuilt from it and the environment's API keys.

use super::Config;
use super::layer::Layer;
use crate::Error;
use crate::thought::settings::{
    Budget, CriticSettings, ProviderSettings, RunSettings, Settings, ValidatorSettings,
};
use std::time::Duration;
use toml::{Table, Value};

impl Config {
    /// The loop settings: iteration cap, acceptance rule, confidence floor, critic
    /// timeout, sampling and budget (not streaming, which is the caller's choice).
    pub fn settings(&self) -> Settings {
        let engine = &self.engine;
        Settings {
            max_iterations: engine.max_iterations,
            accept_when: engine.accept_when,
            confidence_floor: engine.confidence_floor,
            critic_timeout: engine.critic_timeout,
            skip_critique_on_hard_failure: engine.skip_critique_on_hard_failure,
            generation: self.generation.sampling(),
            budget: Budget {
                max_tokens: self.budget.max_tokens,
                max_cost_usd: self.budget.max_cost_usd,
                deadline: self.budget.deadline,
            },
            stream: false,
        }
    }

    /// What a thought made under this configuration records of it, with no secret in
    /// it. The engine builder adds what only the built objects know (each critic's
    /// version, each validator's name).
    pub fn run_settings(&self) -> RunSettings {
        let provider = |p: &super::ProviderConfig| ProviderSettings {
            kind: p.kind.as_str().to_owned(),
            model: p.model.clone(),
            base_url: (!p.base_url.is_empty()).then(|| crate::model::url::redacted(&p.base_url)),
            api_key_env: (!p.api_key_env.is_empty()).then(|| p.api_key_env.clone()),
        };
        RunSettings {
            provider: provider(&self.provider),
            fallback: self.fallback.iter().map(provider).collect(),
            preset: self.preset.clone(),
            critics: self
                .critics
                .enabled
                .iter()
                .map(|name| {
                    let definition = self.critics.definitions.iter().find(|d| d.name() == name);
                    CriticSettings {
                        name: name.clone(),
                        version: definition.map_or(1, |d| d.spec().version),
                        model: definition.and_then(|d| d.spec().model.name.clone()),
                        vars: self.critics.vars.get(name).cloned().unwrap_or_default(),
                    }
                })
                .collect(),
            critic_sampling: Some(self.critics.sampling.sampling()),
            critic_dirs: self.critics.dirs.clone(),
            validators: self
                .validators
                .enabled
                .iter()
                .map(|entry| ValidatorSettings {
                    name: String::new(),
                    hard: entry.hard,
                    spec: serde_json::to_value(entry).ok(),
                })
                .collect(),
            validator_dirs: self.validators.dirs.clone(),
            engine: self.settings(),
            deadline_at_ms: None,
        }
    }
}

/// The layer that sets every key `settings` records, named `name` in errors. A base
/// URL whose credentials were redacted is left to the other layers (the redacted form
/// cannot be sent); so is a validator with no spec (one built by hand), which is an
/// error.
pub(crate) fn layer(name: &str, settings: &RunSettings) -> Result<Layer, Error> {
    let mut root = Table::new();
    if let Some(preset) = &settings.preset {
        root.insert("preset".into(), preset.clone().into());
    }
    root.insert("provider".into(), provider(&settings.provider).into());
    if !settings.fallback.is_empty() {
        let chain = settings.fallback.iter().map(|p| Value::Table(provider(p))).collect();
        root.insert("fallback".into(), Value::Array(chain));
    }
    let s = &settings.engine;
    let mut generation = Table::new();
    sampling(&mut generation, s.generation);
    root.insert("generation".into(), generation.into());
    let mut engine = Table::new();
    engine.insert("max_iterations".into(), int(s.max_iterations as u64));
    engine.insert("accept_when".into(), s.accept_when.as_str().into());
    engine.insert("confidence_floor".into(), s.confidence_floor.into());
    engine.insert("critic_timeout_secs".into(), int(whole_secs(s.critic_timeout)));
    engine.insert("skip_critique_on_hard_failure".into(), s.skip_critique_on_hard_failure.into());
    root.insert("engine".into(), engine.into());

    let mut critics = Table::new();
    let names = settings.critics.iter().map(|c| Value::from(c.name.clone())).collect();
    critics.insert("enabled".into(), Value::Array(names));
    critics.insert("dirs".into(), paths(&settings.critic_dirs));
    if let Some(critic_sampling) = settings.critic_sampling {
        sampling(&mut critics, critic_sampling);
    }
    let mut vars = Table::new();
    for c in settings.critics.iter().filter(|c| !c.vars.is_empty()) {
        let json = serde_json::Value::Object(c.vars.clone());
        vars.insert(c.name.clone(), to_toml(name, &format!("critics.vars.{}", c.name), &json)?);
    }
    critics.insert("vars".into(), vars.into());
    root.insert("critics".into(), critics.into());

    let mut validators = Table::new();
    let mut specs = Vec::with_capacity(settings.validators.len());
    for (i, v) in settings.validators.iter().enumerate() {
        let key = format!("validators.enabled[{i}]");
        let Some(spec) = &v.spec else {
            let reason = format!("validator {:?} has no spec (it was built in code)", v.name);
            return Err(Error::config(name, Some(&key), reason));
        };
        specs.push(to_toml(name, &key, spec)?);
    }
    validators.insert("enabled".into(), Value::Array(specs));
    validators.insert("dirs".into(), paths(&settings.validator_dirs));
    root.insert("validators".into(), validators.into());

    let b = &s.budget;
    let mut budget = Table::new();
    budget.insert("max_tokens".into(), int(b.max_tokens.unwrap_or(0)));
    budget.insert("max_cost_usd".into(), b.max_cost_usd.unwrap_or(0.0).into());
    budget.insert("deadline_secs".into(), int(b.deadline.map_or(0, whole_secs)));
    root.insert("budget".into(), budget.into());
    Layer::from_table(name, root)
}

fn provider(p: &ProviderSettings) -> Table {
    let mut t = Table::new();
    t.insert("name".into(), p.kind.clone().into());
    t.insert("model".into(), p.model.clone().into());
    if let Some(url) = p.base_url.as_ref().filter(|u| !u.contains(crate::model::url::REDACTED)) {
        t.insert("base_url".into(), url.clone().into());
    }
    if let Some(env) = &p.api_key_env {
        t.insert("api_key_env".into(), env.clone().into());
    }
    t
}

fn sampling(t: &mut Table, s: crate::thought::message::Sampling) {
    if let Some(temperature) = s.temperature {
        t.insert("temperature".into(), f64::from(temperature).into());
    }
    if let Some(max_tokens) = s.max_tokens {
        t.insert("max_tokens".into(), int(u64::from(max_tokens)));
    }
}

fn paths(dirs: &[std::path::PathBuf]) -> Value {
    Value::Array(dirs.iter().map(|d| Value::from(d.display().to_string())).collect())
}

fn int(n: u64) -> Value {
    Value::Integer(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Whole seconds, rounded up: config keys hold seconds, a hand-built engine may not.
fn whole_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn to_toml(name: &str, key: &str, json: &serde_json::Value) -> Result<Value, Error> {
    Value::try_from(json).map_err(|e| Error::config(name, Some(key), e.to_string()))
}
