//! The file and Redis tiers: answers outlive a cache instance (file), are shared
//! between instances (Redis, the real server on 127.0.0.1:6379), fill the faster
//! tiers on a hit, and a dead Redis never breaks a call.
//!
//! Every Redis test uses its own key namespace and deletes its keys when done.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use redraft::cache::{ResponseCache, Tier};
use redraft::middleware::cache::Cached;
use redraft::model::scripted::{ScriptedModel, reply};
use redraft::model::{LanguageModel, Message, ModelError, ModelErrorKind, Request, Sampling};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const REDIS: &str = "redis://127.0.0.1:6379";

fn unique(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("redraft-test-{name}-{}-{nanos}", std::process::id())
}

/// A fresh directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        TempDir(std::env::temp_dir().join(unique(name)))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A Redis namespace whose keys are deleted when dropped.
struct Namespace(String);

impl Namespace {
    fn new(name: &str) -> Namespace {
        Namespace(unique(name))
    }

    fn keys(&self) -> Vec<String> {
        let mut conn = redis_connection();
        redis::cmd("KEYS").arg(format!("{}:*", self.0)).query(&mut conn).unwrap()
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(REDIS) else { return };
        let Ok(mut conn) = client.get_connection() else { return };
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{}:*", self.0)).query(&mut conn).unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}

fn redis_connection() -> redis::Connection {
    redis::Client::open(REDIS)
        .and_then(|c| c.get_connection())
        .expect("these tests need Redis on 127.0.0.1:6379 (.ci/run starts one)")
}

fn request(text: &str) -> Request {
    Request {
        messages: vec![Message::system("You improve texts."), Message::user(text)],
        sampling: Sampling { temperature: Some(0.2), max_tokens: Some(100) },
        ..Request::default()
    }
}

/// A model that answers, counting its requests.
fn answering() -> Arc<ScriptedModel> {
    Arc::new(ScriptedModel::new(|_, n| Ok(reply(&format!("answer {n}")))))
}

/// A model that must not be asked: the answer has to come from the cache.
fn unreachable() -> Arc<ScriptedModel> {
    Arc::new(ScriptedModel::new(|_, _| {
        Err(ModelError::new(ModelErrorKind::Connection, "scripted", "must not be called"))
    }))
}

#[tokio::test]
async fn the_file_tier_survives_a_new_cache_instance() {
    let dir = TempDir::new("file");
    let first = Arc::new(ResponseCache::builder().dir(&dir.0).build().unwrap());
    let writer = Cached::new(answering(), first);
    let req = request("Keep me on disk.");
    let answer = writer.complete(&req).await.unwrap();
    assert!(!answer.cache_hit);
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1, "one file per answer");

    let second = Arc::new(ResponseCache::builder().dir(&dir.0).build().unwrap());
    let reader = Cached::new(unreachable(), second.clone());
    let key = reader.key(&req);
    assert_eq!(
        second.lookup(&key).await.map(|(c, t)| (c.text, t)),
        Some((answer.text.clone(), Tier::File))
    );
    let hit = reader.complete(&req).await.unwrap();
    assert!(hit.cache_hit);
    assert_eq!(hit.usage, answer.usage);
    // The file hit was copied into memory.
    assert_eq!(second.lookup(&key).await.map(|(_, t)| t), Some(Tier::Memory));
}

#[tokio::test]
async fn expired_file_entries_are_misses() {
    let dir = TempDir::new("file-ttl");
    let cache = |ttl| Arc::new(ResponseCache::builder().dir(&dir.0).ttl(ttl).build().unwrap());
    let writer = Cached::new(answering(), cache(None));
    let req = request("Short-lived.");
    writer.complete(&req).await.unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let reader = Cached::new(answering(), cache(Some(Duration::from_millis(10))));
    assert!(!reader.complete(&req).await.unwrap().cache_hit, "older than the TTL");
}

#[tokio::test]
async fn the_redis_tier_is_shared_between_cache_instances() {
    let ns = Namespace::new("shared");
    let build = || {
        Arc::new(
            ResponseCache::builder()
                .redis_url(REDIS)
                .redis_namespace(&ns.0)
                .ttl(Some(Duration::from_secs(600)))
                .build()
                .unwrap(),
        )
    };
    let first = Cached::new(answering(), build());
    let req = request("Share me.");
    let answer = first.complete(&req).await.unwrap();

    let keys = ns.keys();
    assert_eq!(keys, vec![format!("{}:cache:v1:{}", ns.0, first.key(&req).hex())]);
    let mut conn = redis_connection();
    let ttl_ms: i64 = redis::cmd("PTTL").arg(&keys[0]).query(&mut conn).unwrap();
    assert!(ttl_ms > 0 && ttl_ms <= 600_000, "stored with the TTL: {ttl_ms}");

    let second_cache = build();
    let second = Cached::new(unreachable(), second_cache.clone());
    let key = second.key(&req);
    assert_eq!(second_cache.lookup(&key).await.map(|(_, t)| t), Some(Tier::Redis));
    let hit = second.complete(&req).await.unwrap();
    assert!(hit.cache_hit);
    assert_eq!(hit.text, answer.text);
    assert_eq!(second_cache.lookup(&key).await.map(|(_, t)| t), Some(Tier::Memory));
}

#[tokio::test]
async fn a_file_hit_is_repaired_into_redis() {
    let ns = Namespace::new("repair");
    let dir = TempDir::new("repair");
    let writer =
        Cached::new(answering(), Arc::new(ResponseCache::builder().dir(&dir.0).build().unwrap()));
    let req = request("Disk first.");
    writer.complete(&req).await.unwrap();
    assert!(ns.keys().is_empty());

    let tiered = Arc::new(
        ResponseCache::builder()
            .dir(&dir.0)
            .redis_url(REDIS)
            .redis_namespace(&ns.0)
            .build()
            .unwrap(),
    );
    let reader = Cached::new(unreachable(), tiered.clone());
    assert!(reader.complete(&req).await.unwrap().cache_hit);
    assert_eq!(ns.keys().len(), 1, "the file hit was written to Redis");
    assert_eq!(tiered.stats().file_hits, 1);
}

#[tokio::test]
async fn a_dead_redis_does_not_break_calls() {
    // Nothing listens on port 1: every connection is refused at once.
    let cache = Arc::new(
        ResponseCache::builder().memory(false).redis_url("redis://127.0.0.1:1").build().unwrap(),
    );
    let scripted = answering();
    let model = Cached::new(scripted.clone(), cache.clone());
    let req = request("Carry on.");
    for _ in 0..3 {
        let c = model.complete(&req).await.unwrap();
        assert!(!c.cache_hit);
    }
    assert_eq!(scripted.requests().len(), 3, "every call reached the model");
    assert_eq!(cache.stats().misses, 3);

    // With memory on, the memory tier still answers.
    let with_memory = Cached::new(
        answering(),
        Arc::new(ResponseCache::builder().redis_url("redis://127.0.0.1:1").build().unwrap()),
    );
    with_memory.complete(&req).await.unwrap();
    assert!(with_memory.complete(&req).await.unwrap().cache_hit);
}

#[test]
fn a_bad_redis_url_is_a_config_error_without_the_password() {
    let err = ResponseCache::builder().redis_url("redis://:s3cret@[bad").build().unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("cache.redis_url"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");
    let debug = format!("{:?}", ResponseCache::builder().redis_url("redis://:s3cret@h"));
    assert!(!debug.contains("s3cret"), "{debug}");
}
