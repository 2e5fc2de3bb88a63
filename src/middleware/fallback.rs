//! The fallback layer: the primary model, then each configured fallback in order.
//!
//! A model is tried after the one before it failed with a *retryable* error — after
//! that model's own retries, since each model of the chain carries its own retry
//! layer. Auth, quota, context-length and other non-retryable errors are returned at
//! once: another vendor will not fix a bad request, and a bad key must be seen, not
//! hidden. The answer is attributed to the model that gave it (`provider`, `model`)
//! and carries every failed attempt of the models before it; a stream that fails
//! part-way yields [`StreamEvent::Restart`](crate::model::StreamEvent::Restart) before
//! the next model's text (see [`attempts`](super::attempts)).

use super::attempts::{self, Plan};
use crate::model::{Completion, CompletionStream, LanguageModel, ModelError, Request};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

/// The fallback layer over a chain of models.
pub struct Fallback {
    chain: Arc<[Arc<dyn LanguageModel>]>,
}

impl Fallback {
    /// `primary`, then each of `fallbacks` in order.
    pub fn new(primary: Arc<dyn LanguageModel>, fallbacks: Vec<Arc<dyn LanguageModel>>) -> Self {
        let chain: Vec<_> = std::iter::once(primary).chain(fallbacks).collect();
        Self { chain: chain.into() }
    }

    fn primary(&self) -> &Arc<dyn LanguageModel> {
        // `new` always puts the primary first.
        &self.chain[0]
    }

    fn plan(&self) -> ChainPlan {
        ChainPlan { chain: Arc::clone(&self.chain), index: 0 }
    }
}

/// Where one call is in the chain.
struct ChainPlan {
    chain: Arc<[Arc<dyn LanguageModel>]>,
    index: usize,
}

impl Plan for ChainPlan {
    fn next(&mut self, error: &ModelError) -> Option<(Arc<dyn LanguageModel>, Duration)> {
        if !error.kind.is_retryable() {
            return None;
        }
        let next = Arc::clone(self.chain.get(self.index + 1)?);
        self.index += 1;
        tracing::warn!(
            provider = next.provider(),
            model = next.model(),
            %error,
            "model failed; falling back"
        );
        Some((next, Duration::ZERO))
    }
}

#[async_trait]
impl LanguageModel for Fallback {
    // The primary's metadata; each answer names the model that really answered.
    crate::forward_metadata!(fn primary);

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        attempts::complete(Arc::clone(self.primary()), self.plan(), request).await
    }

    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        Ok(attempts::stream(Arc::clone(self.primary()), self.plan(), request.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::jitter;
    use super::super::retry::{Retry, RetryPolicy};
    use super::super::testing::{Flaky, Step, events, shown};
    use super::*;
    use crate::model::{Attempt, ModelErrorKind, StreamEvent};

    fn chain(models: &[&Arc<Flaky>]) -> Fallback {
        let mut models = models.iter().map(|m| Arc::clone(*m) as Arc<dyn LanguageModel>);
        let primary = models.next().unwrap();
        Fallback::new(primary, models.collect())
    }

    fn providers(attempts: &[Attempt]) -> Vec<&str> {
        attempts.iter().map(|a| a.provider.as_str()).collect()
    }

    #[tokio::test]
    async fn a_retryable_failure_moves_to_the_next_model() {
        let a = Arc::new(Flaky::new("a", [Step::Fail(ModelErrorKind::Server)]));
        let b = Arc::new(Flaky::new("b", [Step::Fail(ModelErrorKind::Timeout)]));
        let c = Arc::new(Flaky::new("c", [Step::Answer("from c")]));
        let got = chain(&[&a, &b, &c]).complete(&Request::default()).await.unwrap();
        assert_eq!(got.text, "from c");
        assert_eq!((got.provider.as_str(), got.model.as_str()), ("c", "c-model"));
        assert_eq!(providers(&got.failed_attempts), ["a", "b"]);
        assert_eq!(got.failed_attempts[0].backoff_ms, 0.0);
    }

    #[tokio::test]
    async fn no_failover_on_auth_quota_or_context_errors() {
        for kind in [ModelErrorKind::Auth, ModelErrorKind::Quota, ModelErrorKind::ContextLength] {
            let a = Arc::new(Flaky::new("a", [Step::Fail(kind)]));
            let b = Arc::new(Flaky::new("b", []));
            let e = chain(&[&a, &b]).complete(&Request::default()).await.unwrap_err();
            assert_eq!((e.kind, e.provider.as_str()), (kind, "a"));
            assert_eq!(b.calls(), 0, "{kind}");
        }
    }

    #[tokio::test]
    async fn when_every_model_fails_the_last_error_carries_all_attempts() {
        let a = Arc::new(Flaky::new("a", [Step::Fail(ModelErrorKind::Server)]));
        let b = Arc::new(Flaky::new("b", [Step::Fail(ModelErrorKind::Connection)]));
        let e = chain(&[&a, &b]).complete(&Request::default()).await.unwrap_err();
        assert_eq!((e.kind, e.provider.as_str()), (ModelErrorKind::Connection, "b"));
        assert_eq!(providers(&e.failed_attempts), ["a"]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_primary_retries_come_first_in_the_record() {
        let a = Arc::new(Flaky::new("a", [Step::Fail(ModelErrorKind::Server); 3]));
        let b = Arc::new(Flaky::new("b", []));
        let policy = RetryPolicy { max_attempts: 3, ..RetryPolicy::default() };
        let retried: Arc<dyn LanguageModel> = Arc::new(
            Retry::new(Arc::clone(&a) as Arc<dyn LanguageModel>, policy)
                .with_jitter(jitter::fixed(0.5)),
        );
        let fb = Fallback::new(retried, vec![Arc::clone(&b) as Arc<dyn LanguageModel>]);
        let got = fb.complete(&Request::default()).await.unwrap();
        assert_eq!(got.provider, "b");
        assert_eq!(providers(&got.failed_attempts), ["a", "a", "a"]);
        let waits: Vec<f64> = got.failed_attempts.iter().map(|a| a.backoff_ms).collect();
        assert_eq!(waits, [250.0, 500.0, 0.0]);
        assert_eq!(a.calls(), 3);
    }

    #[tokio::test]
    async fn a_partial_stream_from_a_failed_model_never_leaks() {
        let a = Arc::new(Flaky::new("a", [Step::Break(&["Primary sa"], ModelErrorKind::Server)]));
        let b = Arc::new(Flaky::new("b", [Step::Answer("Backup says hi")]));
        let ev = events(chain(&[&a, &b]).stream(&Request::default()).await.unwrap()).await;
        assert_eq!(ev[0], Ok(StreamEvent::Delta("Primary sa".into())));
        assert_eq!(ev[1], Ok(StreamEvent::Restart));
        assert_eq!(shown(&ev), "Backup says hi");
        let Some(Ok(StreamEvent::Done(c))) = ev.last() else { panic!("{ev:?}") };
        assert_eq!(c.provider, "b");
        assert_eq!(providers(&c.failed_attempts), ["a"]);
    }

    #[tokio::test]
    async fn a_stream_that_cannot_open_falls_back_without_a_restart() {
        let a = Arc::new(Flaky::new("a", [Step::Fail(ModelErrorKind::Connection)]));
        let b = Arc::new(Flaky::new("b", [Step::Answer("ok")]));
        let ev = events(chain(&[&a, &b]).stream(&Request::default()).await.unwrap()).await;
        assert!(!ev.contains(&Ok(StreamEvent::Restart)));
        assert_eq!(shown(&ev), "ok");
    }

    #[tokio::test]
    async fn the_chain_answers_as_its_primary() {
        let a = Arc::new(Flaky::new("a", []));
        let b = Arc::new(Flaky::new("b", []));
        let fb = chain(&[&a, &b]);
        assert_eq!((fb.provider(), fb.model()), ("a", "m"));
    }
}
