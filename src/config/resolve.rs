//! Stage two: the resolved, validated configuration types, and [`resolve`], which
//! builds them once from the merged raw layers.
//!
//! Everything here has its proper type — [`Duration`]s, `Option<u64>` for "unlimited",
//! [`PathBuf`]s, the API key as a [`SecretString`] — so the rest of redraft never
//! re-parses or re-checks a config value.

use super::cache::{self, CacheConfig};
use super::plugins::{self, Origins};
use super::prices;
use super::providers::provider_defaults;
use super::raw::{RawConfig, RawProvider};
use super::resilience;
use crate::Error;
use crate::critic::Definition;
use crate::model::Sampling;
use crate::thought::cost::Prices;
pub use crate::thought::settings::ProviderKind;
use crate::validator::{Configured, Entry};
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The provider names `provider.name` accepts ([`ProviderKind::ALL`]). `local` is always
/// known; a build without the `local` cargo feature says so when the provider is built.
pub const KNOWN_PROVIDERS: [&str; 5] = [
    ProviderKind::Local.as_str(),
    ProviderKind::OpenAi.as_str(),
    ProviderKind::Anthropic.as_str(),
    ProviderKind::Gemini.as_str(),
    ProviderKind::Ollama.as_str(),
];

/// Where the model is served.
///
/// `Debug` never shows the API key, header values, or credentials in the base URL.
#[derive(Clone)]
pub struct ProviderConfig {
    /// The provider.
    pub kind: ProviderKind,
    /// The API root, as the provider's official SDK takes it (openai and gemini: with
    /// the version path; anthropic and ollama: the host root). The provider's default
    /// when no layer sets it.
    pub base_url: String,
    /// The model name sent with every request (the provider's default when unset).
    pub model: String,
    /// The name of the environment variable the key was read from (the provider's
    /// default when unset).
    pub api_key_env: String,
    /// The API key, if that variable was set and not empty. Never shown by `Debug`.
    pub api_key: Option<SecretString>,
    /// How long a whole request may take.
    pub timeout: Duration,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long a streamed answer may go without a byte.
    pub stream_idle_timeout: Duration,
    /// Extra HTTP headers sent with every request (names and values checked).
    pub headers: BTreeMap<String, String>,
    /// openai only: the model is a reasoning model (`max_completion_tokens`, no
    /// `temperature`).
    pub reasoning: bool,
    /// openai only: speak Azure OpenAI with this `api-version`.
    pub azure_api_version: Option<String>,
    /// openai only: the `OpenAI-Organization` header.
    pub organization: Option<String>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("kind", &self.kind)
            .field("base_url", &crate::model::url::redacted(&self.base_url))
            .field("model", &self.model)
            .field("api_key_env", &self.api_key_env)
            .field("api_key", &self.api_key.as_ref().map(|_| super::redact::REDACTED))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("reasoning", &self.reasoning)
            .field("azure_api_version", &self.azure_api_version)
            .field("organization", &self.organization)
            .finish()
    }
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

pub use crate::middleware::{ConcurrencyLimits, RateLimits, RetryPolicy};
pub use crate::thought::settings::AcceptWhen;

/// The most iterations a run may have (`engine.max_iterations`, `--max-iterations`):
/// a cap on what one command can cost, in calls and in memory.
pub const MAX_ITERATIONS: usize = 1000;

/// How the loop runs (`[engine]`).
#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    /// How many drafts are evaluated at most (1 to [`MAX_ITERATIONS`]).
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
#[derive(Debug, Clone)]
pub struct CriticsConfig {
    /// Critic names, in order, each once.
    pub enabled: Vec<String>,
    /// The critics of [`enabled`](Self::enabled), in order, resolved when the
    /// configuration was loaded: looked up in the registry, templates compiled once,
    /// [`vars`](Self::vars) applied. The engine binds these to their models.
    pub definitions: Arc<[Definition]>,
    /// Extra directories of critic TOML files (relative ones already resolved against
    /// the directory of the config file that named them).
    pub dirs: Vec<PathBuf>,
    /// Sampling for critic calls.
    pub sampling: GenerationConfig,
    /// Per-critic template variables: critic name → variables.
    pub vars: BTreeMap<String, serde_json::Map<String, serde_json::Value>>,
}

/// Which validators run (`[validators]`).
#[derive(Debug, Clone)]
pub struct ValidatorsConfig {
    /// The validator specs, each once, read from their strings or tables (and shown
    /// as written).
    pub enabled: Vec<Entry>,
    /// [`enabled`](Self::enabled) compiled when the configuration was loaded, presets
    /// expanded, in order: the validators the engine runs, shared.
    pub compiled: Arc<[Configured]>,
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

/// The in-process local model (`[local]`), used when `provider.name = "local"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalConfig {
    /// An explicit GGUF file (`local.model_path`); `None` uses the default model in
    /// [`model_dir`](Self::model_dir).
    pub model_path: Option<PathBuf>,
    /// Where `redraft model fetch` stores models (`local.model_dir`; default the user's
    /// cache directory, see [`crate::model::local::default_model_dir`]). `None` when
    /// it was not set and no cache directory could be found.
    pub model_dir: Option<PathBuf>,
    /// Generation threads, at least 1 (`local.threads`; 0 in the file means
    /// [`crate::model::local::default_threads`]).
    pub threads: usize,
    /// Context size in tokens, prompt and answer together.
    pub context_size: u32,
    /// Cap on the tokens of any one answer of the local model.
    pub max_tokens: u32,
    /// Seed of the sampler.
    pub seed: u32,
}

impl LocalConfig {
    /// The GGUF file the local provider loads: [`model_path`](Self::model_path), else
    /// the default model's file in [`model_dir`](Self::model_dir).
    pub fn model_file(&self) -> Result<PathBuf, Error> {
        match (&self.model_path, &self.model_dir) {
            (Some(path), _) => Ok(path.clone()),
            (None, Some(dir)) => Ok(crate::model::local::model_file(None, dir)),
            (None, None) => Err(Error::config(
                "merged configuration",
                Some("local.model_dir"),
                "cannot find the user's cache directory (neither XDG_CACHE_HOME nor HOME \
                 is set); set local.model_dir or local.model_path",
            )),
        }
    }

    /// The directory `redraft model fetch` stores models in.
    pub fn fetch_dir(&self) -> Result<PathBuf, Error> {
        self.model_dir.clone().ok_or_else(|| {
            Error::config(
                "merged configuration",
                Some("local.model_dir"),
                "cannot find the user's cache directory (neither XDG_CACHE_HOME nor HOME \
                 is set); set local.model_dir",
            )
        })
    }
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
    /// Where thoughts are kept (`[store]`).
    pub store: super::StoreConfig,
    /// The price table: model name (or `provider/model`) → US dollars per million tokens.
    pub prices: Prices,
    /// Retries of failed model calls (`[retry]`).
    pub retry: RetryPolicy,
    /// Requests and tokens per minute, per provider and model (`[rate_limit]`).
    pub rate_limit: RateLimits,
    /// Requests in flight, per provider and model (`[concurrency]`).
    pub concurrency: ConcurrencyLimits,
    /// The models tried, in order, when the provider fails (`[[fallback]]`).
    pub fallback: Vec<ProviderConfig>,
    /// The in-process local model.
    pub local: LocalConfig,
    /// The preset that was applied, if any.
    pub preset: Option<String>,
    pub(super) sources: Vec<String>,
    pub(super) warnings: Vec<String>,
}

/// Where the API key is looked up: a variable name → its value.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Builds the [`Config`] from the merged raw layers, resolving (and compiling, once)
/// the critics and validators they name; `origins` says which layer set each list.
/// The defaults set every key, so a missing one is a bug in `config/default.toml`,
/// reported as such.
pub(crate) fn resolve(
    raw: RawConfig,
    preset: Option<String>,
    sources: Vec<String>,
    origins: &Origins,
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
    let store = super::store::resolve(raw.store.unwrap_or_default(), &|key| missing(key))?;
    let prices = prices::resolve(raw.prices.unwrap_or_default())?;
    let l = raw.local.unwrap_or_default();

    let provider = provider(p, "provider", env)?;
    let fallback = resilience::fallback(raw.fallback, &provider, env)?;
    let retry = resilience::retry(raw.retry)?;
    let rate_limit = resilience::rate_limit(raw.rate_limit)?;
    let concurrency = resilience::concurrency(raw.concurrency)?;
    let mut warnings = Vec::new();
    let critic_vars = c.vars.unwrap_or_default();
    let critic_dirs = req(c.dirs, "critics.dirs")?;
    let (critics, definitions) = plugins::critics(
        req(c.enabled, "critics.enabled")?,
        &critic_dirs,
        &critic_vars,
        origins,
        &mut warnings,
    )?;
    let validator_dirs = req(v.dirs, "validators.dirs")?;
    let (validators, compiled) = plugins::validators(
        req(v.enabled, "validators.enabled")?,
        &validator_dirs,
        origins,
        &mut warnings,
    )?;
    Ok(Config {
        provider,
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
            enabled: critics,
            definitions,
            dirs: critic_dirs,
            sampling: GenerationConfig {
                temperature: req(c.temperature, "critics.temperature")?,
                max_tokens: req(c.max_tokens, "critics.max_tokens")?,
            },
            vars: critic_vars,
        },
        validators: ValidatorsConfig { enabled: validators, compiled, dirs: validator_dirs },
        budget: BudgetConfig {
            max_tokens: Some(req(b.max_tokens, "budget.max_tokens")?).filter(|n| *n > 0),
            max_cost_usd: Some(req(b.max_cost_usd, "budget.max_cost_usd")?).filter(|c| *c > 0.0),
            deadline: Some(req(b.deadline_secs, "budget.deadline_secs")?)
                .filter(|s| *s > 0)
                .map(Duration::from_secs),
        },
        cache,
        store,
        prices,
        retry,
        rate_limit,
        concurrency,
        fallback,
        local: LocalConfig {
            model_path: Some(req(l.model_path, "local.model_path")?)
                .filter(|p| !p.as_os_str().is_empty()),
            model_dir: Some(req(l.model_dir, "local.model_dir")?)
                .filter(|p| !p.as_os_str().is_empty())
                .or_else(|| crate::model::local::default_model_dir(env)),
            threads: match req(l.threads, "local.threads")? {
                0 => crate::model::local::default_threads(),
                n => n,
            },
            context_size: req(l.context_size, "local.context_size")?,
            max_tokens: req(l.max_tokens, "local.max_tokens")?,
            seed: req(l.seed, "local.seed")?,
        },
        preset,
        sources,
        warnings,
    })
}

/// One provider table resolved — `[provider]`, or a `[[fallback]]` table (completed
/// from `[provider]` by [`resilience::fallback`]) — with `key` its name in errors:
/// the provider's defaults for what it leaves out, and the API key read through `env`.
pub(super) fn provider(
    p: RawProvider,
    key: &str,
    env: Lookup<'_>,
) -> Result<ProviderConfig, Error> {
    let k = |field: &str| format!("{key}.{field}");
    let name = req(p.name.clone(), &k("name"))?;
    let kind = ProviderKind::from_name(&name).ok_or_else(|| {
        let reason =
            format!("unknown provider `{name}`; known providers: {}", ProviderKind::known());
        Error::config("merged configuration", Some(&k("name")), reason)
    })?;
    let defaults = provider_defaults(kind, p.azure_api_version.is_some());
    check_provider_options(kind, &p, key)?;
    let api_key_env = p.api_key_env.unwrap_or_else(|| defaults.api_key_env.to_owned());
    let api_key = Some(&api_key_env)
        .filter(|n| !n.is_empty())
        .and_then(|n| env(n))
        .filter(|k| !k.is_empty())
        .map(SecretString::from);
    Ok(ProviderConfig {
        base_url: p
            .base_url
            .unwrap_or_else(|| defaults.base_url.to_owned())
            .trim_end_matches('/')
            .to_owned(),
        model: p.model.unwrap_or_else(|| defaults.model.to_owned()),
        kind,
        api_key_env,
        api_key,
        timeout: Duration::from_secs(req(p.timeout_secs, &k("timeout_secs"))?),
        connect_timeout: Duration::from_secs(req(
            p.connect_timeout_secs,
            &k("connect_timeout_secs"),
        )?),
        stream_idle_timeout: Duration::from_secs(req(
            p.stream_idle_timeout_secs,
            &k("stream_idle_timeout_secs"),
        )?),
        headers: p.headers.unwrap_or_default(),
        reasoning: p.reasoning.unwrap_or(false),
        azure_api_version: p.azure_api_version,
        organization: p.organization.map(|o| o.trim().to_owned()),
    })
}

/// The OpenAI-only options are errors with any other provider (they would be silently
/// ignored), and Azure needs its deployment URL: there is no default for it.
fn check_provider_options(kind: ProviderKind, p: &RawProvider, key: &str) -> Result<(), Error> {
    let merged =
        |key: &str, reason: String| Err(Error::config("merged configuration", Some(key), reason));
    if kind != ProviderKind::OpenAi {
        let set = [
            ("reasoning", p.reasoning == Some(true)),
            ("azure_api_version", p.azure_api_version.is_some()),
            ("organization", p.organization.is_some()),
        ];
        if let Some((field, _)) = set.iter().find(|(_, on)| *on) {
            let reason = format!("applies to provider openai only, not `{kind}`");
            return merged(&format!("{key}.{field}"), reason);
        }
    }
    if p.azure_api_version.is_some() && p.base_url.is_none() {
        return merged(
            &format!("{key}.base_url"),
            "Azure OpenAI needs the deployment URL, e.g. \
             https://NAME.openai.azure.com/openai/deployments/DEPLOYMENT"
                .to_owned(),
        );
    }
    Ok(())
}

fn req<T>(value: Option<T>, key: &str) -> Result<T, Error> {
    value.ok_or_else(|| missing(key))
}

fn missing(key: &str) -> Error {
    Error::config("built-in defaults", Some(key), "no value (config/default.toml must set it)")
}
