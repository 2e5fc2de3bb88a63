//! The thought stores against real things: memory, a temporary directory, and the
//! shared Redis on 127.0.0.1:6379 under a key prefix of each test's own (removed at the
//! end). Every backend runs the same checks: a round trip of a real `Thought`, list
//! order and paging, search by each field, prefix resolution, overwrite, delete; then
//! the file store's corrupt files and concurrent saves from many tasks.

use redraft::store::{Cursor, FileStore, MemoryStore, Query, RedisStore, StoreError, ThoughtStore};
use redraft::thought::settings::{
    CriticSettings, ProviderSettings, RunSettings, ValidatorSettings,
};
use redraft::thought::{Iteration, Mode, Phase, StopReason, Thought};
use std::path::PathBuf;
use std::sync::Arc;

const REDIS: &str = "redis://127.0.0.1:6379";

/// A finished three-iteration thought created at `created_at_ms`.
fn thought(n: usize, created_at_ms: u64) -> Thought {
    let critic = if n.is_multiple_of(2) { "reflexion" } else { "self_refine" };
    let settings = RunSettings {
        provider: ProviderSettings {
            kind: "openai".into(),
            model: if n.is_multiple_of(3) { "gpt-4o-mini".into() } else { "llama3".into() },
            ..ProviderSettings::default()
        },
        critics: vec![CriticSettings { name: critic.into(), version: 1, ..Default::default() }],
        validators: vec![ValidatorSettings {
            name: if n.is_multiple_of(4) { "length".into() } else { "regex".into() },
            hard: true,
            ..Default::default()
        }],
        ..RunSettings::default()
    };
    let mode = if n.is_multiple_of(5) { Mode::Generate } else { Mode::Improve };
    let mut t = Thought::new(mode, format!("Draft number {n} about lamps"), settings);
    t.created_at_ms = created_at_ms;
    t.iterations = (0..3).map(|i| Iteration::new(i, format!("text {n}, version {i}"))).collect();
    t.phase = Phase::Done;
    t.stop_reason =
        Some(if n.is_multiple_of(2) { StopReason::Accepted } else { StopReason::MaxIterations });
    t.best_iteration = Some(2);
    t.final_text = Some(format!("The final LAMP text {n}"));
    t
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("redraft-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A Redis key prefix for one test; its keys are removed when dropped.
struct Prefix(String);

impl Prefix {
    fn new(test: &str) -> Self {
        Self(format!("redraft-test-store-{test}-{}", std::process::id()))
    }
}

impl Drop for Prefix {
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

fn redis_store(prefix: &Prefix) -> RedisStore {
    RedisStore::builder(REDIS).prefix(&prefix.0).build().unwrap()
}

/// Every check a store must pass.
async fn exercise(store: &dyn ThoughtStore) {
    let base = 1_700_000_000_000;
    // Two share a creation time, so ties are ordered by id.
    let thoughts: Vec<Thought> =
        (0..7).map(|n| thought(n, base + (n as u64).min(5) * 1000)).collect();
    for t in &thoughts {
        store.save(t).await.unwrap();
    }

    // Round trip.
    let back = store.load(&thoughts[3].id).await.unwrap().expect("saved");
    assert_eq!(back, thoughts[3]);
    assert_eq!(back.iterations.len(), 3);
    assert!(store.load("nope-0").await.unwrap().is_none());

    // List: newest first (ties by id, descending), paged by cursor, nothing twice.
    let mut expected: Vec<&Thought> = thoughts.iter().collect();
    expected.sort_by(|a, b| (b.created_at_ms, &b.id).cmp(&(a.created_at_ms, &a.id)));
    let expected: Vec<&str> = expected.iter().map(|t| t.id.as_str()).collect();
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = store.list(cursor.as_ref(), 3).await.unwrap();
        assert!(page.items.len() <= 3);
        assert!(page.skipped.is_empty(), "{:?}", page.skipped);
        seen.extend(page.items.iter().map(|s| s.id.clone()));
        // The cursor survives a trip through text.
        cursor = page.next.map(|c| c.to_string().parse().unwrap());
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, expected);
    let first = store.list(None, 1).await.unwrap();
    assert_eq!(first.items[0].id, expected[0]);
    assert_eq!(first.items[0].iterations, 3);
    assert_eq!(first.items[0].final_text.as_deref(), Some("The final LAMP text 6"));

    // Search by each field.
    let ids = |page: redraft::store::Page| {
        let mut v: Vec<String> = page.items.into_iter().map(|s| s.id).collect();
        v.sort();
        v
    };
    let want = |pred: &dyn Fn(usize) -> bool| {
        let mut v: Vec<String> =
            (0..7).filter(|&n| pred(n)).map(|n| thoughts[n].id.clone()).collect();
        v.sort();
        v
    };
    let search = |q: Query| async move { store.search(&q).await.unwrap() };
    assert_eq!(ids(search(Query::text("number 4 about")).await), want(&|n| n == 4));
    assert_eq!(ids(search(Query::text("final lamp text 5")).await), want(&|n| n == 5));
    let q = Query { critic: Some("reflexion".into()), ..Query::default() };
    assert_eq!(ids(search(q).await), want(&|n| n % 2 == 0));
    let q = Query { validator: Some("length".into()), ..Query::default() };
    assert_eq!(ids(search(q).await), want(&|n| n % 4 == 0));
    let q = Query { stop_reason: Some(StopReason::MaxIterations), ..Query::default() };
    assert_eq!(ids(search(q).await), want(&|n| n % 2 == 1));
    let q = Query { mode: Some(Mode::Generate), ..Query::default() };
    assert_eq!(ids(search(q).await), want(&|n| n % 5 == 0));
    let q = Query { model: Some("gpt-4o-mini".into()), ..Query::default() };
    assert_eq!(ids(search(q).await), want(&|n| n % 3 == 0));
    let q = Query { since_ms: Some(base + 2000), until_ms: Some(base + 4000), ..Query::default() };
    assert_eq!(ids(search(q).await), want(&|n| n == 2 || n == 3));
    let q = Query { critic: Some("reflexion".into()), limit: 2, ..Query::default() };
    let page = search(q.clone()).await;
    assert_eq!(page.items.len(), 2);
    let rest = search(Query { cursor: page.next.clone(), ..q }).await;
    assert_eq!(rest.items.len(), 2, "4 even-numbered thoughts in pages of 2");
    assert!(rest.items.iter().all(|s| !page.items.contains(s)));

    // Prefix resolution, like git.
    let id = &thoughts[0].id;
    assert_eq!(store.resolve_prefix(id).await.unwrap(), *id);
    assert!(matches!(store.resolve_prefix("zzzz").await, Err(StoreError::NotFound(_))));
    // All ids made in one millisecond share their first characters.
    let common = thoughts[0].id[..4].to_owned();
    assert!(matches!(
        store.resolve_prefix(&common).await,
        Err(StoreError::Ambiguous { candidates, .. }) if candidates.len() >= 2
    ));
    let unique = {
        let mut len = 1;
        while thoughts.iter().filter(|t| t.id.starts_with(&id[..len])).count() > 1 {
            len += 1;
        }
        id[..len].to_owned()
    };
    assert_eq!(store.resolve_prefix(&unique).await.unwrap(), *id);

    // Saving again overwrites, under the same id.
    let mut changed = thoughts[1].clone();
    changed.final_text = Some("rewritten".into());
    changed.stop_reason = Some(StopReason::Plateau);
    store.save(&changed).await.unwrap();
    assert_eq!(store.load(&changed.id).await.unwrap().unwrap(), changed);
    assert_eq!(store.list(None, 100).await.unwrap().items.len(), 7);
    let q = Query { stop_reason: Some(StopReason::Plateau), ..Query::default() };
    assert_eq!(ids(search(q).await), vec![changed.id.clone()]);

    // Delete.
    assert!(store.delete(&thoughts[2].id).await.unwrap());
    assert!(!store.delete(&thoughts[2].id).await.unwrap());
    assert!(store.load(&thoughts[2].id).await.unwrap().is_none());
    let listed = store.list(None, 100).await.unwrap();
    assert_eq!(listed.items.len(), 6);
    assert!(listed.items.iter().all(|s| s.id != thoughts[2].id));
    assert!(matches!(store.resolve_prefix(&thoughts[2].id).await, Err(StoreError::NotFound(_))));

    // Ids that could escape a directory or a key space are refused.
    assert!(matches!(store.load("../etc").await, Err(StoreError::InvalidId(_))));
}

/// `n` saves from as many tasks at once; afterwards every thought loads whole.
async fn concurrent_saves(store: Arc<dyn ThoughtStore>, n: usize) {
    let thoughts: Vec<Thought> = (0..n).map(|i| thought(i, 1_700_000_000_000 + i as u64)).collect();
    let tasks: Vec<_> = thoughts
        .iter()
        .cloned()
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move { store.save(&t).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for t in &thoughts {
        assert_eq!(store.load(&t.id).await.unwrap().as_ref(), Some(t));
    }
    let page = store.list(None, n + 1).await.unwrap();
    assert_eq!(page.items.len(), n);
    assert!(page.next.is_none());
}

#[tokio::test]
async fn memory_store() {
    exercise(&MemoryStore::new(100)).await;
    concurrent_saves(Arc::new(MemoryStore::new(1000)), 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn file_store() {
    let dir = temp_dir("exercise");
    exercise(&FileStore::open(&dir).unwrap()).await;
    let _ = std::fs::remove_dir_all(&dir);
    let dir = temp_dir("no-sync");
    exercise(&FileStore::open_with(&dir, false).unwrap()).await;
    let _ = std::fs::remove_dir_all(&dir);
    let dir = temp_dir("concurrent");
    concurrent_saves(Arc::new(FileStore::open_with(&dir, false).unwrap()), 200).await;
    // A second store on the same directory (another process, say) sees them all.
    assert_eq!(FileStore::open(&dir).unwrap().list(None, 500).await.unwrap().items.len(), 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_store_against_the_shared_redis() {
    let prefix = Prefix::new("exercise");
    let store = redis_store(&prefix);
    exercise(&store).await;
    let key = store.key_of("abc");
    assert_eq!(key, format!("{}:thought:abc", prefix.0));
    let concurrent = Prefix::new("concurrent");
    concurrent_saves(Arc::new(redis_store(&concurrent)), 200).await;
}

#[tokio::test]
async fn redis_documents_carry_the_ttl_and_an_unreachable_redis_is_an_error() {
    let prefix = Prefix::new("ttl");
    let store = RedisStore::builder(REDIS)
        .prefix(&prefix.0)
        .ttl(Some(std::time::Duration::from_secs(600)))
        .build()
        .unwrap();
    let t = thought(1, 1_700_000_000_000);
    store.save(&t).await.unwrap();
    let mut conn = redis::Client::open(REDIS).unwrap().get_connection().unwrap();
    let ttl: i64 = redis::cmd("PTTL").arg(store.key_of(&t.id)).query(&mut conn).unwrap();
    assert!(ttl > 500_000 && ttl <= 600_000, "{ttl}");

    // Nothing listens on port 1.
    let down = RedisStore::builder("redis://127.0.0.1:1").build().unwrap();
    assert!(matches!(down.save(&t).await, Err(StoreError::Redis { .. })));
}

#[tokio::test]
async fn a_corrupt_file_is_reported_and_skipped_never_a_failed_listing() {
    let dir = temp_dir("corrupt");
    let store = FileStore::open(&dir).unwrap();
    let good = thought(1, 1_700_000_000_000);
    let bad = thought(2, 1_700_000_001_000);
    store.save(&good).await.unwrap();
    store.save(&bad).await.unwrap();
    // A truncated document: loading it says so, the listing still shows both summaries.
    let doc = std::fs::read(store.path_of(&bad.id)).unwrap();
    std::fs::write(store.path_of(&bad.id), &doc[..doc.len() / 2]).unwrap();
    assert!(
        matches!(store.load(&bad.id).await, Err(StoreError::Corrupt { id, .. }) if id == bad.id)
    );
    assert_eq!(store.load(&good.id).await.unwrap().unwrap(), good);
    // A truncated summary: skipped and named, the rest listed and searched.
    std::fs::write(store.summary_path_of(&bad.id, bad.created_at_ms), b"{\"id\":").unwrap();
    let page = store.list(None, 10).await.unwrap();
    assert_eq!(
        page.items.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        vec![good.id.as_str()]
    );
    assert_eq!(page.skipped.len(), 1);
    assert!(page.skipped[0].name.contains(&bad.id), "{:?}", page.skipped);
    let found = store.search(&Query::default()).await.unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.skipped.len(), 1);
    // Stray files in the directory are not thoughts.
    std::fs::write(dir.join("index").join("notes.txt"), b"hello").unwrap();
    assert_eq!(store.list(None, 10).await.unwrap().items.len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
