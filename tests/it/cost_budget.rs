//! Cost: every call record priced from the price table, the run's spent and saved
//! cost, the cost budget stopping a run with `stop_reason = budget`, and the `[prices]`
//! and `budget.max_cost_usd` configuration.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use redraft::Engine;
use redraft::cache::ResponseCache;
use redraft::config::{Config, LoadOptions};
use redraft::critic::Registry;
use redraft::engine::{Budget, EngineBuilder, Price, Prices};
use redraft::middleware::cache::Cached;
use redraft::model::scripted::{ScriptedModel, reply};
use redraft::model::{LanguageModel, ResponseFormat, Sampling};
use redraft::thought::{StopReason, Usage};
use std::path::PathBuf;
use std::sync::Arc;

/// Critics always want more (the scripted model reports 10 prompt + 5 completion
/// tokens per call); revisions differ every time.
fn unhappy_model() -> Arc<ScriptedModel> {
    let verdict =
        r#"{"needs_improvement":true,"confidence":0.9,"feedback":"More.","suggestions":[]}"#;
    Arc::new(ScriptedModel::new(move |req, n| {
        Ok(match req.format {
            ResponseFormat::Text => reply(&format!("Revision {n}.")),
            _ => reply(verdict),
        })
    }))
}

/// $1 per million prompt tokens and $2 per million completion tokens: a call costs
/// (10 × 1 + 5 × 2) / 1e6 = $0.00002.
fn prices() -> Prices {
    Prices::new().with("scripted", Price { input: 1.0, output: 2.0 })
}

const CALL_COST: f64 = 0.00002;

fn engine(model: Arc<dyn LanguageModel>, budget: Budget) -> Engine {
    let critic = Registry::builtin().build("reflexion", None, Sampling::default()).unwrap();
    EngineBuilder::new(model)
        .critic(critic)
        .max_iterations(5)
        .prices(prices())
        .budget(budget)
        .build()
        .unwrap()
}

#[tokio::test]
async fn every_call_is_priced_and_the_run_sums_its_cost() {
    let t = engine(unhappy_model(), Budget::default()).improve("A lamp.").await;
    assert_eq!(t.stop_reason, Some(StopReason::MaxIterations));
    assert!(t.usage.calls > 0);
    for c in t.calls() {
        let cost = c.cost_usd.expect("priced");
        assert!((cost - CALL_COST).abs() < 1e-15, "{cost}");
    }
    let expected = CALL_COST * t.usage.calls as f64;
    assert!((t.usage.cost_usd - expected).abs() < 1e-12, "{}", t.usage.cost_usd);
    assert_eq!(t.usage.unpriced_calls, 0);
    // The audit trail carries each call's cost.
    let json = serde_json::to_value(&t).unwrap();
    assert!(json["iterations"][0]["calls"][0]["cost_usd"].is_number());
    assert!(json["usage"]["cost_usd"].is_number());
}

#[tokio::test]
async fn a_model_without_a_price_has_no_cost() {
    let critic = Registry::builtin().build("reflexion", None, Sampling::default()).unwrap();
    let t = EngineBuilder::new(unhappy_model())
        .critic(critic)
        .max_iterations(2)
        .build()
        .unwrap()
        .improve("A lamp.")
        .await;
    assert!(t.calls().all(|c| c.cost_usd.is_none()));
    assert_eq!(t.usage.cost_usd, 0.0);
    assert_eq!(t.usage.unpriced_calls, t.usage.calls);
}

#[tokio::test]
async fn a_cost_budget_stops_the_run_before_the_next_model_phase() {
    // Two and a half calls' worth: the run stops once it has spent that much.
    let budget = Budget { max_cost_usd: Some(2.5 * CALL_COST), ..Budget::default() };
    let model = unhappy_model();
    let t = engine(model.clone(), budget).improve("A lamp.").await;
    assert_eq!(t.stop_reason, Some(StopReason::Budget));
    assert!(t.stop_detail.as_deref().unwrap().contains("cost budget"), "{:?}", t.stop_detail);
    assert!(t.usage.cost_usd >= 2.5 * CALL_COST);
    // Critique, revise, critique: the third call reaches the budget, and nothing is
    // sent after it.
    assert_eq!(t.usage.calls, 3);
    assert_eq!(model.requests().len(), 3);
    assert!(t.final_text.is_some());
}

#[tokio::test]
async fn cache_hits_save_their_cost_instead_of_spending_it() {
    let cache = Arc::new(ResponseCache::builder().build().unwrap());
    let model: Arc<dyn LanguageModel> = Arc::new(Cached::new(unhappy_model(), cache));
    let e = engine(model, Budget::default());
    let first = e.improve("A lamp.").await;
    let second = e.improve("A lamp.").await;
    assert_eq!(second.usage.calls, 0);
    assert_eq!(second.usage.cost_usd, 0.0);
    assert!((second.usage.saved_cost_usd - first.usage.cost_usd).abs() < 1e-12);
    assert!(second.calls().all(|c| c.cache_hit && c.cost_usd.is_some()));
    // Per-batch totals are sums of per-run usages.
    let total: Usage = [first.usage.clone(), second.usage.clone()].into_iter().sum();
    assert_eq!(total.calls, first.usage.calls);
    assert_eq!(total.cache_hits, second.usage.cache_hits);
    assert_eq!(total.saved_cost_usd, second.usage.saved_cost_usd);
}

#[test]
fn a_non_positive_cost_budget_is_rejected_by_the_builder() {
    let err = EngineBuilder::new(unhappy_model())
        .budget(Budget { max_cost_usd: Some(f64::NAN), ..Budget::default() })
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("budget.max_cost_usd"), "{err}");
}

// ---------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------

fn load(file: Option<&str>, overrides: &[(&str, &str)]) -> Result<Config, redraft::Error> {
    let dir = std::env::temp_dir().join(format!("redraft-cost-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = file.map(|text| {
        let path: PathBuf =
            dir.join(format!("{}.toml", redraft::cache::key::fnv1a_128(text.as_bytes())));
        std::fs::write(&path, text).unwrap();
        path
    });
    Config::load_with(&LoadOptions {
        file,
        // The built-in default is the local model; these tests talk to HTTP servers.
        overrides: [("provider.name", "openai")]
            .iter()
            .chain(overrides)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        // An engine for OpenAI's own API needs a key to be built (nothing is sent).
        env_vars: Some(vec![("OPENAI_API_KEY".to_owned(), "sk-test-cost".to_owned())]),
        workdir: Some(dir.join("no-such-dir")),
        ..LoadOptions::default()
    })
}

#[test]
fn prices_and_the_cost_budget_come_from_config() {
    let config = load(
        Some(
            r#"
[provider]
model = "gpt-4.1-x"

[prices."gpt-4.1-x"]
input = 1.25
output = 5.0

[prices."gpt-4o-mini"]
output = 0.8

[budget]
max_cost_usd = 0.5
"#,
        ),
        &[],
    )
    .unwrap();
    assert_eq!(config.prices.get("openai", "gpt-4.1-x"), Some(Price { input: 1.25, output: 5.0 }));
    // A user file can change one field of a built-in price.
    assert_eq!(
        config.prices.get("openai", "gpt-4o-mini"),
        Some(Price { input: 0.15, output: 0.8 })
    );
    assert_eq!(config.budget.max_cost_usd, Some(0.5));
    let engine = Engine::from_config(&config).unwrap();
    assert_eq!(engine.settings().budget.max_cost_usd, Some(0.5));
    assert!(engine.prices().get("openai", "gpt-4.1-x").is_some());
    assert_eq!(config.redacted()["prices"]["gpt-4.1-x"]["input"], 1.25);
}

#[test]
fn a_cost_budget_without_a_price_for_the_model_is_a_config_error() {
    let config =
        load(None, &[("provider.model", "mystery-model"), ("budget.max_cost_usd", "1")]).unwrap();
    let err = Engine::from_config(&config).unwrap_err().to_string();
    assert!(err.contains("budget.max_cost_usd") && err.contains("mystery-model"), "{err}");
}

#[test]
fn bad_prices_name_their_key() {
    let err = load(None, &[("prices.m.input", "-1")]).unwrap_err().to_string();
    assert!(err.contains("prices.m.input"), "{err}");
    let err = load(Some("[prices.m]\ninput = 1.0\n"), &[]).unwrap_err().to_string();
    assert!(err.contains("prices.m.output"), "{err}");
    let err = load(None, &[("budget.max_cost_usd", "-2")]).unwrap_err().to_string();
    assert!(err.contains("budget.max_cost_usd"), "{err}");
}
