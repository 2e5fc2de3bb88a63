//! The Redis tier: answers shared by every process and machine that uses the same
//! Redis, under namespaced keys `<namespace>:cache:v1:<hash>`, each stored with
//! `SET … PX <ttl>` so Redis itself expires them.
//!
//! The connection (a multiplexed, self-reconnecting `ConnectionManager`) is made on
//! first use, so building the tier needs no runtime and no reachable server. The cache
//! must never fail a call: when Redis cannot be reached or answers with an error, the
//! tier logs **one** warning for the outage, answers "miss", and does not try again
//! for [`RETRY_AFTER`] (so a dead server costs one short timeout, not one per call);
//! when it is back, an info line says so and the next outage warns again.

use super::entry::Entry;
use super::key::CacheKey;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How long the tier stays off after a failure before it tries Redis again.
pub(super) const RETRY_AFTER: Duration = Duration::from_secs(30);
/// How long connecting, or one command, may take.
const TIMEOUT: Duration = Duration::from_secs(1);

/// The shared Redis tier.
#[derive(Clone)]
pub(super) struct RedisTier {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    /// The URL with any password masked: the only form ever logged.
    shown: String,
    namespace: String,
    ttl: Option<Duration>,
    retry_after: Duration,
    state: tokio::sync::Mutex<State>,
    warned: AtomicBool,
}

enum State {
    /// Not connected yet.
    Idle,
    /// Connected (the manager reconnects by itself after a dropped connection).
    Up(ConnectionManager),
    /// Failed; not tried again before the instant.
    Down(Instant),
}

impl std::fmt::Debug for RedisTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTier")
            .field("url", &self.inner.shown)
            .field("namespace", &self.inner.namespace)
            .field("ttl", &self.inner.ttl)
            .finish()
    }
}

impl RedisTier {
    /// A tier on the Redis at `url` (`redis://host:port/db`; a password in it is never
    /// shown), keys under `namespace`, entries valid for `ttl`. Fails only when the URL
    /// is not a Redis URL; the server is reached on first use.
    pub(super) fn new(url: &str, namespace: &str, ttl: Option<Duration>) -> Result<Self, String> {
        let shown = super::mask_redis_url(url);
        let client = redis::Client::open(url)
            .map_err(|e| format!("invalid Redis URL `{shown}` ({:?})", e.kind()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                shown,
                namespace: namespace.to_owned(),
                ttl,
                retry_after: RETRY_AFTER,
                state: tokio::sync::Mutex::new(State::Idle),
                warned: AtomicBool::new(false),
            }),
        })
    }

    /// The same tier, waiting `retry_after` after a failure before trying Redis again.
    /// Default: [`RETRY_AFTER`]. Call before sharing the tier.
    pub(super) fn retry_after(mut self, retry_after: Duration) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.retry_after = retry_after;
        }
        self
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
    async fn connection(&self) -> Option<ConnectionManager> {
        let mut state = self.inner.state.lock().await;
        match &*state {
            State::Up(conn) => return Some(conn.clone()),
            State::Down(until) if Instant::now() < *until => return None,
            State::Down(_) | State::Idle => {}
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let connect = ConnectionManager::new_with_config(self.inner.client.clone(), config);
        match tokio::time::timeout(TIMEOUT * 2, connect).await {
            Ok(Ok(conn)) => {
                if self.inner.warned.swap(false, Ordering::Relaxed) {
                    tracing::info!("Redis cache {} is reachable again", self.inner.shown);
                }
                *state = State::Up(conn.clone());
                Some(conn)
            }
            Ok(Err(e)) => {
                *state = State::Down(Instant::now() + self.inner.retry_after);
                self.warn(&format!("cannot connect: {e}"));
                None
            }
            Err(_) => {
                *state = State::Down(Instant::now() + self.inner.retry_after);
                self.warn(&format!("cannot connect within {}s", (TIMEOUT * 2).as_secs()));
                None
            }
        }
    }

    /// Run one command with a timeout; on failure, mark Redis down and warn.
    async fn run<T>(&self, command: impl Future<Output = redis::RedisResult<T>>) -> Option<T> {
        let error = match tokio::time::timeout(TIMEOUT, command).await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {}s", TIMEOUT.as_secs()),
        };
        *self.inner.state.lock().await = State::Down(Instant::now() + self.inner.retry_after);
        self.warn(&error);
        None
    }

    /// One warning per outage; later failures at debug level.
    fn warn(&self, error: &str) {
        let shown = &self.inner.shown;
        if self.inner.warned.swap(true, Ordering::Relaxed) {
            tracing::debug!("Redis cache {shown}: {error}");
        } else {
            tracing::warn!(
                "Redis cache {shown} is unavailable ({error}); carrying on without it and \
                 trying again in {}s",
                self.inner.retry_after.as_secs()
            );
        }
    }
}
