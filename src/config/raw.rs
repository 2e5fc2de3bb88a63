//! Stage one: serde structs that mirror the TOML files key for key.
//!
//! Every field is an `Option` so that any layer (a preset, a user file, one environment
//! variable) can be partial, and every struct denies unknown fields so a typo fails
//! instead of being ignored. [`RawConfig::check`] tests the values a layer does set
//! (ranges, known names), so a bad value is reported against the layer that set it.
//! Turning the merged layers into the typed [`Config`](super::Config) is
//! [`resolve`](super::resolve)'s job.

use super::resolve::{KNOWN_PROVIDERS, MAX_ITERATIONS};
use super::{AcceptWhen, presets};
use crate::model::url::redacted as redacted_url;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One configuration layer as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a configuration table")]
pub(crate) struct RawConfig {
    pub(crate) preset: Option<String>,
    pub(crate) provider: Option<RawProvider>,
    pub(crate) generation: Option<RawGeneration>,
    pub(crate) engine: Option<RawEngine>,
    pub(crate) critics: Option<RawCritics>,
    pub(crate) validators: Option<RawValidators>,
    pub(crate) budget: Option<RawBudget>,
    pub(crate) cache: Option<super::cache::RawCache>,
    pub(crate) store: Option<super::store::RawStore>,
    pub(crate) prices: Option<super::prices::RawPrices>,
    pub(crate) retry: Option<super::resilience::RawRetry>,
    pub(crate) rate_limit: Option<super::resilience::RawRateLimit>,
    pub(crate) concurrency: Option<super::resilience::RawConcurrency>,
    pub(crate) fallback: Option<Vec<RawProvider>>,
    pub(crate) local: Option<RawLocal>,
}

/// `[provider]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [provider] table")]
pub(crate) struct RawProvider {
    pub(crate) name: Option<String>,
    pub(crate) base_url: Option<String>,
    pub(crate) model: Option<String>,
    pub(crate) api_key_env: Option<String>,
    pub(crate) timeout_secs: Option<u64>,
    pub(crate) connect_timeout_secs: Option<u64>,
    pub(crate) stream_idle_timeout_secs: Option<u64>,
    pub(crate) headers: Option<BTreeMap<String, String>>,
    pub(crate) reasoning: Option<bool>,
    pub(crate) azure_api_version: Option<String>,
    pub(crate) organization: Option<String>,
}

/// `[generation]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [generation] table")]
pub(crate) struct RawGeneration {
    pub(crate) temperature: Option<f64>,
    pub(crate) max_tokens: Option<u32>,
}

/// `[engine]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [engine] table")]
pub(crate) struct RawEngine {
    pub(crate) max_iterations: Option<usize>,
    pub(crate) accept_when: Option<AcceptWhen>,
    pub(crate) confidence_floor: Option<f64>,
    pub(crate) critic_timeout_secs: Option<u64>,
    pub(crate) skip_critique_on_hard_failure: Option<bool>,
}

/// `[critics]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [critics] table")]
pub(crate) struct RawCritics {
    pub(crate) enabled: Option<Vec<String>>,
    pub(crate) dirs: Option<Vec<PathBuf>>,
    pub(crate) temperature: Option<f64>,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) vars: Option<BTreeMap<String, serde_json::Map<String, serde_json::Value>>>,
}

/// `[validators]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [validators] table")]
pub(crate) struct RawValidators {
    pub(crate) enabled: Option<Vec<serde_json::Value>>,
    pub(crate) dirs: Option<Vec<PathBuf>>,
}

/// `[budget]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [budget] table")]
pub(crate) struct RawBudget {
    pub(crate) max_tokens: Option<u64>,
    pub(crate) max_cost_usd: Option<f64>,
    pub(crate) deadline_secs: Option<u64>,
}

/// `[local]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [local] table")]
pub(crate) struct RawLocal {
    pub(crate) model_path: Option<PathBuf>,
    pub(crate) model_dir: Option<PathBuf>,
    pub(crate) threads: Option<usize>,
    pub(crate) context_size: Option<u32>,
    pub(crate) max_tokens: Option<u32>,
    pub(crate) seed: Option<u32>,
}

/// A bad value found by [`RawConfig::check`]: the dotted key and what is wrong. The
/// caller knows which layer it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub(crate) key: String,
    pub(crate) reason: String,
}

impl Problem {
    fn new(key: &str, reason: impl Into<String>) -> Self {
        Self { key: key.to_owned(), reason: reason.into() }
    }

    /// The crate error, naming the layer the value came from.
    pub(crate) fn into_error(self, source_name: &str) -> crate::Error {
        crate::Error::config(source_name, Some(&self.key), self.reason)
    }
}

impl RawConfig {
    /// Checks every value this layer sets. Absent values are not checked: a lower
    /// layer supplies them.
    pub(crate) fn check(&self) -> Result<(), Problem> {
        if let Some(name) = &self.preset {
            presets::text(name).map_err(|reason| Problem::new("preset", reason))?;
        }
        if let Some(p) = &self.provider {
            if let Some(name) = &p.name
                && !KNOWN_PROVIDERS.contains(&name.as_str())
            {
                return Err(Problem::new(
                    "provider.name",
                    format!(
                        "unknown provider `{name}`; known providers: {}",
                        KNOWN_PROVIDERS.join(", ")
                    ),
                ));
            }
            not_blank("provider.base_url", p.base_url.as_deref())?;
            if let Some(url) = &p.base_url {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(Problem::new(
                        "provider.base_url",
                        format!("`{}` is not an http:// or https:// URL", redacted_url(url)),
                    ));
                }
                if url.contains('#') {
                    return Err(Problem::new(
                        "provider.base_url",
                        format!(
                            "`{}` has a #fragment, which is never sent to a server",
                            redacted_url(url)
                        ),
                    ));
                }
            }
            not_blank("provider.model", p.model.as_deref())?;
            not_blank("provider.api_key_env", p.api_key_env.as_deref())?;
            at_least_one("provider.timeout_secs", p.timeout_secs)?;
            at_least_one("provider.connect_timeout_secs", p.connect_timeout_secs)?;
            at_least_one("provider.stream_idle_timeout_secs", p.stream_idle_timeout_secs)?;
            if let Some(headers) = &p.headers {
                crate::model::headers::custom_headers(headers)
                    .map_err(|reason| Problem::new("provider.headers", reason))?;
            }
            not_blank("provider.organization", p.organization.as_deref())?;
            if let Some(org) = &p.organization
                && reqwest::header::HeaderValue::from_str(org.trim()).is_err()
            {
                return Err(Problem::new(
                    "provider.organization",
                    "contains characters not allowed in an HTTP header",
                ));
            }
            if let Some(version) = &p.azure_api_version
                && (version.is_empty()
                    || !version.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'))
            {
                return Err(Problem::new(
                    "provider.azure_api_version",
                    format!("`{version}` is not an API version such as \"2024-10-21\""),
                ));
            }
        }
        if let Some(g) = &self.generation {
            temperature("generation.temperature", g.temperature)?;
            at_least_one("generation.max_tokens", g.max_tokens.map(u64::from))?;
        }
        if let Some(e) = &self.engine {
            in_range("engine.max_iterations", e.max_iterations.map(|n| n as u64))?;
            if let Some(floor) = e.confidence_floor
                && !(0.0..=1.0).contains(&floor)
            {
                return Err(Problem::new(
                    "engine.confidence_floor",
                    format!("{floor} is out of range; expected a number from 0 to 1"),
                ));
            }
            at_least_one("engine.critic_timeout_secs", e.critic_timeout_secs)?;
        }
        if let Some(c) = &self.critics {
            if let Some(names) = &c.enabled {
                no_blank_names("critics.enabled", names)?;
            }
            temperature("critics.temperature", c.temperature)?;
            at_least_one("critics.max_tokens", c.max_tokens.map(u64::from))?;
        }
        if let Some(max) = self.budget.as_ref().and_then(|b| b.max_cost_usd)
            && !(max.is_finite() && max >= 0.0)
        {
            return Err(Problem::new(
                "budget.max_cost_usd",
                format!("{max} is not an amount; expected US dollars, 0 for unlimited"),
            ));
        }
        if let Some(c) = &self.cache {
            c.check()?;
        }
        if let Some(s) = &self.store {
            s.check()?;
        }
        if let Some(p) = &self.prices {
            super::prices::check(p)?;
        }
        if let Some(l) = &self.local {
            if let Some(n) = l.context_size
                && n < MIN_CONTEXT
            {
                return Err(Problem::new(
                    "local.context_size",
                    format!("{n} is too small; expected at least {MIN_CONTEXT} tokens"),
                ));
            }
            at_least_one("local.max_tokens", l.max_tokens.map(u64::from))?;
            if let Some(n) = l.threads
                && n > MAX_THREADS
            {
                return Err(Problem::new(
                    "local.threads",
                    format!("{n} is out of range; expected 0 (automatic) to {MAX_THREADS}"),
                ));
            }
        }
        if let Some(v) = &self.validators {
            for (i, spec) in v.enabled.iter().flatten().enumerate() {
                let ok = match spec {
                    serde_json::Value::String(s) => !s.trim().is_empty(),
                    serde_json::Value::Object(_) => true,
                    _ => false,
                };
                if !ok {
                    return Err(Problem::new(
                        "validators.enabled",
                        format!(
                            "item {} is {spec}; expected a spec string such as \
                             \"words:min=50,max=120\" or a table",
                            i + 1
                        ),
                    ));
                }
            }
        }
        super::resilience::check(self)?;
        Ok(())
    }
}

/// The smallest `local.context_size`: room for a short prompt and answer.
const MIN_CONTEXT: u32 = 256;
/// The largest `local.threads`.
const MAX_THREADS: usize = 1024;

fn not_blank(key: &str, value: Option<&str>) -> Result<(), Problem> {
    match value {
        Some(v) if v.trim().is_empty() => Err(Problem::new(key, "must not be empty")),
        _ => Ok(()),
    }
}

/// The range of the whole-number keys that have one besides their type's, as
/// (minimum, maximum).
pub(crate) fn range_of(key: &str) -> Option<(u64, u64)> {
    match key {
        "engine.max_iterations" => Some((1, MAX_ITERATIONS as u64)),
        "local.threads" => Some((0, MAX_THREADS as u64)),
        _ => None,
    }
}

/// `value` is within [`range_of`] `key`.
fn in_range(key: &str, value: Option<u64>) -> Result<(), Problem> {
    let (Some(n), Some((min, max))) = (value, range_of(key)) else { return Ok(()) };
    let expected = format!("expected {min} to {max}");
    if n > max {
        Err(Problem::new(key, format!("{n} is too large: the maximum is {max} ({expected})")))
    } else if n < min {
        Err(Problem::new(key, format!("{n} is too small: the minimum is {min} ({expected})")))
    } else {
        Ok(())
    }
}

fn at_least_one(key: &str, value: Option<u64>) -> Result<(), Problem> {
    match value {
        Some(0) => Err(Problem::new(key, "must be at least 1")),
        _ => Ok(()),
    }
}

fn temperature(key: &str, value: Option<f64>) -> Result<(), Problem> {
    match value {
        Some(t) if !(0.0..=2.0).contains(&t) => {
            Err(Problem::new(key, format!("{t} is out of range; expected a number from 0 to 2")))
        }
        _ => Ok(()),
    }
}

/// No name is blank. (A name listed twice is dropped with a warning once the layers
/// are merged: see `super::plugins`.)
fn no_blank_names(key: &str, names: &[String]) -> Result<(), Problem> {
    match names.iter().position(|name| name.trim().is_empty()) {
        Some(i) => Err(Problem::new(key, format!("item {} is an empty name", i + 1))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> RawConfig {
        toml::from_str(text).expect("valid raw config")
    }

    #[test]
    fn an_empty_layer_is_valid() {
        assert!(parse("").check().is_ok());
    }

    #[test]
    fn confidence_floor_out_of_range_names_the_key() {
        let err = parse("[engine]\nconfidence_floor = 1.5").check().unwrap_err();
        assert_eq!(err.key, "engine.confidence_floor");
        assert!(err.reason.contains("0 to 1"), "{}", err.reason);
    }

    #[test]
    fn nan_confidence_floor_is_rejected() {
        let err = parse("[engine]\nconfidence_floor = nan").check().unwrap_err();
        assert_eq!(err.key, "engine.confidence_floor");
    }

    #[test]
    fn iterations_are_bounded_to_1_to_1000() {
        for n in [0, 1001, 1_000_000] {
            let err = parse(&format!("[engine]\nmax_iterations = {n}")).check().unwrap_err();
            assert_eq!(err.key, "engine.max_iterations");
            assert!(err.reason.contains("expected 1 to 1000"), "{}", err.reason);
        }
        assert!(parse("[engine]\nmax_iterations = 1000").check().is_ok());
        assert!(parse("[engine]\nmax_iterations = 1").check().is_ok());
    }

    #[test]
    fn unknown_provider_lists_the_known_ones() {
        let err = parse("[provider]\nname = \"acme\"").check().unwrap_err();
        assert_eq!(err.key, "provider.name");
        assert!(err.reason.contains("acme") && err.reason.contains("openai"), "{}", err.reason);
    }

    #[test]
    fn unknown_preset_lists_the_known_ones() {
        let err = parse("preset = \"turbo\"").check().unwrap_err();
        assert_eq!(err.key, "preset");
        assert!(err.reason.contains("fast, balanced, quality"), "{}", err.reason);
    }

    #[test]
    fn duplicate_critics_pass_the_layer_check_but_blank_names_do_not() {
        assert!(parse("[critics]\nenabled = [\"reflexion\", \"reflexion\"]").check().is_ok());
        let err = parse("[critics]\nenabled = [\"reflexion\", \" \"]").check().unwrap_err();
        assert_eq!(err.key, "critics.enabled");
        assert!(err.reason.contains("item 2"), "{}", err.reason);
    }

    #[test]
    fn validator_items_must_be_strings_or_tables() {
        let err = parse("[validators]\nenabled = [\"words:min=5\", 3]").check().unwrap_err();
        assert_eq!(err.key, "validators.enabled");
        assert!(err.reason.contains("item 2"), "{}", err.reason);
        assert!(parse("[validators]\nenabled = [{ kind = \"regex\" }]").check().is_ok());
    }

    #[test]
    fn temperature_above_two_is_rejected() {
        let err = parse("[critics]\ntemperature = 2.5").check().unwrap_err();
        assert_eq!(err.key, "critics.temperature");
    }

    #[test]
    fn provider_extras_are_checked() {
        let err = parse("[provider]\nheaders = { \"Bad Name\" = \"v\" }").check().unwrap_err();
        assert_eq!(err.key, "provider.headers");
        assert!(err.reason.contains("Bad Name"), "{}", err.reason);
        let err = parse("[provider]\nazure_api_version = \"2024 10\"").check().unwrap_err();
        assert_eq!(err.key, "provider.azure_api_version");
        let err = parse("[provider]\norganization = \" \"").check().unwrap_err();
        assert_eq!(err.key, "provider.organization");
        let err = parse("[provider]\nstream_idle_timeout_secs = 0").check().unwrap_err();
        assert_eq!(err.key, "provider.stream_idle_timeout_secs");
        let ok = "[provider]\nheaders = { \"X-Custom\" = \"v\" }\nreasoning = true\n\
                  azure_api_version = \"2025-04-01-preview\"\norganization = \"org-1\"";
        assert!(parse(ok).check().is_ok());
    }

    #[test]
    fn local_values_are_checked() {
        let err = parse("[local]\ncontext_size = 16").check().unwrap_err();
        assert_eq!(err.key, "local.context_size");
        assert!(err.reason.contains("at least 256"), "{}", err.reason);
        let err = parse("[local]\nmax_tokens = 0").check().unwrap_err();
        assert_eq!(err.key, "local.max_tokens");
        let err = parse("[local]\nthreads = 5000").check().unwrap_err();
        assert_eq!(err.key, "local.threads");
        assert!(parse("[local]\nthreads = 0\nmodel_path = \"m.gguf\"").check().is_ok());
    }

    #[test]
    fn unknown_local_keys_are_rejected() {
        assert!(toml::from_str::<RawConfig>("[local]\nthread = 1").is_err());
    }

    #[test]
    fn base_url_must_be_http() {
        let err = parse("[provider]\nbase_url = \"api.openai.com\"").check().unwrap_err();
        assert_eq!(err.key, "provider.base_url");
    }
}
