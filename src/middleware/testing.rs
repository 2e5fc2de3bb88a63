//! A scripted test double for the middleware's unit tests: each call (completion or
//! stream) takes the next [`Step`] of its script.

use crate::model::{
    Completion, CompletionStream, FinishReason, LanguageModel, ModelError, ModelErrorKind, Request,
    StreamEvent, TokenUsage,
};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// What one call does.
#[derive(Debug, Clone, Copy)]
pub(super) enum Step {
    /// Answer `text` (streamed as two deltas).
    Answer(&'static str),
    /// Fail with this kind before any text.
    Fail(ModelErrorKind),
    /// Fail with a 429 asking to wait this long.
    RateLimited(Duration),
    /// Stream these deltas, then fail with this kind (a completion just fails).
    Break(&'static [&'static str], ModelErrorKind),
}

/// A model following a script; past its end it answers `"done"`.
pub(super) struct Flaky {
    name: &'static str,
    steps: Mutex<VecDeque<Step>>,
    calls: AtomicUsize,
}

impl Flaky {
    pub(super) fn new(name: &'static str, steps: impl IntoIterator<Item = Step>) -> Self {
        Self { name, steps: Mutex::new(steps.into_iter().collect()), calls: AtomicUsize::new(0) }
    }

    /// How many calls were made.
    pub(super) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn step(&self) -> Step {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.steps.lock().unwrap().pop_front().unwrap_or(Step::Answer("done"))
    }

    fn answer(&self, text: &str) -> Completion {
        Completion {
            text: text.to_owned(),
            finish_reason: FinishReason::Stop,
            usage: TokenUsage { prompt_tokens: 10, completion_tokens: 5 },
            model: format!("{}-model", self.name),
            provider: self.name.to_owned(),
            ..Completion::default()
        }
    }

    fn error(&self, kind: ModelErrorKind) -> ModelError {
        ModelError::new(kind, self.name, format!("scripted {kind}"))
    }
}

#[async_trait]
impl LanguageModel for Flaky {
    fn provider(&self) -> &str {
        self.name
    }
    fn model(&self) -> &str {
        "m"
    }
    async fn complete(&self, _: &Request) -> Result<Completion, ModelError> {
        match self.step() {
            Step::Answer(text) => Ok(self.answer(text)),
            Step::Fail(kind) | Step::Break(_, kind) => Err(self.error(kind)),
            Step::RateLimited(wait) => Err(self
                .error(ModelErrorKind::RateLimit)
                .with_status(429)
                .with_retry_after(Some(wait))),
        }
    }
    async fn stream(&self, _: &Request) -> Result<CompletionStream, ModelError> {
        let events: Vec<Result<StreamEvent, ModelError>> = match self.step() {
            Step::Answer(text) => {
                let (a, b) = text.split_at(text.len() / 2);
                vec![
                    Ok(StreamEvent::Delta(a.to_owned())),
                    Ok(StreamEvent::Delta(b.to_owned())),
                    Ok(StreamEvent::Done(self.answer(text))),
                ]
            }
            Step::Fail(kind) => return Err(self.error(kind)),
            Step::RateLimited(wait) => {
                return Err(self.error(ModelErrorKind::RateLimit).with_retry_after(Some(wait)));
            }
            Step::Break(deltas, kind) => deltas
                .iter()
                .map(|d| Ok(StreamEvent::Delta((*d).to_owned())))
                .chain([Err(self.error(kind))])
                .collect(),
        };
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

/// Every event of `stream`, errors as `Err(kind)`.
pub(super) async fn events(stream: CompletionStream) -> Vec<Result<StreamEvent, ModelErrorKind>> {
    use futures::StreamExt;
    stream.map(|e| e.map_err(|e| e.kind)).collect().await
}

/// The text a consumer shows at the end: deltas, with a restart dropping what came
/// before it.
pub(super) fn shown(events: &[Result<StreamEvent, ModelErrorKind>]) -> String {
    let mut text = String::new();
    for e in events {
        match e {
            Ok(StreamEvent::Delta(d)) => text.push_str(d),
            Ok(StreamEvent::Restart) => text.clear(),
            _ => {}
        }
    }
    text
}
