//! One Redis connection shared by every command of a user (the response cache's tier,
//! a thought store): a multiplexed, self-reconnecting `ConnectionManager`, made on
//! first use (so building it needs no runtime and no reachable server), with connect
//! and response timeouts.
//!
//! After a failure the connection is **down** for `retry_after`: commands fail at once
//! with the last error instead of each waiting for a timeout; then the next command
//! tries again. The URL is only ever shown with its password masked.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;
use tokio::time::Instant;

/// How long connecting, or one command, may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(1);

/// A lazily connected Redis.
pub(crate) struct Redis {
    client: redis::Client,
    /// The URL with any password masked: the only form ever shown.
    shown: String,
    retry_after: Duration,
    state: tokio::sync::Mutex<State>,
}

enum State {
    /// Not connected yet.
    Idle,
    /// Connected (the manager reconnects by itself after a dropped connection).
    Up(ConnectionManager),
    /// Failed with the error; not tried again before the instant.
    Down(Instant, String),
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("url", &self.shown)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl Redis {
    /// The Redis at `url` (`redis://host:port/db`). Fails only when the URL is not a
    /// Redis URL, with a reason that shows it masked.
    pub(crate) fn new(url: &str, retry_after: Duration) -> Result<Self, String> {
        let shown = mask_redis_url(url);
        let client = redis::Client::open(url)
            .map_err(|e| format!("invalid Redis URL `{shown}` ({:?})", e.kind()))?;
        Ok(Self { client, shown, retry_after, state: tokio::sync::Mutex::new(State::Idle) })
    }

    /// The URL with any password masked.
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// How long the connection stays down after a failure.
    pub(crate) fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// A connection, or why there is none.
    pub(crate) async fn connection(&self) -> Result<ConnectionManager, String> {
        let mut state = self.state.lock().await;
        match &*state {
            State::Up(conn) => return Ok(conn.clone()),
            State::Down(until, error) if Instant::now() < *until => return Err(error.clone()),
            State::Down(..) | State::Idle => {}
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        let connect = ConnectionManager::new_with_config(self.client.clone(), config);
        let error = match tokio::time::timeout(TIMEOUT * 2, connect).await {
            Ok(Ok(conn)) => {
                *state = State::Up(conn.clone());
                return Ok(conn);
            }
            Ok(Err(e)) => format!("cannot connect: {e}"),
            Err(_) => format!("cannot connect within {}s", (TIMEOUT * 2).as_secs()),
        };
        *state = State::Down(Instant::now() + self.retry_after, error.clone());
        Err(error)
    }

    /// Run one command (or pipeline) with a timeout; on failure the connection is
    /// down for `retry_after`.
    pub(crate) async fn run<T>(
        &self,
        command: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, String> {
        let error = match tokio::time::timeout(TIMEOUT, command).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("no answer within {}s", TIMEOUT.as_secs()),
        };
        *self.state.lock().await = State::Down(Instant::now() + self.retry_after, error.clone());
        Err(error)
    }
}

/// A Redis `url` with the password of its user part replaced by `[redacted]`: the
/// form to print or log.
pub fn mask_redis_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let user = &rest[..at];
            let user = user.split_once(':').map_or(user, |(name, _)| name);
            let sep = if rest[..at].contains(':') { ":[redacted]" } else { "" };
            format!("{scheme}://{user}{sep}@{}", &rest[at + 1..])
        }
        None => url.to_owned(),
    }
}
