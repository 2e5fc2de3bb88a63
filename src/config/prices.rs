//! `[prices]`: the price table — raw as written, its per-layer check, and the resolved
//! [`Prices`].
//!
//! One table per model, `[prices."gpt-4o-mini"] input = 0.15, output = 0.60`, in US
//! dollars per million tokens; the name is a model name or `provider/model`. Layers
//! merge model by model and field by field, so a user file can change one price of a
//! built-in entry.

use super::raw::Problem;
use crate::thought::cost::{Price, Prices};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One model's `[prices."name"]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table with `input` and `output` prices")]
pub(crate) struct RawPrice {
    pub(crate) input: Option<f64>,
    pub(crate) output: Option<f64>,
}

/// `[prices]` as written: model name → price.
pub(crate) type RawPrices = BTreeMap<String, RawPrice>;

/// Checks the prices this layer sets: finite, not negative, names not blank.
pub(crate) fn check(prices: &RawPrices) -> Result<(), Problem> {
    for (name, price) in prices {
        if name.trim().is_empty() {
            return Err(problem("prices", "a model name is empty"));
        }
        for (field, value) in [("input", price.input), ("output", price.output)] {
            if let Some(v) = value
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(problem(
                    &format!("prices.{name}.{field}"),
                    format!(
                        "{v} is not a price; expected US dollars per million tokens, 0 or more"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Resolves the merged `[prices]`: every model needs both prices.
pub(crate) fn resolve(raw: RawPrices) -> Result<Prices, crate::Error> {
    raw.into_iter()
        .map(|(name, p)| {
            let missing = |field: &str| {
                crate::Error::config(
                    "merged configuration",
                    Some(&format!("prices.{name}.{field}")),
                    "missing; a price needs both `input` and `output` (US dollars per million tokens)",
                )
            };
            let input = p.input.ok_or_else(|| missing("input"))?;
            let output = p.output.ok_or_else(|| missing("output"))?;
            Ok((name, Price { input, output }))
        })
        .collect()
}

fn problem(key: &str, reason: impl Into<String>) -> Problem {
    Problem { key: key.to_owned(), reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(name: &str, input: Option<f64>, output: Option<f64>) -> RawPrices {
        [(name.to_owned(), RawPrice { input, output })].into_iter().collect()
    }

    #[test]
    fn negative_or_nan_prices_are_rejected() {
        let p = check(&raw("m", Some(-1.0), None)).unwrap_err();
        assert_eq!(p.key, "prices.m.input");
        assert_eq!(check(&raw("m", None, Some(f64::NAN))).unwrap_err().key, "prices.m.output");
        assert!(check(&raw("m", Some(0.0), Some(1.5))).is_ok());
    }

    #[test]
    fn both_prices_are_needed_once_merged() {
        let e = resolve(raw("gpt-x", Some(1.0), None)).unwrap_err().to_string();
        assert!(e.contains("prices.gpt-x.output"), "{e}");
        let prices = resolve(raw("gpt-x", Some(1.0), Some(2.0))).unwrap();
        assert_eq!(prices.get("any", "gpt-x"), Some(Price { input: 1.0, output: 2.0 }));
    }
}
