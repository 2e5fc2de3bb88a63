//! The concurrency-limit layer: at most N requests in flight to one endpoint.
//!
//! A semaphore shared by every model built for the same endpoint in the process (see
//! [`Registry`](super::Registry)); a call holds a permit while it runs, a stream holds
//! it until the stream ends or is dropped. Waiters are served in arrival order (tokio's
//! semaphore is fair).

use crate::model::{
    Completion, CompletionStream, LanguageModel, ModelError, ModelErrorKind, Request,
};
use async_trait::async_trait;
use futures::StreamExt;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The concurrency limit for one endpoint (`[concurrency]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConcurrencyLimits {
    /// Most requests in flight at once. Default (`None`): unlimited.
    pub max_in_flight: Option<usize>,
}

/// The concurrency-limit layer around a model.
pub struct ConcurrencyLimit {
    inner: Arc<dyn LanguageModel>,
    slots: Arc<Semaphore>,
}

impl ConcurrencyLimit {
    /// `inner`, sending only while a permit of `slots` is free.
    pub fn new(inner: Arc<dyn LanguageModel>, slots: Arc<Semaphore>) -> Self {
        Self { inner, slots }
    }

    async fn permit(&self) -> Result<OwnedSemaphorePermit, ModelError> {
        Arc::clone(&self.slots).acquire_owned().await.map_err(|_| {
            // The registry never closes its semaphores; a closed one is a bug.
            ModelError::new(
                ModelErrorKind::InvalidRequest,
                self.inner.provider(),
                "the concurrency limiter was closed",
            )
        })
    }
}

#[async_trait]
impl LanguageModel for ConcurrencyLimit {
    crate::forward_metadata!(inner);

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        let _permit = self.permit().await?;
        self.inner.complete(request).await
    }

    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        let permit = self.permit().await?;
        let stream = self.inner.stream(request).await?;
        // The permit lives as long as the stream.
        Ok(Box::pin(stream.map(move |event| {
            let _held = &permit;
            event
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::Flaky;
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// A model that counts how many calls run at once.
    struct Counting {
        now: AtomicUsize,
        peak: AtomicUsize,
    }

    #[async_trait]
    impl LanguageModel for Counting {
        fn provider(&self) -> &str {
            "counting"
        }
        fn model(&self) -> &str {
            "m"
        }
        async fn complete(&self, _: &Request) -> Result<Completion, ModelError> {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.peak.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            self.now.fetch_sub(1, Ordering::SeqCst);
            Ok(Completion::default())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_flight() {
        let inner = Arc::new(Counting { now: AtomicUsize::new(0), peak: AtomicUsize::new(0) });
        let layer = Arc::new(ConcurrencyLimit::new(inner.clone(), Arc::new(Semaphore::new(3))));
        let calls = (0..20).map(|_| {
            let layer = Arc::clone(&layer);
            tokio::spawn(async move { layer.complete(&Request::default()).await })
        });
        for call in calls.collect::<Vec<_>>() {
            call.await.unwrap().unwrap();
        }
        assert_eq!(inner.peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_stream_holds_its_permit_until_dropped() {
        let slots = Arc::new(Semaphore::new(1));
        let layer = ConcurrencyLimit::new(Arc::new(Flaky::new("p", [])), Arc::clone(&slots));
        let mut stream = layer.stream(&Request::default()).await.unwrap();
        assert_eq!(slots.available_permits(), 0);
        assert!(stream.next().await.is_some());
        drop(stream);
        assert_eq!(slots.available_permits(), 1);
    }
}
