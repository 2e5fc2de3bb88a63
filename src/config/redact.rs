//! The resolved configuration as JSON, safe to print and to store: the API key is
//! shown as `"[redacted]"` when set and `null` when not.
//!
//! The shape mirrors the config files (`timeout_secs`, `0` for unlimited budgets), plus
//! `preset`, `sources` and `provider.api_key`, so a stored copy reads like the file
//! that produced it.

use super::Config;
use serde_json::{Value, json};

/// What the API key is shown as when it is set.
pub(crate) const REDACTED: &str = "[redacted]";

impl Config {
    /// The whole resolved configuration as JSON with the API key redacted; used by
    /// `redraft config check` and stored in every `Thought`.
    pub fn redacted(&self) -> Value {
        let p = &self.provider;
        json!({
            "preset": self.preset,
            "sources": self.sources,
            "provider": {
                "name": p.name,
                "base_url": p.base_url,
                "model": p.model,
                "api_key_env": p.api_key_env,
                "api_key": p.api_key.as_ref().map(|_| REDACTED),
                "timeout_secs": p.timeout.as_secs(),
                "connect_timeout_secs": p.connect_timeout.as_secs(),
            },
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
                "deadline_secs": self.budget.deadline.map_or(0, |d| d.as_secs()),
            },
            "local": {
                "model_path": self.local.model_path.as_ref().map(|p| p.display().to_string()),
                "model_dir": self.local.model_dir.as_ref().map(|p| p.display().to_string()),
                "threads": self.local.threads,
                "context_size": self.local.context_size,
                "max_tokens": self.local.max_tokens,
                "seed": self.local.seed,
            },
        })
    }
}
