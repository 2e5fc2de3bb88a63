//! A repeated identical improve served from the memory cache.
//!
//! Run with: `cargo bench --bench cache`
//!
//! Three built-in critics, three iterations planned, the scripted model behind the
//! cache layer (critics always ask for more, so every iteration runs: 9 critiques and
//! 2 revisions). The first run fills the cache; the benchmark times the repeated run,
//! which is answered entirely from memory (target: under 1 ms). A check before timing
//! makes sure it really is all hits.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use redraft::cache::ResponseCache;
use redraft::critic::Registry;
use redraft::engine::{EngineBuilder, Price, Prices};
use redraft::middleware::cache::Cached;
use redraft::model::scripted::{ScriptedModel, reply};
use redraft::model::{LanguageModel, ResponseFormat, Sampling};
use std::hint::black_box;
use std::sync::Arc;

const TEXT: &str = "Our solar lamp are bright and cheap. It charge in the sun all day and \
shine all night in you garden. Buy it now, it is the best lamp ever made by anyone.";

fn cached_improve(c: &mut Criterion) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => panic!("cannot start a runtime: {e}"),
    };
    let verdict = r#"{"needs_improvement":true,"confidence":0.9,"feedback":"Fix the grammar and add one concrete figure.","suggestions":["Say how many hours it shines."]}"#;
    let scripted = Arc::new(ScriptedModel::new(move |req, n| {
        Ok(match req.format {
            ResponseFormat::Text => reply(&format!("{TEXT} (revision {n})")),
            _ => reply(verdict),
        })
    }));
    let cache = match ResponseCache::builder().build() {
        Ok(cache) => Arc::new(cache),
        Err(e) => panic!("cannot build the cache: {e}"),
    };
    let model: Arc<dyn LanguageModel> = Arc::new(Cached::new(scripted.clone(), cache));
    let registry = Registry::builtin();
    let mut builder = EngineBuilder::new(model)
        .max_iterations(3)
        .prices(Prices::new().with("scripted", Price { input: 0.15, output: 0.6 }));
    for name in ["reflexion", "self_refine", "constitutional"] {
        match registry.build(name, None, Sampling { temperature: Some(0.2), max_tokens: Some(512) })
        {
            Ok(critic) => builder = builder.critic(critic),
            Err(e) => panic!("cannot build critic {name}: {e}"),
        }
    }
    let engine = match builder.build() {
        Ok(engine) => engine,
        Err(e) => panic!("cannot build the engine: {e}"),
    };

    let first = runtime.block_on(engine.improve(TEXT));
    let sent = scripted.requests().len();
    let second = runtime.block_on(engine.improve(TEXT));
    assert_eq!(first.usage.calls, 11, "3 critics x 3 iterations + 2 revisions");
    assert_eq!(second.usage.calls, 0, "the repeated run sent nothing");
    assert_eq!(second.usage.cache_hits, 11);
    assert_eq!(scripted.requests().len(), sent);
    println!(
        "first run: {} calls, {:.3} ms; cached run: {} cache hits, {:.3} ms",
        first.usage.calls, first.timings.total_ms, second.usage.cache_hits, second.timings.total_ms
    );

    c.bench_function("improve, 3 critics x 3 iterations, all from the memory cache", |b| {
        b.iter(|| black_box(runtime.block_on(engine.improve(black_box(TEXT)))))
    });
}

criterion_group!(benches, cached_improve);
criterion_main!(benches);
