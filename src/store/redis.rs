//! The Redis store, over the Redis connection shared with the response cache (made on
//! first use, connect and response timeouts). Under a configurable prefix `<p>`
//! (default `redraft`):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `<p>:thought:<id>` | string | the thought as JSON (`PX` the TTL, if one is set) |
//! | `<p>:thoughts:by-time` | sorted set | id scored by creation time: listing, newest first |
//! | `<p>:thoughts:ids` | sorted set | id, all scored 0: prefix lookups by `ZRANGEBYLEX` |
//! | `<p>:thoughts:summary` | hash | id → its [`Summary`] as JSON (and its expiry): search |
//!
//! A save or delete updates all four in one `MULTI`/`EXEC`, so another client sees the
//! thought in every index or in none. The thought's own id is its key: saving it again
//! overwrites. With a TTL, Redis expires the document; its index entries are dropped
//! the next time a listing or search comes across them. Unlike the cache, a store
//! reports a Redis failure as [`StoreError::Redis`].

use super::{
    Cursor, Page, Query, Skipped, StoreError, Summary, ThoughtStore, check_id, json_error,
};
use crate::backend::redis::Redis;
use crate::thought::Thought;
use async_trait::async_trait;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// A thought store in Redis. Build one with [`RedisStore::builder`].
#[derive(Debug)]
pub struct RedisStore {
    redis: Redis,
    prefix: String,
    ttl: Option<Duration>,
}

/// Builds a [`RedisStore`]. Every setter's doc states its default.
#[derive(Debug, Clone)]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    ttl: Option<Duration>,
    retry_after: Duration,
}

impl RedisStoreBuilder {
    /// The first part of every key (`<prefix>:thought:<id>`). Default: `redraft`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a saved thought is kept; `None`: forever. Default: forever.
    pub fn ttl(mut self, ttl: Option<Duration>) -> Self {
        self.ttl = ttl;
        self
    }

    /// How long after a failure commands fail at once instead of trying Redis again.
    /// Default: 1 s.
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self
    }

    /// Check the URL and build the store; Redis itself is reached on first use.
    pub fn build(self) -> Result<RedisStore, StoreError> {
        let redis = Redis::new(&self.url, self.retry_after).map_err(|reason| {
            StoreError::Redis { url: crate::cache::mask_redis_url(&self.url), reason }
        })?;
        Ok(RedisStore { redis, prefix: self.prefix, ttl: self.ttl })
    }
}

/// A summary as the hash holds it: with its expiry, when there is a TTL.
#[derive(Serialize, Deserialize)]
struct Indexed {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<u64>,
    summary: Summary,
}

impl RedisStore {
    /// Start building a store on the Redis at `url` (`redis://host:port/db`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: "redraft".to_owned(),
            ttl: None,
            retry_after: Duration::from_secs(1),
        }
    }

    /// The key of the document of `id`: `<prefix>:thought:<id>`.
    pub fn key_of(&self, id: &str) -> String {
        format!("{}:thought:{id}", self.prefix)
    }

    /// The URL, password masked.
    pub(crate) fn shown(&self) -> &str {
        self.redis.shown()
    }

    fn by_time(&self) -> String {
        format!("{}:thoughts:by-time", self.prefix)
    }

    fn ids(&self) -> String {
        format!("{}:thoughts:ids", self.prefix)
    }

    fn summaries(&self) -> String {
        format!("{}:thoughts:summary", self.prefix)
    }

    fn error(&self, reason: String) -> StoreError {
        StoreError::Redis { url: self.redis.shown().to_owned(), reason }
    }

    async fn conn(&self) -> Result<ConnectionManager, StoreError> {
        self.redis.connection().await.map_err(|e| self.error(e))
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        conn: &mut ConnectionManager,
        pipe: &redis::Pipeline,
    ) -> Result<T, StoreError> {
        self.redis.run(pipe.query_async(conn)).await.map_err(|e| self.error(e))
    }

    /// The summaries stored for `ids`, in their order, dropping (and removing from the
    /// indexes) any that expired; unreadable ones go to `skipped`.
    async fn summaries_of(
        &self,
        conn: &mut ConnectionManager,
        entries: Vec<(String, Option<Vec<u8>>)>,
        skipped: &mut Vec<Skipped>,
    ) -> Result<Vec<Summary>, StoreError> {
        let now = crate::thought::now_ms();
        let mut out = Vec::with_capacity(entries.len());
        let mut expired = Vec::new();
        for (id, bytes) in entries {
            let Some(bytes) = bytes else { continue };
            match serde_json::from_slice::<Indexed>(&bytes) {
                Ok(indexed) if indexed.expires_at_ms.is_some_and(|t| t <= now) => expired.push(id),
                Ok(indexed) => out.push(indexed.summary),
                Err(e) => {
                    tracing::warn!("Redis store: skipping unreadable summary of {id} ({e})");
                    skipped.push(Skipped { name: id, reason: e.to_string() });
                }
            }
        }
        if !expired.is_empty() {
            let mut pipe = redis::pipe();
            pipe.atomic()
                .zrem(self.by_time(), &expired)
                .ignore()
                .zrem(self.ids(), &expired)
                .ignore()
                .hdel(self.summaries(), &expired)
                .ignore();
            let () = self.run(conn, &pipe).await?;
        }
        Ok(out)
    }
}

#[async_trait]
impl ThoughtStore for RedisStore {
    async fn save(&self, thought: &Thought) -> Result<(), StoreError> {
        let id = check_id(&thought.id)?;
        let doc = serde_json::to_vec(thought).map_err(|e| json_error(id, &e))?;
        let indexed = Indexed {
            expires_at_ms: self
                .ttl
                .map(|ttl| crate::thought::now_ms().saturating_add(ttl.as_millis() as u64)),
            summary: Summary::of(thought),
        };
        let side = serde_json::to_vec(&indexed).map_err(|e| json_error(id, &e))?;
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        match self.ttl {
            Some(ttl) => pipe.pset_ex(self.key_of(id), doc, ttl.as_millis().max(1) as u64),
            None => pipe.set(self.key_of(id), doc),
        }
        .ignore()
        .zadd(self.by_time(), id, thought.created_at_ms)
        .ignore()
        .zadd(self.ids(), id, 0)
        .ignore()
        .hset(self.summaries(), id, side)
        .ignore();
        self.run(&mut conn, &pipe).await
    }

    async fn load(&self, id: &str) -> Result<Option<Thought>, StoreError> {
        let id = check_id(id)?;
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        pipe.get(self.key_of(id));
        let (bytes,): (Option<Vec<u8>>,) = self.run(&mut conn, &pipe).await?;
        bytes.map(|b| serde_json::from_slice(&b).map_err(|e| json_error(id, &e))).transpose()
    }

    async fn list(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, StoreError> {
        let mut conn = self.conn().await?;
        // Ids of the page: those tied with the cursor's time and after it, then older.
        let mut ids: Vec<String> = Vec::new();
        let upper = match cursor {
            Some(c) => {
                let (ms, after) = c.key();
                let mut pipe = redis::pipe();
                pipe.zrevrangebyscore(self.by_time(), ms, ms);
                let (tied,): (Vec<String>,) = self.run(&mut conn, &pipe).await?;
                ids.extend(tied.into_iter().filter(|id| id.as_str() < after).take(limit + 1));
                format!("({ms}")
            }
            None => "+inf".to_owned(),
        };
        if ids.len() <= limit {
            let mut pipe = redis::pipe();
            pipe.zrevrangebyscore_limit(
                self.by_time(),
                upper,
                "-inf",
                0,
                (limit + 1 - ids.len()) as isize,
            );
            let (older,): (Vec<String>,) = self.run(&mut conn, &pipe).await?;
            ids.extend(older);
        }
        let more = ids.len() > limit;
        ids.truncate(limit);
        let mut skipped = Vec::new();
        let items = if ids.is_empty() {
            Vec::new()
        } else {
            let mut pipe = redis::pipe();
            pipe.hmget(self.summaries(), &ids);
            let (bytes,): (Vec<Option<Vec<u8>>>,) = self.run(&mut conn, &pipe).await?;
            let entries = ids.into_iter().zip(bytes).collect();
            self.summaries_of(&mut conn, entries, &mut skipped).await?
        };
        let next = if more { items.last().map(Cursor::after) } else { None };
        Ok(Page { items, next, skipped })
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let id = check_id(id)?;
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(self.key_of(id))
            .zrem(self.by_time(), id)
            .ignore()
            .zrem(self.ids(), id)
            .ignore()
            .hdel(self.summaries(), id);
        let (docs, summaries): (u64, u64) = self.run(&mut conn, &pipe).await?;
        Ok(docs + summaries > 0)
    }

    async fn search(&self, query: &Query) -> Result<Page, StoreError> {
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        pipe.hgetall(self.summaries());
        let (all,): (Vec<(String, Vec<u8>)>,) = self.run(&mut conn, &pipe).await?;
        let entries = all.into_iter().map(|(id, bytes)| (id, Some(bytes))).collect();
        let mut skipped = Vec::new();
        let summaries = self.summaries_of(&mut conn, entries, &mut skipped).await?;
        let mut page = Page::of(summaries, Some(query), query.cursor.as_ref(), query.page_size());
        page.skipped = skipped;
        Ok(page)
    }

    async fn resolve_prefix(&self, prefix: &str) -> Result<String, StoreError> {
        if check_id(prefix).is_err() {
            return Err(StoreError::NotFound(prefix.to_owned()));
        }
        let mut conn = self.conn().await?;
        let mut pipe = redis::pipe();
        // Ids are ASCII, so every id starting with `prefix` sorts below `prefix` + 0x7f.
        pipe.zrangebylex_limit(self.ids(), format!("[{prefix}"), format!("({prefix}\x7f"), 0, 6);
        let (ids,): (Vec<String>,) = self.run(&mut conn, &pipe).await?;
        super::pick_prefix(prefix, ids)
    }
}
