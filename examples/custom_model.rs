//! Plug your own model into redraft and watch the loop work — fully offline.
//!
//! Run with: `cargo run --example custom_model`
//!
//! The "model" here is a few lines of rules standing in for an LLM: as a critic it asks
//! for a concrete number until the draft has one, and as a reviser it adds one. Any
//! type that implements [`LanguageModel`] can drive the engine the same way: a client
//! for an in-house API, a cache, a test double.

use async_trait::async_trait;
use redraft::critic::Registry;
use redraft::model::{
    Completion, FinishReason, LanguageModel, ModelError, Request, ResponseFormat, Sampling,
    TokenUsage,
};
use redraft::validator::{Presets, build, parse_spec};
use redraft::{Engine, Error};
use std::sync::Arc;

/// A rule-based stand-in for a language model.
struct RuleModel;

#[async_trait]
impl LanguageModel for RuleModel {
    fn provider(&self) -> &str {
        "example"
    }

    fn model(&self) -> &str {
        "rules-v1"
    }

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        // The text under review is always in the last user message, between <text> tags.
        let last = request.messages.last().map(|m| m.content.as_str()).unwrap_or("");
        let under_review = last.split("<text>").nth(1).and_then(|r| r.split("</text>").next());
        let has_number = under_review.unwrap_or("").chars().any(|c| c.is_ascii_digit());
        let text = match request.format {
            // A critic asks for a JSON verdict.
            ResponseFormat::JsonSchema { .. } | ResponseFormat::JsonObject => {
                let (feedback, suggestions) = if has_number {
                    ("Concrete and clear.", vec![])
                } else {
                    ("Vague: say how long the light lasts.", vec!["Give the hours of light."])
                };
                serde_json::json!({
                    "needs_improvement": !has_number,
                    "confidence": 0.9,
                    "feedback": feedback,
                    "suggestions": suggestions,
                })
                .to_string()
            }
            // A reviser rewrites the text.
            ResponseFormat::Text => "The Lumen solar lamp charges by day and lights your \
                garden for 12 hours every night."
                .to_owned(),
        };
        Ok(Completion {
            text,
            finish_reason: FinishReason::Stop,
            usage: TokenUsage { prompt_tokens: 40, completion_tokens: 20 },
            model: "rules-v1".to_owned(),
            ..Completion::default()
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sampling = Sampling { temperature: Some(0.2), max_tokens: Some(512) };
    let presets = Presets::builtin()?;
    let mut builder = Engine::builder(Arc::new(RuleModel))
        .critic(Registry::builtin().build("reflexion", None, sampling)?)
        .max_iterations(3);
    for spec in ["words:min=8,max=60", "require:lamp"] {
        for v in build(&parse_spec(spec)?, &presets)? {
            builder = builder.validator_entry(v);
        }
    }
    let engine = builder.build()?;

    let thought = engine.improve("Our lamp is good and cheap.").await;

    for it in &thought.iterations {
        println!("iteration {}: {}", it.index, it.text);
        for v in &it.validations {
            println!("  validator {:<20} passed={:<5} {}", v.validator, v.passed, v.message);
        }
        for c in &it.critiques {
            let needs = c.needs_improvement;
            println!("  critic    {:<20} needs_improvement={needs} {}", c.critic, c.feedback);
        }
    }
    let reason = thought.stop_reason.map_or("none", |r| r.as_str());
    let best = thought.best_iteration.unwrap_or(0);
    println!("\nstop reason: {reason}; result: iteration {best}");
    println!("{}", thought.final_text.as_deref().unwrap_or(""));
    println!("{} model calls, {} tokens", thought.usage.calls, thought.usage.total_tokens());
    Ok(())
}
