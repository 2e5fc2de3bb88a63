//! One iteration of the loop: a draft and everything learned about it.

use super::{CallRecord, ErrorInfo, GenerationSummary, StopReason};
use serde::{Deserialize, Serialize};

/// One evaluated draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Iteration {
    /// Position in the run, from 0.
    pub index: usize,
    /// The draft.
    pub text: String,
    /// The model call that wrote this draft (`None` for the user's own text).
    pub generation: Option<GenerationSummary>,
    /// Validator verdicts, in the order the validators ran.
    pub validations: Vec<Verdict>,
    /// Critic verdicts, in configuration order.
    pub critiques: Vec<Critique>,
    /// What the engine decided after evaluating this draft.
    pub decision: Option<Decision>,
    /// Every model call made for this iteration: its draft (generate mode), critiques,
    /// model-backed validators and the revision attempts that start from it.
    pub calls: Vec<CallRecord>,
}

impl Iteration {
    /// A fresh iteration holding `text`.
    pub fn new(index: usize, text: String) -> Self {
        Self {
            index,
            text,
            generation: None,
            validations: Vec::new(),
            critiques: Vec::new(),
            decision: None,
            calls: Vec::new(),
        }
    }

    /// How many hard validators passed, and how many hard validators ran.
    pub fn hard_passed(&self) -> (usize, usize) {
        let hard = self.validations.iter().filter(|v| v.hard);
        let total = hard.clone().count();
        (hard.filter(|v| v.passed).count(), total)
    }

    /// Whether every hard validator passed.
    pub fn hard_ok(&self) -> bool {
        let (passed, total) = self.hard_passed();
        passed == total
    }
}

/// A validator's verdict on one draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The validator's name.
    pub validator: String,
    /// Whether the draft satisfies it.
    pub passed: bool,
    /// How well it satisfies it, 0..=1.
    pub score: f64,
    /// On failure, an actionable delta for the reviser ("add about 40 words").
    pub message: String,
    /// Hard validators must pass to accept; soft ones only advise the reviser.
    #[serde(default = "yes")]
    pub hard: bool,
    /// Set when the validator itself failed to run (counts as not passed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
}

fn yes() -> bool {
    true
}

impl Verdict {
    /// A passing verdict.
    pub fn pass(validator: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            validator: validator.into(),
            passed: true,
            score: 1.0,
            message: message.into(),
            hard: true,
            error: None,
        }
    }

    /// A failing verdict with a score in 0..=1 and an actionable message.
    pub fn fail(validator: impl Into<String>, score: f64, message: impl Into<String>) -> Self {
        Self {
            validator: validator.into(),
            passed: false,
            score: score.clamp(0.0, 1.0),
            message: message.into(),
            hard: true,
            error: None,
        }
    }
}

/// A critic's verdict on one draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Critique {
    /// The critic's name.
    pub critic: String,
    /// Whether the critic wants the text revised.
    pub needs_improvement: bool,
    /// How sure the critic is, 0..=1.
    pub confidence: f64,
    /// What is wrong, in prose.
    pub feedback: String,
    /// Concrete changes to make.
    pub suggestions: Vec<String>,
    /// Set when the critic failed or timed out; such a critique does not vote.
    pub error: Option<ErrorInfo>,
}

impl Critique {
    /// The record of a critic that failed: it does not vote.
    pub fn failed(critic: impl Into<String>, error: ErrorInfo) -> Self {
        Self {
            critic: critic.into(),
            needs_improvement: false,
            confidence: 0.0,
            feedback: String::new(),
            suggestions: Vec::new(),
            error: Some(error),
        }
    }

    /// Whether this critique is a valid verdict (it votes).
    pub fn votes(&self) -> bool {
        self.error.is_none()
    }

    /// Whether this (valid) critique is satisfied, given the confidence floor: a
    /// verdict counts as "needs improvement" only at or above the floor.
    pub fn satisfied(&self, confidence_floor: f64) -> bool {
        !(self.needs_improvement && self.confidence >= confidence_floor)
    }
}

/// What the engine decided about an iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Stop or revise.
    pub action: Action,
    /// Why the run stops, when it does.
    pub stop_reason: Option<StopReason>,
    /// Hard validators passed.
    pub hard_passed: usize,
    /// Hard validators run.
    pub hard_total: usize,
    /// Critics satisfied (among those that voted).
    pub critics_satisfied: usize,
    /// Critics that returned a valid verdict.
    pub critics_voting: usize,
    /// Whether the acceptance rule held.
    pub accepted: bool,
    /// A short human-readable explanation.
    pub reason: String,
}

/// Stop or revise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The run ends after this iteration.
    Stop,
    /// The engine writes a revision of this iteration's text.
    Revise,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confidence_floor_decides_whether_a_complaint_counts() {
        let mut c = Critique::failed("x", ErrorInfo::new(crate::thought::ErrorKind::Critic, "e"));
        c.error = None;
        c.needs_improvement = true;
        c.confidence = 0.49;
        assert!(c.satisfied(0.5));
        c.confidence = 0.5;
        assert!(!c.satisfied(0.5));
    }

    #[test]
    fn soft_verdicts_do_not_count_as_hard() {
        let mut it = Iteration::new(0, "t".into());
        it.validations.push(Verdict::pass("a", ""));
        let mut soft = Verdict::fail("b", 0.0, "fix");
        soft.hard = false;
        it.validations.push(soft);
        it.validations.push(Verdict::fail("c", 0.2, "fix"));
        assert_eq!(it.hard_passed(), (1, 2));
        assert!(!it.hard_ok());
    }
}
