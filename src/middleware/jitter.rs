//! Randomness for backoff jitter: a tiny xorshift64* generator seeded from the
//! standard library's per-process random hasher keys and the clock — no `rand`
//! dependency for one random number per retry. Injectable, so tests fix it (which
//! `backon`'s seeded jitter cannot be; see [`retry`](super::retry) for why backoff
//! does not use backon).

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of numbers spread uniformly over `[0, 1)`.
pub(crate) type Jitter = Arc<dyn Fn() -> f64 + Send + Sync>;

/// Fresh random jitter (not cryptographic; spreading retries is all it is for).
pub(crate) fn random() -> Jitter {
    let rng = XorShift::seeded();
    Arc::new(move || rng.next_f64())
}

/// Jitter that is always `value` (clamped to `[0, 1]`), for deterministic tests.
#[cfg(test)]
pub(crate) fn fixed(value: f64) -> Jitter {
    let value = value.clamp(0.0, 1.0);
    Arc::new(move || value)
}

/// xorshift64* (Vigna 2016): fast, small, good enough for jitter.
struct XorShift(AtomicU64);

impl XorShift {
    fn seeded() -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        hasher.write_u128(nanos);
        // The state must never be zero.
        Self(AtomicU64::new(hasher.finish() | 1))
    }

    fn next_u64(&self) -> u64 {
        fn step(mut x: u64) -> u64 {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            x
        }
        let previous = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |x| Some(step(x)))
            .unwrap_or_else(|x| x);
        step(previous).wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn next_f64(&self) -> f64 {
        // The top 53 bits as a fraction of 2^53.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_jitter_stays_in_range_and_spreads() {
        let j = random();
        let values: Vec<f64> = (0..10_000).map(|_| j()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((0.45..0.55).contains(&mean), "mean {mean}");
        let low = values.iter().filter(|v| **v < 0.1).count();
        assert!((800..1200).contains(&low), "{low} below 0.1");
    }

    #[test]
    fn two_generators_differ() {
        let (a, b) = (random(), random());
        let a: Vec<f64> = (0..4).map(|_| a()).collect();
        let b: Vec<f64> = (0..4).map(|_| b()).collect();
        assert_ne!(a, b);
    }

    #[test]
    fn fixed_jitter_is_clamped() {
        assert_eq!(fixed(0.25)(), 0.25);
        assert_eq!(fixed(3.0)(), 1.0);
        assert_eq!(fixed(-1.0)(), 0.0);
    }
}
