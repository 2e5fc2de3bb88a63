//! The tiered store: a [`MemoryStore`], a [`RedisStore`] and a [`FileStore`] together
//! (each optional), so a thought is fast to load, shared between machines and kept on
//! disk, and a Redis outage never loses a write.
//!
//! - **Read-through**: `load` asks memory, then Redis, then the file tier, and returns
//!   the first copy found.
//! - **Read-repair**: a copy found in a slower tier is saved into the faster ones (a
//!   thought only on disk is then in memory and in Redis).
//! - **Write-through**: `save` and `delete` go to every tier (file first, then Redis,
//!   then memory); an error of the file or memory tier fails the call.
//! - **Listing, search and prefixes** come from the most complete tier: the file tier
//!   when there is one (every write reaches it and it never expires), else Redis, else
//!   memory. With memory and Redis but no file tier, a listing during an outage is
//!   the Redis error rather than the memory tier's partial answer.
//!
//! # A Redis outage
//!
//! When Redis cannot be reached, the call carries on with the other tiers; **one**
//! warning is logged for the outage (later failures at debug level, counted by
//! [`Tiered::outages`]) and Redis is left alone for
//! [`retry_after`](TieredBuilder::retry_after). Each save or delete that Redis
//! missed is queued; the first operation after the pause (or [`Tiered::flush`])
//! replays the queue before doing its own work, and on success an info line says
//! Redis is reachable again. A queued id is replaced by its latest write, so the
//! replay is one command per id. With Redis as the only tier there is nothing to
//! carry on with, and its errors are returned.
//!
//! **How the queue survives a restart.** With a file tier, the file tier is the
//! source of truth: the queue is one small marker file per missed id in
//! `<file dir>/redis-pending/<id>.pending` (written atomically, fsynced like the
//! store's own files), and replaying an id makes Redis match the file tier: its
//! document is saved to Redis, or, when the file tier has none (a missed delete),
//! the id is deleted from Redis. A new process finds the markers on its first
//! operation and replays them, and several processes sharing the directory may all
//! replay (the replay is idempotent; a marker is removed only if it still holds the
//! token read before the replay, so a newer miss is not dropped). A marker is written
//! after the failed Redis command, so a process killed between the two loses the
//! replay of that one write (its file copy is kept). Without a file tier the queue
//! holds the missed thoughts in memory and dies with the process.

use super::{
    Cursor, FileStore, MemoryStore, Page, Query, RedisStore, StoreError, ThoughtStore, check_id,
};
use crate::backend::dir::Dir;
use crate::thought::Thought;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Where the markers of missed Redis writes are kept, under the file tier's directory.
const PENDING_DIR: &str = "redis-pending";
const PENDING_SUFFIX: &str = ".pending";

/// Memory → Redis → file, each optional. Build one with [`Tiered::builder`].
#[derive(Debug)]
pub struct Tiered {
    memory: Option<MemoryStore>,
    redis: Option<RedisStore>,
    file: Option<FileStore>,
    queue: Queue,
    retry_after: Duration,
    health: Mutex<Health>,
    /// One replay at a time.
    replaying: tokio::sync::Mutex<()>,
    outages: AtomicU64,
}

/// Builds a [`Tiered`] store. Every setter's doc states its default.
#[derive(Debug, Default)]
pub struct TieredBuilder {
    memory: Option<MemoryStore>,
    redis: Option<RedisStore>,
    file: Option<FileStore>,
    retry_after: Option<Duration>,
}

impl TieredBuilder {
    /// The memory tier. Default: none.
    pub fn memory(mut self, store: MemoryStore) -> Self {
        self.memory = Some(store);
        self
    }

    /// The Redis tier. Default: none.
    pub fn redis(mut self, store: RedisStore) -> Self {
        self.redis = Some(store);
        self
    }

    /// The file tier (also where missed Redis writes are remembered). Default: none.
    pub fn file(mut self, store: FileStore) -> Self {
        self.file = Some(store);
        self
    }

    /// How long Redis is left alone after a failure before the next operation tries it
    /// again (replaying what it missed). Default: 1 s.
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// The store. With no tier at all it is a default [`MemoryStore`]. Fails when the
    /// directory of missed Redis writes cannot be created.
    pub fn build(self) -> Result<Tiered, StoreError> {
        let mut memory = self.memory;
        if memory.is_none() && self.redis.is_none() && self.file.is_none() {
            memory = Some(MemoryStore::default());
        }
        let queue = match (&self.redis, &self.file) {
            (None, _) => Queue::None,
            (Some(_), Some(file)) => {
                let path = file.dir().join(PENDING_DIR);
                let dir = Dir::open(&path, file.syncs())
                    .map_err(|source| StoreError::Io { path, source })?;
                Queue::Dir(dir, file.clone())
            }
            (Some(_), None) => Queue::Memory(Mutex::new(Pending::default())),
        };
        // Markers left by an earlier process are looked for on the first operation.
        let pending = matches!(queue, Queue::Dir(..));
        Ok(Tiered {
            memory,
            redis: self.redis,
            file: self.file,
            queue,
            retry_after: self.retry_after.unwrap_or(Duration::from_secs(1)),
            health: Mutex::new(Health { down_until: None, warned: false, pending, last: None }),
            replaying: tokio::sync::Mutex::new(()),
            outages: AtomicU64::new(0),
        })
    }
}

#[derive(Debug)]
struct Health {
    /// Redis is not tried before this instant.
    down_until: Option<Instant>,
    /// The outage has been warned about (and not yet ended).
    warned: bool,
    /// The queue may hold missed writes.
    pending: bool,
    /// The last Redis error.
    last: Option<String>,
}

/// The missed Redis writes.
#[derive(Debug)]
enum Queue {
    /// There is no Redis tier.
    None,
    /// No file tier: the missed writes themselves, in this process only.
    Memory(Mutex<Pending>),
    /// Markers of the missed ids; the file tier holds what to replay.
    Dir(Dir, FileStore),
}

#[derive(Debug, Default)]
struct Pending {
    seq: u64,
    /// Id → (sequence number, the thought to save or `None`: delete it).
    missed: BTreeMap<String, (u64, Option<Thought>)>,
}

/// One missed write as read for a replay.
struct Missed {
    id: String,
    token: Token,
}

enum Token {
    /// Its sequence number and what to replay.
    Memory(u64, Option<Box<Thought>>),
    /// The marker's content.
    Marker(Vec<u8>),
}

fn blocking_error(dir: &Dir, e: &tokio::task::JoinError) -> StoreError {
    StoreError::Io { path: dir.path().to_owned(), source: std::io::Error::other(e.to_string()) }
}

async fn on_dir<T: Send + 'static>(
    dir: &Dir,
    f: impl FnOnce(&Dir) -> std::io::Result<T> + Send + 'static,
) -> Result<T, StoreError> {
    let d = dir.clone();
    tokio::task::spawn_blocking(move || f(&d))
        .await
        .map_err(|e| blocking_error(dir, &e))?
        .map_err(|source| StoreError::Io { path: dir.path().to_owned(), source })
}

/// A marker's content: unique to this write.
fn token() -> Vec<u8> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{}-{n}-{nanos}", std::process::id()).into_bytes()
}

impl Queue {
    /// Remember that Redis missed the write of `id` (`thought`: a save of it).
    async fn push(&self, id: &str, thought: Option<&Thought>) -> Result<(), StoreError> {
        match self {
            Queue::None => Ok(()),
            Queue::Memory(pending) => {
                let mut p = pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                p.seq += 1;
                let seq = p.seq;
                p.missed.insert(id.to_owned(), (seq, thought.cloned()));
                Ok(())
            }
            Queue::Dir(dir, _) => {
                let name = format!("{id}{PENDING_SUFFIX}");
                on_dir(dir, move |d| d.write(&name, &token())).await
            }
        }
    }

    /// Every missed write.
    async fn missed(&self) -> Result<Vec<Missed>, StoreError> {
        match self {
            Queue::None => Ok(Vec::new()),
            Queue::Memory(pending) => {
                let p = pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                Ok(p.missed
                    .iter()
                    .map(|(id, (seq, t))| Missed {
                        id: id.clone(),
                        token: Token::Memory(*seq, t.clone().map(Box::new)),
                    })
                    .collect())
            }
            Queue::Dir(dir, _) => {
                on_dir(dir, |d| {
                    let mut out = Vec::new();
                    for name in d.names(PENDING_SUFFIX)? {
                        let Some(id) = name.strip_suffix(PENDING_SUFFIX) else { continue };
                        if check_id(id).is_err() {
                            continue;
                        }
                        if let Some(bytes) = d.read(&name)? {
                            out.push(Missed { id: id.to_owned(), token: Token::Marker(bytes) });
                        }
                    }
                    Ok(out)
                })
                .await
            }
        }
    }

    /// Forget `missed`, replayed, unless a newer miss of the same id replaced it.
    async fn done(&self, missed: Missed) -> Result<(), StoreError> {
        match (self, missed.token) {
            (Queue::Memory(pending), Token::Memory(seq, _)) => {
                let mut p = pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if p.missed.get(&missed.id).is_some_and(|(s, _)| *s == seq) {
                    p.missed.remove(&missed.id);
                }
                Ok(())
            }
            (Queue::Dir(dir, _), Token::Marker(token)) => {
                let name = format!("{}{PENDING_SUFFIX}", missed.id);
                on_dir(dir, move |d| {
                    if d.read(&name)?.as_deref() == Some(&token[..]) {
                        d.remove(&name)?;
                    }
                    Ok(())
                })
                .await
            }
            _ => Ok(()),
        }
    }
}

impl Tiered {
    /// Start building a tiered store.
    pub fn builder() -> TieredBuilder {
        TieredBuilder::default()
    }

    /// How many Redis outages have begun (each warned about once).
    pub fn outages(&self) -> u64 {
        self.outages.load(Ordering::Relaxed)
    }

    /// How many writes Redis missed and has not been given yet (with a file tier:
    /// markers in its directory, including other processes').
    pub async fn pending(&self) -> Result<usize, StoreError> {
        Ok(self.queue.missed().await?.len())
    }

    /// Try Redis now, pause or not, and replay every write it missed (with a file
    /// tier, also those that other or earlier processes left); how many. Without a
    /// Redis tier: 0. A Redis error is returned (and counts as an outage).
    pub async fn flush(&self) -> Result<usize, StoreError> {
        let Some(redis) = &self.redis else { return Ok(0) };
        self.health().pending = true;
        match self.replay(redis).await {
            Ok(n) => {
                self.up();
                Ok(n)
            }
            Err(e) => {
                if matches!(e, StoreError::Redis { .. }) {
                    self.down(&e);
                }
                Err(e)
            }
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, Health> {
        self.health.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Redis failed with `error`: pause, and warn if this begins an outage.
    fn down(&self, error: &StoreError) {
        let mut h = self.health();
        h.down_until = Some(Instant::now() + self.retry_after);
        h.last = Some(error.to_string());
        if h.warned {
            tracing::debug!("tiered store: {error}");
        } else {
            h.warned = true;
            self.outages.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                "tiered store: {error}; carrying on with the other tiers, remembering what \
                 Redis misses and trying it again in {} ms",
                self.retry_after.as_millis()
            );
        }
    }

    /// Redis answered.
    fn up(&self) {
        let mut h = self.health();
        h.down_until = None;
        if std::mem::take(&mut h.warned) {
            tracing::info!("tiered store: Redis is reachable again");
        }
    }

    /// Make Redis catch up with every missed write; how many were replayed.
    async fn replay(&self, redis: &RedisStore) -> Result<usize, StoreError> {
        let _one = self.replaying.lock().await;
        self.health().pending = false;
        let result = self.replay_all(redis).await;
        if result.is_err() {
            self.health().pending = true;
        }
        if let Ok(n @ 1..) = result {
            tracing::info!("tiered store: replayed {n} write(s) that Redis missed");
        }
        result
    }

    async fn replay_all(&self, redis: &RedisStore) -> Result<usize, StoreError> {
        let missed = self.queue.missed().await?;
        let mut n = 0;
        for m in missed {
            let thought = match (&m.token, &self.queue) {
                (Token::Memory(_, thought), _) => thought.as_deref().cloned(),
                (Token::Marker(_), Queue::Dir(_, file)) => match file.load(&m.id).await {
                    Ok(thought) => thought,
                    Err(e @ StoreError::Corrupt { .. }) => {
                        tracing::warn!("tiered store: not replaying {} to Redis: {e}", m.id);
                        self.queue.done(m).await?;
                        continue;
                    }
                    Err(e) => return Err(e),
                },
                (Token::Marker(_), _) => continue,
            };
            match thought {
                Some(thought) => redis.save(&thought).await?,
                None => {
                    redis.delete(&m.id).await?;
                }
            }
            self.queue.done(m).await?;
            n += 1;
        }
        Ok(n)
    }

    /// Run `op` on Redis unless it is paused, replaying missed writes first. The outer
    /// error is one to return; the inner one is an outage (already warned about).
    async fn on_redis<T>(
        &self,
        redis: &RedisStore,
        op: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<Result<T, StoreError>, StoreError> {
        let pending = {
            let h = self.health();
            if let Some(until) = h.down_until
                && Instant::now() < until
            {
                let reason = h.last.clone().unwrap_or_else(|| "unavailable".to_owned());
                return Ok(Err(StoreError::Redis {
                    url: redis.shown().to_owned(),
                    reason: format!("paused after a failure ({reason})"),
                }));
            }
            h.pending
        };
        if pending {
            match self.replay(redis).await {
                Ok(_) => {}
                Err(e @ StoreError::Redis { .. }) => {
                    self.down(&e);
                    return Ok(Err(e));
                }
                Err(e) => tracing::warn!("tiered store: cannot replay what Redis missed: {e}"),
            }
        }
        match op.await {
            Ok(value) => {
                self.up();
                Ok(Ok(value))
            }
            Err(e @ StoreError::Redis { .. }) => {
                self.down(&e);
                Ok(Err(e))
            }
            Err(e) => Err(e),
        }
    }

    /// Redis missed a write of `id`: remember it, or return `error` when Redis is the
    /// only tier.
    async fn missed(
        &self,
        id: &str,
        thought: Option<&Thought>,
        error: StoreError,
    ) -> Result<(), StoreError> {
        if self.memory.is_none() && self.file.is_none() {
            return Err(error);
        }
        self.queue.push(id, thought).await?;
        self.health().pending = true;
        Ok(())
    }

    /// Save `thought` to Redis, or remember that it missed it.
    async fn save_redis(&self, thought: &Thought) -> Result<(), StoreError> {
        let Some(redis) = &self.redis else { return Ok(()) };
        match self.on_redis(redis, redis.save(thought)).await? {
            Ok(()) => Ok(()),
            Err(e) => self.missed(&thought.id, Some(thought), e).await,
        }
    }

    /// The tier that lists: file, else Redis, else memory.
    fn lister(&self) -> Lister<'_> {
        match (&self.file, &self.redis, &self.memory) {
            (Some(file), _, _) => Lister::Plain(file),
            (None, Some(redis), _) => Lister::Redis(redis),
            (None, None, Some(memory)) => Lister::Plain(memory),
            (None, None, None) => unreachable!("build gives a store at least one tier"),
        }
    }
}

enum Lister<'a> {
    Plain(&'a dyn ThoughtStore),
    Redis(&'a RedisStore),
}

#[async_trait]
impl ThoughtStore for Tiered {
    async fn save(&self, thought: &Thought) -> Result<(), StoreError> {
        check_id(&thought.id)?;
        if let Some(file) = &self.file {
            file.save(thought).await?;
        }
        self.save_redis(thought).await?;
        if let Some(memory) = &self.memory {
            memory.save(thought).await?;
        }
        Ok(())
    }

    async fn load(&self, id: &str) -> Result<Option<Thought>, StoreError> {
        check_id(id)?;
        if let Some(memory) = &self.memory
            && let Some(thought) = memory.load(id).await?
        {
            return Ok(Some(thought));
        }
        if let Some(redis) = &self.redis {
            match self.on_redis(redis, redis.load(id)).await {
                Ok(Ok(Some(thought))) => {
                    if let Some(memory) = &self.memory {
                        memory.save(&thought).await?;
                    }
                    return Ok(Some(thought));
                }
                Ok(Ok(None)) => {}
                Ok(Err(outage)) if self.memory.is_none() && self.file.is_none() => {
                    return Err(outage);
                }
                Ok(Err(_)) => {}
                // A bad Redis copy: the file tier's, if any, replaces it below.
                Err(e) if self.file.is_some() => {
                    tracing::warn!("tiered store: Redis copy of {id}: {e}");
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(file) = &self.file
            && let Some(thought) = file.load(id).await?
        {
            self.save_redis(&thought).await?;
            if let Some(memory) = &self.memory {
                memory.save(&thought).await?;
            }
            return Ok(Some(thought));
        }
        Ok(None)
    }

    async fn list(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, StoreError> {
        match self.lister() {
            Lister::Plain(store) => store.list(cursor, limit).await,
            Lister::Redis(redis) => self.on_redis(redis, redis.list(cursor, limit)).await?,
        }
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        check_id(id)?;
        let mut found = false;
        if let Some(file) = &self.file {
            found |= file.delete(id).await?;
        }
        if let Some(redis) = &self.redis {
            match self.on_redis(redis, redis.delete(id)).await? {
                Ok(there) => found |= there,
                Err(e) => self.missed(id, None, e).await?,
            }
        }
        if let Some(memory) = &self.memory {
            found |= memory.delete(id).await?;
        }
        Ok(found)
    }

    async fn search(&self, query: &Query) -> Result<Page, StoreError> {
        match self.lister() {
            Lister::Plain(store) => store.search(query).await,
            Lister::Redis(redis) => self.on_redis(redis, redis.search(query)).await?,
        }
    }

    async fn resolve_prefix(&self, prefix: &str) -> Result<String, StoreError> {
        match self.lister() {
            Lister::Plain(store) => store.resolve_prefix(prefix).await,
            Lister::Redis(redis) => self.on_redis(redis, redis.resolve_prefix(prefix)).await?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thought::Mode;

    #[tokio::test]
    async fn memory_and_file_tiers_write_through_and_repair() {
        let dir = std::env::temp_dir().join(format!("redraft-tiered-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = FileStore::open_with(&dir, false).unwrap();
        let store =
            Tiered::builder().memory(MemoryStore::new(10)).file(file.clone()).build().unwrap();
        let a = Thought::new(Mode::Improve, "a", Default::default());
        store.save(&a).await.unwrap();
        assert!(file.load(&a.id).await.unwrap().is_some(), "written through to the file");
        let b = Thought::new(Mode::Improve, "b", Default::default());
        file.save(&b).await.unwrap();
        assert_eq!(store.load(&b.id).await.unwrap().unwrap().input, "b");
        assert_eq!(store.memory.as_ref().unwrap().len(), 2, "b repaired into memory");
        assert_eq!(store.list(None, 10).await.unwrap().items.len(), 2);
        assert!(store.delete(&a.id).await.unwrap());
        assert!(store.load(&a.id).await.unwrap().is_none());
        assert_eq!(store.pending().await.unwrap(), 0, "no Redis tier, nothing queued");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
