//! Layered configuration: raw serde structs that mirror the files, then one resolved,
//! validated [`Config`], built once at start.
//!
//! # Layers
//!
//! Lowest to highest; a higher layer wins key by key, and a list replaces the whole
//! list below it:
//!
//! 1. `config/default.toml`, compiled in: every key with its default (and a comment).
//! 2. A preset — `fast`, `balanced` or `quality` (`config/presets/*.toml`, compiled in)
//!    — chosen by [`LoadOptions::preset`], else by `preset = "…"` in the highest layer
//!    that sets it (command line, environment, user file).
//! 3. The user's file: [`LoadOptions::file`] (`--config FILE`, which must exist), else
//!    `redraft.toml` in [`LoadOptions::workdir`] if it exists. Relative `dirs` in it
//!    are resolved against the file's own directory.
//! 4. The environment: `REDRAFT__SECTION__KEY=value`, e.g.
//!    `REDRAFT__ENGINE__MAX_ITERATIONS=5`, `REDRAFT__PROVIDER__MODEL=gpt-4o`. The
//!    part after the prefix is split on `__` and lower-cased.
//! 5. The caller's overrides: dotted key → value text, e.g.
//!    `("engine.max_iterations", "5")`, then its [`Flag`]s (the CLI's flags), whose
//!    errors name the flag.
//!
//! Values from the environment and the command line are read as whatever the key
//! accepts, trying in turn: a TOML value (`5`, `0.3`, `true`, `["a", "b"]`), a
//! separated list for list keys (`reflexion,self_refine`; for `validators.enabled`,
//! whose specs contain commas, `words:min=50,max=120;regex:^#`), plain text. An empty
//! value for a list key gives an empty list.
//!
//! # Errors
//!
//! Each layer is checked on its own before the layers are merged (by the `config`
//! crate), so an error names where the bad value came from — the file (with the dotted
//! key, the line and the reason; an unknown key lists the valid ones), the
//! `environment variable REDRAFT__X__Y`, or the `command line` — as
//! [`Error::Config`].
//!
//! Once the layers are merged, the critics and validators the configuration names are
//! resolved too (see `plugins`): every critic in `critics.enabled` must exist (built
//! in or in `critics.dirs`) and compile with its `critics.vars`, and every spec in
//! `validators.enabled` must parse and compile (presets from `validators.dirs`). The
//! [`Config`] keeps the results ([`CriticsConfig::definitions`],
//! [`ValidatorsConfig::compiled`]), so nothing is compiled again when an engine is
//! built. An error names the layer that set the list and the item, e.g.
//! `critics.enabled[0]`. A critic or validator listed twice runs once;
//! [`Config::warnings`] says so.
//!
//! # Secrets
//!
//! The configuration holds only the *name* of the variable with the API key
//! (`provider.api_key_env`). The key is read at load time into a [`SecretString`]
//! that `Debug` does not show; [`Config::redacted`] is the form to print or store.
//!
//! [`SecretString`]: secrecy::SecretString

mod cache;
mod keys;
mod layer;
mod plugins;
mod presets;
mod prices;
mod providers;
mod raw;
mod redact;
mod resilience;
mod resolve;
mod span;
mod store;
mod stored;

pub use cache::{CacheConfig, mask_redis_url};
pub use presets::names as preset_names;
pub use providers::{ProviderDefaults, provider_defaults};
pub use resolve::{
    AcceptWhen, BudgetConfig, ConcurrencyLimits, Config, CriticsConfig, EngineConfig,
    GenerationConfig, KNOWN_PROVIDERS, LocalConfig, MAX_ITERATIONS, ProviderConfig, ProviderKind,
    RateLimits, RetryPolicy, ValidatorsConfig,
};
pub use store::{StoreConfig, StoreKind};

use crate::Error;
use crate::thought::settings::RunSettings;
use layer::Layer;
use raw::RawConfig;
use std::fmt;
use std::path::{Path, PathBuf};

/// The name of the user config file looked for when none is given.
pub const DEFAULT_FILE_NAME: &str = "redraft.toml";

/// What [`Config::load_with`] layers.
#[derive(Clone)]
pub struct LoadOptions {
    /// The user's config file (`--config FILE`); it must exist. Default `None`: use
    /// `redraft.toml` in [`workdir`](Self::workdir) if it exists.
    pub file: Option<PathBuf>,
    /// The preset to apply (`--preset`); wins over `preset = "…"` in any layer.
    /// Default `None`.
    pub preset: Option<String>,
    /// Caller overrides, highest layer: dotted key → value text, e.g.
    /// `("engine.max_iterations", "5")`, `("critics.enabled", "reflexion,self_refine")`.
    /// Default empty.
    pub overrides: Vec<(String, String)>,
    /// Command-line flags, above the overrides; an error about a flag's value names the
    /// flag (`command line flag --max-iterations`). Default empty.
    pub flags: Vec<Flag>,
    /// Whether to read `REDRAFT__SECTION__KEY` variables. Default `true`.
    pub env: bool,
    /// The environment to read instead of the process's (name, value); used for both
    /// the `REDRAFT__` variables and the API key, so tests need not touch the real
    /// environment. Default `None`: the process environment.
    pub env_vars: Option<Vec<(String, String)>>,
    /// Where `redraft.toml` is looked for when no file is given. Default `None`: the
    /// current directory.
    pub workdir: Option<PathBuf>,
    /// The run settings of a stored thought being resumed, named for errors: a layer
    /// above what the caller did not choose (the defaults, a preset, a `redraft.toml`
    /// found in [`workdir`](Self::workdir)) and below what it did ([`file`](Self::file),
    /// the `REDRAFT__` variables, overrides and flags), so the thought runs as it was
    /// made except where the caller says otherwise. Default `None`.
    pub stored: Option<(String, RunSettings)>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            file: None,
            preset: None,
            overrides: Vec::new(),
            flags: Vec::new(),
            env: true,
            env_vars: None,
            workdir: None,
            stored: None,
        }
    }
}

/// A command-line flag that sets a configuration key, for [`LoadOptions::flags`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The flag as the user types it, e.g. `--max-iterations`; errors name it.
    pub name: String,
    /// The dotted key it sets, e.g. `engine.max_iterations`.
    pub key: String,
    /// What it sets the key to.
    pub value: FlagValue,
}

/// The value of a [`Flag`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagValue {
    /// One value, read like an override's text (`5`, `true`, `any_satisfied`).
    One(String),
    /// The items of a repeated flag (`--critic a --critic b`), each taken whole: a
    /// validator spec may contain commas and semicolons.
    Many(Vec<String>),
}

impl Flag {
    /// `--name VALUE` setting `key`.
    pub fn one(name: &str, key: &str, value: impl Into<String>) -> Self {
        Self { name: name.to_owned(), key: key.to_owned(), value: FlagValue::One(value.into()) }
    }

    /// A repeated `--name VALUE` setting the list `key` to the values.
    pub fn many(name: &str, key: &str, values: Vec<String>) -> Self {
        Self { name: name.to_owned(), key: key.to_owned(), value: FlagValue::Many(values) }
    }
}

/// Shows the names of injected variables, never their values (one may be a key), and
/// base URLs with their credentials redacted.
impl fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env_vars = self
            .env_vars
            .as_ref()
            .map(|vars| vars.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>());
        let shown = |key: &str, value: &str| match key.trim().ends_with("base_url") {
            true => crate::model::url::redacted(value),
            false => value.to_owned(),
        };
        let overrides: Vec<(&str, String)> =
            self.overrides.iter().map(|(k, v)| (k.as_str(), shown(k, v))).collect();
        let flags: Vec<(&str, String)> = self
            .flags
            .iter()
            .map(|flag| match &flag.value {
                FlagValue::One(v) => (flag.name.as_str(), shown(&flag.key, v)),
                FlagValue::Many(items) => (flag.name.as_str(), format!("{items:?}")),
            })
            .collect();
        f.debug_struct("LoadOptions")
            .field("file", &self.file)
            .field("preset", &self.preset)
            .field("overrides", &overrides)
            .field("flags", &flags)
            .field("env", &self.env)
            .field("env_vars", &env_vars)
            .field("workdir", &self.workdir)
            .field("stored", &self.stored.as_ref().map(|(name, _)| name))
            .finish()
    }
}

impl Config {
    /// The built-in defaults, then `file` (or `./redraft.toml` if it exists), then the
    /// `REDRAFT__` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Config, Error> {
        Self::load_with(&LoadOptions {
            file: file.map(Path::to_path_buf),
            ..LoadOptions::default()
        })
    }

    /// Layers what `opts` says (see the [module docs](self)) and resolves the result.
    pub fn load_with(opts: &LoadOptions) -> Result<Config, Error> {
        let env = Env::new(opts.env_vars.as_deref());
        let defaults = Layer::parse("built-in defaults", presets::DEFAULT, None)?;
        let file = match &opts.file {
            Some(path) => Some(Layer::read(&path.display().to_string(), path)?),
            None => {
                let dir = opts.workdir.as_deref().unwrap_or(Path::new("."));
                let path = dir.join(DEFAULT_FILE_NAME);
                if path.is_file() {
                    Some(Layer::read(&path.display().to_string(), &path)?)
                } else {
                    None
                }
            }
        };
        let env_layer = if opts.env { Layer::from_env(&env.prefixed("REDRAFT__")?)? } else { None };
        let cli = Layer::from_overrides(&opts.overrides, &opts.flags)?;
        let stored = match &opts.stored {
            Some((name, settings)) => Some(stored::layer(name, settings)?),
            None => None,
        };

        let preset = match &opts.preset {
            Some(name) => {
                presets::text(name)
                    .map_err(|reason| Error::config("command line", Some("preset"), reason))?;
                Some(name.clone())
            }
            None => [&cli, &stored, &env_layer, &file]
                .into_iter()
                .flatten()
                .find_map(|layer| layer.raw.preset.clone()),
        };
        let preset_layer = match &preset {
            Some(name) => {
                let source = format!("preset {name}");
                let text = presets::text(name)
                    .map_err(|reason| Error::config(&source, Some("preset"), reason))?;
                Some(Layer::parse(&source, text, None)?)
            }
            None => None,
        };

        // A stored thought's settings sit above what the caller did not choose for this
        // run (the defaults, a preset, `./redraft.toml` found by looking) and below what
        // it did (`--config FILE`, `REDRAFT__` variables, overrides and flags).
        let (implicit, explicit) = match opts.file {
            Some(_) => (None, file),
            None => (file, None),
        };
        let layers: Vec<Layer> =
            [Some(defaults), preset_layer, implicit, stored, explicit, env_layer, cli]
                .into_iter()
                .flatten()
                .collect();
        let sources = layers.iter().map(|layer| layer.name.clone()).collect();
        let origins = plugins::Origins::of(&layers);
        let mut builder = config::Config::builder();
        for layer in layers {
            builder = builder.add_source(layer);
        }
        let raw: RawConfig = builder
            .build()
            .and_then(config::Config::try_deserialize)
            .map_err(|e| Error::config("merged configuration", None, e.to_string()))?;
        resolve::resolve(raw, preset, sources, &origins, &|name| env.get(name))
    }

    /// What loading noticed but did not refuse, one sentence each, e.g. that a critic
    /// is listed twice (it runs once). The CLI prints them on stderr.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// What was layered, lowest first, e.g. `["built-in defaults", "preset quality",
    /// "./redraft.toml", "environment", "command line"]`.
    pub fn sources(&self) -> &[String] {
        &self.sources
    }
}

/// The environment configuration is read from: injected, or the process's.
enum Env<'a> {
    Injected(&'a [(String, String)]),
    Process,
}

impl<'a> Env<'a> {
    fn new(injected: Option<&'a [(String, String)]>) -> Self {
        injected.map_or(Self::Process, Self::Injected)
    }

    /// The value of `name`; the last one wins when injected twice.
    fn get(&self, name: &str) -> Option<String> {
        match self {
            Self::Injected(vars) => {
                vars.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.clone())
            }
            Self::Process => std::env::var(name).ok(),
        }
    }

    /// The variables whose names start with `prefix` (ignoring ASCII case).
    fn prefixed(&self, prefix: &str) -> Result<Vec<(String, String)>, Error> {
        let matches = |name: &str| {
            name.get(..prefix.len()).is_some_and(|start| start.eq_ignore_ascii_case(prefix))
        };
        match self {
            Self::Injected(vars) => Ok(vars.iter().filter(|(n, _)| matches(n)).cloned().collect()),
            Self::Process => {
                let mut out = Vec::new();
                for (name, value) in std::env::vars_os() {
                    let Some(name) = name.to_str().filter(|n| matches(n)).map(str::to_owned) else {
                        continue;
                    };
                    let value = value.into_string().map_err(|_| {
                        Error::config(
                            format!("environment variable {name}"),
                            None,
                            "not valid UTF-8",
                        )
                    })?;
                    out.push((name, value));
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests;
