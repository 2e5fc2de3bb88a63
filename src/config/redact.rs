//! The resolved configuration as JSON, safe to print and to store: the API key is
//! shown as `"[redacted]"` when set and `null` when not.
//!
//! The shape mirrors the config files (`timeout_secs`, `0` for unlimited budgets), plus
//! `preset`, `sources` and `provider.api_key`, so a stored copy reads like the file
//! that produced it. Custom header values (`provider.headers`) may be credentials too,
//! so they are redacted the same way; a password in `cache.redis_url` is masked, and so
//! are the user info and query values of `provider.base_url` (`https://u:pw@h/v1`,
//! `…/v1?api-key=…`).

use super::{Config, ProviderConfig};
use serde_json::{Value, json};

/// What the API key is shown as when it is set.
pub(crate) const REDACTED: &str = "[redacted]";

impl Config {
    /// The whole resolved configuration as JSON with the API key redacted; used by
    /// `redraft config check` and stored in every `Thought`.
    pub fn redacted(&self) -> Value {
        let mut shown = json!({
            "preset": self.preset,
            "sources": self.sources,
            "provider": provider(&self.provider),
            "generation": {
                "temperature": self.generation.temperature,
                "max_tokens": self.generation.max_tokens,
            },
            "engine": {
                "max_iterations": self.engine.max_iterations,
                "accept_when": self.engine.accept_when.to_string(),
                "confidence_floor": self.engine.confidence_floor,
                "critic_timeout_secs": self.engine.critic_timeout.as_secs(),
                "skip_critique_on_hard_failure": self.engine.skip_critique_on_hard_failure,
            },
            "critics": {
                "enabled": self.critics.enabled,
                "dirs": self.critics.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
                "temperature": self.critics.sampling.temperature,
                "max_tokens": self.critics.sampling.max_tokens,
                "vars": self.critics.vars,
            },
            "validators": {
                "enabled": self.validators.enabled,
                "dirs": self.validators.dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
            },
            "budget": {
                "max_tokens": self.budget.max_tokens.unwrap_or(0),
                "max_cost_usd": self.budget.max_cost_usd.unwrap_or(0.0),
                "deadline_secs": self.budget.deadline.map_or(0, |d| d.as_secs()),
            },
            "cache": {
                "enabled": self.cache.enabled,
                "max_entries": self.cache.max_entries,
                "ttl_secs": self.cache.ttl.map_or(0, |d| d.as_secs()),
                "dir": self.cache.dir.as_ref().map_or_else(String::new, |d| d.display().to_string()),
                "redis_url": self.cache.redis_url_masked().unwrap_or_default(),
                "redis_namespace": self.cache.redis_namespace,
            },
            "store": {
                "kind": self.store.kind.as_str(),
                "dir": self.store.dir.as_ref().map_or_else(String::new, |d| d.display().to_string()),
                "url": self.store.url_masked().unwrap_or_default(),
                "prefix": self.store.prefix,
                "ttl_secs": self.store.ttl.map_or(0, |d| d.as_secs()),
            },
            "prices": self.prices,
            "local": {
                "model_path": self.local.model_path.as_ref().map(|p| p.display().to_string()),
                "model_dir": self.local.model_dir.as_ref().map(|p| p.display().to_string()),
                "threads": self.local.threads,
                "context_size": self.local.context_size,
                "max_tokens": self.local.max_tokens,
                "seed": self.local.seed,
            },
        });
        if let Value::Object(sections) = &mut shown {
            sections.extend(super::resilience::redacted(self).map(|(k, v)| (k.to_owned(), v)));
        }
        shown
    }
}

/// One provider's settings as JSON (`[provider]` or a `[[fallback]]` table), the API
/// key and header values redacted.
pub(crate) fn provider(p: &ProviderConfig) -> Value {
    json!({
        "name": p.kind,
        // User info and query values in the URL may be credentials.
        "base_url": crate::model::url::redacted(&p.base_url),
        "model": p.model,
        "api_key_env": p.api_key_env,
        "api_key": p.api_key.as_ref().map(|_| REDACTED),
        "timeout_secs": p.timeout.as_secs(),
        "connect_timeout_secs": p.connect_timeout.as_secs(),
        "stream_idle_timeout_secs": p.stream_idle_timeout.as_secs(),
        // Header values may be credentials: only the names are shown.
        "headers": p.headers.keys().map(|k| (k.clone(), Value::from(REDACTED))).collect::<serde_json::Map<_, _>>(),
        "reasoning": p.reasoning,
        "azure_api_version": p.azure_api_version,
        "organization": p.organization,
    })
}
