//! The state machine: one step per phase, each step computed from an immutable view of
//! the `Thought` and then applied to it, so a cancelled or timed-out step leaves the
//! `Thought` consistent and loses no call already recorded.

use super::decide::{self, same_text};
use super::prompts::{self, clean_revision};
use super::{Cancel, Engine, Event, Observer, Prices, unusable};
use crate::critic::{CriticError, CritiqueContext};
use crate::model::call::{call, call_streaming};
use crate::model::{Allowance, CallLog, CallTag, Completion, FinishReason, ModelError};
use crate::thought::settings::ProviderKind;
use crate::thought::{
    Action, CallRecord, CallRole, Critique, Decision, ErrorInfo, ErrorKind, GenerationSummary,
    Iteration, Mode, Phase, StopReason, Thought, Verdict,
};
use crate::validator::{Cost, ValidationContext};
use std::time::{Duration, Instant};

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
    fatal: Option<ErrorInfo>,
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
    /// Drive `thought` from its stored phase to the end, telling `observer` of every
    /// event and of the thought after every phase. Stops with `cancelled` when `cancel`
    /// fires; no call already made is lost.
    pub async fn run(
        &self,
        mut thought: Thought,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Thought {
        while self.step(&mut thought, cancel, observer).await {}
        thought
    }

    /// Advance `thought` by one phase: compute the phase's outcome from the thought as
    /// it is, apply it (every call it made is recorded, the phase moves on), then hand
    /// the thought to [`Observer::checkpoint`]. Returns whether phases remain; a
    /// finished thought is left as it is. A thought stored after any step continues
    /// with [`Engine::resume`] without repeating a call.
    ///
    /// The run's deadline is absolute ([`RunSettings::deadline_at_ms`]): set at the
    /// first step from the engine's budget, kept across resumes, and moved only when
    /// the engine's deadline differs from the one the thought was run with.
    ///
    /// [`RunSettings::deadline_at_ms`]: crate::thought::settings::RunSettings::deadline_at_ms
    pub async fn step(
        &self,
        thought: &mut Thought,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> bool {
        if thought.is_done() {
            return false;
        }
        let started = Instant::now();
        let deadline = self.adopt_budget(thought);
        let phase = thought.phase;
        if thought.input.trim().is_empty() {
            let what = if thought.mode == Mode::Improve { "text to improve" } else { "prompt" };
            self.fail(thought, ErrorInfo::new(ErrorKind::Run, format!("the {what} is empty")));
        } else if cancel.is_cancelled() {
            self.finish(thought, StopReason::Cancelled, "cancelled".into());
        } else if let Some(why) = self.over_budget(thought, phase, deadline) {
            self.finish(thought, StopReason::Budget, why);
        } else {
            let iteration = thought.iterations.len().saturating_sub(1);
            observer.event(&Event::PhaseStarted { phase, iteration });
            let log = CallLog::with_allowance(self.allowance(thought));
            let outcome = {
                let step = self.outcome(thought, &log, observer);
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
            add_phase_time(thought, phase, started.elapsed().as_secs_f64() * 1000.0);
            match outcome {
                Ok(outcome) => self.apply(thought, outcome, calls, observer),
                Err(interrupt) => {
                    attach(thought, calls, &self.inner.prices);
                    let (reason, why) = match interrupt {
                        Interrupt::Cancelled => (StopReason::Cancelled, "cancelled".to_owned()),
                        Interrupt::Deadline => (StopReason::Budget, self.deadline_text()),
                    };
                    self.finish(thought, reason, why);
                }
            }
        }
        thought.timings.total_ms += started.elapsed().as_secs_f64() * 1000.0;
        if let (true, Some(stop_reason)) = (thought.is_done(), thought.stop_reason) {
            observer
                .event(&Event::Finished { stop_reason, best_iteration: thought.best_iteration });
        }
        observer.checkpoint(thought);
        !thought.is_done()
    }

    /// Make the thought run under this engine's budget and return the deadline as an
    /// instant: the stored absolute deadline, unless the engine's deadline differs from
    /// the one the thought was run with (changed on resume), or none was set yet.
    fn adopt_budget(&self, thought: &mut Thought) -> Option<Instant> {
        let budget = self.inner.settings.budget;
        let stored = &mut thought.settings;
        let moved = stored.engine.budget.deadline != budget.deadline;
        stored.engine.budget = budget;
        let now_ms = crate::thought::now_ms();
        match budget.deadline {
            None => stored.deadline_at_ms = None,
            Some(d) if moved || stored.deadline_at_ms.is_none() => {
                let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                stored.deadline_at_ms = Some(now_ms.saturating_add(ms));
            }
            Some(_) => {}
        }
        let at = stored.deadline_at_ms?;
        // A deadline beyond what an `Instant` can hold is no deadline.
        Instant::now().checked_add(Duration::from_millis(at.saturating_sub(now_ms)))
    }

    /// What the calls of one phase may still spend: the budget less what the thought
    /// has spent, checked before every call (so a phase of many calls cannot overspend).
    fn allowance(&self, thought: &Thought) -> Allowance {
        let budget = self.inner.settings.budget;
        Allowance {
            budget,
            spent_tokens: thought.usage.total_tokens(),
            spent_cost_usd: thought.usage.cost_usd,
            prices: budget.max_cost_usd.map(|_| self.inner.prices.clone()),
        }
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
        let usage = &thought.usage;
        if let Some(why) = self.inner.settings.budget.refusal(usage.total_tokens(), usage.cost_usd)
        {
            return Some(why);
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
    async fn outcome(
        &self,
        thought: &Thought,
        log: &CallLog,
        observer: &mut dyn Observer,
    ) -> Outcome {
        let inner = &*self.inner;
        let current = thought.iterations.last();
        match (thought.phase, current) {
            (Phase::Draft, _) => {
                let req = prompts::draft(&thought.input, inner.settings.generation);
                let tag = CallTag::new(CallRole::Draft);
                Outcome::Drafted(self.write(&req, &tag, log, 0, observer).await)
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
                Outcome::Revised(self.revise(thought, it, log, observer).await)
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
                    error: Some(ErrorInfo::new(ErrorKind::Validator, e.to_string())),
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
                        let fatal = match &e {
                            CriticError::Model(m) if m.kind.fails_every_call() => {
                                let mut info = m.info();
                                info.message = format!("critic {name} failed: {e}");
                                Some(info)
                            }
                            _ => None,
                        };
                        (Critique::failed(name, e.info()), fatal)
                    }
                    Err(_) => {
                        let why = format!("timed out after {}s", timeout.as_secs_f64());
                        (Critique::failed(name, ErrorInfo::new(ErrorKind::Timeout, why)), None)
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
        observer: &mut dyn Observer,
    ) -> Result<Completion, ModelError> {
        let model = &*self.inner.model;
        if !self.inner.settings.stream {
            return call(model, req, tag, log).await;
        }
        let mut on_delta = |delta: Option<&str>| match delta {
            Some(text) => observer.event(&Event::Delta { iteration, text: text.to_owned() }),
            None => observer.event(&Event::Restart { iteration }),
        };
        call_streaming(model, req, tag, log, &mut on_delta).await
    }

    /// One revision call; a cut-off or empty answer is retried once with twice the room.
    async fn revise(
        &self,
        thought: &Thought,
        it: &Iteration,
        log: &CallLog,
        observer: &mut dyn Observer,
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
                crate::cache::with_sample(sample, self.write(&req, &tag, log, next, observer));
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
                observer.event(&Event::Restart { iteration: next });
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
        observer: &mut dyn Observer,
    ) {
        let generation =
            calls.iter().rev().find(|c| c.error.is_none()).map(GenerationSummary::from);
        attach(thought, calls, &self.inner.prices);
        let Some(index) = thought.iterations.len().checked_sub(1) else {
            return self.fail(thought, ErrorInfo::new(ErrorKind::Run, "no draft"));
        };
        match outcome {
            Outcome::Drafted(Err(e)) => self.failed_call(thought, "draft", &e),
            Outcome::Drafted(Ok(c)) => {
                let text = clean_revision(&c.text);
                if text.is_empty() {
                    return self
                        .fail(thought, ErrorInfo::new(ErrorKind::Run, "the draft was empty"));
                }
                observer.event(&Event::Drafted { chars: text.chars().count() });
                let it = &mut thought.iterations[index];
                it.text = text;
                it.generation = generation;
                thought.phase = Phase::Validate;
            }
            Outcome::Validated(verdicts) => {
                let it = &mut thought.iterations[index];
                it.validations = verdicts;
                let (hard_passed, hard_total) = it.hard_passed();
                observer.event(&Event::Validated { iteration: index, hard_passed, hard_total });
                let skip =
                    self.inner.settings.skip_critique_on_hard_failure && hard_passed < hard_total;
                thought.phase = if self.inner.critics.is_empty() || skip {
                    Phase::Decide
                } else {
                    Phase::Critique
                };
            }
            Outcome::Critiqued(Critiqued { critiques, fatal }) => {
                let refused = critiques
                    .iter()
                    .find_map(|c| c.error.as_ref().filter(|e| e.kind == ErrorKind::Budget))
                    .map(|e| e.message.clone());
                let it = &mut thought.iterations[index];
                it.critiques = critiques;
                if let Some(why) = refused {
                    // The phase is run again on resume, with every critic.
                    return self.finish(thought, StopReason::Budget, why);
                }
                let (satisfied, voting) = decide::votes(it, self.inner.settings.confidence_floor);
                let failed = it.critiques.len() - voting;
                observer.event(&Event::Critiqued { iteration: index, satisfied, voting, failed });
                thought.phase = Phase::Decide;
                if let Some(mut error) = fatal {
                    error.message.push_str("; every later call would fail the same way");
                    self.fail(thought, error);
                }
            }
            Outcome::Decided(decision) => {
                let action = decision.action;
                let stop = decision.stop_reason;
                let why = decision.reason.clone();
                thought.iterations[index].decision = Some(decision);
                observer.event(&Event::Decided { iteration: index, action });
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
                observer.event(&Event::Revised { iteration: index + 1, chars });
                thought.phase = Phase::Validate;
            }
            Outcome::Revised(Revision::Identical) => {
                let why = format!("the revision of iteration {index} is identical to it");
                self.finish(thought, StopReason::Plateau, why);
            }
            Outcome::Revised(Revision::Unusable(why)) => {
                self.finish(thought, StopReason::Plateau, why);
            }
            Outcome::Revised(Revision::Failed(e)) => self.failed_call(thought, "revision", &e),
        }
    }

    /// End the run on a failed draft or revision call: `budget` when a budget refused
    /// it, else `failed` with the call's typed error.
    fn failed_call(&self, thought: &mut Thought, what: &str, e: &ModelError) {
        if e.kind == ErrorKind::Budget {
            return self.finish(thought, StopReason::Budget, e.message.clone());
        }
        let mut error = e.info();
        error.message = format!("{what} failed: {}", error.message);
        self.fail(thought, error);
    }

    /// End the run as `failed` with `error`.
    fn fail(&self, thought: &mut Thought, error: ErrorInfo) {
        let detail = error.message.clone();
        thought.error = Some(error);
        self.finish(thought, StopReason::Failed, detail);
    }

    /// End the run: set its one stop reason and pick the best iteration.
    pub(crate) fn finish(&self, thought: &mut Thought, reason: StopReason, detail: String) {
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
