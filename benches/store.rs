//! The thought stores: save + load of a three-iteration thought, and the first page of
//! a listing and a search over 10 000 stored thoughts.
//!
//! Run with: `cargo bench --bench store` (Redis on 127.0.0.1:6379 for its rows; they
//! are skipped when it is not there).
//!
//! Targets (issue 9): save + load in memory ≤ 20 µs, Redis ≤ 1 ms on loopback, file
//! ≤ 15 ms with its fsyncs (also shown without them); list first page ≤ 50 ms and
//! search ≤ 200 ms over 10 000 thoughts for file and Redis. Each row prints the median
//! of its rounds.

// A benchmark: a setup that fails should panic loudly.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use redraft::store::{FileStore, MemoryStore, Query, RedisStore, ThoughtStore};
use redraft::thought::settings::{CriticSettings, ProviderSettings, RunSettings};
use redraft::thought::{Iteration, Mode, Phase, StopReason, Thought};
use std::time::{Duration, Instant};

const MANY: usize = 10_000;

fn thought(n: usize) -> Thought {
    let settings = RunSettings {
        provider: ProviderSettings {
            kind: "openai".into(),
            model: "gpt-4o-mini".into(),
            ..Default::default()
        },
        critics: ["reflexion", "self_refine", "constitutional"]
            .iter()
            .map(|c| CriticSettings { name: (*c).into(), version: 1, ..Default::default() })
            .collect(),
        ..RunSettings::default()
    };
    let text = "Our new desk lamp is bright and lasts for years. Customers call it the best desk \
                lamp they have bought, and it looks good on any desk. ";
    let mut t = Thought::new(Mode::Improve, format!("{n}: {text}"), settings);
    t.created_at_ms += n as u64;
    t.iterations = (0..3).map(|i| Iteration::new(i, format!("{text} (version {i})"))).collect();
    t.phase = Phase::Done;
    t.stop_reason =
        Some(if n.is_multiple_of(7) { StopReason::Plateau } else { StopReason::Accepted });
    t.final_text = Some(format!("{text} final {n}"));
    t
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn show(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    }
}

async fn save_load(name: &str, store: &dyn ThoughtStore, rounds: usize) {
    let t = thought(1);
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        store.save(&t).await.unwrap();
        let back = store.load(&t.id).await.unwrap();
        samples.push(start.elapsed());
        assert!(back.is_some());
    }
    println!("save + load, {name:<22} {:>10}", show(median(samples)));
}

async fn list_search(name: &str, store: &dyn ThoughtStore) {
    let fill = Instant::now();
    let thoughts: Vec<Thought> = (0..MANY).map(thought).collect();
    for chunk in thoughts.chunks(200) {
        futures::future::join_all(chunk.iter().map(|t| store.save(t))).await;
    }
    println!("({name}: stored {MANY} thoughts in {:.1} s)", fill.elapsed().as_secs_f64());
    let mut list = Vec::new();
    let mut search = Vec::new();
    for _ in 0..10 {
        let start = Instant::now();
        let page = store.list(None, 20).await.unwrap();
        list.push(start.elapsed());
        assert_eq!(page.items.len(), 20);
        let start = Instant::now();
        let q = Query {
            text: Some("final 7".into()),
            stop_reason: Some(StopReason::Plateau),
            ..Query::default()
        };
        let found = store.search(&q).await.unwrap();
        search.push(start.elapsed());
        assert!(!found.items.is_empty());
    }
    println!("list first page of {MANY}, {name:<9} {:>10}", show(median(list)));
    println!("search {MANY}, {name:<20} {:>10}", show(median(search)));
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        save_load("memory", &MemoryStore::new(1000), 10_000).await;
        let dir = std::env::temp_dir().join(format!("redraft-bench-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        save_load("file, fsync", &FileStore::open(dir.join("a")).unwrap(), 200).await;
        save_load("file, no fsync", &FileStore::open_with(dir.join("b"), false).unwrap(), 1000)
            .await;
        let prefix = format!("redraft-bench-store-{}", std::process::id());
        let redis = RedisStore::builder("redis://127.0.0.1:6379").prefix(&prefix).build().unwrap();
        let redis_up = redis.list(None, 1).await.is_ok();
        if redis_up {
            save_load("Redis", &redis, 2000).await;
        } else {
            println!("(no Redis on 127.0.0.1:6379: its rows are skipped)");
        }
        list_search("file", &FileStore::open_with(dir.join("many"), false).unwrap()).await;
        if redis_up {
            list_search("Redis", &redis).await;
            let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
            let mut conn = client.get_connection().unwrap();
            let keys: Vec<String> =
                redis::cmd("KEYS").arg(format!("{prefix}:*")).query(&mut conn).unwrap();
            for chunk in keys.chunks(1000) {
                let _: () = redis::cmd("DEL").arg(chunk).query(&mut conn).unwrap();
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    });
}
