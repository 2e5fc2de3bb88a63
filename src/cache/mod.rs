//! The response cache: answers to identical requests, kept in up to three tiers so a
//! repeated request is answered without being sent.
//!
//! - [`key`] — what makes two requests the same ([`CacheKey`]), hashed stably so the
//!   key is the same in every process.
//! - `entry` — a cached answer as stored ([`Entry`]), and what may be cached at all
//!   ([`cacheable`]: never errors, answers cut off at the token limit, filtered or
//!   empty ones).
//! - `memory`, `file`, `redis` — the tiers: in-process (moka, bounded by size
//!   and TTL), a directory of JSON files (atomic writes), a shared Redis (namespaced
//!   keys with TTLs). The file and Redis I/O is the backend layer the thought store
//!   shares (`backend`).
//! - [`ResponseCache`] (this file) — the tiers together: **read-through** memory →
//!   Redis → file, filling the faster tiers from a slower one's hit (read repair,
//!   with the entry's remaining TTL), and **write-through** to every tier. A tier that
//!   fails logs a warning and counts as a miss: the cache never fails a call.
//!
//! The `LanguageModel` wrapper that uses it is
//! [`crate::middleware::cache::Cached`], the outermost middleware layer.

mod entry;
mod file;
pub mod key;
mod memory;
mod redis;
mod settings;

pub use entry::{Entry, cacheable};
pub use key::{CacheKey, current_sample, with_sample};
pub use settings::{CacheConfig, mask_redis_url};

use crate::Error;
use crate::model::Completion;
use file::FileTier;
use memory::MemoryTier;
use redis::RedisTier;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Which tier answered a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// The in-process memory tier.
    Memory,
    /// The shared Redis tier.
    Redis,
    /// The file tier.
    File,
}

/// Lookups and stores since the cache was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Lookups answered by the memory tier.
    pub memory_hits: u64,
    /// Lookups answered by the Redis tier.
    pub redis_hits: u64,
    /// Lookups answered by the file tier.
    pub file_hits: u64,
    /// Lookups no tier could answer.
    pub misses: u64,
    /// Answers stored.
    pub stores: u64,
}

impl CacheStats {
    /// Lookups answered by any tier.
    pub fn hits(&self) -> u64 {
        self.memory_hits + self.redis_hits + self.file_hits
    }
}

#[derive(Debug, Default)]
struct Counters {
    memory_hits: AtomicU64,
    redis_hits: AtomicU64,
    file_hits: AtomicU64,
    misses: AtomicU64,
    stores: AtomicU64,
}

/// The tiered response cache. Share one per process (behind an `Arc`): every model
/// wrapped with it, and every concurrent run, sees the same answers.
#[derive(Debug)]
pub struct ResponseCache {
    memory: Option<MemoryTier>,
    redis: Option<RedisTier>,
    file: Option<FileTier>,
    counters: Counters,
}

impl ResponseCache {
    /// Start building a cache. Default: the memory tier only.
    pub fn builder() -> CacheBuilder {
        CacheBuilder::default()
    }

    /// The cache `config` describes, or `None` when `enabled = false`. Fails when the
    /// file tier's directory cannot be created or the Redis URL is not one; Redis
    /// itself is reached on first use.
    pub fn from_config(config: &CacheConfig) -> Result<Option<Arc<ResponseCache>>, Error> {
        if !config.enabled {
            return Ok(None);
        }
        let mut builder = Self::builder()
            .max_entries(config.max_entries)
            .ttl(config.ttl)
            .redis_namespace(&config.redis_namespace);
        if let Some(dir) = &config.dir {
            builder = builder.dir(dir);
        }
        if let Some(url) = &config.redis_url {
            builder = builder.redis_url(url.expose_secret());
        }
        builder.build().map(|cache| Some(Arc::new(cache)))
    }

    /// The answer stored under `key`, marked as a cache hit, looking in memory, then
    /// Redis, then the file tier; a hit in a slower tier is copied to the faster ones.
    pub async fn get(&self, key: &CacheKey) -> Option<Completion> {
        self.lookup(key).await.map(|(completion, _)| completion)
    }

    /// Like [`get`](Self::get), and says which tier answered.
    pub async fn lookup(&self, key: &CacheKey) -> Option<(Completion, Tier)> {
        if let Some(memory) = &self.memory
            && let Some(entry) = memory.get(key).await
        {
            self.counters.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Some((entry.to_hit(), Tier::Memory));
        }
        if let Some(redis) = &self.redis
            && let Some(entry) = redis.get(key).await
        {
            self.counters.redis_hits.fetch_add(1, Ordering::Relaxed);
            let hit = entry.to_hit();
            if let Some(memory) = &self.memory {
                memory.put(key, Arc::new(entry)).await;
            }
            return Some((hit, Tier::Redis));
        }
        if let Some(file) = &self.file
            && let Some(entry) = file.get(key).await
        {
            self.counters.file_hits.fetch_add(1, Ordering::Relaxed);
            let hit = entry.to_hit();
            if let Some(redis) = &self.redis {
                redis.put(key, &entry).await;
            }
            if let Some(memory) = &self.memory {
                memory.put(key, Arc::new(entry)).await;
            }
            return Some((hit, Tier::File));
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Store `completion` under `key` in every tier, if it is [`cacheable`]; returns
    /// whether it was stored.
    pub async fn put(&self, key: &CacheKey, completion: &Completion) -> bool {
        if !cacheable(completion) {
            return false;
        }
        let entry = Entry::new(key, completion);
        if let Some(file) = &self.file {
            file.put(key, &entry).await;
        }
        if let Some(redis) = &self.redis {
            redis.put(key, &entry).await;
        }
        if let Some(memory) = &self.memory {
            memory.put(key, Arc::new(entry)).await;
        }
        self.counters.stores.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Lookups and stores so far.
    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            memory_hits: c.memory_hits.load(Ordering::Relaxed),
            redis_hits: c.redis_hits.load(Ordering::Relaxed),
            file_hits: c.file_hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            stores: c.stores.load(Ordering::Relaxed),
        }
    }
}

/// Builds a [`ResponseCache`]. Every setter's doc states its default.
#[derive(Clone)]
pub struct CacheBuilder {
    memory: bool,
    max_entries: u64,
    ttl: Option<Duration>,
    dir: Option<PathBuf>,
    redis_url: Option<String>,
    redis_namespace: String,
    redis_retry_after: Duration,
}

impl Default for CacheBuilder {
    fn default() -> Self {
        Self {
            memory: true,
            max_entries: 10_000,
            ttl: Some(Duration::from_secs(86_400)),
            dir: None,
            redis_url: None,
            redis_namespace: "redraft".to_owned(),
            redis_retry_after: redis::RETRY_AFTER,
        }
    }
}

/// Shows the Redis URL with its password masked.
impl std::fmt::Debug for CacheBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheBuilder")
            .field("memory", &self.memory)
            .field("max_entries", &self.max_entries)
            .field("ttl", &self.ttl)
            .field("dir", &self.dir)
            .field("redis_url", &self.redis_url.as_deref().map(mask_redis_url))
            .field("redis_namespace", &self.redis_namespace)
            .finish()
    }
}

impl CacheBuilder {
    /// Whether the memory tier is on. Default: true.
    pub fn memory(mut self, on: bool) -> Self {
        self.memory = on;
        self
    }

    /// Most answers in memory. Default: 10 000.
    pub fn max_entries(mut self, n: u64) -> Self {
        self.max_entries = n;
        self
    }

    /// How long an answer stays valid in every tier; `None`: forever. Default: a day.
    pub fn ttl(mut self, ttl: Option<Duration>) -> Self {
        self.ttl = ttl;
        self
    }

    /// The file tier's directory. Default: none (no file tier).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// The Redis tier's URL, e.g. `redis://127.0.0.1:6379`. Default: none.
    pub fn redis_url(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// The first part of every Redis key (`<namespace>:cache:v1:<hash>`). Default:
    /// `redraft`.
    pub fn redis_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.redis_namespace = namespace.into();
        self
    }

    /// How long the Redis tier stays off after a failure. Default: 30 s.
    pub fn redis_retry_after(mut self, wait: Duration) -> Self {
        self.redis_retry_after = wait;
        self
    }

    /// Check the settings and build the cache (creating the file tier's directory).
    pub fn build(self) -> Result<ResponseCache, Error> {
        if self.max_entries == 0 {
            return Err(Error::config(
                "cache builder",
                Some("cache.max_entries"),
                "must be at least 1",
            ));
        }
        let file = match &self.dir {
            Some(dir) => Some(
                FileTier::new(dir, self.ttl)
                    .map_err(|source| Error::Io { path: dir.clone(), source })?,
            ),
            None => None,
        };
        let redis = match &self.redis_url {
            Some(url) => Some(
                RedisTier::new(url, &self.redis_namespace, self.ttl, self.redis_retry_after)
                    .map_err(|reason| {
                        Error::config("cache builder", Some("cache.redis_url"), reason)
                    })?,
            ),
            None => None,
        };
        Ok(ResponseCache {
            memory: self.memory.then(|| MemoryTier::new(self.max_entries, self.ttl)),
            redis,
            file,
            counters: Counters::default(),
        })
    }
}
