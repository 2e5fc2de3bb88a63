//! The Redis tier: answers shared by every process and machine that uses the same
//! Redis, under namespaced keys `<namespace>:cache:v1:<hash>`, each stored with
//! `SET … PX <ttl>` so Redis itself expires them.
//!
//! The connection is the shared backend's (`backend::redis`): made on first
//! use, with timeouts, and off for [`RETRY_AFTER`] after a failure (so a dead server
//! costs one short timeout, not one per call). The cache must never fail a call: when
//! Redis cannot be reached or answers with an error, the tier logs **one** warning for
//! the outage and answers "miss"; when it is back, an info line says so and the next
//! outage warns again.

use super::entry::Entry;
use super::key::CacheKey;
use crate::backend::redis::Redis;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long the tier stays off after a failure before it tries Redis again.
pub(super) const RETRY_AFTER: Duration = Duration::from_secs(30);

/// The shared Redis tier.
#[derive(Clone)]
pub(super) struct RedisTier {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Redis,
    namespace: String,
    ttl: Option<Duration>,
    warned: AtomicBool,
}

impl std::fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTier")
            .field("url", &self.inner.redis.shown())
            .field("namespace", &self.inner.namespace)
            .field("ttl", &self.inner.ttl)
            .finish()
    }
}

impl RedisTier {
    /// A tier on the Redis at `url` (`redis://host:port/db`; a password in it is never
    /// shown), keys under `namespace`, entries valid for `ttl`, off for `retry_after`
    /// after a failure. Fails only when the URL is not a Redis URL; the server is
    /// reached on first use.
    pub(super) fn new(
        url: &str,
        namespace: &str,
        ttl: Option<Duration>,
        retry_after: Duration,
    ) -> Result<Self, String> {
        let redis = Redis::new(url, retry_after)?;
        Ok(Self {
            inner: Arc::new(Inner {
                redis,
                namespace: namespace.to_owned(),
                ttl,
                warned: AtomicBool::new(false),
            }),
        })
    }

    /// The Redis key of `key`: `<namespace>:cache:v1:<hash>`.
    pub(super) fn redis_key(&self, key: &CacheKey) -> String {
        format!("{}:cache:v1:{}", self.inner.namespace, key.hex())
    }

    /// The entry stored under `key`, if Redis is reachable and holds a valid one.
    pub(super) async fn get(&self, key: &CacheKey) -> Option<Entry> {
        let mut conn = self.connection().await?;
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.redis_key(key));
        let bytes: Option<Vec<u8>> = self.run(cmd.query_async(&mut conn)).await?;
        let entry = Entry::from_bytes(&bytes?)?;
        entry.is_valid_for(key, self.inner.ttl).then_some(entry)
    }

    /// Store `entry` under `key`, expiring when the entry does (if Redis is reachable).
    pub(super) async fn put(&self, key: &CacheKey, entry: &Entry) {
        let Some(left) = entry.remaining(self.inner.ttl) else { return };
        let Some(mut conn) = self.connection().await else { return };
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.redis_key(key)).arg(entry.to_bytes());
        if self.inner.ttl.is_some() {
            cmd.arg("PX").arg(left.as_millis().clamp(1, u128::from(u64::MAX)) as u64);
        }
        let _: Option<()> = self.run(cmd.query_async(&mut conn)).await;
    }

    /// A connection, or `None` while Redis is down.
    async fn connection(&self) -> Option<redis::aio::ConnectionManager> {
        match self.inner.redis.connection().await {
            Ok(conn) => {
                if self.inner.warned.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis cache {} is reachable again", self.inner.redis.shown());
                }
                Some(conn)
            }
            Err(error) => {
                self.warn(&error);
                None
            }
        }
    }

    /// Run one command; on failure, warn.
    async fn run<T>(&self, command: impl Future<Output = redis::RedisResult<T>>) -> Option<T> {
        self.inner.redis.run(command).await.map_err(|error| self.warn(&error)).ok()
    }

    /// One warning per outage; later failures at debug level.
    fn warn(&self, error: &str) {
        let shown = self.inner.redis.shown();
        if self.inner.warned.swap(true, Ordering::Relaxed) {
            tracing::debug!("Redis cache {shown}: {error}");
        } else {
            tracing::warn!(
                "Redis cache {shown} is unavailable ({error}); carrying on without it and \
                 trying again in {}s",
                self.inner.redis.retry_after().as_secs()
            );
        }
    }
}
