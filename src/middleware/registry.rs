//! The limiters shared by every model built for the same endpoint in the process.
//!
//! Rate and concurrency limits belong to an endpoint — a provider, base URL, model and
//! account — not to one engine: a batch of concurrent runs, a critic with its own
//! model handle, or two engines in one server all draw on the same provider quota. The
//! [`Registry`] hands every model built for an endpoint the same [`RateLimiter`] and
//! semaphore. [`Registry::global`] is the process-wide one the stack uses; tests can
//! make their own.
//!
//! The first configuration that registers an endpoint sets its limits for the life of
//! the registry; a later one asking for different limits is logged as a warning and
//! gets the existing limiter (two limiters for one quota would together exceed it).

use super::concurrency::ConcurrencyLimits;
use super::rate_limit::{RateLimiter, RateLimits};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Semaphore;

/// Whose quota a request draws on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The provider, e.g. `openai`.
    pub provider: String,
    /// The API root requests go to.
    pub base_url: String,
    /// The model.
    pub model: String,
    /// Who pays: the *name* of the variable holding the API key (never the key), so
    /// two accounts on one endpoint get separate limits.
    pub account: String,
}

/// Shared limiters, by endpoint.
#[derive(Debug, Default)]
pub struct Registry {
    rates: Mutex<HashMap<Endpoint, Arc<RateLimiter>>>,
    slots: Mutex<HashMap<Endpoint, (usize, Arc<Semaphore>)>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide registry.
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::new)
    }

    /// The rate limiter of `endpoint`, made with `limits` if it has none yet; `None`
    /// when `limits` limit nothing.
    pub fn rate_limiter(
        &self,
        endpoint: &Endpoint,
        limits: RateLimits,
    ) -> Option<Arc<RateLimiter>> {
        if limits.is_unlimited() {
            return None;
        }
        let mut rates = self.rates.lock().unwrap_or_else(|p| p.into_inner());
        let limiter =
            rates.entry(endpoint.clone()).or_insert_with(|| Arc::new(RateLimiter::new(limits)));
        if limiter.limits() != limits {
            tracing::warn!(
                provider = %endpoint.provider,
                model = %endpoint.model,
                kept = ?limiter.limits(),
                asked = ?limits,
                "rate limits for this endpoint were already set in this process; keeping them"
            );
        }
        Some(Arc::clone(limiter))
    }

    /// The in-flight semaphore of `endpoint`, made with `limits` if it has none yet;
    /// `None` when `limits` limit nothing.
    pub fn semaphore(
        &self,
        endpoint: &Endpoint,
        limits: ConcurrencyLimits,
    ) -> Option<Arc<Semaphore>> {
        let max = limits.max_in_flight?;
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let (kept, semaphore) =
            slots.entry(endpoint.clone()).or_insert_with(|| (max, Arc::new(Semaphore::new(max))));
        if *kept != max {
            tracing::warn!(
                provider = %endpoint.provider,
                model = %endpoint.model,
                kept = *kept,
                asked = max,
                "the in-flight limit for this endpoint was already set in this process; keeping it"
            );
        }
        Some(Arc::clone(semaphore))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(model: &str) -> Endpoint {
        Endpoint {
            provider: "openai".into(),
            base_url: "http://h/v1".into(),
            model: model.into(),
            account: "OPENAI_API_KEY".into(),
        }
    }

    #[test]
    fn one_endpoint_shares_one_limiter_and_one_semaphore() {
        let r = Registry::new();
        let limits = RateLimits { requests_per_minute: Some(60), ..RateLimits::default() };
        let a = r.rate_limiter(&endpoint("m"), limits).unwrap();
        let b = r.rate_limiter(&endpoint("m"), limits).unwrap();
        let other = r.rate_limiter(&endpoint("n"), limits).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &other));
        let c = ConcurrencyLimits { max_in_flight: Some(2) };
        assert!(Arc::ptr_eq(
            &r.semaphore(&endpoint("m"), c).unwrap(),
            &r.semaphore(&endpoint("m"), c).unwrap()
        ));
    }

    #[test]
    fn the_first_limits_win() {
        let r = Registry::new();
        let first = RateLimits { requests_per_minute: Some(60), ..RateLimits::default() };
        let later = RateLimits { requests_per_minute: Some(600), ..RateLimits::default() };
        r.rate_limiter(&endpoint("m"), first);
        assert_eq!(r.rate_limiter(&endpoint("m"), later).unwrap().limits(), first);
        let s = r.semaphore(&endpoint("m"), ConcurrencyLimits { max_in_flight: Some(2) });
        r.semaphore(&endpoint("m"), ConcurrencyLimits { max_in_flight: Some(9) });
        assert_eq!(s.unwrap().available_permits(), 2);
    }

    #[test]
    fn no_limits_no_limiter() {
        let r = Registry::new();
        assert!(r.rate_limiter(&endpoint("m"), RateLimits::default()).is_none());
        assert!(r.semaphore(&endpoint("m"), ConcurrencyLimits::default()).is_none());
    }
}
