//! Token usage, cost and timings of a run.

use super::CallRecord;
use serde::{Deserialize, Serialize};

/// Calls, tokens and cost of a run (or, summed with `+`, of a batch).
///
/// `calls` counts requests actually sent (every attempt); their tokens and cost are
/// *spent*. `cache_hits` counts calls answered from a cache: no request was sent, so
/// their tokens and cost are *saved*, not spent. Costs are in US dollars from the
/// price table (`[prices]`); a sent call whose model has no price adds nothing to
/// `cost_usd` and is counted in `unpriced_calls`, so a cost is known to be complete
/// only when `unpriced_calls` is 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Requests sent to a provider, every attempt included.
    pub calls: u64,
    /// Calls answered from a cache.
    pub cache_hits: u64,
    /// Prompt tokens spent.
    pub prompt_tokens: u64,
    /// Completion tokens spent.
    pub completion_tokens: u64,
    /// Prompt tokens a cache hit saved (what the cached answer had cost).
    #[serde(default)]
    pub saved_prompt_tokens: u64,
    /// Completion tokens a cache hit saved.
    #[serde(default)]
    pub saved_completion_tokens: u64,
    /// US dollars spent on the priced calls.
    #[serde(default)]
    pub cost_usd: f64,
    /// US dollars the cache hits saved (those with a known price).
    #[serde(default)]
    pub saved_cost_usd: f64,
    /// Sent calls whose model has no price in the price table.
    #[serde(default)]
    pub unpriced_calls: u64,
}

impl Usage {
    /// Account for one call record (its `cost_usd` as priced by the engine).
    pub fn add(&mut self, call: &CallRecord) {
        if call.cache_hit {
            self.cache_hits += 1;
            self.saved_prompt_tokens += call.prompt_tokens;
            self.saved_completion_tokens += call.completion_tokens;
            self.saved_cost_usd += call.cost_usd.unwrap_or(0.0);
        } else {
            self.calls += 1;
            self.prompt_tokens += call.prompt_tokens;
            self.completion_tokens += call.completion_tokens;
            match call.cost_usd {
                Some(cost) => self.cost_usd += cost,
                None => self.unpriced_calls += 1,
            }
        }
    }

    /// Add another usage to this one, field by field (per-batch totals).
    pub fn add_usage(&mut self, other: &Usage) {
        self.calls += other.calls;
        self.cache_hits += other.cache_hits;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.saved_prompt_tokens += other.saved_prompt_tokens;
        self.saved_completion_tokens += other.saved_completion_tokens;
        self.cost_usd += other.cost_usd;
        self.saved_cost_usd += other.saved_cost_usd;
        self.unpriced_calls += other.unpriced_calls;
    }

    /// Prompt plus completion tokens spent.
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.completion_tokens
    }

    /// Prompt plus completion tokens the cache saved.
    pub fn saved_tokens(&self) -> u64 {
        self.saved_prompt_tokens + self.saved_completion_tokens
    }
}

impl std::ops::AddAssign<&Usage> for Usage {
    fn add_assign(&mut self, other: &Usage) {
        self.add_usage(other);
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(mut self, other: Usage) -> Usage {
        self.add_usage(&other);
        self
    }
}

impl std::iter::Sum for Usage {
    fn sum<I: Iterator<Item = Usage>>(iter: I) -> Usage {
        iter.fold(Usage::default(), |a, b| a + b)
    }
}

impl<'a> std::iter::Sum<&'a Usage> for Usage {
    fn sum<I: Iterator<Item = &'a Usage>>(iter: I) -> Usage {
        iter.fold(Usage::default(), |mut a, b| {
            a += b;
            a
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thought::CallRole;
    use crate::thought::message::Sampling;

    fn record(cache_hit: bool, cost_usd: Option<f64>) -> CallRecord {
        CallRecord {
            role: CallRole::Revise,
            critic: None,
            provider: "p".into(),
            model: "m".into(),
            messages: vec![],
            sampling: Sampling::default(),
            response_format: "text".into(),
            prompt_tokens: 100,
            completion_tokens: 20,
            latency_ms: 1.0,
            attempt: 1,
            finish_reason: None,
            cache_hit,
            response: None,
            error: None,
            cost_usd,
        }
    }

    #[test]
    fn hits_are_saved_not_spent() {
        let mut u = Usage::default();
        u.add(&record(false, Some(0.5)));
        u.add(&record(true, Some(0.5)));
        u.add(&record(false, None));
        assert_eq!((u.calls, u.cache_hits, u.unpriced_calls), (2, 1, 1));
        assert_eq!((u.prompt_tokens, u.completion_tokens), (200, 40));
        assert_eq!((u.saved_prompt_tokens, u.saved_completion_tokens), (100, 20));
        assert_eq!((u.cost_usd, u.saved_cost_usd), (0.5, 0.5));
        assert_eq!(u.saved_tokens(), 120);
    }

    #[test]
    fn usages_sum_field_by_field() {
        let mut a = Usage::default();
        a.add(&record(false, Some(0.25)));
        let mut b = Usage::default();
        b.add(&record(true, Some(1.0)));
        b.add(&record(false, None));
        let total: Usage = [a.clone(), b.clone()].iter().sum();
        assert_eq!(total, a.clone() + b.clone());
        assert_eq!(total.calls, 2);
        assert_eq!(total.cache_hits, 1);
        assert_eq!(total.cost_usd, 0.25);
        assert_eq!(total.saved_cost_usd, 1.0);
        assert_eq!(total.unpriced_calls, 1);
        assert_eq!(total.total_tokens(), 240);
    }
}
