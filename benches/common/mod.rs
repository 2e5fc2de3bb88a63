//! What the benchmarks share: the scenario (an original text, two revisions, the
//! critics' verdicts), the rule a fake model follows to answer it, and the engine
//! under test, built the way a user builds one: the three built-in critics from the
//! critic registry, three validators from command-line specs, three iterations.
//!
//! The scenario makes every run take the same path, so every run makes exactly
//! [`MODEL_CALLS`] model calls:
//!
//! | iteration | text | validators | critics (3 concurrent calls) | then |
//! |---|---|---|---|---|
//! | 0 | [`ORIGINAL`] | `require:lamp` and `regex:[.!?]$` fail | all need improvement | revise (1 call) |
//! | 1 | [`FIRST_REVISION`] | all pass | all need improvement | revise (1 call) |
//! | 2 | [`SECOND_REVISION`] | all pass | all satisfied | stop: accepted |
//!
//! 9 critique calls + 2 revisions = 11 calls; on the critical path that is 3 critique
//! rounds + 2 revisions = 5 sequential model latencies.
//!
//! It also reads CPU time from `/proc` ([`Cpu`]): wall times on a shared machine vary
//! with its load, CPU time much less.

// Each bench uses a different part of this module.
#![allow(dead_code, unreachable_pub)]

use redraft::critic::Registry;
use redraft::model::Sampling;
use redraft::thought::StopReason;
use redraft::validator::{Presets, build, parse_spec};
use redraft::{Engine, LanguageModel, Thought};
use std::sync::Arc;

/// The text given to `improve`: no "lamp", no final punctuation.
pub const ORIGINAL: &str = "our new desk light are very bright and it last a long time, \
customers say it is the best light they ever buyed and it look good on any desk. it come in \
three colour and the base dont wobble. order today and get free shipping on all order over \
fifty dollar, offer end soon so dont wait";

/// The first revision (marked by the word "amber"): passes the validators.
pub const FIRST_REVISION: &str = "Our new desk lamp is bright and lasts for years. Customers \
call it the best desk lamp they have bought, and it looks good on any desk. It comes in three \
colours, including a warm amber, and its base does not wobble. Order today for free shipping \
on orders over fifty dollars; the offer ends soon.";

/// The second revision (marked by the word "walnut"): the critics accept it.
pub const SECOND_REVISION: &str = "Meet the desk lamp our customers call the best they have \
owned. It gives bright, even light for years and suits any desk, in three colours on a solid \
walnut base that never wobbles. Order today and shipping is free on orders over fifty \
dollars, but only until the offer ends.";

/// The feedback of a critic asking for improvement (mentions neither marker word).
pub const NEEDS_IMPROVEMENT: &str = r#"{"needs_improvement": true, "confidence": 0.8, "feedback": "The text makes claims without support and buries its main benefit; the call to action is weak and the offer's end date is vague.", "suggestions": ["Lead with the main benefit in the first sentence.", "Replace vague praise with one concrete detail.", "Give the offer a clear end."]}"#;

/// The feedback of a satisfied critic.
pub const SATISFIED: &str = r#"{"needs_improvement": false, "confidence": 0.9, "feedback": "Clear, specific and persuasive; the offer and its terms are stated plainly.", "suggestions": []}"#;

/// The critics, in order.
pub const CRITICS: [&str; 3] = ["reflexion", "self_refine", "constitutional"];

/// The validators, as command-line specs.
pub const VALIDATORS: [&str; 3] = ["words:min=5,max=400", "require:lamp", "regex:[.!?]$"];

/// Model calls in one run of the scenario.
pub const MODEL_CALLS: u64 = 11;

/// Sequential model latencies on the critical path: 3 critique rounds + 2 revisions.
pub const CRITICAL_PATH_CALLS: u32 = 5;

/// What the model answers to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The revision of [`ORIGINAL`].
    FirstRevision,
    /// The revision of [`FIRST_REVISION`].
    SecondRevision,
    /// A critic verdict asking for improvement.
    NeedsImprovement,
    /// A satisfied critic verdict.
    Satisfied,
}

impl Answer {
    /// The answer to a request, from whether it asks for JSON (a critique) and its
    /// last user message (which holds the text under review).
    pub fn to(structured: bool, last_user_message: &str) -> Answer {
        match (structured, last_user_message.contains("walnut")) {
            (true, true) => Answer::Satisfied,
            (true, false) => Answer::NeedsImprovement,
            (false, _) if last_user_message.contains("amber") => Answer::SecondRevision,
            (false, _) => Answer::FirstRevision,
        }
    }

    /// The answer's text: a revision, or a verdict as JSON.
    pub fn content(self) -> &'static str {
        match self {
            Answer::FirstRevision => FIRST_REVISION,
            Answer::SecondRevision => SECOND_REVISION,
            Answer::NeedsImprovement => NEEDS_IMPROVEMENT,
            Answer::Satisfied => SATISFIED,
        }
    }
}

/// The engine under test around `model`: the three built-in critics, the three
/// validators, at most three iterations, every other setting at its default.
pub fn engine(model: Arc<dyn LanguageModel>) -> Engine {
    let registry = Registry::builtin();
    let sampling = Sampling { temperature: Some(0.3), max_tokens: Some(800) };
    let presets = Presets::empty();
    let mut builder = Engine::builder(model).max_iterations(3);
    for name in CRITICS {
        builder = builder.critic(registry.build(name, None, sampling).expect("a built-in critic"));
    }
    for spec in VALIDATORS {
        let entry = parse_spec(spec).expect("a valid validator spec");
        for v in build(&entry, &presets).expect("a buildable validator") {
            builder = builder.validator_entry(v);
        }
    }
    builder.build().expect("valid engine settings")
}

/// Panic unless `thought` took the scenario's path: accepted at iteration 2 after
/// exactly [`MODEL_CALLS`] calls.
pub fn check(thought: &Thought) {
    assert_eq!(
        thought.stop_reason,
        Some(StopReason::Accepted),
        "unexpected stop: {:?} ({:?})",
        thought.stop_reason,
        thought.stop_detail
    );
    assert_eq!(thought.iterations.len(), 3, "iterations");
    assert_eq!(thought.usage.calls, MODEL_CALLS, "model calls per run");
    assert_eq!(thought.final_text.as_deref(), Some(SECOND_REVISION));
}

/// Whether the benchmark binary was started by `cargo bench` (which passes `--bench`);
/// otherwise (`cargo test --benches`) it only checks that each scenario works.
pub fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The median of `values` (sorted in place); 0 when empty.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// A line describing the machine's state, printed under every report: CPUs, and the
/// load average (other work on the machine inflates wall times).
pub fn machine_line() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!("Machine: {cpus} CPUs, load average (1, 5, 15 min) after the run: {}.", load.join(", "))
}

/// Clock ticks per second in `/proc/*/stat` (`USER_HZ`, 100 on Linux).
pub const TICKS_PER_SEC: f64 = 100.0;

/// CPU time of this process so far.
#[derive(Debug, Clone, Copy)]
pub struct Cpu {
    /// Sum over live threads of `/proc/self/task/*/schedstat` (time on CPU), ns.
    pub schedstat_ns: u64,
    /// utime + stime of `/proc/self/stat`, clock ticks.
    pub ticks: u64,
}

impl Cpu {
    /// The process's CPU time now.
    pub fn now() -> Cpu {
        let mut schedstat_ns = 0;
        for task in std::fs::read_dir("/proc/self/task").expect("/proc/self/task") {
            let path = task.unwrap().path().join("schedstat");
            // A thread may end between listing and reading.
            if let Ok(text) = std::fs::read_to_string(path) {
                schedstat_ns += text.split_whitespace().next().unwrap().parse::<u64>().unwrap();
            }
        }
        let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
        // Fields after the command name (which is in parentheses and may hold spaces):
        // state is field 3, utime 14, stime 15.
        let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
        let ticks = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Cpu { schedstat_ns, ticks }
    }
}
