//! `--dry-run`: the planned calls, token and cost estimates, as a table or JSON, with
//! nothing sent — checked against a fake server whose request count must stay 0 —
//! and the library's `dry_run::plan`. Also the CLI's `--no-cache` and a dead Redis
//! tier in a real run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::cli::Redraft;
use crate::support::fake_openai::{FakeOpenAi, Reply, is_structured};
use redraft::assemble::dry_run;
use redraft::config::{Config, LoadOptions};
use redraft::thought::{CallRole, Mode, StopReason};
use serde_json::Value;

/// A server that fails every request: a dry run must never reach it.
fn tripwire() -> FakeOpenAi {
    FakeOpenAi::start_blocking(|_, _| Reply::error(500, "dry_run_sent_a_request", "no!"))
}

const THREE_CRITICS: [&str; 6] =
    ["--critic", "reflexion", "--critic", "self_refine", "--critic", "constitutional"];

#[test]
fn improve_dry_run_prints_the_worst_case_plan_and_sends_nothing() {
    let server = tripwire();
    let out = Redraft::new()
        .args(["improve", "--dry-run", "Our lamp are bright."])
        .args(THREE_CRITICS)
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(server.request_count(), 0, "a dry run sent a request");
    assert!(out.stdout.contains("Dry run: nothing was sent"), "{out}");
    // 3 iterations x 3 critics + 2 revisions.
    assert_eq!(out.stdout.lines().filter(|l| l.contains(" critique ")).count(), 9, "{out}");
    assert_eq!(out.stdout.lines().filter(|l| l.contains(" revise ")).count(), 2, "{out}");
    assert!(out.stdout.contains("Total: 11 call(s) over 3 iteration(s)"), "{out}");
    assert!(out.stdout.contains("max_iterations"), "{out}");
    assert!(out.stdout.contains('$'), "gpt-4o-mini has a price: {out}");
}

#[test]
fn dry_run_json_is_a_structured_plan() {
    let server = tripwire();
    let out = Redraft::new()
        .args(["improve", "--dry-run", "--json", "--max-iterations", "2", "A lamp."])
        .args(THREE_CRITICS)
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(server.request_count(), 0);
    let plan = out.json();
    let calls = plan["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2 * 3 + 1);
    assert_eq!(plan["totals"]["calls"], 7);
    assert_eq!(plan["iterations"], 2);
    assert_eq!(plan["stop_reason"], "max_iterations");
    let critiques: Vec<&Value> = calls.iter().filter(|c| c["role"] == "critique").collect();
    assert_eq!(critiques.len(), 6);
    assert!(critiques.iter().all(|c| c["max_completion_tokens"] == 512), "critics' cap");
    let revise = calls.iter().find(|c| c["role"] == "revise").unwrap();
    assert_eq!(revise["max_completion_tokens"], 1024, "generation cap");
    assert!(revise["prompt_tokens"].as_u64().unwrap() > 0);
    let sum: f64 = calls.iter().map(|c| c["cost_usd"].as_f64().unwrap()).sum();
    assert!((plan["totals"]["cost_usd"].as_f64().unwrap() - sum).abs() < 1e-12);
    let tokens: u64 = calls.iter().map(|c| c["prompt_tokens"].as_u64().unwrap()).sum();
    assert_eq!(plan["totals"]["prompt_tokens"], tokens);
}

#[test]
fn generate_dry_run_starts_with_the_draft() {
    let server = tripwire();
    let out = Redraft::new()
        .args(["generate", "--dry-run", "--json", "a tweet about solar lamps"])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(server.request_count(), 0);
    let plan = out.json();
    assert_eq!(plan["mode"], "generate");
    assert_eq!(plan["calls"][0]["role"], "draft");
    // Default: 3 iterations, reflexion only: draft + 3 critiques + 2 revisions.
    assert_eq!(plan["totals"]["calls"], 6);
}

#[test]
fn an_unpriced_model_has_no_cost_estimate() {
    let server = tripwire();
    let out = Redraft::new()
        .args(["improve", "--dry-run", "--model", "mystery-model", "A lamp."])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("no cost estimate"), "{out}");
    assert!(out.stdout.contains("no price"), "{out}");
}

#[tokio::test]
async fn a_token_budget_shortens_the_plan() {
    let config = Config::load_with(&LoadOptions {
        overrides: vec![
            ("engine.max_iterations".into(), "5".into()),
            ("budget.max_tokens".into(), "3000".into()),
        ],
        env_vars: Some(vec![]),
        workdir: Some(std::env::temp_dir().join("redraft-dry-run-no-such-dir")),
        ..LoadOptions::default()
    })
    .unwrap();
    let plan = dry_run::plan(&config, Mode::Improve, "A lamp that lasts.").await.unwrap();
    assert_eq!(plan.stop_reason, Some(StopReason::Budget));
    assert!(plan.iterations < 5);
    assert!(plan.totals.total_tokens() >= 3000);
    assert_eq!(plan.calls[0].role, CallRole::Critique);
    assert_eq!(plan.calls[0].critic.as_deref(), Some("reflexion"));
}

#[test]
fn no_cache_sends_every_request_and_a_dead_redis_warns_once() {
    let server = FakeOpenAi::start_blocking(|body, n| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "More.")
        } else {
            Reply::text(&format!("Revision {n}."))
        }
    });
    let out =
        Redraft::new().args(["improve", "--json", "--no-cache", "A lamp."]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.json()["usage"]["cache_hits"], 0);

    let out = Redraft::new()
        .args(["improve", "--json", "A lamp."])
        .env("REDRAFT__CACHE__REDIS_URL", "redis://:pw-not-shown@127.0.0.1:1")
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "a dead Redis does not fail the run: {out}");
    assert_eq!(out.json()["stop_reason"], "max_iterations");
    assert_eq!(out.stderr.matches("Redis cache").count(), 1, "one warning: {out}");
    assert!(!out.stderr.contains("pw-not-shown"), "{out}");
}
