//! The `Thought`: the complete, serialisable state of one run.
//!
//! A run is a state machine over [`Phase`]. Everything the engine learns — every draft,
//! verdict, critique, decision and model call — is appended to the `Thought`, so a
//! stored `Thought` is both an audit trail and a checkpoint that can be resumed.

mod call;
pub mod cost;
mod error;
mod iteration;
pub mod message;
pub mod settings;
mod usage;
pub mod verdict;

pub use call::{CallRecord, CallRole, GenerationSummary};
pub use error::{ErrorInfo, ErrorKind};
pub use iteration::{Action, Critique, Decision, Iteration, Verdict};
pub use usage::{Timings, Usage};

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The version of the serialised `Thought` layout.
pub const SCHEMA_VERSION: u32 = 2;

/// What the run was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Improve a given text: the text is the first draft.
    Improve,
    /// Write a first draft from a prompt, then improve it.
    Generate,
}

/// Where a run is in its loop. Stored, so a run can be resumed from here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Writing the first draft (generate mode only).
    Draft,
    /// Running validators on the current iteration.
    Validate,
    /// Running critics on the current iteration.
    Critique,
    /// Deciding whether to stop or revise.
    Decide,
    /// Writing the next draft.
    Revise,
    /// Finished; `stop_reason` is set.
    Done,
}

impl Phase {
    /// The snake_case name used in JSON and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Validate => "validate",
            Self::Critique => "critique",
            Self::Decide => "decide",
            Self::Revise => "revise",
            Self::Done => "done",
        }
    }
}

/// Why a run ended. Every finished run has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Hard validators pass and the critics' verdicts satisfy `accept_when`.
    Accepted,
    /// The iteration cap was reached.
    MaxIterations,
    /// The text stopped improving.
    Plateau,
    /// A token, cost or time budget ran out.
    Budget,
    /// The run was cancelled (Ctrl-C or a shutdown signal).
    Cancelled,
    /// An error stopped the run; see `Thought::error`.
    Failed,
}

impl StopReason {
    /// The snake_case name used in JSON and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::MaxIterations => "max_iterations",
            Self::Plateau => "plateau",
            Self::Budget => "budget",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
        }
    }
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The serialisable state of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thought {
    /// Layout version, [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Unique id of the run.
    pub id: String,
    /// Improve a text or generate from a prompt.
    pub mode: Mode,
    /// The prompt (generate) or the original text (improve).
    pub input: String,
    /// Unix time in milliseconds when the run was created.
    pub created_at_ms: u64,
    /// Every evaluated draft, in order.
    pub iterations: Vec<Iteration>,
    /// Where the run is.
    pub phase: Phase,
    /// Why the run ended; `None` while it runs.
    pub stop_reason: Option<StopReason>,
    /// A human-readable detail for the stop reason (e.g. which budget ran out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_detail: Option<String>,
    /// The phase a `cancelled`, `budget` or `failed` run was in when it stopped; resuming
    /// the thought starts again from there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume_from: Option<Phase>,
    /// The error that stopped a `failed` run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// Index of the best iteration (see the engine's ranking).
    pub best_iteration: Option<usize>,
    /// The best iteration's text.
    pub final_text: Option<String>,
    /// Calls and tokens.
    pub usage: Usage,
    /// Wall time in total and per phase.
    pub timings: Timings,
    /// What made the run — provider and model, critics with their versions,
    /// validators, the loop settings and budgets with an absolute deadline — never a
    /// secret: with the environment's API keys, enough to rebuild its engine.
    pub settings: settings::RunSettings,
}

impl Thought {
    /// A new thought in its first phase.
    pub fn new(mode: Mode, input: impl Into<String>, settings: settings::RunSettings) -> Self {
        let phase = match mode {
            Mode::Improve => Phase::Validate,
            Mode::Generate => Phase::Draft,
        };
        let input = input.into();
        let iterations = match mode {
            Mode::Improve => vec![Iteration::new(0, input.clone())],
            Mode::Generate => Vec::new(),
        };
        Self {
            schema_version: SCHEMA_VERSION,
            id: new_id(),
            mode,
            input,
            created_at_ms: now_ms(),
            iterations,
            phase,
            stop_reason: None,
            stop_detail: None,
            resume_from: None,
            error: None,
            best_iteration: None,
            final_text: None,
            usage: Usage::default(),
            timings: Timings::default(),
            settings,
        }
    }

    /// The iteration being worked on, if any.
    pub fn current(&self) -> Option<&Iteration> {
        self.iterations.last()
    }

    /// Every call record of the run, in order.
    pub fn calls(&self) -> impl Iterator<Item = &CallRecord> {
        self.iterations.iter().flat_map(|it| it.calls.iter())
    }

    /// Whether the run has finished.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }
}

/// The time now in Unix milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// A unique, time-ordered id: milliseconds, process id and a counter, in hex.
fn new_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{:012x}-{:06x}-{:08x}-{n:04x}", now_ms(), std::process::id(), nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        let a = new_id();
        let b = new_id();
        assert_ne!(a, b);
    }

    #[test]
    fn round_trips_through_json_with_snake_case_enums() {
        let mut t = Thought::new(Mode::Improve, "hello", Default::default());
        t.stop_reason = Some(StopReason::MaxIterations);
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains("\"max_iterations\""), "{json}");
        assert!(json.contains("\"mode\":\"improve\""), "{json}");
        let back: Thought = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn improve_starts_validating_the_input() {
        let t = Thought::new(Mode::Improve, "text", Default::default());
        assert_eq!(t.phase, Phase::Validate);
        assert_eq!(t.iterations.len(), 1);
        assert_eq!(t.iterations[0].text, "text");
        let g = Thought::new(Mode::Generate, "prompt", Default::default());
        assert_eq!(g.phase, Phase::Draft);
        assert!(g.iterations.is_empty());
    }
}
