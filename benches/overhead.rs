//! Engine overhead per model call: everything redraft does around the model —
//! validators, rendering the critics' prompt templates, structured-output parsing,
//! call records, decisions, revision prompts, the `Thought` — with a model that
//! answers instantly.
//!
//! Run with: `cargo bench --bench overhead` (add `-- --quick` for a rougher, faster
//! run). `cargo test --benches` runs each scenario once as a check.
//!
//! One sample is a whole `engine.improve(..)` of the scenario in `common` (3 built-in
//! critics, 3 validators, 3 iterations: 11 model calls, accepted at iteration 2),
//! timed by criterion; overhead per call = time per run / 11. The model is a lean
//! in-bench `LanguageModel` that picks one of four canned completions and clones it
//! (no recording, no latency), so almost all the time measured is redraft's own. The
//! process's CPU time per run (from `/proc`, over 2000 more runs) is reported beside
//! it: on a shared machine it varies much less than wall time. For comparison the same
//! run is also timed with the test-util `ScriptedModel`, which
//! additionally clones every request to record it (its engine is rebuilt, untimed, for
//! every criterion sample so the recorded requests do not pile up).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use async_trait::async_trait;
use common::{Answer, Cpu, MODEL_CALLS};
use criterion::Criterion;
use redraft::model::scripted::{ScriptedModel, reply};
use redraft::model::{
    Completion, FinishReason, LanguageModel, ModelError, Request, ResponseFormat, Role, TokenUsage,
};
use redraft::{Engine, Thought};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The criterion group name (also a directory under the criterion output directory).
const GROUP: &str = "engine_overhead";
/// The target for the overhead per model call, in microseconds.
const TARGET_US: f64 = 50.0;

/// A model answering from four prebuilt completions: the cost of a call is one
/// substring search and one clone of a short completion.
struct CannedModel {
    answers: [(Answer, Completion); 4],
}

impl CannedModel {
    fn new() -> Self {
        let completion = |a: Answer| {
            (
                a,
                Completion {
                    text: a.content().to_owned(),
                    finish_reason: FinishReason::Stop,
                    usage: TokenUsage { prompt_tokens: 400, completion_tokens: 80 },
                    model: "canned".to_owned(),
                    ..Completion::default()
                },
            )
        };
        Self {
            answers: [
                completion(Answer::FirstRevision),
                completion(Answer::SecondRevision),
                completion(Answer::NeedsImprovement),
                completion(Answer::Satisfied),
            ],
        }
    }
}

#[async_trait]
impl LanguageModel for CannedModel {
    fn provider(&self) -> &str {
        "canned"
    }
    fn model(&self) -> &str {
        "canned"
    }
    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        let answer = Answer::to(request.format != ResponseFormat::Text, last_user(request));
        let (_, completion) = self.answers.iter().find(|(a, _)| *a == answer).expect("canned");
        Ok(completion.clone())
    }
}

fn last_user(request: &Request) -> &str {
    request.messages.iter().rev().find(|m| m.role == Role::User).map_or("", |m| &m.content)
}

/// The test-util scripted model following the same scenario.
fn scripted_model() -> ScriptedModel {
    ScriptedModel::new(|request, _| {
        Ok(reply(Answer::to(request.format != ResponseFormat::Text, last_user(request)).content()))
    })
}

/// One variant: a criterion function id, a description, how to build its engine, and
/// its runtime.
struct Variant {
    id: &'static str,
    model: &'static str,
    runtime_name: &'static str,
    engine: fn() -> Engine,
    runtime: tokio::runtime::Runtime,
}

fn canned_engine() -> Engine {
    common::engine(Arc::new(CannedModel::new()))
}

fn scripted_engine() -> Engine {
    common::engine(Arc::new(scripted_model()))
}

fn variants() -> Vec<Variant> {
    let current = || tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let multi = || tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    vec![
        Variant {
            id: "canned_model_current_thread",
            model: "lean canned model",
            runtime_name: "current-thread",
            engine: canned_engine,
            runtime: current(),
        },
        Variant {
            id: "canned_model_multi_thread",
            model: "lean canned model",
            runtime_name: "multi-thread (block_on)",
            engine: canned_engine,
            runtime: multi(),
        },
        Variant {
            id: "scripted_model_current_thread",
            model: "ScriptedModel (records requests)",
            runtime_name: "current-thread",
            engine: scripted_engine,
            runtime: current(),
        },
    ]
}

/// `iters` whole runs in one `block_on`, each checked to have made 11 model calls. The
/// engine is built fresh for every sample, untimed: the `ScriptedModel` keeps every
/// request it receives, and must not carry them from one sample to the next.
fn run_many(variant: &Variant, iters: u64) -> Duration {
    let engine = (variant.engine)();
    let elapsed = variant.runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let thought: Thought = engine.improve(black_box(common::ORIGINAL)).await;
            assert_eq!(thought.usage.calls, MODEL_CALLS, "model calls per run");
            black_box(thought);
        }
        start.elapsed()
    });
    drop(engine);
    elapsed
}

/// Runs timed outside criterion for the CPU-time column.
const CPU_RUNS: u32 = 2000;

/// Process CPU time per run, in nanoseconds, over [`CPU_RUNS`] runs (after 100
/// warm-up runs).
fn cpu_per_run(variant: &Variant) -> f64 {
    let engine = (variant.engine)();
    variant.runtime.block_on(async {
        for _ in 0..100 {
            black_box(engine.improve(common::ORIGINAL).await);
        }
        let cpu = Cpu::now();
        for _ in 0..CPU_RUNS {
            let thought = engine.improve(black_box(common::ORIGINAL)).await;
            assert_eq!(thought.usage.calls, MODEL_CALLS, "model calls per run");
            black_box(thought);
        }
        (Cpu::now().schedstat_ns - cpu.schedstat_ns) as f64 / f64::from(CPU_RUNS)
    })
}

/// Where criterion writes its results, resolved the way criterion resolves it.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"), PathBuf::from);
    target.join("criterion")
}

/// Criterion's estimates for one benchmark, in nanoseconds per run: its headline
/// estimate (the slope of time against iterations, or the mean when it has no slope)
/// with its 95% confidence interval, and the median of the samples.
struct Estimates {
    typical: f64,
    low: f64,
    high: f64,
    median: f64,
}

fn estimates(dir: &std::path::Path, id: &str) -> Option<Estimates> {
    let path = dir.join(GROUP).join(id).join("new").join("estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let typical = if json["slope"].is_object() { &json["slope"] } else { &json["mean"] };
    let interval = &typical["confidence_interval"];
    Some(Estimates {
        typical: typical["point_estimate"].as_f64()?,
        low: interval["lower_bound"].as_f64()?,
        high: interval["upper_bound"].as_f64()?,
        median: json["median"]["point_estimate"].as_f64()?,
    })
}

fn bench(c: &mut Criterion, variants: &[Variant]) {
    let mut group = c.benchmark_group(GROUP);
    for variant in variants {
        group.bench_function(variant.id, |b| b.iter_custom(|iters| run_many(variant, iters)));
    }
    group.finish();
}

/// Print the results as a Markdown table, ready to paste.
fn report(dir: &std::path::Path, variants: &[Variant], cpu: &[f64]) {
    println!();
    println!("## Engine overhead per model call (`cargo bench --bench overhead`)");
    println!();
    println!(
        "Scenario: `improve`, 3 critics (reflexion, self_refine, constitutional), 3 validators \
         ({}), max 3 iterations; accepted at iteration 2 after {MODEL_CALLS} model calls \
         (9 critiques + 2 revisions) in every run. Zero-latency model. Target: <= {TARGET_US} us \
         per call.",
        common::VALIDATORS.map(|v| format!("`{v}`")).join(", ")
    );
    println!();
    println!(
        "| model | tokio runtime | time per run: criterion estimate [95% CI] | median | overhead per model call (wall) | CPU per run | CPU per model call | target |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (v, cpu) in variants.iter().zip(cpu) {
        let us = |ns: f64| ns / 1000.0;
        let cpu_per_call = us(*cpu) / MODEL_CALLS as f64;
        let Some(e) = estimates(dir, v.id) else {
            println!(
                "| {} | {} | no estimate (filtered out) | | | {:.1} us | {cpu_per_call:.1} us | |",
                v.model,
                v.runtime_name,
                us(*cpu)
            );
            continue;
        };
        let per_call = us(e.typical) / MODEL_CALLS as f64;
        println!(
            "| {} | {} | {:.1} us [{:.1}, {:.1}] | {:.1} us | **{per_call:.1} us** | {:.1} us | **{cpu_per_call:.1} us** | {} |",
            v.model,
            v.runtime_name,
            us(e.typical),
            us(e.low),
            us(e.high),
            us(e.median),
            us(*cpu),
            if per_call <= TARGET_US { "met" } else { "MISSED" }
        );
    }
    println!();
    println!("{}", common::machine_line());
    println!();
}

fn main() {
    let variants = variants();
    for v in &variants {
        let thought = v.runtime.block_on((v.engine)().improve(common::ORIGINAL));
        common::check(&thought);
    }
    if !common::bench_mode() {
        println!("overhead: every variant takes the scenario's path ({MODEL_CALLS} calls): ok");
        return;
    }
    let dir = criterion_dir();
    let mut criterion = Criterion::default()
        .output_directory(&dir)
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    bench(&mut criterion, &variants);
    criterion.final_summary();
    let cpu: Vec<f64> = variants.iter().map(cpu_per_run).collect();
    report(&dir, &variants, &cpu);
}
