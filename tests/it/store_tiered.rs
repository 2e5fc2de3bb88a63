//! The tiered thought store against real things: a temporary directory and a
//! **private** `redis-server` that each test starts on a free port of its own (and
//! kills, and restarts on the same port), so stopping it never touches the shared Redis
//! on 6379. Covered: write-through, read-repair, listing and search, a Redis outage in
//! the middle of a sequence of saves (one warning, nothing lost, the missed thoughts in
//! Redis once it is back), a delete during an outage replayed, and the queue of missed
//! writes surviving a new process (a new store on the same directory).

use redraft::store::{FileStore, MemoryStore, Query, RedisStore, ThoughtStore, Tiered};
use redraft::thought::{Mode, Thought};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REDIS_SERVER: &str = "/usr/bin/redis-server";
/// The pause after a Redis failure, for both the Redis store and the tiered store.
const PAUSE: Duration = Duration::from_millis(50);

/// A `redis-server` of this test's own, without persistence.
struct PrivateRedis {
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis = Self { port, child: None };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Start the server (again) on its port and wait until it answers PING.
    fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(REDIS_SERVER)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..400 {
            if let Ok(mut conn) = client.get_connection()
                && redis::cmd("PING").query::<String>(&mut conn).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("redis-server on port {} did not come up", self.port);
    }

    fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// A plain Redis store on this server, to look at what the tiered one wrote.
    fn plain(&self) -> RedisStore {
        RedisStore::builder(self.url()).prefix("t").build().unwrap()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("redraft-store-tiered-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn thought(n: usize) -> Thought {
    let mut t = Thought::new(Mode::Improve, format!("tiered draft {n}"), Default::default());
    t.created_at_ms = 1_700_000_000_000 + n as u64;
    t.final_text = Some(format!("final text {n}"));
    t
}

/// Memory → Redis (on `redis`) → file (in `dir`), pauses of [`PAUSE`].
fn tiered(redis: &PrivateRedis, dir: &PathBuf) -> Tiered {
    let redis_store = RedisStore::builder(redis.url()).prefix("t").retry_after(PAUSE).build();
    Tiered::builder()
        .memory(MemoryStore::new(100))
        .redis(redis_store.unwrap())
        .file(FileStore::open_with(dir, false).unwrap())
        .retry_after(PAUSE)
        .build()
        .unwrap()
}

/// Log lines, captured.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    fn lines(&self, level: &str, containing: &str) -> usize {
        self.text().lines().filter(|l| l.contains(level) && l.contains(containing)).count()
    }
}

/// Wait out the pause, then run `op` until the store has nothing left to replay.
async fn until_caught_up<F: AsyncFnMut()>(store: &Tiered, mut op: F) {
    for _ in 0..200 {
        tokio::time::sleep(PAUSE).await;
        op().await;
        if store.pending().await.unwrap() == 0 {
            return;
        }
    }
    panic!("Redis never caught up: {} pending", store.pending().await.unwrap());
}

#[tokio::test]
async fn saves_go_through_every_tier_and_listing_reads_the_file_tier() {
    let redis = PrivateRedis::start();
    let dir = temp_dir("write-through");
    let store = tiered(&redis, &dir);
    let t = thought(1);
    store.save(&t).await.unwrap();
    let file = FileStore::open_with(&dir, false).unwrap();
    assert_eq!(file.load(&t.id).await.unwrap().as_ref(), Some(&t), "in the file tier");
    assert_eq!(redis.plain().load(&t.id).await.unwrap().as_ref(), Some(&t), "in Redis");
    // Gone from file and Redis, still loaded: from the memory tier.
    file.delete(&t.id).await.unwrap();
    redis.plain().delete(&t.id).await.unwrap();
    assert_eq!(store.load(&t.id).await.unwrap().as_ref(), Some(&t), "in memory");
    // Listing and search come from the file tier, not memory.
    assert!(store.list(None, 10).await.unwrap().items.is_empty());
    let u = thought(2);
    store.save(&u).await.unwrap();
    let page = store.search(&Query::text("draft 2")).await.unwrap();
    assert_eq!(page.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [u.id.as_str()]);
    assert_eq!(store.resolve_prefix(&u.id[..u.id.len() - 2]).await.unwrap(), u.id);
    assert!(store.delete(&u.id).await.unwrap());
    assert!(redis.plain().load(&u.id).await.unwrap().is_none(), "deleted through");
    assert!(store.load(&u.id).await.unwrap().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_thought_only_on_disk_is_repaired_into_memory_and_redis_by_a_load() {
    let redis = PrivateRedis::start();
    let dir = temp_dir("repair");
    let store = tiered(&redis, &dir);
    let t = thought(3);
    let file = FileStore::open_with(&dir, false).unwrap();
    file.save(&t).await.unwrap();
    assert!(redis.plain().load(&t.id).await.unwrap().is_none());
    assert_eq!(store.load(&t.id).await.unwrap().as_ref(), Some(&t));
    assert_eq!(redis.plain().load(&t.id).await.unwrap().as_ref(), Some(&t), "repaired");
    file.delete(&t.id).await.unwrap();
    redis.plain().delete(&t.id).await.unwrap();
    assert_eq!(store.load(&t.id).await.unwrap().as_ref(), Some(&t), "repaired into memory");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn redis_stopped_mid_sequence_warns_once_and_catches_up_when_back() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(captured.clone())
        .finish();
    let _log = tracing::subscriber::set_default(subscriber);
    // While exactly one dispatcher exists, tracing-core caches a callsite's interest
    // from the thread that reaches it first (tokio-rs/tracing#3611): a sibling test
    // without a subscriber would make it "never" and blind this one. A second live
    // dispatcher keeps it on the path that asks every dispatcher.
    let _second = tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default());

    let mut redis = PrivateRedis::start();
    let dir = temp_dir("outage");
    let store = tiered(&redis, &dir);
    let thoughts: Vec<Thought> = (0..9).map(thought).collect();
    for t in &thoughts[..3] {
        store.save(t).await.unwrap();
    }
    assert_eq!(redis.plain().load(&thoughts[2].id).await.unwrap().as_ref(), Some(&thoughts[2]));
    assert_eq!(store.outages(), 0);

    redis.stop();
    for t in &thoughts[3..8] {
        store.save(t).await.expect("a save during the outage succeeds");
        // Past the pause, so every save tries Redis again and fails again.
        tokio::time::sleep(PAUSE).await;
    }
    assert_eq!(captured.lines("WARN", "tiered store"), 1, "one warning: {}", captured.text());
    assert_eq!(store.outages(), 1);
    assert_eq!(store.pending().await.unwrap(), 5, "five saves missed");
    for t in &thoughts[3..8] {
        assert_eq!(store.load(&t.id).await.unwrap().as_ref(), Some(t));
    }

    redis.restart();
    let last = &thoughts[8];
    until_caught_up(&store, async || store.save(last).await.unwrap()).await;
    let plain = redis.plain();
    for t in &thoughts[3..9] {
        assert_eq!(plain.load(&t.id).await.unwrap().as_ref(), Some(t), "{} in Redis", t.input);
    }
    assert_eq!(plain.list(None, 20).await.unwrap().items.len(), 6, "and in its index");
    assert_eq!(captured.lines("WARN", "tiered store"), 1, "still one warning");
    assert_eq!(captured.lines("INFO", "reachable again"), 1, "{}", captured.text());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_delete_during_an_outage_is_replayed() {
    let mut redis = PrivateRedis::start();
    let dir = temp_dir("delete");
    let store = tiered(&redis, &dir);
    let t = thought(4);
    store.save(&t).await.unwrap();
    redis.stop();
    assert!(store.delete(&t.id).await.unwrap(), "deleted from file and memory");
    assert!(store.load(&t.id).await.unwrap().is_none());
    assert_eq!(store.pending().await.unwrap(), 1);
    redis.restart();
    // The server kept no data; put the thought back, as a persistent Redis would have.
    redis.plain().save(&t).await.unwrap();
    // The Redis store's own pause may still be on: try until it is over.
    let mut replayed = None;
    for _ in 0..100 {
        tokio::time::sleep(PAUSE).await;
        if let Ok(n) = store.flush().await {
            replayed = Some(n);
            break;
        }
    }
    assert_eq!(replayed, Some(1), "the delete replayed");
    assert!(redis.plain().load(&t.id).await.unwrap().is_none(), "gone from Redis");
    assert_eq!(store.pending().await.unwrap(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn missed_writes_survive_a_new_process_on_the_same_directory() {
    let mut redis = PrivateRedis::start();
    let dir = temp_dir("restart");
    let gone = thought(5);
    let kept = thought(6);
    {
        let store = tiered(&redis, &dir);
        store.save(&gone).await.unwrap();
        redis.stop();
        store.save(&kept).await.unwrap();
        store.delete(&gone.id).await.unwrap();
        assert_eq!(store.pending().await.unwrap(), 2);
    } // the process ends with Redis down
    redis.restart();
    redis.plain().save(&gone).await.unwrap();
    let store = tiered(&redis, &dir);
    assert_eq!(store.pending().await.unwrap(), 2, "the queue is on disk");
    // Any operation replays it first.
    assert!(store.load("nothing-here").await.unwrap().is_none());
    assert_eq!(store.pending().await.unwrap(), 0);
    assert_eq!(redis.plain().load(&kept.id).await.unwrap().as_ref(), Some(&kept));
    assert!(redis.plain().load(&gone.id).await.unwrap().is_none());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn with_redis_the_only_tier_an_outage_is_an_error() {
    let mut redis = PrivateRedis::start();
    let store = Tiered::builder()
        .redis(RedisStore::builder(redis.url()).prefix("t").retry_after(PAUSE).build().unwrap())
        .retry_after(PAUSE)
        .build()
        .unwrap();
    let t = thought(7);
    store.save(&t).await.unwrap();
    redis.stop();
    assert!(store.save(&thought(8)).await.is_err(), "nowhere else to keep it");
    assert!(store.list(None, 10).await.is_err());
    redis.restart();
    tokio::time::sleep(PAUSE * 3).await;
    let mut saved = false;
    for _ in 0..100 {
        if store.save(&t).await.is_ok() {
            saved = true;
            break;
        }
        tokio::time::sleep(PAUSE).await;
    }
    assert!(saved, "Redis back");
    assert_eq!(store.load(&t.id).await.unwrap().as_ref(), Some(&t));
}
