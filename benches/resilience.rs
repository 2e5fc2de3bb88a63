//! Resilience benchmark: plain timed runs against fake OpenAI-compatible servers on
//! loopback, printing what they measure (and failing loudly if an invariant breaks).
//!
//! Run with: `cargo bench --bench resilience`
//!
//! 1. **Faults.** 200 improves, 20 at a time, each with 1–3 critics, against a server
//!    where 20% of requests fail (half 429 with `Retry-After: 0.05`, half 500). Every
//!    improve must end `accepted` with its own text, and every injected failure must
//!    appear as a failed call record (none swallowed), with `usage.calls` equal to the
//!    requests the server saw. A single request body is failed at most 4 times, so the
//!    default 6 attempts always suffice (without that cap, a ~6% chance per run that
//!    some call draws 6 failures in a row would make the "all accepted" check random).
//! 2. **Requests per minute.** A 600/min limit, 50 concurrent improves for 30 s: the
//!    rate the server saw after the first second must be within ±5% of 10/s.
//! 3. **Tokens per minute.** A 300 000/min limit likewise, the server reporting usage
//!    of about a token per four characters, counted server-side.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/it/support/mod.rs"]
mod support;

use futures::StreamExt;
use redraft::Engine;
use redraft::config::{Config, LoadOptions};
use redraft::thought::StopReason;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::fake_openai::{FakeOpenAi, Reply, is_structured, last_user_message};

const IMPROVES: usize = 200;
const AT_ONCE: usize = 20;
const MAX_FAULTS_PER_BODY: u32 = 4;
const RUN: Duration = Duration::from_secs(30);
const WARM_UP: Duration = Duration::from_secs(1);
const WORKERS: usize = 50;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        faults().await;
        held_rate(Limit::Requests(600)).await;
        held_rate(Limit::Tokens(300_000)).await;
    });
}

/// An engine against `server` with `critics` and the `extra` overrides.
fn engine(server: &FakeOpenAi, critics: &str, extra: &[(&str, &str)]) -> Engine {
    let mut overrides = vec![
        ("provider.base_url".to_owned(), server.base_url()),
        ("critics.enabled".to_owned(), critics.to_owned()),
        ("engine.max_iterations".to_owned(), "3".to_owned()),
        // Every call must reach the resilience stack: no response cache in front.
        ("cache.enabled".to_owned(), "false".to_owned()),
    ];
    overrides.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Config::load_with(&LoadOptions {
        overrides,
        env_vars: Some(vec![]),
        workdir: Some(std::env::temp_dir().join("redraft-bench-no-such-dir")),
        ..LoadOptions::default()
    })
    .unwrap();
    Engine::from_config(&config).unwrap()
}

/// The text of improve `k`.
fn input(k: usize) -> String {
    format!("Item #{k}: our product are good and it work well.")
}

/// The revision of improve `k`.
fn revised(k: usize) -> String {
    format!("Item #{k}: Our product is good, and it works well. [revised]")
}

/// The number after the first `Item #` in `text`.
fn item(text: &str) -> Option<usize> {
    let rest = &text[text.find("Item #")? + "Item #".len()..];
    rest[..rest.find(|c: char| !c.is_ascii_digit())?].parse().ok()
}

/// The honest answer to a request: critics are satisfied once the text is revised;
/// a revision returns the revised text of the item under review.
fn answer(body: &Value) -> String {
    let user = last_user_message(body);
    if is_structured(body) {
        let done = user.contains("[revised]");
        serde_json::json!({
            "needs_improvement": !done,
            "confidence": 0.9,
            "feedback": if done { "Good." } else { "Fix the grammar." },
            "suggestions": if done { vec![] } else { vec!["Fix the grammar."] },
        })
        .to_string()
    } else {
        revised(item(&user).unwrap_or(usize::MAX))
    }
}

async fn faults() {
    let (rate_limited, server_errors) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let per_body: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let (r, s) = (Arc::clone(&rate_limited), Arc::clone(&server_errors));
    let server = FakeOpenAi::start(move |body, n| {
        let fault = match n % 10 {
            3 => Some((Reply::rate_limited("0.05"), &r)),
            7 => Some((Reply::error(500, "server_error", "The server had an error"), &s)),
            _ => None,
        };
        if let Some((reply, counter)) = fault {
            let mut hasher = DefaultHasher::new();
            body.to_string().hash(&mut hasher);
            let mut per_body = per_body.lock().unwrap();
            let faults = per_body.entry(hasher.finish()).or_default();
            if *faults < MAX_FAULTS_PER_BODY {
                *faults += 1;
                counter.fetch_add(1, Ordering::SeqCst);
                return reply;
            }
        }
        Reply::text(&answer(body))
    })
    .await;
    let critic_sets =
        ["reflexion", "reflexion,self_refine", "reflexion,self_refine,constitutional"];
    let engines: Vec<Engine> = critic_sets.iter().map(|c| engine(&server, c, &[])).collect();

    let started = Instant::now();
    let thoughts: Vec<_> = futures::stream::iter(0..IMPROVES)
        .map(|k| {
            let engine = engines[k % engines.len()].clone();
            async move { (k, engine.improve(input(k)).await) }
        })
        .buffer_unordered(AT_ONCE)
        .collect()
        .await;
    let wall = started.elapsed();

    let accepted =
        thoughts.iter().filter(|(_, t)| t.stop_reason == Some(StopReason::Accepted)).count();
    let own_text =
        thoughts.iter().filter(|(k, t)| t.final_text.as_deref() == Some(&revised(*k))).count();
    let distinct: HashSet<_> = thoughts.iter().filter_map(|(_, t)| t.final_text.clone()).collect();
    let failed_records: usize =
        thoughts.iter().map(|(_, t)| t.calls().filter(|c| c.error.is_some()).count()).sum();
    let calls: u64 = thoughts.iter().map(|(_, t)| t.usage.calls).sum();
    let (limited, errors) =
        (rate_limited.load(Ordering::SeqCst), server_errors.load(Ordering::SeqCst));
    let sent = server.request_count();

    println!(
        "resilience/faults: {IMPROVES} improves, {AT_ONCE} at a time, 1-3 critics, 20% of requests failing"
    );
    println!("  wall time           {:.2} s", wall.as_secs_f64());
    println!("  accepted            {accepted}/{IMPROVES}");
    println!("  own final text      {own_text}/{IMPROVES} ({} distinct)", distinct.len());
    println!("  requests sent       {sent} (usage.calls summed over thoughts: {calls})");
    println!(
        "  injected failures   {} ({limited} x 429 Retry-After 0.05 s, {errors} x 500) = {:.1}% of requests",
        limited + errors,
        100.0 * (limited + errors) as f64 / sent as f64
    );
    println!("  failed call records {failed_records}");
    assert_eq!(accepted, IMPROVES, "every improve must be accepted");
    assert_eq!(own_text, IMPROVES, "every improve must end with its own text");
    assert_eq!(failed_records, limited + errors, "every injected failure must be recorded");
    assert_eq!(calls, sent as u64, "usage.calls must count every request sent");
}

#[derive(Clone, Copy)]
enum Limit {
    Requests(u64),
    Tokens(u64),
}

async fn held_rate(limit: Limit) {
    let arrivals: Arc<Mutex<Vec<(Instant, u64)>>> = Arc::default();
    let seen = Arc::clone(&arrivals);
    let server = FakeOpenAi::start(move |body, _| {
        let content = answer(body);
        let prompt_chars: usize = body["messages"]
            .as_array()
            .map(|m| m.iter().filter_map(|m| m["content"].as_str()).map(str::len).sum())
            .unwrap_or(0);
        let (prompt_tokens, completion_tokens) =
            ((prompt_chars / 4) as u64, (content.len() / 4).max(1) as u64);
        let weight = match limit {
            Limit::Requests(_) => 1,
            Limit::Tokens(_) => prompt_tokens + completion_tokens,
        };
        seen.lock().unwrap().push((Instant::now(), weight));
        Reply::Chat { content, finish_reason: "stop".into(), prompt_tokens, completion_tokens }
    })
    .await;
    let (key, per_minute, unit) = match limit {
        Limit::Requests(n) => ("rate_limit.requests_per_minute", n, "requests"),
        Limit::Tokens(n) => ("rate_limit.tokens_per_minute", n, "tokens"),
    };
    let per_minute_text = per_minute.to_string();
    let engine = engine(
        &server,
        "reflexion,self_refine",
        &[(key, &per_minute_text), ("generation.max_tokens", "64"), ("critics.max_tokens", "64")],
    );

    let started = Instant::now();
    let improves = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (engine, improves) = (engine.clone(), Arc::clone(&improves));
            tokio::spawn(async move {
                for round in 0.. {
                    let k = w * 10_000 + round;
                    let thought = engine.improve(input(k)).await;
                    assert_eq!(thought.final_text.as_deref(), Some(revised(k).as_str()));
                    improves.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    tokio::time::sleep(RUN).await;
    for w in &workers {
        w.abort();
    }
    for w in workers {
        // Aborted on purpose; a panic (a wrong final text) must surface.
        if let Err(e) = w.await
            && e.is_panic()
        {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    let window = RUN - WARM_UP;
    let (from, to) = (started + WARM_UP, started + RUN);
    let arrivals = arrivals.lock().unwrap();
    let in_window: u64 =
        arrivals.iter().filter(|(at, _)| *at >= from && *at < to).map(|(_, w)| w).sum();
    let measured = in_window as f64 / window.as_secs_f64() * 60.0;
    let deviation = 100.0 * (measured - per_minute as f64) / per_minute as f64;
    let first_second = arrivals.iter().filter(|(at, _)| *at < from).map(|(_, w)| w).sum::<u64>();
    println!(
        "resilience/{unit}_per_minute: limit {per_minute}/min, {WORKERS} concurrent improves for {} s",
        RUN.as_secs()
    );
    println!(
        "  measured            {measured:.1} {unit}/min over {} s after the first second ({deviation:+.2}%)",
        window.as_secs()
    );
    println!("  first second        {first_second} {unit} (burst + refill)");
    println!(
        "  requests sent       {} ({} improves finished)",
        server.request_count(),
        improves.load(Ordering::SeqCst)
    );
    assert!(deviation.abs() <= 5.0, "{unit}/min off by {deviation:.2}%");
}
