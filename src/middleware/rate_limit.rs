//! The rate-limit layer: requests per minute and tokens per minute, reserved before a
//! call and reconciled with the reported usage after it.
//!
//! A [`RateLimiter`] holds two [`TokenBucket`]s (either may be absent) and a FIFO queue
//! of waiters. It is shared by every model built for the same endpoint in the process
//! (see [`Registry`](super::Registry)), so concurrent runs together stay under the
//! limit. Before each call the [`RateLimit`] layer reserves one request and an estimate
//! of the call's tokens ([`estimate_tokens`]); only the head of the queue may take, and
//! it waits (an async sleep, woken early when tokens are given back) until both buckets
//! allow — so waiters are served in arrival order and none starves. After the call the
//! reservation is settled with the tokens the provider reported: the difference is
//! given back or taken as well. A failed call gives its tokens back but keeps its
//! request (the server saw it).

use super::bucket::TokenBucket;
use crate::model::{
    Completion, CompletionStream, LanguageModel, ModelError, Request, ResponseFormat, StreamEvent,
};
use async_trait::async_trait;
use futures::StreamExt;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Completion tokens assumed for a request that does not cap them (`max_tokens`).
pub const DEFAULT_COMPLETION_ESTIMATE: u64 = 256;

/// Rate limits for one endpoint (`[rate_limit]`). `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Most requests a minute. Default: unlimited.
    pub requests_per_minute: Option<u64>,
    /// Most tokens (prompt + completion) a minute. Default: unlimited.
    pub tokens_per_minute: Option<u64>,
    /// Requests that may be sent at once after a quiet spell. Default (`None`): one
    /// second's worth, `requests_per_minute / 60`, at least 1.
    pub burst_requests: Option<u64>,
    /// Tokens that may be spent at once after a quiet spell. Default (`None`): one
    /// second's worth, `tokens_per_minute / 60`, at least 1.
    pub burst_tokens: Option<u64>,
}

impl RateLimits {
    /// Whether neither requests nor tokens are limited.
    pub fn is_unlimited(&self) -> bool {
        self.requests_per_minute.is_none() && self.tokens_per_minute.is_none()
    }
}

/// The tokens reserved for `request` before it is sent: the characters of its messages
/// (and JSON schema) divided by 4, rounded up — about one token per four characters
/// of English — plus its `max_tokens`, or [`DEFAULT_COMPLETION_ESTIMATE`] when it has
/// none. Like the providers' own limiters, it counts the completion at its cap.
pub fn estimate_tokens(request: &Request) -> u64 {
    let mut chars: usize = request.messages.iter().map(|m| m.content.chars().count()).sum();
    if let ResponseFormat::JsonSchema { schema, .. } = &request.format {
        chars += schema.to_string().len();
    }
    let completion = request.sampling.max_tokens.map_or(DEFAULT_COMPLETION_ESTIMATE, u64::from);
    (chars as u64).div_ceil(4) + completion
}

struct State {
    requests: Option<TokenBucket>,
    tokens: Option<TokenBucket>,
    queue: VecDeque<u64>,
    next_ticket: u64,
}

impl State {
    /// How long until one request and `tokens` tokens may be taken.
    fn wait(&mut self, tokens: u64, now: Instant) -> Duration {
        let r = self.requests.as_mut().map_or(Duration::ZERO, |b| b.wait(1, now));
        let t = self.tokens.as_mut().map_or(Duration::ZERO, |b| b.wait(tokens, now));
        r.max(t)
    }
}

/// The shared state of a rate limit: the buckets and the queue of waiters.
pub struct RateLimiter {
    limits: RateLimits,
    state: Mutex<State>,
    turn: Notify,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("limits", &self.limits).finish_non_exhaustive()
    }
}

impl RateLimiter {
    /// A limiter with full buckets for `limits`.
    pub fn new(limits: RateLimits) -> Self {
        let now = Instant::now();
        let bucket = |per_minute: Option<u64>, burst: Option<u64>| {
            per_minute.map(|pm| TokenBucket::new(pm, burst.unwrap_or(pm / 60).max(1), now))
        };
        Self {
            limits,
            state: Mutex::new(State {
                requests: bucket(limits.requests_per_minute, limits.burst_requests),
                tokens: bucket(limits.tokens_per_minute, limits.burst_tokens),
                queue: VecDeque::new(),
                next_ticket: 0,
            }),
            turn: Notify::new(),
        }
    }

    /// The limits this limiter enforces.
    pub fn limits(&self) -> RateLimits {
        self.limits
    }

    /// Wait for the turn of a call estimated at `tokens`, then take one request and
    /// `tokens` tokens. Waiters are served first come, first served. Dropping the
    /// future while it waits leaves the queue.
    pub async fn acquire(self: &Arc<Self>, tokens: u64) -> Reservation {
        let ticket = {
            let mut s = self.lock();
            let t = s.next_ticket;
            s.next_ticket += 1;
            s.queue.push_back(t);
            t
        };
        let mut place = Place { limiter: self, ticket, served: false };
        loop {
            let notified = self.turn.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so no wake-up between the check and the
            // wait is missed.
            notified.as_mut().enable();
            let wait = {
                let mut s = self.lock();
                if s.queue.front() == Some(&ticket) {
                    let now = Instant::now();
                    let wait = s.wait(tokens, now);
                    if wait.is_zero() {
                        if let Some(b) = s.requests.as_mut() {
                            b.take(1, now);
                        }
                        if let Some(b) = s.tokens.as_mut() {
                            b.take(tokens, now);
                        }
                        s.queue.pop_front();
                        place.served = true;
                        drop(s);
                        // The next in line may go at once.
                        self.turn.notify_waiters();
                        return Reservation { limiter: Arc::clone(self), tokens, settled: false };
                    }
                    Some(wait)
                } else {
                    None
                }
            };
            match wait {
                Some(wait) => {
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Adjust the tokens of a finished call: give back `reserved - used`, or take
    /// `used - reserved` more.
    fn settle(&self, reserved: u64, used: u64) {
        let now = Instant::now();
        let mut s = self.lock();
        let Some(bucket) = s.tokens.as_mut() else { return };
        if used < reserved {
            bucket.give_back(reserved - used, now);
            drop(s);
            self.turn.notify_waiters();
        } else {
            bucket.take(used - reserved, now);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state consistent, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A waiter's place in the queue; leaving it (a dropped `acquire`) lets the next go.
struct Place<'a> {
    limiter: &'a RateLimiter,
    ticket: u64,
    served: bool,
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if self.served {
            return;
        }
        let mut s = self.limiter.lock();
        let was_head = s.queue.front() == Some(&self.ticket);
        s.queue.retain(|t| *t != self.ticket);
        drop(s);
        if was_head {
            self.limiter.turn.notify_waiters();
        }
    }
}

/// One request and an estimate of tokens taken from a [`RateLimiter`]. Settle it with
/// the tokens really used; dropped unsettled (a failed call), it gives its tokens back.
#[derive(Debug)]
pub struct Reservation {
    limiter: Arc<RateLimiter>,
    tokens: u64,
    settled: bool,
}

impl Reservation {
    /// The tokens reserved.
    pub fn tokens(&self) -> u64 {
        self.tokens
    }

    /// Reconcile with the `used` tokens the provider reported.
    pub fn settle(mut self, used: u64) {
        self.settled = true;
        self.limiter.settle(self.tokens, used);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.settled {
            self.limiter.settle(self.tokens, 0);
        }
    }
}

/// The rate-limit layer around a model.
pub struct RateLimit {
    inner: Arc<dyn LanguageModel>,
    limiter: Arc<RateLimiter>,
}

impl RateLimit {
    /// `inner`, sending only when `limiter` allows.
    pub fn new(inner: Arc<dyn LanguageModel>, limiter: Arc<RateLimiter>) -> Self {
        Self { inner, limiter }
    }
}

fn used(c: &Completion) -> u64 {
    c.usage.prompt_tokens + c.usage.completion_tokens
}

#[async_trait]
impl LanguageModel for RateLimit {
    crate::forward_metadata!(inner);

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        let reservation = self.limiter.acquire(estimate_tokens(request)).await;
        let result = self.inner.complete(request).await;
        if let Ok(c) = &result {
            reservation.settle(used(c));
        }
        result
    }

    async fn stream(&self, request: &Request) -> Result<CompletionStream, ModelError> {
        let reservation = self.limiter.acquire(estimate_tokens(request)).await;
        let stream = self.inner.stream(request).await?;
        // The reservation rides along: settled by the answer, or given back when the
        // stream fails or is dropped.
        let mut reservation = Some(reservation);
        Ok(Box::pin(stream.map(move |event| {
            if let Ok(StreamEvent::Done(c)) = &event
                && let Some(r) = reservation.take()
            {
                r.settle(used(c));
            } else if event.is_err() {
                reservation.take();
            }
            event
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Message, Sampling};

    fn limiter(limits: RateLimits) -> Arc<RateLimiter> {
        Arc::new(RateLimiter::new(limits))
    }

    fn rpm(n: u64) -> RateLimits {
        RateLimits { requests_per_minute: Some(n), ..RateLimits::default() }
    }

    fn tpm(n: u64, burst: Option<u64>) -> RateLimits {
        RateLimits { tokens_per_minute: Some(n), burst_tokens: burst, ..RateLimits::default() }
    }

    /// Milliseconds since `t0`, rounded.
    fn since(t0: Instant) -> u64 {
        (Instant::now() - t0).as_millis() as u64
    }

    #[test]
    fn the_estimate_is_a_quarter_of_the_chars_plus_the_completion_cap() {
        let mut req = Request {
            messages: vec![Message::system("abcd"), Message::user("é".repeat(9))],
            sampling: Sampling { temperature: None, max_tokens: Some(100) },
            format: ResponseFormat::Text,
            ..Request::default()
        };
        assert_eq!(estimate_tokens(&req), 4 + 100);
        req.sampling.max_tokens = None;
        assert_eq!(estimate_tokens(&req), 4 + DEFAULT_COMPLETION_ESTIMATE);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_per_minute_allow_a_burst_then_one_per_interval() {
        // 120 a minute: a burst of 2, then one every 500 ms.
        let l = limiter(rpm(120));
        let t0 = Instant::now();
        let mut at = Vec::new();
        for _ in 0..5 {
            l.acquire(0).await.settle(0);
            at.push(since(t0));
        }
        assert_eq!(at, [0, 0, 500, 1000, 1500]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_configured_burst_is_honoured() {
        let l = limiter(RateLimits { burst_requests: Some(4), ..rpm(60) });
        let t0 = Instant::now();
        let mut at = Vec::new();
        for _ in 0..6 {
            l.acquire(0).await.settle(0);
            at.push(since(t0));
        }
        assert_eq!(at, [0, 0, 0, 0, 1000, 2000]);
    }

    #[tokio::test(start_paused = true)]
    async fn tokens_wait_for_the_estimate_and_reconcile_down() {
        // 6000 a minute = 100 a second, burst 100.
        let l = limiter(tpm(6000, None));
        let t0 = Instant::now();
        let r = l.acquire(80).await;
        assert_eq!(since(t0), 0);
        // Used only 20 of 80: 60 come back, so 80 are available again at once.
        r.settle(20);
        l.acquire(80).await.settle(80);
        assert_eq!(since(t0), 0);
        // Now 0 left: 50 more take half a second.
        l.acquire(50).await.settle(50);
        assert_eq!(since(t0), 500);
    }

    #[tokio::test(start_paused = true)]
    async fn using_more_than_reserved_is_charged_to_later_calls() {
        let l = limiter(tpm(6000, None));
        let t0 = Instant::now();
        // Reserved 10, used 300: 200 in debt.
        l.acquire(10).await.settle(300);
        l.acquire(100).await.settle(100);
        // 300 tokens at 100/s must refill before 100 are there.
        assert_eq!(since(t0), 3000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_reservation_gives_its_tokens_back_and_wakes_the_next() {
        let l = limiter(tpm(6000, None));
        let t0 = Instant::now();
        let first = l.acquire(100).await;
        let waiter = {
            let l = Arc::clone(&l);
            tokio::spawn(async move {
                l.acquire(100).await.settle(100);
                since(t0)
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(first); // the call failed
        // Served at once when the tokens came back, not after a full refill (1000 ms).
        assert_eq!(waiter.await.unwrap(), 200);
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_in_arrival_order() {
        // A large request first must not be overtaken by small ones behind it.
        let l = limiter(tpm(6000, None));
        l.acquire(100).await.settle(100);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, tokens) in [90u64, 5, 5, 5].into_iter().enumerate() {
            let (l, order) = (Arc::clone(&l), Arc::clone(&order));
            tasks.push(tokio::spawn(async move {
                l.acquire(tokens).await.settle(tokens);
                order.lock().unwrap().push(i);
            }));
            tokio::task::yield_now().await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), [0, 1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_waiter_leaves_the_queue() {
        let l = limiter(rpm(60));
        l.acquire(0).await.settle(0);
        // The head gives up; the one behind it must still be served.
        let head = tokio::time::timeout(Duration::from_millis(100), l.acquire(0)).await;
        assert!(head.is_err());
        let t0 = Instant::now();
        l.acquire(0).await.settle(0);
        assert_eq!(since(t0), 900);
    }

    #[tokio::test(start_paused = true)]
    async fn both_limits_hold_at_once() {
        // Requests allow one a second; tokens allow 50 a second: tokens bind.
        let l = limiter(RateLimits {
            requests_per_minute: Some(60),
            tokens_per_minute: Some(3000),
            burst_requests: None,
            burst_tokens: None,
        });
        let t0 = Instant::now();
        let mut at = Vec::new();
        for _ in 0..3 {
            l.acquire(100).await.settle(100);
            at.push(since(t0));
        }
        // 100 > burst 50: each waits for a full bucket, then the debt of 50 refills.
        assert_eq!(at, [0, 2000, 4000]);
    }

    #[tokio::test(start_paused = true)]
    async fn the_layer_reserves_before_and_settles_after_each_call() {
        use super::super::testing::Flaky;
        let inner = Arc::new(Flaky::new("p", [])); // 15 tokens used per answer
        let l = limiter(tpm(600, Some(100)));
        let layer = RateLimit::new(inner.clone(), Arc::clone(&l));
        let req = Request {
            messages: vec![Message::user("x".repeat(40))],
            sampling: Sampling { temperature: None, max_tokens: Some(90) },
            format: ResponseFormat::Text,
            ..Request::default()
        };
        assert_eq!(estimate_tokens(&req), 100);
        let t0 = Instant::now();
        layer.complete(&req).await.unwrap();
        // 100 reserved, 15 used: 85 left, so the next call waits for 15 (at 10/s).
        layer.complete(&req).await.unwrap();
        assert_eq!(since(t0), 1500);
        let mut stream = layer.stream(&req).await.unwrap();
        while stream.next().await.is_some() {}
        assert_eq!(inner.calls(), 3);
        assert_eq!(since(t0), 3000);
    }
}
