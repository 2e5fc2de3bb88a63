//! The memory tier: a bounded, concurrent, in-process map (moka) of recent answers, by
//! size (`max_entries`, least recently used dropped first) and age (`ttl`).

use super::entry::Entry;
use super::key::CacheKey;
use std::sync::Arc;
use std::time::Duration;

/// The in-process tier.
#[derive(Clone)]
pub(super) struct MemoryTier {
    map: moka::future::Cache<u128, Arc<Entry>>,
    ttl: Option<Duration>,
}

impl std::fmt::Debug for MemoryTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTier")
            .field("entries", &self.map.entry_count())
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl MemoryTier {
    /// A tier of at most `max_entries` answers, each valid for `ttl` (`None`: until
    /// evicted).
    pub(super) fn new(max_entries: u64, ttl: Option<Duration>) -> Self {
        let mut builder = moka::future::Cache::builder().max_capacity(max_entries);
        if let Some(ttl) = ttl {
            builder = builder.time_to_live(ttl);
        }
        Self { map: builder.build(), ttl }
    }

    /// The entry stored under `key`, if any and still valid.
    pub(super) async fn get(&self, key: &CacheKey) -> Option<Arc<Entry>> {
        let entry = self.map.get(&key.hash()).await?;
        // Entries repaired from a slower tier keep their original age.
        entry.is_valid_for(key, self.ttl).then_some(entry)
    }

    /// Store `entry` under `key`.
    pub(super) async fn put(&self, key: &CacheKey, entry: Arc<Entry>) {
        self.map.insert(key.hash(), entry).await;
    }
}
