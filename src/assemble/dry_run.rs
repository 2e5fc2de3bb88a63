//! Dry runs (`--dry-run`): the calls a run would make, with token and cost estimates,
//! without sending anything.
//!
//! The plan is not guessed from the configuration: the real engine runs, built from
//! the same config, with every model (the run's and each critic's own) replaced by a
//! stand-in that answers at once and never touches the network. So the plan has
//! exactly the calls, roles, models and rendered prompts the real run would have, for
//! the **worst case**:
//!
//! - every critic asks for improvement with full confidence, so no draft is accepted
//!   by the critics and the loop runs to `max_iterations` (unless the validators alone
//!   decide, a budget stops it first, or there is nothing to call);
//! - every answer uses its whole token cap (`max_tokens`): completion tokens are the
//!   caps, and a critic's feedback fills its cap (the reviser's prompt then carries
//!   it, bounded as usual);
//! - a revision is as long as the text it revises; in generate mode the first draft
//!   is as long as its cap;
//! - prompt tokens are estimated as characters / 4 (rounded up) plus 4 per message
//!   (and the JSON schema's characters / 4 when one is sent);
//! - retries, failovers, structured-output re-asks and cache hits are not counted.
//!
//! Costs come from the price table, like a real run's.

use crate::Error;
use crate::config::{Config, ProviderConfig};
use crate::engine::{Cancel, EngineBuilder};
use crate::model::{
    Completion, FinishReason, LanguageModel, ModelError, Request, ResponseFormat, TokenUsage,
};
use crate::thought::{CallRole, Mode, StopReason};
use async_trait::async_trait;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Completion tokens assumed for a request with no `max_tokens`.
const DEFAULT_MAX_TOKENS: u32 = 1024;

/// What a dry run found: the calls a run would make, and their totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Improve or generate.
    pub mode: Mode,
    /// The run's provider.
    pub provider: String,
    /// The run's model.
    pub model: String,
    /// The iteration cap.
    pub max_iterations: usize,
    /// Drafts the worst case evaluates.
    pub iterations: usize,
    /// Every call, in order.
    pub calls: Vec<PlannedCall>,
    /// Sums over the calls.
    pub totals: PlanTotals,
    /// How the worst-case run ends (`max_iterations`, or `budget` when a budget would
    /// stop it first, …).
    pub stop_reason: Option<StopReason>,
    /// Why, in words.
    pub stop_detail: Option<String>,
    /// What the estimates assume.
    pub assumptions: Vec<String>,
}

/// One planned call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlannedCall {
    /// The iteration it belongs to (a revision belongs to the draft it revises).
    pub iteration: usize,
    /// Why it is made.
    pub role: CallRole,
    /// The critic or validator making it.
    pub critic: Option<String>,
    /// The provider it goes to.
    pub provider: String,
    /// The model it goes to.
    pub model: String,
    /// Estimated prompt tokens.
    pub prompt_tokens: u64,
    /// The completion token cap.
    pub max_completion_tokens: u64,
    /// Estimated cost in US dollars at the cap, if the model has a price.
    pub cost_usd: Option<f64>,
}

/// Sums over a plan's calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PlanTotals {
    /// Calls.
    pub calls: u64,
    /// Estimated prompt tokens.
    pub prompt_tokens: u64,
    /// Completion token caps.
    pub max_completion_tokens: u64,
    /// Estimated cost of the priced calls, in US dollars.
    pub cost_usd: f64,
    /// Calls whose model has no price (not in `cost_usd`).
    pub unpriced_calls: u64,
}

impl PlanTotals {
    /// Prompt tokens plus completion caps.
    pub fn total_tokens(&self) -> u64 {
        self.prompt_tokens + self.max_completion_tokens
    }
}

/// Plan the run `config` describes on `input` (the text to improve, or the prompt),
/// sending nothing.
pub async fn plan(config: &Config, mode: Mode, input: &str) -> Result<Plan, Error> {
    let base = match mode {
        Mode::Improve => input.to_owned(),
        Mode::Generate => filler(DRAFT_FILLER, chars_for(config.generation.max_tokens)),
    };
    let shared = Arc::new(Shared { base, revisions: AtomicUsize::new(0) });
    let build = |p: &ProviderConfig| -> Result<Arc<dyn LanguageModel>, Error> {
        Ok(Arc::new(Standin {
            provider: p.kind.as_str().to_owned(),
            model: p.model.clone(),
            shared: shared.clone(),
        }))
    };
    let engine =
        EngineBuilder::from_config_with(config, build(&config.provider)?, &build)?.build()?;
    let mut unobserved = |_: &crate::engine::Event| {};
    let thought =
        engine.run(engine.new_thought(mode, input), &Cancel::never(), &mut unobserved).await;

    let calls: Vec<PlannedCall> = thought
        .iterations
        .iter()
        .flat_map(|it| {
            it.calls.iter().map(|c| PlannedCall {
                iteration: it.index,
                role: c.role,
                critic: c.critic.clone(),
                provider: c.provider.clone(),
                model: c.model.clone(),
                prompt_tokens: c.prompt_tokens,
                max_completion_tokens: c.completion_tokens,
                cost_usd: c.cost_usd,
            })
        })
        .collect();
    let u = &thought.usage;
    Ok(Plan {
        mode,
        provider: config.provider.kind.as_str().to_owned(),
        model: config.provider.model.clone(),
        max_iterations: config.engine.max_iterations,
        iterations: thought.iterations.len(),
        totals: PlanTotals {
            calls: u.calls,
            prompt_tokens: u.prompt_tokens,
            max_completion_tokens: u.completion_tokens,
            cost_usd: u.cost_usd,
            unpriced_calls: u.unpriced_calls,
        },
        calls,
        stop_reason: thought.stop_reason,
        stop_detail: thought.error.map(|e| e.message).or(thought.stop_detail),
        assumptions: assumptions(mode),
    })
}

fn assumptions(mode: Mode) -> Vec<String> {
    let length = match mode {
        Mode::Improve => "each revision is as long as the text it revises",
        Mode::Generate => {
            "the first draft fills its token cap; each revision is as long as the text it revises"
        }
    };
    vec![
        "worst case: every critic asks for improvement, so the loop runs to max_iterations \
         unless the validators alone decide or a budget stops it"
            .to_owned(),
        "completion tokens are counted at their caps (max_tokens)".to_owned(),
        "prompt tokens ≈ characters / 4 + 4 per message, of the prompts the run would send"
            .to_owned(),
        length.to_owned(),
        "retries, failovers, structured-output re-asks and cache hits are not counted".to_owned(),
    ]
}

/// The estimated prompt tokens of `request`: characters / 4, rounded up, plus 4 per
/// message, plus the JSON schema's characters / 4 when one is sent.
pub fn estimate_prompt_tokens(request: &Request) -> u64 {
    let messages: u64 = request.messages.iter().map(|m| estimate_tokens(&m.content) + 4).sum();
    let schema = match &request.format {
        ResponseFormat::JsonSchema { schema, .. } => estimate_tokens(&schema.to_string()),
        _ => 0,
    };
    messages + schema
}

/// Characters / 4, rounded up.
pub fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

const DRAFT_FILLER: &str = "Placeholder sentence standing in for the planned draft. ";
const FEEDBACK_FILLER: &str = "Placeholder feedback standing in for a critique. ";

/// Characters that fill `tokens` tokens at four characters a token.
fn chars_for(tokens: u32) -> usize {
    tokens as usize * 4
}

/// `unit` repeated to `len` characters (ASCII).
fn filler(unit: &str, len: usize) -> String {
    unit.chars().cycle().take(len).collect::<String>().trim_end().to_owned()
}

/// State shared by every stand-in model of one dry run.
struct Shared {
    /// The text every revision starts from.
    base: String,
    /// Revisions written so far, to make each one differ from the last.
    revisions: AtomicUsize,
}

/// A model that answers at once, sends nothing, and reports worst-case usage.
struct Standin {
    provider: String,
    model: String,
    shared: Arc<Shared>,
}

#[async_trait]
impl LanguageModel for Standin {
    fn provider(&self) -> &str {
        &self.provider
    }

    fn model(&self) -> &str {
        &self.model
    }

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        let cap = request.sampling.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
        let text = match request.format {
            ResponseFormat::Text => {
                let n = self.shared.revisions.fetch_add(1, Ordering::Relaxed) + 1;
                format!("{}\n\n(planned text {n})", self.shared.base)
            }
            ResponseFormat::JsonSchema { .. } | ResponseFormat::JsonObject => {
                let feedback = filler(FEEDBACK_FILLER, chars_for(cap).saturating_sub(100));
                serde_json::json!({
                    "needs_improvement": true,
                    "confidence": 1.0,
                    "feedback": feedback,
                    "suggestions": [],
                })
                .to_string()
            }
        };
        Ok(Completion {
            text,
            finish_reason: FinishReason::Stop,
            usage: TokenUsage {
                prompt_tokens: estimate_prompt_tokens(request),
                completion_tokens: u64::from(cap),
            },
            model: self.model.clone(),
            provider: self.provider.clone(),
            cache_hit: false,
            failed_attempts: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Message;

    #[test]
    fn token_estimates() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcde"), 2);
        assert_eq!(estimate_tokens("ééé"), 1, "characters, not bytes");
        let req = Request {
            messages: vec![Message::system("abcd"), Message::user("abcdefgh")],
            ..Request::default()
        };
        assert_eq!(estimate_prompt_tokens(&req), 1 + 4 + 2 + 4);
    }

    #[test]
    fn filler_has_the_asked_length() {
        assert_eq!(filler("ab ", 7), "ab ab a");
        assert!(filler(DRAFT_FILLER, 4096).chars().count() <= 4096);
    }
}
