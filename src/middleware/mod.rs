//! Resilience middleware: each layer wraps a [`LanguageModel`] in another, so the
//! engine, critics and validators never see retries, limits or failovers — only
//! answers whose `failed_attempts` record everything that happened on the way.
//!
//! # Order
//!
//! This is the one place the stacking order is written down. Outermost first:
//!
//! ```text
//! cache              the response cache (`cache.rs`), outermost: a hit sends
//!  │                  nothing, waits for nothing and is never limited
//!  └ fallback        the primary model, then each [[fallback]] model in order,
//!     │               on a retryable failure
//!     └ retry        per model: exponential backoff with full jitter, Retry-After
//!        └ concurrency   per endpoint: at most `max_in_flight` requests at once
//!           └ rate limit per endpoint: requests and tokens per minute
//!              └ timeout per call: `provider.timeout_secs`
//!                 └ provider   HTTP through the shared transport, or in-process
//! ```
//!
//! Why:
//! - **Fallback outside retry**: a model is abandoned only after its own retries gave
//!   up, and every model of the chain has its own retry policy and limits.
//! - **Retry outside the limiters**: every attempt, retries included, waits for its
//!   turn and counts against the limits — the provider counts it too — while the
//!   backoff between attempts holds neither a rate-limit turn nor an in-flight slot.
//! - **Concurrency outside rate limit**: the rate limiter sits next to the wire, so the
//!   moment it lets a request go is the moment the request is sent, and the measured
//!   rate is the rate the provider sees. A call that holds a slot while waiting for its
//!   rate turn would be sent first anyway (both queues are first come, first served).
//! - **Timeout innermost**: it bounds the call itself; time spent queueing for a
//!   limiter never counts against it, and a timed-out attempt is retried.
//!
//! The limiters are shared by every model built for the same endpoint (provider, base
//! URL, model, API-key variable) in the process — see [`Registry`].
//!
//! # Timeouts: which lives where
//!
//! | Timeout | Where | Config |
//! |---|---|---|
//! | connect | the HTTP transport | `provider.connect_timeout_secs` |
//! | one request, sending to last byte | the HTTP transport, and [`Timeout`] (which also bounds in-process providers and whole streams) | `provider.timeout_secs` |
//! | silence between stream chunks | the HTTP transport (`post_stream`) | per provider, 60 s |
//! | one critic, its retries included | the engine | `engine.critic_timeout_secs` |
//! | the whole run | the engine | `budget.deadline_secs` |
//!
//! # Assembly
//!
//! [`wrap`] puts the per-model layers around one model, in the order above. The whole
//! stack from configuration — each provider wrapped, the fallback chain over them, the
//! cache on top — is built in one place, [`crate::assemble`]. Defaults: retry on (6
//! attempts), no rate limit, no concurrency limit, no fallback.

mod attempts;
mod bucket;
pub mod cache;
mod concurrency;
mod fallback;
pub(crate) mod jitter;
mod rate_limit;
mod registry;
mod retry;
#[cfg(test)]
mod testing;
mod timeout;

pub use bucket::TokenBucket;
pub use concurrency::{ConcurrencyLimit, ConcurrencyLimits};
pub use fallback::Fallback;
pub use rate_limit::{
    DEFAULT_COMPLETION_ESTIMATE, RateLimit, RateLimiter, RateLimits, Reservation, estimate_tokens,
};
pub use registry::{Endpoint, Registry};
pub use retry::{Retry, RetryPolicy};
pub use timeout::Timeout;

use crate::model::LanguageModel;
use std::sync::Arc;
use std::time::Duration;

/// The layers around one model, and their settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    /// Retries (`max_attempts = 1`: no retry layer).
    pub retry: RetryPolicy,
    /// Requests and tokens per minute (unlimited: no rate-limit layer).
    pub rate_limit: RateLimits,
    /// Requests in flight (unlimited: no concurrency layer).
    pub concurrency: ConcurrencyLimits,
    /// The per-call timeout.
    pub timeout: Duration,
}

/// `model` wrapped in `layers`, innermost first (timeout, rate limit, concurrency
/// limit, retry), with the limiters of `endpoint` from `registry`. A layer that would
/// do nothing is left out.
pub fn wrap(
    model: Arc<dyn LanguageModel>,
    endpoint: &Endpoint,
    layers: &Layers,
    registry: &Registry,
) -> Arc<dyn LanguageModel> {
    let mut model: Arc<dyn LanguageModel> = Arc::new(Timeout::new(model, layers.timeout));
    if let Some(limiter) = registry.rate_limiter(endpoint, layers.rate_limit) {
        model = Arc::new(RateLimit::new(model, limiter));
    }
    if let Some(slots) = registry.semaphore(endpoint, layers.concurrency) {
        model = Arc::new(ConcurrencyLimit::new(model, slots));
    }
    if layers.retry.max_attempts > 1 {
        model = Arc::new(Retry::new(model, layers.retry));
    }
    model
}

#[cfg(test)]
mod tests {
    use super::testing::{Flaky, Step};
    use super::*;
    use crate::model::{ModelErrorKind, Request};

    fn endpoint() -> Endpoint {
        Endpoint {
            provider: "p".into(),
            base_url: "http://h".into(),
            model: "m".into(),
            account: "KEY".into(),
        }
    }

    fn layers() -> Layers {
        Layers {
            retry: RetryPolicy {
                initial_backoff: Duration::from_millis(10),
                ..RetryPolicy::default()
            },
            rate_limit: RateLimits { requests_per_minute: Some(60), ..RateLimits::default() },
            concurrency: ConcurrencyLimits { max_in_flight: Some(1) },
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn every_retry_waits_for_its_rate_limit_turn() {
        // One request a second: three attempts take two seconds, whatever the backoff.
        let inner = Arc::new(Flaky::new(
            "p",
            [Step::Fail(ModelErrorKind::Server), Step::Fail(ModelErrorKind::Server)],
        ));
        let model = wrap(inner.clone(), &endpoint(), &layers(), &Registry::new());
        let t0 = tokio::time::Instant::now();
        let c = model.complete(&Request::default()).await.unwrap();
        assert_eq!(c.failed_attempts.len(), 2);
        assert_eq!(inner.calls(), 3);
        assert!(t0.elapsed() >= Duration::from_secs(2), "{:?}", t0.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn models_of_one_endpoint_share_their_limits() {
        let registry = Registry::new();
        let a = wrap(Arc::new(Flaky::new("p", [])), &endpoint(), &layers(), &registry);
        let b = wrap(Arc::new(Flaky::new("p", [])), &endpoint(), &layers(), &registry);
        let t0 = tokio::time::Instant::now();
        a.complete(&Request::default()).await.unwrap();
        b.complete(&Request::default()).await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_attempt_times_out_and_is_retried() {
        struct Hang(std::sync::atomic::AtomicUsize);
        #[async_trait::async_trait]
        impl LanguageModel for Hang {
            fn provider(&self) -> &str {
                "p"
            }
            fn model(&self) -> &str {
                "m"
            }
            async fn complete(
                &self,
                _: &Request,
            ) -> Result<crate::model::Completion, crate::model::ModelError> {
                if self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                    std::future::pending::<()>().await;
                }
                Ok(crate::model::Completion { text: "ok".into(), ..Default::default() })
            }
        }
        let model =
            wrap(Arc::new(Hang(Default::default())), &endpoint(), &layers(), &Registry::new());
        let c = model.complete(&Request::default()).await.unwrap();
        assert_eq!(c.text, "ok");
        assert!(c.failed_attempts[0].error.message.contains("timeout"), "{:?}", c.failed_attempts);
    }

    #[test]
    fn no_retry_layer_for_one_attempt() {
        let mut l = layers();
        l.retry = RetryPolicy::never();
        l.rate_limit = RateLimits::default();
        l.concurrency = ConcurrencyLimits::default();
        let inner = Arc::new(Flaky::new("p", [Step::Fail(ModelErrorKind::Server)]));
        let model = wrap(inner.clone(), &endpoint(), &l, &Registry::new());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        assert!(rt.block_on(model.complete(&Request::default())).is_err());
        assert_eq!(inner.calls(), 1);
    }
}
