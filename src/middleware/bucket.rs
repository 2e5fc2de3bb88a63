//! A hand-written token bucket that can give tokens back.
//!
//! `governor` (GCRA) cannot return capacity once it was taken, but a tokens-per-minute
//! limit must reserve an *estimate* before a call and reconcile it with the tokens the
//! provider reports afterwards. This bucket is plain arithmetic over an injected
//! clock reading, so it is tested without sleeping; [`RateLimiter`](super::RateLimiter)
//! adds the waiting and the queue.
//!
//! The level refills continuously at `per_second` up to `capacity` (the burst). Taking
//! may push the level below zero — a debt that later refills pay off — in two cases: a
//! request larger than the whole burst (it waits for a full bucket, then takes all it
//! needs), and a reconciliation that finds a call used more than was reserved.

use std::time::Duration;
use tokio::time::Instant;

/// Refill arithmetic tolerates this much rounding when deciding that a wait is over.
const EPSILON: f64 = 1e-9;

/// A token bucket over an injected clock.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    level: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket holding at most `capacity` tokens and refilling `per_minute`
    /// tokens a minute. Both are raised to at least 1.
    pub fn new(per_minute: u64, capacity: u64, now: Instant) -> Self {
        let capacity = capacity.max(1) as f64;
        Self {
            capacity,
            per_second: per_minute.max(1) as f64 / 60.0,
            level: capacity,
            updated: now,
        }
    }

    /// The tokens available at `now` (negative: a debt).
    pub fn level(&mut self, now: Instant) -> f64 {
        self.refill(now);
        self.level
    }

    /// How long from `now` until `n` tokens may be taken; zero when they may be taken
    /// now. A request for more than the capacity needs a full bucket.
    pub fn wait(&mut self, n: u64, now: Instant) -> Duration {
        self.refill(now);
        let need = (n as f64).min(self.capacity);
        let missing = need - self.level;
        if missing <= EPSILON {
            Duration::ZERO
        } else {
            // Round up to the microsecond so that the wait is really over when it ends.
            Duration::from_micros((missing / self.per_second * 1e6).ceil() as u64)
        }
    }

    /// Take `n` tokens at `now`, whatever the level (it may go negative).
    pub fn take(&mut self, n: u64, now: Instant) {
        self.refill(now);
        self.level -= n as f64;
    }

    /// Give `n` tokens back at `now`; the level never rises above the capacity.
    pub fn give_back(&mut self, n: u64, now: Instant) {
        self.refill(now);
        self.level = (self.level + n as f64).min(self.capacity);
    }

    fn refill(&mut self, now: Instant) {
        if now > self.updated {
            let elapsed = (now - self.updated).as_secs_f64();
            self.level = (self.level + elapsed * self.per_second).min(self.capacity);
            self.updated = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn a_new_bucket_is_full_and_refills_at_its_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(60, 5, t0);
        assert_eq!(b.level(t0), 5.0);
        assert_eq!(b.wait(5, t0), Duration::ZERO);
        b.take(5, t0);
        assert_eq!(b.level(t0), 0.0);
        // 60 a minute is one a second.
        assert_eq!(b.wait(1, t0), secs(1.0));
        assert_eq!(b.wait(3, t0), secs(3.0));
        assert!((b.level(t0 + secs(2.5)) - 2.5).abs() < 1e-9);
        // Never above the capacity.
        assert_eq!(b.level(t0 + secs(100.0)), 5.0);
    }

    #[test]
    fn giving_back_raises_the_level_up_to_the_capacity() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(600, 100, t0);
        b.take(80, t0);
        b.give_back(30, t0);
        assert_eq!(b.level(t0), 50.0);
        b.give_back(500, t0);
        assert_eq!(b.level(t0), 100.0);
    }

    #[test]
    fn a_request_above_the_capacity_waits_for_a_full_bucket_then_goes_into_debt() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(60, 10, t0);
        b.take(4, t0);
        // 25 > capacity 10: needs a full bucket, 4 s away.
        assert_eq!(b.wait(25, t0), secs(4.0));
        let t1 = t0 + secs(4.0);
        assert_eq!(b.wait(25, t1), Duration::ZERO);
        b.take(25, t1);
        assert_eq!(b.level(t1), -15.0);
        // The debt is paid before anyone else gets a token.
        assert_eq!(b.wait(1, t1), secs(16.0));
    }

    #[test]
    fn taking_more_after_the_fact_is_a_debt() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(120, 10, t0);
        b.take(10, t0);
        b.take(6, t0);
        assert_eq!(b.level(t0), -6.0);
        assert_eq!(b.wait(2, t0), secs(4.0));
    }

    #[test]
    fn zero_rates_are_raised_to_one() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(0, 0, t0);
        assert_eq!(b.level(t0), 1.0);
        b.take(1, t0);
        assert_eq!(b.wait(1, t0), secs(60.0));
    }
}
