//! The engine's settings: iteration cap, acceptance rule, confidence floor, timeouts,
//! sampling for drafts and revisions, and budgets.

use super::message::Sampling;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How the critics' verdicts combine into acceptance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcceptWhen {
    /// Every critic that voted is satisfied.
    #[default]
    AllSatisfied,
    /// More than half of the critics that voted are satisfied.
    MajoritySatisfied,
    /// At least one critic that voted is satisfied.
    AnySatisfied,
}

impl AcceptWhen {
    /// Whether `satisfied` of `voting` critics meet the rule. No vote never accepts.
    pub fn holds(self, satisfied: usize, voting: usize) -> bool {
        if voting == 0 {
            return false;
        }
        match self {
            Self::AllSatisfied => satisfied == voting,
            Self::MajoritySatisfied => satisfied * 2 > voting,
            Self::AnySatisfied => satisfied >= 1,
        }
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllSatisfied => "all_satisfied",
            Self::MajoritySatisfied => "majority_satisfied",
            Self::AnySatisfied => "any_satisfied",
        }
    }
}

impl std::fmt::Display for AcceptWhen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits on what one run may spend. `None` means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    /// Total tokens (prompt + completion) the run may spend.
    pub max_tokens: Option<u64>,
    /// US dollars the run may spend, priced by the engine's price table (cache hits
    /// cost nothing). Checked before every phase that would call a model.
    pub max_cost_usd: Option<f64>,
    /// Wall time the run may take.
    pub deadline: Option<Duration>,
}

/// Everything that shapes a run, besides the model, critics and validators.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// How many drafts are evaluated at most (so at most `max_iterations - 1` revisions).
    pub max_iterations: usize,
    /// How critics' verdicts combine.
    pub accept_when: AcceptWhen,
    /// A "needs improvement" verdict counts only at or above this confidence.
    pub confidence_floor: f64,
    /// How long one critic may take.
    pub critic_timeout: Duration,
    /// Skip the critics in an iteration whose hard validators failed.
    pub skip_critique_on_hard_failure: bool,
    /// Sampling for drafts and revisions.
    pub generation: Sampling,
    /// Spending limits.
    pub budget: Budget,
    /// Stream drafts and revisions, yielding the engine's `Event::Delta` as
    /// text arrives.
    pub stream: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_iterations: 3,
            accept_when: AcceptWhen::AllSatisfied,
            confidence_floor: 0.5,
            critic_timeout: Duration::from_secs(60),
            skip_critique_on_hard_failure: false,
            generation: Sampling { temperature: Some(0.7), max_tokens: Some(1024) },
            budget: Budget::default(),
            stream: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AcceptWhen::*;

    #[test]
    fn acceptance_rules() {
        assert!(AllSatisfied.holds(3, 3));
        assert!(!AllSatisfied.holds(2, 3));
        assert!(MajoritySatisfied.holds(2, 3));
        assert!(!MajoritySatisfied.holds(1, 2));
        assert!(AnySatisfied.holds(1, 3));
        assert!(!AnySatisfied.holds(0, 3));
        for rule in [AllSatisfied, MajoritySatisfied, AnySatisfied] {
            assert!(!rule.holds(0, 0), "{rule} accepted with no vote");
        }
    }
}

/// Which provider serves a run: named in configuration (`provider.name`), never guessed
/// from a model name or from which API keys are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ProviderKind {
    /// The in-process local model (the `local` cargo feature).
    #[serde(rename = "local")]
    Local,
    /// OpenAI's chat completions API, and every server that speaks it.
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic's Messages API.
    #[serde(rename = "anthropic")]
    Anthropic,
    /// Google's Gemini API.
    #[serde(rename = "gemini")]
    Gemini,
    /// Ollama's native API.
    #[serde(rename = "ollama")]
    Ollama,
}

impl ProviderKind {
    /// Every provider, in the order they are listed to users.
    pub const ALL: [Self; 5] =
        [Self::Local, Self::OpenAi, Self::Anthropic, Self::Gemini, Self::Ollama];

    /// The name used in configuration, on the command line and in the `Thought`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::OpenAi => "openai",
            Self::Anthropic => "anthropic",
            Self::Gemini => "gemini",
            Self::Ollama => "ollama",
        }
    }

    /// The provider called `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Every provider's name, comma-separated, for messages.
    pub fn known() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl std::fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod provider_kind_tests {
    use super::ProviderKind;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for kind in ProviderKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<ProviderKind>(&json).unwrap(), kind);
            assert_eq!(ProviderKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(ProviderKind::from_name("open-ai"), None);
        assert_eq!(ProviderKind::known(), "local, openai, anthropic, gemini, ollama");
    }
}
