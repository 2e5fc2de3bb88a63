//! Token usage and timings of a run.

use super::CallRecord;
use serde::{Deserialize, Serialize};

/// Calls and tokens of a run. `calls` counts requests actually sent (every attempt);
/// `cache_hits` counts calls answered from a cache, whose tokens are not spent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Requests sent to a provider, every attempt included.
    pub calls: u64,
    /// Calls answered from a cache.
    pub cache_hits: u64,
    /// Prompt tokens spent.
    pub prompt_tokens: u64,
    /// Completion tokens spent.
    pub completion_tokens: u64,
}

impl Usage {
    /// Account for one call record.
    pub fn add(&mut self, call: &CallRecord) {
        if call.cache_hit {
            self.cache_hits += 1;
        } else {
            self.calls += 1;
            self.prompt_tokens += call.prompt_tokens;
            self.completion_tokens += call.completion_tokens;
        }
    }

    /// Prompt plus completion tokens spent.
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }
}

/// Wall time of a run, in total and per phase, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// The whole run (summed over resumptions).
    pub total_ms: f64,
    /// Writing the first draft.
    pub draft_ms: f64,
    /// Validators.
    pub validate_ms: f64,
    /// Critics.
    pub critique_ms: f64,
    /// Deciding.
    pub decide_ms: f64,
    /// Revisions.
    pub revise_ms: f64,
}
