//! The attempt loop shared by [`Retry`](super::Retry) and [`Fallback`](super::Fallback).
//!
//! Send; on failure ask a [`Plan`] what to try next — the same model after a backoff
//! (retry), or the next model of a chain (fallback) — or give up. Every failed attempt
//! is recorded as an [`Attempt`] (latency, the wait after it, the error text), and the
//! final completion or error carries all of them in `failed_attempts`, oldest first,
//! including those nested layers already reported (a fallback carries the retries of
//! the primary). The recorder in [`call`](crate::model::call) turns each into a call
//! record.
//!
//! Streams get the same loop, plus one guarantee: when an attempt fails after it
//! yielded text, [`StreamEvent::Restart`] is yielded before anything of the next
//! attempt, so a partial answer never leaks into the output. A failure before any text
//! is retried without a trace in the stream.
//!
//! `stream()` of these layers never fails by itself: the first attempt is opened when
//! the stream is first polled, and a failure that is not retried (or the last one)
//! arrives as the stream's error, carrying every attempt like any other.

use crate::model::{
    Attempt, CallTrace, Completion, CompletionStream, LanguageModel, ModelError, ModelErrorKind,
    Request, StreamEvent,
};
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// What a layer does after a failed attempt.
pub(super) trait Plan: Send + 'static {
    /// After `error`, the model to try next and how long to wait first; `None` gives
    /// up and returns `error`.
    fn next(&mut self, error: &ModelError) -> Option<(Arc<dyn LanguageModel>, Duration)>;
}

/// The bookkeeping of one logical call's attempts.
struct Attempts<P> {
    plan: P,
    model: Arc<dyn LanguageModel>,
    failed: Vec<Attempt>,
    started: Instant,
    /// The call's live trace: each failed attempt is reported to it at once, so a call
    /// abandoned mid-way still records them.
    trace: CallTrace,
}

impl<P: Plan> Attempts<P> {
    fn new(first: Arc<dyn LanguageModel>, plan: P, trace: CallTrace) -> Self {
        Self { plan, model: first, failed: Vec::new(), started: Instant::now(), trace }
    }

    /// Record the failure of the current attempt. `Ok(wait)`: try again (with the
    /// plan's next model) after `wait`; `Err`: the final error, carrying every attempt.
    fn failed(&mut self, mut error: ModelError) -> Result<Duration, ModelError> {
        let nested = std::mem::take(&mut error.failed_attempts);
        let nested_ms: f64 = nested.iter().map(|a| a.latency_ms + a.backoff_ms).sum();
        self.failed.extend(nested);
        match self.plan.next(&error) {
            None => {
                error.failed_attempts = std::mem::take(&mut self.failed);
                Err(error)
            }
            Some((next, wait)) => {
                let elapsed_ms = self.started.elapsed().as_secs_f64() * 1000.0;
                let attempt = Attempt {
                    provider: if error.provider.is_empty() {
                        self.model.provider().to_owned()
                    } else {
                        error.provider.clone()
                    },
                    model: self.model.model().to_owned(),
                    latency_ms: (elapsed_ms - nested_ms).max(0.0),
                    backoff_ms: wait.as_secs_f64() * 1000.0,
                    error: error.info(),
                    usage: Default::default(),
                };
                self.trace.failed(&attempt);
                self.failed.push(attempt);
                self.model = next;
                Ok(wait)
            }
        }
    }

    /// The answer, attributed to the model that gave it, with every failed attempt.
    fn succeeded(&mut self, mut completion: Completion) -> Completion {
        if completion.provider.is_empty() {
            completion.provider = self.model.provider().to_owned();
        }
        if completion.model.is_empty() {
            completion.model = self.model.model().to_owned();
        }
        let mut all = std::mem::take(&mut self.failed);
        all.append(&mut completion.failed_attempts);
        completion.failed_attempts = all;
        completion
    }
}

/// Send `request` to `first`, then wherever `plan` says, until an answer or the plan
/// gives up.
pub(super) async fn complete(
    first: Arc<dyn LanguageModel>,
    plan: impl Plan,
    request: &Request,
) -> Result<Completion, ModelError> {
    let mut attempts = Attempts::new(first, plan, request.trace.clone());
    loop {
        attempts.started = Instant::now();
        let model = Arc::clone(&attempts.model);
        match model.complete(request).await {
            Ok(c) => return Ok(attempts.succeeded(c)),
            Err(e) => {
                let wait = attempts.failed(e)?;
                if !wait.is_zero() {
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// [`complete`] as a stream; see the module docs for how restarts are shown.
pub(super) fn stream(
    first: Arc<dyn LanguageModel>,
    plan: impl Plan,
    request: Request,
) -> CompletionStream {
    let state = State {
        attempts: Attempts::new(first, plan, request.trace.clone()),
        request,
        current: None,
        shown: false,
        pause: Duration::ZERO,
        done: false,
    };
    Box::pin(futures::stream::unfold(state, |mut s| async move {
        let event = s.next().await?;
        Some((event, s))
    }))
}

struct State<P> {
    attempts: Attempts<P>,
    request: Request,
    /// The stream of the attempt in progress.
    current: Option<CompletionStream>,
    /// Whether the consumer holds text of the attempt in progress.
    shown: bool,
    /// The wait before the next attempt opens.
    pause: Duration,
    done: bool,
}

impl<P: Plan> State<P> {
    async fn next(&mut self) -> Option<Result<StreamEvent, ModelError>> {
        loop {
            if self.done {
                return None;
            }
            let Some(current) = self.current.as_mut() else {
                if !self.pause.is_zero() {
                    tokio::time::sleep(std::mem::take(&mut self.pause)).await;
                }
                self.attempts.started = Instant::now();
                let model = Arc::clone(&self.attempts.model);
                match model.stream(&self.request).await {
                    Ok(opened) => {
                        self.current = Some(opened);
                        self.shown = false;
                    }
                    Err(e) => {
                        if let Some(e) = self.fail(e) {
                            return Some(Err(e));
                        }
                    }
                }
                continue;
            };
            let error = match current.next().await {
                Some(Ok(StreamEvent::Delta(text))) => {
                    self.shown = true;
                    return Some(Ok(StreamEvent::Delta(text)));
                }
                Some(Ok(StreamEvent::Restart)) => {
                    self.shown = false;
                    return Some(Ok(StreamEvent::Restart));
                }
                Some(Ok(StreamEvent::Done(c))) => {
                    self.done = true;
                    return Some(Ok(StreamEvent::Done(self.attempts.succeeded(c))));
                }
                Some(Err(e)) => e,
                None => ModelError::new(
                    ModelErrorKind::Malformed,
                    self.attempts.model.provider(),
                    "the stream ended before the answer was complete",
                ),
            };
            self.current = None;
            if let Some(e) = self.fail(error) {
                return Some(Err(e));
            }
            if std::mem::take(&mut self.shown) {
                return Some(Ok(StreamEvent::Restart));
            }
        }
    }

    /// Record a failed attempt; `Some(error)` when the plan gives up.
    fn fail(&mut self, error: ModelError) -> Option<ModelError> {
        match self.attempts.failed(error) {
            Ok(wait) => {
                self.pause = wait;
                None
            }
            Err(e) => {
                self.done = true;
                Some(e)
            }
        }
    }
}
