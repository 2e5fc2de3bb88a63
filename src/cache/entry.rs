//! A cached answer as stored in every tier: the parts of a [`Completion`] that make up
//! the answer (never the failed attempts that preceded it), when it was stored, and the
//! key's check. The file and Redis tiers hold it as JSON.

use super::key::CacheKey;
use crate::model::{Completion, FinishReason, TokenUsage};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The layout version of a stored entry.
const FORMAT: u32 = 1;

/// One cached answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Layout version.
    pub format: u32,
    /// The key's 64-bit check (see [`CacheKey::check`]).
    pub check: u64,
    /// Unix time in milliseconds when the answer was stored.
    pub stored_at_ms: u64,
    /// The answer.
    pub text: String,
    /// Why the model stopped.
    pub finish_reason: FinishReason,
    /// The tokens the original call used (saved again on every hit).
    pub usage: TokenUsage,
    /// The model that answered.
    pub model: String,
    /// The provider that answered.
    pub provider: String,
}

impl Entry {
    /// The entry for `completion` under `key`, stored now.
    pub fn new(key: &CacheKey, completion: &Completion) -> Self {
        Self {
            format: FORMAT,
            check: key.check(),
            stored_at_ms: now_ms(),
            text: completion.text.clone(),
            finish_reason: completion.finish_reason,
            usage: completion.usage,
            model: completion.model.clone(),
            provider: completion.provider.clone(),
        }
    }

    /// The answer as a completion marked as a cache hit (no failed attempts: nothing
    /// was sent).
    pub fn to_hit(&self) -> Completion {
        Completion {
            text: self.text.clone(),
            finish_reason: self.finish_reason,
            usage: self.usage,
            model: self.model.clone(),
            provider: self.provider.clone(),
            cache_hit: true,
            failed_attempts: Vec::new(),
        }
    }

    /// Whether the entry belongs to `key` and is still valid under `ttl`.
    pub fn is_valid_for(&self, key: &CacheKey, ttl: Option<Duration>) -> bool {
        self.format == FORMAT && self.check == key.check() && self.remaining(ttl).is_some()
    }

    /// How long the entry stays valid under `ttl` (`Duration::MAX` when there is no
    /// TTL), or `None` once it expired.
    pub fn remaining(&self, ttl: Option<Duration>) -> Option<Duration> {
        let Some(ttl) = ttl else { return Some(Duration::MAX) };
        let age = Duration::from_millis(now_ms().saturating_sub(self.stored_at_ms));
        ttl.checked_sub(age).filter(|left| !left.is_zero())
    }

    /// The entry as JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // A struct of strings and numbers always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The entry from JSON bytes, or `None` when they are not one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// Whether `completion` may be cached: an answer that ended naturally (not cut off at
/// the token limit, not stopped by a content filter) with some non-blank text.
pub fn cacheable(completion: &Completion) -> bool {
    !matches!(completion.finish_reason, FinishReason::Length | FinishReason::ContentFilter)
        && !completion.text.trim().is_empty()
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Request;

    fn completion(text: &str, finish_reason: FinishReason) -> Completion {
        Completion { text: text.into(), finish_reason, ..Completion::default() }
    }

    #[test]
    fn only_whole_non_empty_answers_are_cacheable() {
        assert!(cacheable(&completion("ok", FinishReason::Stop)));
        assert!(cacheable(&completion("ok", FinishReason::Other)));
        assert!(!cacheable(&completion("cut", FinishReason::Length)));
        assert!(!cacheable(&completion("x", FinishReason::ContentFilter)));
        assert!(!cacheable(&completion(" \n", FinishReason::Stop)));
    }

    #[test]
    fn entries_round_trip_and_check_their_key() {
        let key = CacheKey::new("p", "m", None, &Request::default(), 0);
        let other = CacheKey::new("p", "m", None, &Request::default(), 1);
        let e = Entry::new(&key, &completion("hi", FinishReason::Stop));
        let back = Entry::from_bytes(&e.to_bytes()).unwrap();
        assert_eq!(back, e);
        assert!(back.to_hit().cache_hit);
        assert!(back.is_valid_for(&key, Some(Duration::from_secs(60))));
        assert!(!back.is_valid_for(&other, None));
        assert!(Entry::from_bytes(b"not json").is_none());
    }

    #[test]
    fn old_entries_expire() {
        let key = CacheKey::new("p", "m", None, &Request::default(), 0);
        let mut e = Entry::new(&key, &completion("hi", FinishReason::Stop));
        e.stored_at_ms -= 10_000;
        assert!(!e.is_valid_for(&key, Some(Duration::from_secs(5))));
        assert!(e.is_valid_for(&key, Some(Duration::from_secs(60))));
        assert!(e.is_valid_for(&key, None));
    }
}
