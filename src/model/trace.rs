//! The live trace of one logical model call, so no request sent is ever lost from the
//! audit trail.
//!
//! A logical call (one [`call`](super::call::call)) may send several requests: retries
//! and failovers. Their records normally arrive together, on the final completion or
//! error (`failed_attempts`). When the caller stops waiting first — Ctrl-C, the run's
//! deadline, a critic's timeout — that final answer never comes. The trace is what
//! survives: the layer that really sends (the HTTP transport, the local model) marks
//! each request as [`sent`](CallTrace::sent), the attempt loop of retry and fallback
//! reports each failed attempt as it happens, and the recorder, when its call is
//! abandoned, turns what the trace holds into call records — every failed attempt,
//! plus the one in flight.
//!
//! The trace travels inside the [`Request`](super::Request), so every layer that
//! forwards or clones the request forwards the trace too; it takes no part in equality
//! or in the cache key. A request built without [`CallTrace::new`] carries an inert
//! trace that records nothing.

use super::Attempt;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The shared progress of one logical call; cheap to clone, clones share one state.
#[derive(Clone, Default)]
pub struct CallTrace {
    state: Option<Arc<Mutex<State>>>,
}

#[derive(Default)]
struct State {
    failed: Vec<Attempt>,
    in_flight: Option<InFlight>,
}

/// A request that was sent and has not been answered yet.
#[derive(Debug, Clone, PartialEq)]
pub struct InFlight {
    /// The provider it went to.
    pub provider: String,
    /// When it was sent.
    pub since: Instant,
}

/// What an abandoned call had done: its failed attempts, oldest first, and the request
/// still in flight, if any.
#[derive(Debug, Default, PartialEq)]
pub struct Abandoned {
    /// The attempts that failed before the call was abandoned.
    pub failed: Vec<Attempt>,
    /// The request that was in flight when it was abandoned.
    pub in_flight: Option<InFlight>,
}

impl CallTrace {
    /// A live trace, for a call whose abandonment must be recorded.
    pub fn new() -> Self {
        Self { state: Some(Arc::default()) }
    }

    /// A request of this call leaves for `provider`'s server now.
    pub fn sent(&self, provider: &str) {
        self.with(|s| {
            s.in_flight = Some(InFlight { provider: provider.to_owned(), since: Instant::now() });
        });
    }

    /// The request in flight came back, answered or failed.
    pub fn answered(&self) {
        self.with(|s| s.in_flight = None);
    }

    /// An attempt failed and the call goes on (a retry or a failover follows).
    pub fn failed(&self, attempt: &Attempt) {
        self.with(|s| {
            s.in_flight = None;
            s.failed.push(attempt.clone());
        });
    }

    /// Take what the call had done, leaving the trace empty.
    pub fn take(&self) -> Abandoned {
        let mut taken = Abandoned::default();
        self.with(|s| {
            taken =
                Abandoned { failed: std::mem::take(&mut s.failed), in_flight: s.in_flight.take() };
        });
        taken
    }

    fn with(&self, f: impl FnOnce(&mut State)) {
        if let Some(state) = &self.state {
            // A panic while holding this lock cannot leave the state half-written.
            f(&mut state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        }
    }
}

impl std::fmt::Debug for CallTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.state.is_some() { "CallTrace" } else { "CallTrace(inert)" })
    }
}

/// Every trace equals every other: the trace is bookkeeping, not part of what is asked.
impl PartialEq for CallTrace {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inert_trace_records_nothing() {
        let trace = CallTrace::default();
        trace.sent("openai");
        assert_eq!(trace.take(), Abandoned::default());
    }

    #[test]
    fn a_live_trace_keeps_failures_and_the_request_in_flight() {
        let trace = CallTrace::new();
        let shared = trace.clone();
        trace.sent("openai");
        shared.failed(&Attempt {
            provider: String::new(),
            model: String::new(),
            latency_ms: 0.0,
            backoff_ms: 0.0,
            error: crate::thought::ErrorInfo::new(crate::thought::ErrorKind::RateLimit, "429"),
            usage: Default::default(),
        });
        trace.sent("openai");
        let taken = shared.take();
        assert_eq!(taken.failed.len(), 1);
        assert_eq!(taken.in_flight.map(|f| f.provider).as_deref(), Some("openai"));
        trace.sent("openai");
        trace.answered();
        assert_eq!(trace.take(), Abandoned::default());
    }
}
