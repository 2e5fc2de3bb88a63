//! Pricing: the price table (`[prices]` in config) that turns a call's tokens into US
//! dollars, so every call record, run and batch carries its cost.
//!
//! Prices are in US dollars per million tokens, input (prompt) and output (completion)
//! apart, keyed by model name (`gpt-4o-mini`) or by provider and model
//! (`openai/gpt-4o-mini`). A model with no price has no cost (`None`), never a made-up
//! zero: the usage counts such calls in `unpriced_calls`.

use super::CallRecord;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The price of one model, in US dollars per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Dollars per million prompt tokens.
    pub input: f64,
    /// Dollars per million completion tokens.
    pub output: f64,
}

impl Price {
    /// The cost of `prompt_tokens` in and `completion_tokens` out, in US dollars.
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> f64 {
        (prompt_tokens as f64 * self.input + completion_tokens as f64 * self.output) / 1e6
    }
}

/// The price table: model name (or `provider/model`) → [`Price`].
///
/// [`Prices::get`] looks a call up, in order:
/// 1. `provider/model` exactly, then `model` exactly;
/// 2. the same two for the model without a dated or numbered snapshot suffix: a
///    provider may report `gpt-4o-mini-2024-07-18` for a request to `gpt-4o-mini`, or
///    `gemini-1.5-flash-002`; the suffix is a final `-` followed only by digits and
///    dashes (so `gpt-4o-mini` never takes the price of `gpt-4o`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Prices {
    by_name: BTreeMap<String, Price>,
}

impl Prices {
    /// An empty table: no call has a known cost.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the price of `name` (a model name or `provider/model`).
    pub fn insert(&mut self, name: impl Into<String>, price: Price) {
        self.by_name.insert(name.into(), price);
    }

    /// The same table with `name` priced at `price`.
    pub fn with(mut self, name: impl Into<String>, price: Price) -> Self {
        self.insert(name, price);
        self
    }

    /// Whether no model has a price.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Every entry, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Price)> {
        self.by_name.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The price of `model` served by `provider` (see the type's docs for the lookup).
    pub fn get(&self, provider: &str, model: &str) -> Option<Price> {
        let exact = |model: &str| {
            self.by_name
                .get(&format!("{provider}/{model}"))
                .or_else(|| self.by_name.get(model))
                .copied()
        };
        exact(model).or_else(|| snapshot_base(model).and_then(exact))
    }

    /// The cost of a call to `model` on `provider`, or `None` when it has no price.
    pub fn cost(
        &self,
        provider: &str,
        model: &str,
        prompt_tokens: u64,
        completion_tokens: u64,
    ) -> Option<f64> {
        self.get(provider, model).map(|p| p.cost(prompt_tokens, completion_tokens))
    }

    /// Set `record.cost_usd` from its provider, model and tokens.
    pub fn price(&self, record: &mut CallRecord) {
        record.cost_usd = self.cost(
            &record.provider,
            &record.model,
            record.prompt_tokens,
            record.completion_tokens,
        );
    }
}

impl FromIterator<(String, Price)> for Prices {
    fn from_iter<I: IntoIterator<Item = (String, Price)>>(iter: I) -> Self {
        Self { by_name: iter.into_iter().collect() }
    }
}

/// `model` without a trailing snapshot suffix (`-2024-07-18`, `-20241022`, `-002`).
fn snapshot_base(model: &str) -> Option<&str> {
    let bytes = model.as_bytes();
    let mut cut = None;
    for (i, b) in bytes.iter().enumerate().rev() {
        match b {
            b'0'..=b'9' => {}
            b'-' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => cut = Some(i),
            _ => break,
        }
    }
    cut.filter(|&i| i > 0).map(|i| &model[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Prices {
        Prices::new()
            .with("gpt-4o-mini", Price { input: 0.15, output: 0.60 })
            .with("gpt-4o", Price { input: 2.5, output: 10.0 })
            .with("azure/gpt-4o", Price { input: 5.0, output: 15.0 })
    }

    #[test]
    fn cost_is_per_million_tokens() {
        let c = table().cost("openai", "gpt-4o-mini", 1_000_000, 500_000).unwrap();
        assert!((c - 0.45).abs() < 1e-12, "{c}");
    }

    #[test]
    fn provider_specific_prices_win() {
        assert_eq!(table().get("azure", "gpt-4o").unwrap().input, 5.0);
        assert_eq!(table().get("openai", "gpt-4o").unwrap().input, 2.5);
    }

    #[test]
    fn dated_snapshots_take_their_base_price() {
        let t = table();
        assert_eq!(t.get("openai", "gpt-4o-mini-2024-07-18").unwrap().input, 0.15);
        assert_eq!(t.get("openai", "gpt-4o-20241022").unwrap().input, 2.5);
        assert_eq!(t.get("azure", "gpt-4o-2024-08-06").unwrap().input, 5.0);
    }

    #[test]
    fn unknown_models_have_no_price() {
        let t = table();
        assert_eq!(t.cost("openai", "gpt-4.1", 10, 10), None);
        assert_eq!(t.get("openai", "gpt-4o-mini-high"), None, "not a snapshot suffix");
        assert_eq!(Prices::new().get("openai", "gpt-4o"), None);
    }

    #[test]
    fn snapshot_suffixes() {
        assert_eq!(snapshot_base("gpt-4o-mini-2024-07-18"), Some("gpt-4o-mini"));
        assert_eq!(snapshot_base("gemini-1.5-flash-002"), Some("gemini-1.5-flash"));
        assert_eq!(snapshot_base("claude-3-5-sonnet-20241022"), Some("claude-3-5-sonnet"));
        assert_eq!(snapshot_base("gpt-4o"), None);
        assert_eq!(snapshot_base("2024"), None);
        assert_eq!(snapshot_base("-2024"), None);
    }
}
