//! The per-call timeout layer: one bound on a call, whatever the provider.
//!
//! HTTP providers already have connect and request timeouts in the shared transport
//! (`provider.connect_timeout_secs`, `provider.timeout_secs`) and an idle timeout
//! between stream chunks. This layer adds the same `timeout_secs` bound for providers
//! with no transport (an in-process model), and for a stream it bounds the *whole*
//! answer, from sending to the last event. It sits innermost, under the limiters, so
//! time spent waiting for a rate-limit or concurrency turn never counts against it. A
//! timed-out call fails with [`ModelErrorKind::Timeout`], which the retry layer
//! retries.

use crate::model::{
    Completion, CompletionStream, LanguageModel, ModelError, ModelErrorKind, Request,
};
use async_trait::async_trait;
use futures::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The timeout layer around a model.
pub struct Timeout {
    inner: Arc<dyn LanguageModel>,
    limit: Duration,
}

impl Timeout {
    /// `inner`, failing any call (or stream) that takes longer than `limit`.
    pub fn new(inner: Arc<dyn LanguageModel>, limit: Duration) -> Self {
        Self { inner, limit }
    }
}

fn timeout_error(provider: &str, limit: Duration) -> ModelError {
    let what = format!("no complete answer within {}s", limit.as_secs_f64());
    ModelError::new(ModelErrorKind::Timeout, provider, what)
}

#[async_trait]
impl LanguageModel for Timeout {
    crate::forward_metadata!(inner);

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        match tokio::time::timeout(self.limit, self.inner.complete(request)).await {
            Ok(result) => result,
            Err(_) => Err(timeout_error(self.inner.provider(), self.limit)),
        }
    }

    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        let deadline = Instant::now() + self.limit;
        let (provider, limit) = (self.inner.provider().to_owned(), self.limit);
        let stream = match tokio::time::timeout_at(deadline, self.inner.stream(request)).await {
            Ok(opened) => opened?,
            Err(_) => return Err(timeout_error(&provider, limit)),
        };
        let bounded = futures::stream::unfold(Some(stream), move |state| {
            let provider = provider.clone();
            async move {
                let mut stream = state?;
                match tokio::time::timeout_at(deadline, stream.next()).await {
                    Ok(Some(event)) => Some((event, Some(stream))),
                    Ok(None) => None,
                    Err(_) => Some((Err(timeout_error(&provider, limit)), None)),
                }
            }
        });
        Ok(Box::pin(bounded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StreamEvent;

    /// A model whose stream yields a delta, then stalls for `stall` before finishing.
    struct Stalling {
        stall: Duration,
    }

    #[async_trait]
    impl LanguageModel for Stalling {
        fn provider(&self) -> &str {
            "stalling"
        }
        fn model(&self) -> &str {
            "m"
        }
        async fn complete(&self, _: &Request) -> Result<Completion, ModelError> {
            tokio::time::sleep(self.stall).await;
            Ok(Completion { text: "late".into(), ..Completion::default() })
        }
        async fn stream(&self, _: &Request) -> Result<CompletionStream, ModelError> {
            let stall = self.stall;
            let events = futures::stream::iter([Ok(StreamEvent::Delta("par".into()))]).chain(
                futures::stream::once(async move {
                    tokio::time::sleep(stall).await;
                    Ok(StreamEvent::Done(Completion::default()))
                }),
            );
            Ok(Box::pin(events))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_slow_call_times_out() {
        let layer = Timeout::new(
            Arc::new(Stalling { stall: Duration::from_secs(5) }),
            Duration::from_secs(2),
        );
        let err = layer.complete(&Request::default()).await.unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Timeout);
        assert_eq!(err.provider, "stalling");
        assert!(err.kind.is_retryable());
    }

    #[tokio::test(start_paused = true)]
    async fn a_fast_call_passes() {
        let inner = Stalling { stall: Duration::from_secs(1) };
        let layer = Timeout::new(Arc::new(inner), Duration::from_secs(2));
        assert_eq!(layer.complete(&Request::default()).await.unwrap().text, "late");
    }

    #[tokio::test(start_paused = true)]
    async fn the_whole_stream_is_bounded() {
        let layer = Timeout::new(
            Arc::new(Stalling { stall: Duration::from_secs(5) }),
            Duration::from_secs(2),
        );
        let mut stream = layer.stream(&Request::default()).await.unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), StreamEvent::Delta("par".into()));
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Timeout);
        assert!(stream.next().await.is_none());

        let layer = Timeout::new(
            Arc::new(Stalling { stall: Duration::from_secs(1) }),
            Duration::from_secs(2),
        );
        let events: Vec<_> = layer.stream(&Request::default()).await.unwrap().collect().await;
        assert!(matches!(events.last(), Some(Ok(StreamEvent::Done(_)))));
    }
}
