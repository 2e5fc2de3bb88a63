//! The state machine: one step per phase, each step computed from an immutable view of
//! the `Thought` and then applied to it, so a cancelled or timed-out step leaves the
//! `Thought` consistent and loses no call already recorded.

use super::decide::{self, same_text};
use super::prompts::{self, clean_revision};
use super::{Cancel, Engine, Event, Prices, unusable};
use crate::critic::{CriticError, CritiqueContext};
use crate::model::call::{call, call_streaming};
use crate::model::{CallLog, CallTag, Completion, FinishReason, ModelError};
use crate::thought::settings::ProviderKind;
use crate::thought::{
    Action, CallRecord, CallRole, Critique, Decision, GenerationSummary, Iteration, Mode, Phase,
    StopReason, Thought, Verdict,
};
use crate::validator::{Cost, ValidationContext};
use std::time::Instant;

/// What one step produced.
enum Outcome {
    Drafted(Result<Completion, ModelError>),
    Validated(Vec<Verdict>),
    Critiqued(Critiqued),
    Decided(Decision),
    Revised(Revision),
}

/// What a critique step produced.
struct Critiqued {
    /// One critique per critic, in the engine's order.
    critiques: Vec<Critique>,
    /// The first provider error that every later call would repeat, if any.
    fatal: Option<String>,
}

/// What a revision step produced.
enum Revision {
    Text(String),
    Identical,
    Unusable(String),
    Failed(ModelError),
}

/// Why a step did not finish.
enum Interrupt {
    Cancelled,
    Deadline,
}

impl Engine {
    /// Drive `thought` from its stored phase to the end, calling `on_event` once per phase.
    /// Stops with `cancelled` when `cancel` fires; no call already made is lost.
    pub async fn run(
        &self,
        mut thought: Thought,
        cancel: &Cancel,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Thought {
        let started = Instant::now();
        let deadline = self.inner.settings.budget.deadline.map(|d| started + d);
        let log = CallLog::new();
        if !thought.is_done() && thought.input.trim().is_empty() {
            let what = if thought.mode == Mode::Improve { "text to improve" } else { "prompt" };
            self.finish(&mut thought, StopReason::Failed, format!("the {what} is empty"));
        }
        while !thought.is_done() {
            let phase = thought.phase;
            if cancel.is_cancelled() {
                self.finish(&mut thought, StopReason::Cancelled, "cancelled".into());
                break;
            }
            if let Some(why) = self.over_budget(&thought, phase, deadline) {
                self.finish(&mut thought, StopReason::Budget, why);
                break;
            }
            let iteration = thought.iterations.len().saturating_sub(1);
            on_event(&Event::PhaseStarted { phase, iteration });
            let t0 = Instant::now();
            let outcome = {
                let step = self.step(&thought, &log, &mut *on_event);
                let expired = async {
                    match deadline {
                        Some(at) => tokio::time::sleep_until(at.into()).await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    biased;
                    () = cancel.cancelled() => Err(Interrupt::Cancelled),
                    () = expired => Err(Interrupt::Deadline),
                    outcome = step => Ok(outcome),
                }
            };
            let calls = log.take();
            add_phase_time(&mut thought, phase, t0.elapsed().as_secs_f64() * 1000.0);
            match outcome {
                Ok(outcome) => self.apply(&mut thought, outcome, calls, on_event),
                Err(interrupt) => {
                    attach(&mut thought, calls, &self.inner.prices);
                    let (reason, why) = match interrupt {
                        Interrupt::Cancelled => (StopReason::Cancelled, "cancelled".to_owned()),
                        Interrupt::Deadline => (StopReason::Budget, self.deadline_text()),
                    };
                    self.finish(&mut thought, reason, why);
                }
            }
        }
        thought.timings.total_ms += started.elapsed().as_secs_f64() * 1000.0;
        if let Some(stop_reason) = thought.stop_reason {
            on_event(&Event::Finished { stop_reason, best_iteration: thought.best_iteration });
        }
        thought
    }

    /// Why the run may not start `phase`, if a budget has run out.
    fn over_budget(
        &self,
        thought: &Thought,
        phase: Phase,
        deadline: Option<Instant>,
    ) -> Option<String> {
        let calls_model = match phase {
            Phase::Draft | Phase::Revise => true,
            Phase::Critique => !self.inner.critics.is_empty(),
            Phase::Validate => {
                self.inner.validators.iter().any(|v| v.validator.cost() == Cost::Model)
            }
            Phase::Decide | Phase::Done => false,
        };
        if !calls_model {
            return None;
        }
        let budget = &self.inner.settings.budget;
        if let Some(max) = budget.max_tokens {
            let spent = thought.usage.total_tokens();
            if spent >= max {
                return Some(format!("token budget spent: {spent} of {max} tokens"));
            }
        }
        if let Some(max) = budget.max_cost_usd {
            let spent = thought.usage.cost_usd;
            if spent >= max {
                return Some(format!("cost budget spent: ${spent:.6} of ${max:.6}"));
            }
        }
        if deadline.is_some_and(|at| Instant::now() >= at) {
            return Some(self.deadline_text());
        }
        None
    }

    fn deadline_text(&self) -> String {
        let secs = self.inner.settings.budget.deadline.map(|d| d.as_secs_f64()).unwrap_or(0.0);
        format!("deadline of {secs}s reached")
    }

    /// Compute the outcome of the current phase without changing the thought.
    async fn step(
        &self,
        thought: &Thought,
        log: &CallLog,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Outcome {
        let inner = &*self.inner;
        let current = thought.iterations.last();
        match (thought.phase, current) {
            (Phase::Draft, _) => {
                let req = prompts::draft(&thought.input, inner.settings.generation);
                let tag = CallTag::new(CallRole::Draft);
                Outcome::Drafted(self.write(&req, &tag, log, 0, on_event).await)
            }
            (Phase::Validate, Some(it)) => {
                Outcome::Validated(self.validate(thought, it, log).await)
            }
            (Phase::Critique, Some(it)) => {
                Outcome::Critiqued(self.critique(thought, it, log).await)
            }
            (Phase::Decide, Some(_)) => Outcome::Decided(decide::decide(
                &thought.iterations,
                &inner.settings,
                inner.critics.len(),
            )),
            (Phase::Revise, Some(it)) => {
                Outcome::Revised(self.revise(thought, it, log, on_event).await)
            }
            (Phase::Done, _) | (_, None) => Outcome::Decided(Decision {
                action: Action::Stop,
                stop_reason: Some(StopReason::Failed),
                hard_passed: 0,
                hard_total: 0,
                critics_satisfied: 0,
                critics_voting: 0,
                accepted: false,
                reason: format!("no draft to work on in phase {:?}", thought.phase),
            }),
        }
    }

    /// Cheap validators all run; model-backed ones run only while every hard verdict so
    /// far passed.
    async fn validate(&self, thought: &Thought, it: &Iteration, log: &CallLog) -> Vec<Verdict> {
        let inner = &*self.inner;
        let cx = ValidationContext {
            text: &it.text,
            input: &thought.input,
            iteration: it.index,
            model: &*inner.model,
            log,
        };
        let mut verdicts = Vec::with_capacity(inner.validators.len());
        for entry in &inner.validators {
            let hard_ok = verdicts.iter().all(|v: &Verdict| v.passed || !v.hard);
            if entry.validator.cost() == Cost::Model && !hard_ok {
                continue;
            }
            let name = entry.validator.name();
            let mut verdict = match entry.validator.validate(&cx).await {
                Ok(v) => v,
                Err(e) => Verdict {
                    error: Some(e.to_string()),
                    ..Verdict::fail(name, 0.0, format!("the validator could not run: {e}"))
                },
            };
            verdict.hard = entry.hard;
            verdicts.push(verdict);
        }
        verdicts
    }

    /// Every critic at once, each with its own timeout; a failure does not vote. A
    /// provider error that every later call would repeat (auth, quota, context length)
    /// is returned beside the critiques: the run stops on it.
    async fn critique(&self, thought: &Thought, it: &Iteration, log: &CallLog) -> Critiqued {
        let inner = &*self.inner;
        let cx = CritiqueContext {
            text: &it.text,
            input: &thought.input,
            mode: thought.mode,
            iteration: it.index,
            history: &thought.iterations[..it.index.min(thought.iterations.len())],
            model: &*inner.model,
            log,
        };
        let timeout = inner.settings.critic_timeout;
        let runs = inner.critics.iter().map(|critic| {
            let cx = &cx;
            async move {
                let name = critic.name();
                match tokio::time::timeout(timeout, critic.critique(cx)).await {
                    Ok(Ok(mut c)) => {
                        name.clone_into(&mut c.critic);
                        (c, None)
                    }
                    Ok(Err(e)) => {
                        let fatal =
                            matches!(&e, CriticError::Model(m) if m.kind.fails_every_call())
                                .then(|| format!("critic {name} failed: {e}"));
                        (Critique::failed(name, e.to_string()), fatal)
                    }
                    Err(_) => {
                        let why = format!("timed out after {}s", timeout.as_secs_f64());
                        (Critique::failed(name, why), None)
                    }
                }
            }
        });
        let (critiques, fatal): (Vec<_>, Vec<_>) =
            futures::future::join_all(runs).await.into_iter().unzip();
        Critiqued { critiques, fatal: fatal.into_iter().flatten().next() }
    }

    /// One draft or revision call, streamed as [`Event::Delta`]s when the engine streams.
    async fn write(
        &self,
        req: &crate::model::Request,
        tag: &CallTag,
        log: &CallLog,
        iteration: usize,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Result<Completion, ModelError> {
        let model = &*self.inner.model;
        if !self.inner.settings.stream {
            return call(model, req, tag, log).await;
        }
        let mut on_delta = |delta: Option<&str>| match delta {
            Some(text) => on_event(&Event::Delta { iteration, text: text.to_owned() }),
            None => on_event(&Event::Restart { iteration }),
        };
        call_streaming(model, req, tag, log, &mut on_delta).await
    }

    /// One revision call; a cut-off or empty answer is retried once with twice the room.
    async fn revise(
        &self,
        thought: &Thought,
        it: &Iteration,
        log: &CallLog,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) -> Revision {
        let inner = &*self.inner;
        let mut sampling = inner.settings.generation;
        let floor = inner.settings.confidence_floor;
        let mut tag = CallTag::new(CallRole::Revise);
        let mut why = String::new();
        for sample in 0..2 {
            let style = inner.model.prompt_style();
            let req = prompts::revise(thought.mode, &thought.input, it, floor, sampling, style);
            let next = it.index + 1;
            // The retry is a new sample: a model that caps the token limit would
            // otherwise be asked the very same request and answered from the cache.
            let written =
                crate::cache::with_sample(sample, self.write(&req, &tag, log, next, on_event));
            let completion = match written.await {
                Ok(c) => c,
                Err(e) => return Revision::Failed(e),
            };
            let text = clean_revision(&completion.text);
            let answered_by = if completion.provider.is_empty() {
                inner.model.provider()
            } else {
                &completion.provider
            };
            let identical = same_text(&text, &it.text);
            let problem = if completion.finish_reason == FinishReason::Length {
                Some("the revision was cut off at the token limit")
            } else if text.is_empty() {
                Some("the revision was empty")
            } else if identical {
                None
            } else if unusable::echoes_instructions(&text, &req, it, &thought.input) {
                Some("the revision echoed the revision instructions")
            } else if answered_by == ProviderKind::Local.as_str()
                && unusable::unrelated(&text, &it.text, &thought.input)
            {
                Some("the revision shared almost no content words with the text it revises")
            } else {
                None
            };
            if inner.settings.stream && (problem.is_some() || identical) {
                on_event(&Event::Restart { iteration: next });
            }
            match problem {
                Some(problem) => problem.clone_into(&mut why),
                None if identical => return Revision::Identical,
                None => return Revision::Text(text),
            }
            sampling.max_tokens = Some(sampling.max_tokens.unwrap_or(1024).saturating_mul(2));
            tag = tag.next_attempt();
        }
        Revision::Unusable(format!("{why} twice; kept the previous text"))
    }

    /// Apply a finished step to the thought and move it to its next phase.
    fn apply(
        &self,
        thought: &mut Thought,
        outcome: Outcome,
        calls: Vec<CallRecord>,
        on_event: &mut (dyn FnMut(&Event) + Send),
    ) {
        let generation =
            calls.iter().rev().find(|c| c.error.is_none()).map(GenerationSummary::from);
        attach(thought, calls, &self.inner.prices);
        let Some(index) = thought.iterations.len().checked_sub(1) else {
            return self.finish(thought, StopReason::Failed, "no draft".into());
        };
        match outcome {
            Outcome::Drafted(Err(e)) => {
                self.finish(thought, StopReason::Failed, format!("draft failed: {e}"));
            }
            Outcome::Drafted(Ok(c)) => {
                let text = clean_revision(&c.text);
                if text.is_empty() {
                    return self.finish(thought, StopReason::Failed, "the draft was empty".into());
                }
                on_event(&Event::Drafted { chars: text.chars().count() });
                let it = &mut thought.iterations[index];
                it.text = text;
                it.generation = generation;
                thought.phase = Phase::Validate;
            }
            Outcome::Validated(verdicts) => {
                let it = &mut thought.iterations[index];
                it.validations = verdicts;
                let (hard_passed, hard_total) = it.hard_passed();
                on_event(&Event::Validated { iteration: index, hard_passed, hard_total });
                let skip =
                    self.inner.settings.skip_critique_on_hard_failure && hard_passed < hard_total;
                thought.phase = if self.inner.critics.is_empty() || skip {
                    Phase::Decide
                } else {
                    Phase::Critique
                };
            }
            Outcome::Critiqued(Critiqued { critiques, fatal }) => {
                let it = &mut thought.iterations[index];
                it.critiques = critiques;
                let (satisfied, voting) = decide::votes(it, self.inner.settings.confidence_floor);
                let failed = it.critiques.len() - voting;
                on_event(&Event::Critiqued { iteration: index, satisfied, voting, failed });
                thought.phase = Phase::Decide;
                if let Some(why) = fatal {
                    let why = format!("{why}; every later call would fail the same way");
                    self.finish(thought, StopReason::Failed, why);
                }
            }
            Outcome::Decided(decision) => {
                let action = decision.action;
                let stop = decision.stop_reason;
                let why = decision.reason.clone();
                thought.iterations[index].decision = Some(decision);
                on_event(&Event::Decided { iteration: index, action });
                match stop {
                    Some(reason) => self.finish(thought, reason, why),
                    None => thought.phase = Phase::Revise,
                }
            }
            Outcome::Revised(Revision::Text(text)) => {
                let chars = text.chars().count();
                let mut next = Iteration::new(index + 1, text);
                next.generation = generation;
                thought.iterations.push(next);
                on_event(&Event::Revised { iteration: index + 1, chars });
                thought.phase = Phase::Validate;
            }
            Outcome::Revised(Revision::Identical) => {
                let why = format!("the revision of iteration {index} is identical to it");
                self.finish(thought, StopReason::Plateau, why);
            }
            Outcome::Revised(Revision::Unusable(why)) => {
                self.finish(thought, StopReason::Plateau, why);
            }
            Outcome::Revised(Revision::Failed(e)) => {
                self.finish(thought, StopReason::Failed, format!("revision failed: {e}"));
            }
        }
    }

    /// End the run: set its one stop reason and pick the best iteration.
    pub(crate) fn finish(&self, thought: &mut Thought, reason: StopReason, detail: String) {
        if reason == StopReason::Failed {
            thought.error = Some(detail.clone());
        }
        let resumable =
            matches!(reason, StopReason::Cancelled | StopReason::Budget | StopReason::Failed);
        thought.resume_from = (resumable && thought.phase != Phase::Done).then_some(thought.phase);
        thought.stop_reason = Some(reason);
        thought.stop_detail = Some(detail);
        thought.phase = Phase::Done;
        thought.best_iteration =
            decide::best(&thought.iterations, self.inner.settings.confidence_floor);
        thought.final_text = thought.best_iteration.map(|i| thought.iterations[i].text.clone());
    }
}

/// Price a phase's call records, then add them to the current iteration (creating the
/// first one when a draft call failed before any text existed) and to the usage.
fn attach(thought: &mut Thought, mut calls: Vec<CallRecord>, prices: &Prices) {
    if calls.is_empty() {
        return;
    }
    for c in &mut calls {
        prices.price(c);
        thought.usage.add(c);
    }
    if thought.iterations.is_empty() {
        thought.iterations.push(Iteration::new(0, String::new()));
    }
    if let Some(it) = thought.iterations.last_mut() {
        it.calls.extend(calls);
    }
}

fn add_phase_time(thought: &mut Thought, phase: Phase, ms: f64) {
    let t = &mut thought.timings;
    match phase {
        Phase::Draft => t.draft_ms += ms,
        Phase::Validate => t.validate_ms += ms,
        Phase::Critique => t.critique_ms += ms,
        Phase::Decide => t.decide_ms += ms,
        Phase::Revise => t.revise_ms += ms,
        Phase::Done => {}
    }
}
