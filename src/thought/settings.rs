//! The settings of a run: the engine's loop settings ([`Settings`]: iteration cap,
//! acceptance rule, confidence floor, timeouts, sampling, budgets), and the typed record
//! every `Thought` keeps of what made it ([`RunSettings`]: provider and model, critics
//! with their versions, validators, the loop settings and an absolute deadline).

use super::message::Sampling;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Total tokens (prompt + completion) the run may spend.
    pub max_tokens: Option<u64>,
    /// US dollars the run may spend, priced by the engine's price table (cache hits
    /// cost nothing). Checked before every phase that would call a model.
    pub max_cost_usd: Option<f64>,
    /// Wall time the run may take, from its start (see [`RunSettings::deadline_at_ms`]).
    #[serde(rename = "deadline_ms", with = "millis_opt")]
    pub deadline: Option<Duration>,
}

impl Budget {
    /// Why nothing more may be spent once `tokens` and `cost_usd` are, if a limit is
    /// reached. The deadline is the engine's to watch.
    pub fn refusal(&self, tokens: u64, cost_usd: f64) -> Option<String> {
        if let Some(max) = self.max_tokens
            && tokens >= max
        {
            return Some(format!("token budget spent: {tokens} of {max} tokens"));
        }
        if let Some(max) = self.max_cost_usd
            && cost_usd >= max
        {
            return Some(format!("cost budget spent: ${cost_usd:.6} of ${max:.6}"));
        }
        None
    }
}

/// Everything that shapes a run, besides the model, critics and validators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// How many drafts are evaluated at most (so at most `max_iterations - 1` revisions).
    pub max_iterations: usize,
    /// How critics' verdicts combine.
    pub accept_when: AcceptWhen,
    /// A "needs improvement" verdict counts only at or above this confidence.
    pub confidence_floor: f64,
    /// How long one critic may take.
    #[serde(rename = "critic_timeout_ms", with = "millis")]
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

/// What made a run, as its `Thought` stores it: enough, with the environment's API
/// keys, to rebuild the engine that made it, and never a secret — a key is named by its
/// environment variable, a URL's credentials are redacted, header values are left out.
///
/// An engine built from configuration records everything here; one built by hand with
/// the engine builder records what it knows (its model, critics, validators by name,
/// and its settings).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// The model that drafts and revises, and that critics without a model of their
    /// own ask.
    pub provider: ProviderSettings,
    /// The models tried in turn when it fails, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallback: Vec<ProviderSettings>,
    /// The configuration preset applied (`fast`, `balanced`, `quality`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    /// The critics, in the order they run.
    pub critics: Vec<CriticSettings>,
    /// Sampling for the critics' calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critic_sampling: Option<Sampling>,
    /// Where critics defined as data were looked up, besides the built-in ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub critic_dirs: Vec<PathBuf>,
    /// The validators, in the order they run.
    pub validators: Vec<ValidatorSettings>,
    /// Where validator presets were looked up, besides the built-in ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub validator_dirs: Vec<PathBuf>,
    /// The loop: iteration cap, acceptance rule, confidence floor, critic timeout,
    /// sampling, streaming and the budget.
    pub engine: Settings,
    /// When the run's deadline falls, in Unix milliseconds: set when the run starts
    /// from [`Budget::deadline`], kept on resume unless the deadline is changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline_at_ms: Option<u64>,
}

/// A model a run talks to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderSettings {
    /// The provider: a [`ProviderKind`] name (`openai`, `local`, …) when the engine was
    /// built from configuration; whatever the model calls itself otherwise.
    pub kind: String,
    /// The model's name.
    pub model: String,
    /// The base URL, credentials redacted; `None` for the provider's default or when
    /// not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable the API key is read from (its name, never its value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
}

/// A critic of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CriticSettings {
    /// Its name, as in `critics.enabled`.
    pub name: String,
    /// The version of its definition: a changed critic is a different one.
    pub version: u32,
    /// The model it asks, when it has one of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The template variables it was given (`critics.vars.NAME`).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub vars: serde_json::Map<String, serde_json::Value>,
}

/// A validator of a run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidatorSettings {
    /// Its name, as its verdicts carry it.
    pub name: String,
    /// Hard (must pass to accept) or soft (advice only).
    pub hard: bool,
    /// Its spec as configured — a spec string (`words:min=50,max=120`) or a table —
    /// when it was built from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<serde_json::Value>,
}

impl RunSettings {
    /// What differs between `self` (stored) and `given`, one `key: stored → given`
    /// line each, leaving out the budget and the deadline (they may change on resume).
    pub fn differences(&self, given: &RunSettings) -> Vec<String> {
        let (mut stored, mut given) =
            match (serde_json::to_value(self), serde_json::to_value(given)) {
                (Ok(stored), Ok(given)) => (stored, given),
                // Not a silent "no difference": the comparison itself could not be made.
                (Err(e), _) | (_, Err(e)) => {
                    return vec![format!("settings: cannot be compared: {e}")];
                }
            };
        for v in [&mut stored, &mut given] {
            if let Some(map) = v.as_object_mut() {
                map.remove("deadline_at_ms");
                if let Some(engine) = map.get_mut("engine").and_then(|e| e.as_object_mut()) {
                    engine.remove("budget");
                    // Streaming is how the answer is shown, not what it is.
                    engine.remove("stream");
                }
            }
        }
        let mut out = Vec::new();
        diff("", &stored, &given, &mut out);
        out
    }
}

/// Append `path: a → b` for every leaf where `a` and `b` differ.
fn diff(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let null = Value::Null;
                let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                diff(&sub, x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                diff(&format!("{path}[{i}]"), x, y, out);
            }
        }
        _ if a != b => out.push(format!("{path}: {a} → {b}")),
        _ => {}
    }
}

/// Serde for a [`Duration`] as whole milliseconds.
mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Serde for an optional [`Duration`] as whole milliseconds.
mod millis_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|ms| ms.map(Duration::from_millis))
    }
}

#[cfg(test)]
mod tests {
    use super::AcceptWhen::*;

    #[test]
    fn run_settings_round_trip_and_differ_by_key_but_not_by_budget() {
        use super::*;
        let mut stored = RunSettings {
            provider: ProviderSettings {
                kind: "openai".into(),
                model: "m".into(),
                ..Default::default()
            },
            critics: vec![CriticSettings {
                name: "reflexion".into(),
                version: 1,
                ..Default::default()
            }],
            ..Default::default()
        };
        stored.engine.budget.deadline = Some(Duration::from_secs(30));
        stored.deadline_at_ms = Some(1);
        let json = serde_json::to_string(&stored).unwrap();
        assert!(json.contains("\"deadline_ms\":30000"), "{json}");
        let back: RunSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, stored);

        let mut given = stored.clone();
        given.engine.budget = Budget { max_tokens: Some(5), ..Budget::default() };
        given.deadline_at_ms = None;
        assert!(stored.differences(&given).is_empty(), "budgets may change");
        given.provider.model = "other".into();
        given.critics[0].version = 2;
        given.engine.max_iterations = 9;
        assert_eq!(
            stored.differences(&given),
            [
                "critics[0].version: 1 → 2".to_owned(),
                "engine.max_iterations: 3 → 9".to_owned(),
                "provider.model: \"m\" → \"other\"".to_owned(),
            ]
        );
    }

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
