//! Progress events: one per phase, for progress displays and servers.

use crate::thought::{Action, Phase, StopReason};
use serde::Serialize;

/// Something that happened in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "event")]
#[non_exhaustive]
pub enum Event {
    /// A phase began.
    PhaseStarted {
        /// The phase.
        phase: Phase,
        /// The iteration it works on.
        iteration: usize,
    },
    /// Text of a draft or revision as it arrives (streaming runs only).
    Delta {
        /// The iteration the text will become.
        iteration: usize,
        /// The new text.
        text: String,
    },
    /// Drop the streamed text of this iteration shown so far: the answer restarts (a
    /// retry or failover), or was cut off and will not be used.
    Restart {
        /// The iteration the text would have become.
        iteration: usize,
    },
    /// The first draft was written.
    Drafted {
        /// Its length in characters.
        chars: usize,
    },
    /// Validators ran.
    Validated {
        /// The iteration.
        iteration: usize,
        /// Hard validators passed.
        hard_passed: usize,
        /// Hard validators run.
        hard_total: usize,
    },
    /// Critics ran.
    Critiqued {
        /// The iteration.
        iteration: usize,
        /// Critics satisfied.
        satisfied: usize,
        /// Critics that voted.
        voting: usize,
        /// Critics that failed (and did not vote).
        failed: usize,
    },
    /// The engine decided.
    Decided {
        /// The iteration.
        iteration: usize,
        /// Stop or revise.
        action: Action,
    },
    /// A revision became the next iteration.
    Revised {
        /// The new iteration's index.
        iteration: usize,
        /// Its length in characters.
        chars: usize,
    },
    /// The run ended.
    Finished {
        /// Why.
        stop_reason: StopReason,
        /// The best iteration, if any.
        best_iteration: Option<usize>,
    },
}
