//! Human-readable output on stderr: progress lines and the closing summary (written
//! through `stderr`, which drops what it cannot write).

use super::stderr;
use redraft::engine::Event;
use redraft::thought::{Action, StopReason, Thought};

/// What the run shows on stderr while it works: one line per phase (`-v`) and the
/// streamed text of drafts and revisions (`--stream`).
pub(crate) struct Progress {
    verbose: bool,
    stream: bool,
    streaming: Option<usize>,
}

impl Progress {
    /// Show phases when `verbose`, streamed text when `stream`.
    pub(crate) fn new(verbose: bool, stream: bool) -> Self {
        Self { verbose, stream, streaming: None }
    }

    /// Show one event.
    pub(crate) fn show(&mut self, e: &Event) {
        match e {
            Event::Delta { iteration, text } if self.stream => {
                if self.streaming != Some(*iteration) {
                    self.streaming = Some(*iteration);
                    stderr::line(format_args!("redraft: iteration {iteration} (streaming):"));
                }
                stderr::text(text);
            }
            Event::Restart { iteration } if self.stream => {
                if self.streaming.take().is_some() {
                    let discarded = "the text above is discarded";
                    stderr::line(format_args!("\nredraft: iteration {iteration}: {discarded}"));
                }
            }
            Event::Delta { .. } | Event::Restart { .. } => {}
            _ => {
                if self.stream && self.streaming.take().is_some() {
                    stderr::line("");
                }
                if self.verbose {
                    stderr::line(format_args!("redraft: {}", describe(e)));
                }
            }
        }
    }
}

/// One progress line for an event.
pub(crate) fn describe(e: &Event) -> String {
    match e {
        Event::PhaseStarted { phase, iteration } => {
            format!("iteration {iteration}: {}…", phase.as_str())
        }
        Event::Drafted { chars } => format!("drafted {chars} characters"),
        Event::Validated { iteration, hard_passed, hard_total } => {
            format!("iteration {iteration}: {hard_passed}/{hard_total} hard validators passed")
        }
        Event::Critiqued { iteration, satisfied, voting, failed } => {
            format!(
                "iteration {iteration}: {satisfied}/{voting} critics satisfied, {failed} failed"
            )
        }
        Event::Decided { iteration, action: Action::Stop } => {
            format!("iteration {iteration}: stop")
        }
        Event::Decided { iteration, action: Action::Revise } => {
            format!("iteration {iteration}: revise")
        }
        Event::Revised { iteration, chars } => {
            format!("iteration {iteration}: revised ({chars} characters)")
        }
        Event::Delta { iteration, text } => format!("iteration {iteration}: +{text:?}"),
        Event::Restart { iteration } => format!("iteration {iteration}: restart"),
        Event::Finished { stop_reason, best_iteration } => {
            let best = best_iteration.map_or("none".to_owned(), |b| b.to_string());
            format!("finished: {stop_reason}, best iteration {best}")
        }
        _ => format!("{e:?}"),
    }
}

/// The closing summary: stop reason, iterations, calls, tokens, cost, time.
pub(crate) fn summary(t: &Thought) -> String {
    let reason = t.stop_reason.map_or("unfinished", StopReason::as_str);
    let best = t.best_iteration.map_or("none".to_owned(), |b| b.to_string());
    let u = &t.usage;
    // A cost is shown only when some sent call had a price ("+" when others had none).
    let cost = match (u.calls - u.unpriced_calls, u.unpriced_calls) {
        (0, _) => String::new(),
        (_, 0) => format!(", ${:.6}", u.cost_usd),
        (_, _) => format!(", ${:.6}+", u.cost_usd),
    };
    let saved = if u.cache_hits > 0 {
        format!(" ({} tokens saved)", u.saved_tokens())
    } else {
        String::new()
    };
    let mut line = format!(
        "redraft: {reason} after {} iteration(s); best {best}; {} call(s), {} cache hit(s){saved}, {} tokens{cost}; {:.2}s",
        t.iterations.len(),
        u.calls,
        u.cache_hits,
        u.total_tokens(),
        t.timings.total_ms / 1000.0,
    );
    match (&t.error, &t.stop_detail) {
        (Some(error), _) => line.push_str(&format!("\nredraft: error: {error}")),
        (None, Some(detail)) => line.push_str(&format!(" ({detail})")),
        (None, None) => {}
    }
    line
}
