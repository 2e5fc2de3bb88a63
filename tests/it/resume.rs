//! The resumable, observable engine: a thought checkpointed after any phase, fed back
//! through the public API with nothing but the API key from the environment, finishes
//! the run without repeating a completed call; settings given on resume are compared
//! with the stored ones; a phase of many calls cannot overspend its budget.

use crate::support::fake_openai::{FakeOpenAi, Reply, is_structured};
use async_trait::async_trait;
use redraft::assemble::resume::{Rebuilt, rebuild};
use redraft::config::{Config, LoadOptions};
use redraft::critic::{Critic, CriticError, CritiqueContext};
use redraft::engine::{Budget, Cancel, Checkpoints};
use redraft::model::call::call;
use redraft::model::scripted::{ScriptedModel, reply};
use redraft::model::{CallTag, Message, Request};
use redraft::thought::{CallRole, Critique, ErrorKind, Phase, StopReason, Thought};
use redraft::{Engine, LanguageModel};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

const KEY: &str = "sk-resume-secret-42";

/// The highest `vN` in a request's messages.
fn version(body: &Value) -> u32 {
    let text = body.to_string();
    let mut best = 0;
    for (i, _) in text.match_indices('v') {
        let digits: String = text[i + 1..].chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse() {
            best = best.max(n);
        }
    }
    best
}

/// Satisfied once a draft reaches v2; each revision adds one to the version. Every
/// answer depends only on the request, so a resumed run is answered as the whole one.
fn server() -> FakeOpenAi {
    FakeOpenAi::start_blocking(|body, _| {
        let v = version(body);
        if is_structured(body) {
            Reply::verdict(v < 2, 0.9, "Say more.")
        } else {
            Reply::text(&format!("Draft v{} of the text.", v + 1))
        }
    })
}

fn empty_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("redraft-resume-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Only the API key, from the environment; no file, no other variable.
fn keys_only() -> LoadOptions {
    LoadOptions {
        env_vars: Some(vec![("RESUME_TEST_KEY".into(), KEY.into())]),
        workdir: Some(empty_dir()),
        ..LoadOptions::default()
    }
}

fn configured(server: &FakeOpenAi) -> Engine {
    let set = |k: &str, v: &str| (k.to_owned(), v.to_owned());
    let config = Config::load_with(&LoadOptions {
        overrides: vec![
            set("provider.name", "openai"),
            set("provider.base_url", &server.base_url()),
            set("provider.model", "gpt-test"),
            set("provider.api_key_env", "RESUME_TEST_KEY"),
            set("critics.enabled", "reflexion"),
            set("validators.enabled", "words:min=2"),
            set("engine.max_iterations", "5"),
            set("budget.deadline_secs", "600"),
        ],
        ..keys_only()
    })
    .unwrap();
    Engine::from_config(&config).unwrap()
}

#[tokio::test]
async fn a_thought_saved_after_any_phase_finishes_without_repeating_a_call() {
    let server = server();
    let engine = configured(&server);
    let mut saved: Vec<String> = Vec::new();
    let mut observer = Checkpoints(|t: &Thought| saved.push(serde_json::to_string(t).unwrap()));
    let whole = engine
        .run(
            engine.new_thought(redraft::thought::Mode::Improve, "Draft v0."),
            &Cancel::never(),
            &mut observer,
        )
        .await;
    assert_eq!(whole.stop_reason, Some(StopReason::Accepted), "{whole:#?}");
    let total = server.request_count();
    assert_eq!(total, 5, "critique, revise, critique, revise, critique");
    assert_eq!(whole.usage.calls, 5);
    // One checkpoint per phase: 3 × (validate, critique, decide) + 2 revisions.
    assert_eq!(saved.len(), 11);
    assert!(saved.iter().all(|s| !s.contains(KEY)), "a checkpoint holds no key");
    assert!(whole.settings.deadline_at_ms.is_some(), "the deadline is absolute");

    for (k, json) in saved.iter().enumerate() {
        let stored: Thought = serde_json::from_str(json).unwrap();
        let made = stored.usage.calls;
        let before = server.request_count();
        let Rebuilt { engine, differences } = rebuild(&stored, &keys_only()).unwrap();
        assert_eq!(differences, Vec::<String>::new(), "checkpoint {k}");
        assert_eq!(engine.run_settings().critics, stored.settings.critics);
        let done = engine.resume(stored).await;
        let sent = server.request_count() - before;
        assert_eq!(sent as u64, 5 - made, "checkpoint {k}: only the calls not yet made");
        assert_eq!(done.stop_reason, Some(StopReason::Accepted), "checkpoint {k}");
        assert_eq!(done.final_text, whole.final_text, "checkpoint {k}");
        assert_eq!(done.usage.calls, 5, "checkpoint {k}: every call recorded once");
        assert_eq!(done.calls().count(), whole.calls().count(), "checkpoint {k}");
        assert_eq!(done.iterations.len(), whole.iterations.len());
        assert_eq!(done.settings.deadline_at_ms, whole.settings.deadline_at_ms, "kept");
    }
    assert_eq!(
        server.request_count(),
        total
            + saved
                .iter()
                .map(|s| { 5 - serde_json::from_str::<Thought>(s).unwrap().usage.calls as usize })
                .sum::<usize>()
    );
}

#[tokio::test]
async fn settings_given_on_resume_are_compared_with_the_stored_ones() {
    let server = server();
    let engine = configured(&server);
    let mut first: Option<Thought> = None;
    let mut observer = Checkpoints(|t: &Thought| {
        if first.is_none() {
            first = Some(t.clone());
        }
    });
    engine
        .run(
            engine.new_thought(redraft::thought::Mode::Improve, "Draft v0."),
            &Cancel::never(),
            &mut observer,
        )
        .await;
    let stored = first.unwrap();
    assert_eq!(stored.phase, Phase::Critique);

    let given = |pairs: &[(&str, &str)]| LoadOptions {
        overrides: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ..keys_only()
    };
    let changed = rebuild(
        &stored,
        &given(&[("critics.enabled", "self_refine"), ("engine.max_iterations", "2")]),
    )
    .unwrap();
    assert!(
        changed.differences.contains(&r#"critics[0].name: "reflexion" → "self_refine""#.to_owned()),
        "{:?}",
        changed.differences
    );
    assert!(changed.differences.contains(&"engine.max_iterations: 5 → 2".to_owned()));
    // A redraft.toml found by looking fills in only what the thought does not record;
    // `--config FILE` and `REDRAFT__` variables are explicit, and their differences listed.
    let found = keys_only();
    let workdir = found.workdir.clone().unwrap();
    std::fs::write(workdir.join("redraft.toml"), "[engine]\nmax_iterations = 2\n").unwrap();
    let implicit = rebuild(&stored, &found).unwrap();
    assert_eq!(implicit.differences, Vec::<String>::new());
    assert_eq!(implicit.engine.settings().max_iterations, 5, "the stored value");
    let explicit =
        rebuild(&stored, &LoadOptions { file: Some(workdir.join("redraft.toml")), ..keys_only() })
            .unwrap();
    assert_eq!(explicit.differences, ["engine.max_iterations: 5 → 2".to_owned()]);
    let mut env = keys_only();
    env.env_vars.as_mut().unwrap().push(("REDRAFT__ENGINE__MAX_ITERATIONS".into(), "3".into()));
    assert_eq!(
        rebuild(&stored, &env).unwrap().differences,
        ["engine.max_iterations: 5 → 3".to_owned()]
    );

    // `for_thought` refuses a difference: here a critic whose definition changed since.
    // (The key variable is one every process has, so the key is not what fails.)
    let mut changed_critic = stored.clone();
    changed_critic.settings.critics[0].version = 7;
    changed_critic.settings.provider.api_key_env = Some("PATH".into());
    let err = Engine::for_thought(&changed_critic).unwrap_err().to_string();
    assert!(err.contains("critics[0].version: 7 → 1"), "{err}");
    assert!(err.contains(&format!("stored thought {}", stored.id)), "{err}");

    // Budgets and the deadline may change on resume.
    let budget =
        rebuild(&stored, &given(&[("budget.deadline_secs", "30"), ("budget.max_tokens", "9999")]))
            .unwrap();
    assert_eq!(budget.differences, Vec::<String>::new());
    let before = stored.settings.deadline_at_ms.unwrap();
    let done = budget.engine.resume(stored).await;
    let after = done.settings.deadline_at_ms.unwrap();
    assert!(after < before, "a new, shorter deadline starts afresh: {after} vs {before}");
    assert_eq!(done.settings.engine.budget.max_tokens, Some(9999));
}

/// A critic that asks the model `n` times in a row, as a multi-call strategy does.
struct Asks(usize);

#[async_trait]
impl Critic for Asks {
    fn name(&self) -> &str {
        "asks"
    }

    async fn critique(&self, cx: &CritiqueContext<'_>) -> Result<Critique, CriticError> {
        for _ in 0..self.0 {
            let req = Request { messages: vec![Message::user(cx.text)], ..Request::default() };
            call(cx.model, &req, &CallTag::by(CallRole::Critique, "asks"), cx.log).await?;
        }
        Ok(Critique::failed("asks", redraft::thought::ErrorInfo::new(ErrorKind::Critic, "done")))
    }
}

#[tokio::test]
async fn a_phase_of_many_calls_stops_at_the_token_budget() {
    // Each scripted call spends 15 tokens; the budget allows two.
    let model = Arc::new(ScriptedModel::new(|_, _| Ok(reply("fine"))));
    let engine = Engine::builder(model.clone() as Arc<dyn LanguageModel>)
        .critic(Arc::new(Asks(10)))
        .budget(Budget { max_tokens: Some(30), ..Budget::default() })
        .build()
        .unwrap();
    let t = engine.improve("A text to judge.").await;
    assert_eq!(t.stop_reason, Some(StopReason::Budget), "{t:#?}");
    assert_eq!(model.requests().len(), 2, "the third call was refused before it was sent");
    assert_eq!(t.usage.calls, 2);
    assert_eq!(t.usage.total_tokens(), 30);
    let critique = &t.iterations[0].critiques[0];
    assert_eq!(critique.error.as_ref().unwrap().kind, ErrorKind::Budget, "{critique:?}");
    assert!(t.stop_detail.unwrap().contains("token budget spent: 30 of 30"));
    assert_eq!(t.resume_from, Some(Phase::Critique), "resumable from the phase it stopped in");
}

#[tokio::test]
async fn a_deadline_too_far_to_hold_is_no_deadline() {
    let model = Arc::new(ScriptedModel::new(|_, _| Ok(reply("fine"))));
    let engine = Engine::builder(model as Arc<dyn LanguageModel>)
        .budget(Budget { deadline: Some(std::time::Duration::MAX), ..Budget::default() })
        .build()
        .unwrap();
    let t = engine.improve("A text with no critic.").await;
    // No critic and no validator: nothing objects, and nothing panicked on the instant.
    assert_eq!(t.stop_reason, Some(StopReason::Accepted), "{t:#?}");
    assert_eq!(t.settings.deadline_at_ms, Some(u64::MAX), "saturated, never reached");
}
