//! The recorder every model call goes through: it times the call and appends a
//! [`CallRecord`] — exact messages, sampling, tokens, latency, attempt, finish reason,
//! answer or error — to a [`CallLog`], so `usage.calls` equals the requests sent.
//!
//! Middleware that retries or fails over reports its earlier, failed attempts on the
//! final [`Completion`] or [`ModelError`] (`failed_attempts`); each becomes a record of
//! its own, numbered before the final one. A cache hit is recorded with
//! `cache_hit = true` and is not counted as a request.

use super::stream::{self, CompletionStream};
use super::trace::Abandoned;
use super::{Attempt, CallTrace, Completion, LanguageModel, ModelError, Request};
use crate::thought::cost::Prices;
use crate::thought::settings::Budget;
use crate::thought::{CallRecord, CallRole, ErrorInfo, ErrorKind, Usage};
use std::sync::Mutex;
use std::time::Instant;

/// Who makes a call and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallTag {
    /// Why the call is made.
    pub role: CallRole,
    /// The critic or validator making it.
    pub critic: Option<String>,
    /// 1 for a first attempt, 2 for a re-ask or retry, …
    pub attempt: u32,
}

impl CallTag {
    /// A first attempt for `role`, made by nobody in particular.
    pub fn new(role: CallRole) -> Self {
        Self { role, critic: None, attempt: 1 }
    }

    /// A first attempt made by the critic or validator `name`.
    pub fn by(role: CallRole, name: impl Into<String>) -> Self {
        Self { role, critic: Some(name.into()), attempt: 1 }
    }

    /// The same tag for the next attempt.
    pub fn next_attempt(&self) -> Self {
        Self { attempt: self.attempt + 1, ..self.clone() }
    }
}

/// The call records of one phase. Shared by concurrent critics, drained by the engine.
#[derive(Debug, Default)]
pub struct CallLog {
    records: Mutex<Logged>,
    allowance: Allowance,
}

#[derive(Debug, Default)]
struct Logged {
    records: Vec<CallRecord>,
    /// What the records spent, priced by the allowance's table.
    spent: Usage,
}

/// What the calls of one [`CallLog`] may spend: the run's budget, what was spent
/// before, and the prices that reckon the cost. [`call`] refuses to send once the limit
/// is reached (a [`ModelErrorKind::Budget`](super::ModelErrorKind) error), so a phase of
/// many calls cannot overspend. The default is unlimited.
#[derive(Debug, Clone, Default)]
pub struct Allowance {
    /// The limits.
    pub budget: Budget,
    /// Tokens spent before this log.
    pub spent_tokens: u64,
    /// Dollars spent before this log.
    pub spent_cost_usd: f64,
    /// The price table for the cost limit (`None` when there is none).
    pub prices: Option<Prices>,
}

impl CallLog {
    /// An empty log with no limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty log whose calls may spend `allowance`.
    pub fn with_allowance(allowance: Allowance) -> Self {
        Self { records: Mutex::default(), allowance }
    }

    /// Append a record.
    pub fn push(&self, mut record: CallRecord) {
        if let Some(prices) = &self.allowance.prices {
            prices.price(&mut record);
        }
        let mut logged = self.lock();
        logged.spent.add(&record);
        logged.records.push(record);
    }

    /// Take every record so far, leaving the log empty.
    pub fn take(&self) -> Vec<CallRecord> {
        std::mem::take(&mut self.lock().records)
    }

    /// Why the next call may not be sent, if the allowance is spent.
    pub fn refusal(&self) -> Option<String> {
        let a = &self.allowance;
        let spent = &self.lock().spent;
        a.budget.refusal(a.spent_tokens + spent.total_tokens(), a.spent_cost_usd + spent.cost_usd)
    }

    /// How many records the log holds.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Logged> {
        // A panic while holding this lock cannot leave the Vec half-written.
        self.records.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Send `request` to `model` and record the call in `log`, whatever its outcome. The
/// request recorded and sent is the one [`LanguageModel::prepare`] returns.
///
/// When the returned future is dropped before the answer (Ctrl-C, the run's deadline,
/// a critic's timeout), the call is still recorded: every attempt that failed so far
/// and the request in flight, if one was (see `trace`).
pub async fn call(
    model: &dyn LanguageModel,
    request: &Request,
    tag: &CallTag,
    log: &CallLog,
) -> Result<Completion, ModelError> {
    refuse_over_budget(model, log)?;
    let mut pending = Pending::new(model, request, tag, log);
    let result = model.complete(&pending.request).await;
    pending.finish(&result);
    result
}

/// Like [`call`], but streams the answer: `on_delta` gets each text delta as it
/// arrives, and `None` when the answer restarts (drop what was shown).
pub async fn call_streaming(
    model: &dyn LanguageModel,
    request: &Request,
    tag: &CallTag,
    log: &CallLog,
    on_delta: &mut (dyn FnMut(Option<&str>) + Send),
) -> Result<Completion, ModelError> {
    refuse_over_budget(model, log)?;
    let mut pending = Pending::new(model, request, tag, log);
    let opened: Result<CompletionStream, ModelError> = model.stream(&pending.request).await;
    let result = match opened {
        Ok(s) => stream::collect(s, model.provider(), on_delta).await,
        Err(e) => Err(e),
    };
    pending.finish(&result);
    result
}

/// A call the log's allowance does not cover is not sent, nor recorded.
fn refuse_over_budget(model: &dyn LanguageModel, log: &CallLog) -> Result<(), ModelError> {
    match log.refusal() {
        Some(why) => Err(ModelError::new(super::ModelErrorKind::Budget, model.provider(), why)),
        None => Ok(()),
    }
}

/// One logical call on its way: the prepared request with a live trace, recorded by
/// [`Pending::finish`], or — when dropped unfinished — as abandoned.
struct Pending<'a> {
    model: &'a dyn LanguageModel,
    request: Request,
    tag: &'a CallTag,
    log: &'a CallLog,
    started: Instant,
    finished: bool,
}

impl<'a> Pending<'a> {
    fn new(
        model: &'a dyn LanguageModel,
        request: &Request,
        tag: &'a CallTag,
        log: &'a CallLog,
    ) -> Self {
        let mut request = model.prepare(request).into_owned();
        request.trace = CallTrace::new();
        Self { model, request, tag, log, started: Instant::now(), finished: false }
    }

    /// The record's fields every attempt of this call shares; takes the messages.
    fn base(&mut self) -> CallRecord {
        CallRecord {
            role: self.tag.role,
            critic: self.tag.critic.clone(),
            provider: self.model.provider().to_owned(),
            model: self.model.model().to_owned(),
            messages: std::mem::take(&mut self.request.messages),
            sampling: self.request.sampling,
            response_format: self.request.format.label().to_owned(),
            prompt_tokens: 0,
            completion_tokens: 0,
            latency_ms: 0.0,
            attempt: self.tag.attempt,
            finish_reason: None,
            cache_hit: false,
            response: None,
            error: None,
            cost_usd: None,
        }
    }

    /// Append the records of the finished call: its failed attempts, then its outcome.
    fn finish(&mut self, result: &Result<Completion, ModelError>) {
        self.finished = true;
        let total_ms = self.started.elapsed().as_secs_f64() * 1000.0;
        let attempts = match result {
            Ok(c) => &c.failed_attempts,
            Err(e) => &e.failed_attempts,
        };
        let base = self.base();
        let mut spent_ms = 0.0;
        for (i, a) in attempts.iter().enumerate() {
            spent_ms += a.latency_ms + a.backoff_ms;
            self.log.push(attempt_record(&base, a, self.tag.attempt + i as u32));
        }
        let attempt = self.tag.attempt + attempts.len() as u32;
        let latency_ms = (total_ms - spent_ms).max(0.0);
        self.log.push(match result {
            Ok(c) => CallRecord {
                provider: non_empty(&c.provider, &base.provider),
                model: non_empty(&c.model, &base.model),
                prompt_tokens: c.usage.prompt_tokens,
                completion_tokens: c.usage.completion_tokens,
                latency_ms,
                attempt,
                finish_reason: Some(c.finish_reason),
                cache_hit: c.cache_hit,
                response: Some(c.text.clone()),
                ..base
            },
            Err(e) => CallRecord {
                provider: non_empty(&e.provider, &base.provider),
                latency_ms,
                attempt,
                error: Some(e.info()),
                ..base
            },
        });
    }
}

impl Drop for Pending<'_> {
    /// An unfinished call was abandoned: record what its trace saw — each failed
    /// attempt, and the request in flight, which counts as sent.
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Abandoned { failed, in_flight } = self.request.trace.take();
        if failed.is_empty() && in_flight.is_none() {
            return;
        }
        let base = self.base();
        let mut attempt = self.tag.attempt;
        for a in &failed {
            self.log.push(attempt_record(&base, a, attempt));
            attempt += 1;
        }
        if let Some(sent) = in_flight {
            self.log.push(CallRecord {
                provider: non_empty(&sent.provider, &base.provider),
                latency_ms: sent.since.elapsed().as_secs_f64() * 1000.0,
                attempt,
                error: Some(ErrorInfo::new(ErrorKind::Abandoned, ABANDONED)),
                ..base
            });
        }
    }
}

/// The error of a call record whose request was in flight when the run stopped
/// waiting for it.
pub const ABANDONED: &str = "abandoned in flight: the request was sent, and the run stopped waiting for its answer \
     (cancelled, deadline reached or critic timed out)";

fn attempt_record(base: &CallRecord, a: &Attempt, attempt: u32) -> CallRecord {
    CallRecord {
        provider: non_empty(&a.provider, &base.provider),
        model: non_empty(&a.model, &base.model),
        prompt_tokens: a.usage.prompt_tokens,
        completion_tokens: a.usage.completion_tokens,
        latency_ms: a.latency_ms,
        attempt,
        error: Some(a.error.clone()),
        ..base.clone()
    }
}

fn non_empty(value: &str, fallback: &str) -> String {
    if value.is_empty() { fallback } else { value }.to_owned()
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use super::*;
    use crate::model::scripted::{ScriptedModel, reply};
    use crate::model::{ModelErrorKind, TokenUsage};

    fn failed(error: &str) -> Attempt {
        Attempt {
            provider: "primary".into(),
            model: "m1".into(),
            latency_ms: 1.0,
            backoff_ms: 0.0,
            error: ErrorInfo::new(ErrorKind::Server, error),
            usage: TokenUsage { prompt_tokens: 3, completion_tokens: 0 },
        }
    }

    #[tokio::test]
    async fn failed_attempts_become_records_before_the_answer() {
        let model = ScriptedModel::new(|_, _| {
            let mut c = reply("ok");
            c.provider = "backup".into();
            c.failed_attempts = vec![failed("429"), failed("500")];
            Ok(c)
        });
        let log = CallLog::new();
        let tag = CallTag::new(CallRole::Revise);
        call(&model, &Request::default(), &tag, &log).await.unwrap();
        let records = log.take();
        assert_eq!(records.len(), 3);
        assert_eq!(records.iter().map(|r| r.attempt).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(records[0].error.as_ref().map(|e| e.message.as_str()), Some("429"));
        assert_eq!(records[0].provider, "primary");
        assert_eq!(records[0].prompt_tokens, 3);
        assert_eq!(records[2].provider, "backup");
        assert_eq!(records[2].response.as_deref(), Some("ok"));
    }

    #[tokio::test]
    async fn a_failed_call_keeps_its_attempts() {
        let model = ScriptedModel::new(|_, _| {
            let mut e = ModelError::new(ModelErrorKind::Server, "scripted", "down");
            e.failed_attempts = vec![failed("500")];
            Err(e)
        });
        let log = CallLog::new();
        let r = call(&model, &Request::default(), &CallTag::new(CallRole::Draft), &log).await;
        assert!(r.is_err());
        let records = log.take();
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r.error.is_some()));
    }

    #[tokio::test]
    async fn a_streamed_call_is_recorded_and_its_deltas_seen() {
        let model = ScriptedModel::new(|_, _| Ok(reply("streamed")));
        let log = CallLog::new();
        let mut seen = String::new();
        let tag = CallTag::new(CallRole::Draft);
        let c = call_streaming(&model, &Request::default(), &tag, &log, &mut |d| {
            seen.push_str(d.unwrap_or(""))
        })
        .await
        .unwrap();
        assert_eq!(c.text, "streamed");
        assert_eq!(seen, "streamed");
        assert_eq!(log.len(), 1);
    }
}
