//! Stage two: the resolved, validated configuration types, and [`resolve`], which
//! builds them once from the merged raw layers.
//!
//! Everything here has its proper type — [`Duration`]s, `Option<u64>` for "unlimited",
//! [`PathBuf`]s, the API key as a [`SecretString`] — so the rest of redraft never
//! re-parses or re-checks a config value.

use super::cache::{self, CacheConfig};
use super::prices;
use super::raw::RawConfig;
use crate::Error;
use crate::engine::Prices;
use crate::model::Sampling;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// The provider names `provider.name` accepts. A new provider adds its name here.
pub const KNOWN_PROVIDERS: &[&str] = &["openai"];

/// Where the model is served.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// The provider, one of [`KNOWN_PROVIDERS`].
    pub name: String,
    /// The API root including the version path; requests go to
    /// `{base_url}/chat/completions`.
    pub base_url: String,
    /// The model name sent with every request.
    pub model: String,
    /// The name of the environment variable the key was read from.
    pub api_key_env: String,
    /// The API key, if that variable was set and not empty. Never shown by `Debug`.
    pub api_key: Option<SecretString>,
    /// How long a whole request may take.
    pub timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
}

/// Sampling for drafts and revisions (`[generation]`), or for critics (in
/// [`CriticsConfig`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerationConfig {
    /// Temperature, 0 to 2.
    pub temperature: f64,
    /// Most tokens per completion, at least 1.
    pub max_tokens: u32,
}

impl GenerationConfig {
    /// These settings as the sampling parameters of a model request.
    pub fn sampling(&self) -> Sampling {
        Sampling { temperature: Some(self.temperature as f32), max_tokens: Some(self.max_tokens) }
    }
}

pub use crate::engine::AcceptWhen;

/// How the loop runs (`[engine]`).
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// How many drafts are evaluated at most (at least 1).
    pub max_iterations: usize,
    /// When the critics accept a draft.
    pub accept_when: AcceptWhen,
    /// A "needs improvement" verdict counts only at or above this confidence (0 to 1).
    pub confidence_floor: f64,
    /// How long one critic may take.
    pub critic_timeout: Duration,
    /// Skip critique in an iteration whose hard validators failed.
    pub skip_critique_on_hard_failure: bool,
}

/// Which critics run and how (`[critics]`).
#[derive(Debug, Clone, PartialEq)]
pub struct CriticsConfig {
    /// Critic names, in order; checked against the critic registry by the engine.
    pub enabled: Vec<String>,
    /// Extra directories of critic TOML files (relative ones already resolved against
    /// the directory of the config file that named them).
    pub dirs: Vec<PathBuf>,
    /// Sampling for critic calls.
    pub sampling: GenerationConfig,
    /// Per-critic template variables: critic name → variables.
    pub vars: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

/// Which validators run (`[validators]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatorsConfig {
    /// Validator specs as written (strings or tables), parsed by the validator module.
    pub enabled: Vec<serde_json::Value>,
    /// Extra directories of validator preset files (relative ones resolved like
    /// [`CriticsConfig::dirs`]).
    pub dirs: Vec<PathBuf>,
}

/// Limits per run (`[budget]`); `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// Most tokens (prompt + completion, all calls) one run may use.
    pub max_tokens: Option<u64>,
    /// Most US dollars one run may spend, priced by [`Config::prices`].
    pub max_cost_usd: Option<f64>,
    /// Most wall-clock time one run may take.
    pub deadline: Option<Duration>,
}

/// The resolved configuration: every layer merged, every value checked and typed.
/// Built once by [`Config::load`] or [`Config::load_with`].
///
/// `Debug` never shows the API key; [`Config::redacted`] is the form to print or store.
#[derive(Debug, Clone)]
pub struct Config {
    /// The model provider.
    pub provider: ProviderConfig,
    /// Sampling for drafts and revisions.
    pub generation: GenerationConfig,
    /// The loop.
    pub engine: EngineConfig,
    /// The critics.
    pub critics: CriticsConfig,
    /// The validators.
    pub validators: ValidatorsConfig,
    /// Per-run limits.
    pub budget: BudgetConfig,
    /// The response cache.
    pub cache: CacheConfig,
    /// The price table: model name (or `provider/model`) → US dollars per million tokens.
    pub prices: Prices,
    /// The preset that was applied, if any.
    pub preset: Option<String>,
    pub(super) sources: Vec<String>,
}

/// Where the API key is looked up: a variable name → its value.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Builds the [`Config`] from the merged raw layers. The defaults set every key, so a
/// missing one is a bug in `config/default.toml`, reported as such.
pub(crate) fn resolve(
    raw: RawConfig,
    preset: Option<String>,
    sources: Vec<String>,
    env: Lookup<'_>,
) -> Result<Config, Error> {
    raw.check().map_err(|p| p.into_error("merged configuration"))?;
    let p = raw.provider.unwrap_or_default();
    let g = raw.generation.unwrap_or_default();
    let e = raw.engine.unwrap_or_default();
    let c = raw.critics.unwrap_or_default();
    let v = raw.validators.unwrap_or_default();
    let b = raw.budget.unwrap_or_default();
    let cache = cache::resolve(raw.cache.unwrap_or_default(), &|key| missing(key))?;
    let prices = prices::resolve(raw.prices.unwrap_or_default())?;

    let api_key_env = req(p.api_key_env, "provider.api_key_env")?;
    let api_key = env(&api_key_env).filter(|k| !k.is_empty()).map(SecretString::from);
    Ok(Config {
        provider: ProviderConfig {
            name: req(p.name, "provider.name")?,
            base_url: req(p.base_url, "provider.base_url")?.trim_end_matches('/').to_owned(),
            model: req(p.model, "provider.model")?,
            api_key_env,
            api_key,
            timeout: Duration::from_secs(req(p.timeout_secs, "provider.timeout_secs")?),
            connect_timeout: Duration::from_secs(req(
                p.connect_timeout_secs,
                "provider.connect_timeout_secs",
            )?),
        },
        generation: GenerationConfig {
            temperature: req(g.temperature, "generation.temperature")?,
            max_tokens: req(g.max_tokens, "generation.max_tokens")?,
        },
        engine: EngineConfig {
            max_iterations: req(e.max_iterations, "engine.max_iterations")?,
            accept_when: req(e.accept_when, "engine.accept_when")?,
            confidence_floor: req(e.confidence_floor, "engine.confidence_floor")?,
            critic_timeout: Duration::from_secs(req(
                e.critic_timeout_secs,
                "engine.critic_timeout_secs",
            )?),
            skip_critique_on_hard_failure: req(
                e.skip_critique_on_hard_failure,
                "engine.skip_critique_on_hard_failure",
            )?,
        },
        critics: CriticsConfig {
            enabled: req(c.enabled, "critics.enabled")?,
            dirs: req(c.dirs, "critics.dirs")?,
            sampling: GenerationConfig {
                temperature: req(c.temperature, "critics.temperature")?,
                max_tokens: req(c.max_tokens, "critics.max_tokens")?,
            },
            vars: c.vars.unwrap_or_default(),
        },
        validators: ValidatorsConfig {
            enabled: req(v.enabled, "validators.enabled")?,
            dirs: req(v.dirs, "validators.dirs")?,
        },
        budget: BudgetConfig {
            max_tokens: Some(req(b.max_tokens, "budget.max_tokens")?).filter(|n| *n > 0),
            max_cost_usd: Some(req(b.max_cost_usd, "budget.max_cost_usd")?).filter(|c| *c > 0.0),
            deadline: Some(req(b.deadline_secs, "budget.deadline_secs")?)
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
        },
        cache,
        prices,
        preset,
        sources,
    })
}

fn req<T>(value: Option<T>, key: &str) -> Result<T, Error> {
    value.ok_or_else(|| missing(key))
}

fn missing(key: &str) -> Error {
    Error::config("built-in defaults", Some(key), "no value (config/default.toml must set it)")
}
