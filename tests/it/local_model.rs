//! End to end through the real local model (feature `local`): SmolLM2-135M-Instruct
//! running in this process. These tests assert structure, never wording: the critique
//! is JSON that matches the verdict schema, revisions are non-empty, the loop ends with
//! one valid stop reason, the audit trail is complete, validator feedback reaches the
//! reviser.
//!
//! The model is found the way the CLI finds it (config `local.model_path`, else the
//! default model in `local.model_dir`, default ~/.cache/redraft/models); a missing
//! model FAILS these tests with what to run: `.ci/run` fetches it first. The tests
//! hold one lock, so one runs at a time (one model, one core each: set
//! `REDRAFT__LOCAL__THREADS=1` as CI does).

#![cfg(feature = "local")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use redraft::config::{Config, LoadOptions};
use redraft::critic::{VerdictJson, verdict_schema};
use redraft::model::local::{LocalModel, LocalSettings};
use redraft::model::{FinishReason, LanguageModel, Message, Request, ResponseFormat, Sampling};
use redraft::thought::{CallRole, StopReason, Thought};
use redraft::{Engine, Error};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// One model test at a time.
static MODEL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const TEXT: &str = "our new app help small teams to plan they're week. its fast, its simple \
and it work offline. try it free for 30 day.";

/// A directory with no `redraft.toml`, so only defaults, the environment and the
/// overrides count.
fn workdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("redraft-local-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The configuration the CLI would load here, plus `overrides`; panics with what to run
/// when the model file is missing.
fn config(overrides: &[(&str, &str)]) -> Config {
    let mut all = vec![("provider.name", "local"), ("engine.max_iterations", "2")];
    all.extend_from_slice(overrides);
    let config = Config::load_with(&LoadOptions {
        overrides: all.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        workdir: Some(workdir()),
        ..LoadOptions::default()
    })
    .unwrap();
    let file = config.local.model_file().unwrap();
    assert!(
        file.is_file(),
        "the local model is missing at {}: fetch it with \
         `cargo run --release --features local -- model fetch` (.ci/run does this first)",
        file.display()
    );
    config
}

fn local_model(config: &Config) -> LocalModel {
    LocalModel::load(LocalSettings {
        model_path: config.local.model_file().unwrap(),
        threads: config.local.threads,
        context_size: config.local.context_size,
        max_tokens: config.local.max_tokens,
        seed: config.local.seed,
    })
    .unwrap()
}

/// Checks `value` against the verdict schema by hand: exactly the four fields, each of
/// its type, confidence within 0..=1.
fn assert_verdict_shape(value: &Value) {
    let obj = value.as_object().expect("a JSON object");
    let mut keys: Vec<_> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["confidence", "feedback", "needs_improvement", "suggestions"]);
    assert!(obj["needs_improvement"].is_boolean());
    let confidence = obj["confidence"].as_f64().expect("a number");
    assert!((0.0..=1.0).contains(&confidence), "confidence {confidence}");
    assert!(obj["feedback"].is_string());
    assert!(obj["suggestions"].as_array().expect("an array").iter().all(Value::is_string));
}

fn is_valid_end(reason: Option<StopReason>) -> bool {
    matches!(reason, Some(StopReason::Accepted | StopReason::MaxIterations | StopReason::Plateau))
}

/// Every call record is complete and the usage adds up.
fn assert_audit_complete(thought: &Thought) {
    let calls: Vec<_> = thought.calls().collect();
    assert!(!calls.is_empty());
    for c in &calls {
        assert_eq!(c.provider, "local");
        assert!(!c.model.is_empty());
        assert!(!c.messages.is_empty());
        assert!(c.error.is_none(), "call failed: {:?}", c.error);
        assert!(c.response.is_some() && c.finish_reason.is_some());
        assert!(c.prompt_tokens > 0 && c.completion_tokens > 0, "{c:?}");
        assert!(c.sampling.max_tokens.is_some(), "the cap is recorded");
        if c.role == CallRole::Critique {
            assert_eq!(c.response_format, "json_schema");
        }
    }
    assert_eq!(thought.usage.calls, calls.len() as u64);
    let completion: u64 = calls.iter().map(|c| c.completion_tokens).sum();
    assert_eq!(thought.usage.completion_tokens, completion);
}

#[tokio::test]
async fn a_structured_answer_is_json_matching_the_schema() {
    let _one = MODEL.lock().await;
    let config = config(&[]);
    let model = local_model(&config);
    let request = Request {
        messages: vec![
            Message::system("You review short texts for clarity and grammar."),
            Message::user(format!("Review this text:\n<text>\n{TEXT}\n</text>")),
        ],
        sampling: Sampling { temperature: Some(0.2), max_tokens: Some(512) },
        format: ResponseFormat::JsonSchema {
            name: "critic_verdict".into(),
            schema: verdict_schema().into(),
        },
        ..Request::default()
    };
    let prepared = model.prepare(&request).into_owned();
    assert!(prepared.sampling.max_tokens <= Some(config.local.max_tokens));
    let completion = model.complete(&prepared).await.unwrap();
    assert_eq!(completion.finish_reason, FinishReason::Stop, "{}", completion.text);
    let value: Value = serde_json::from_str(&completion.text).expect("strict JSON");
    assert_verdict_shape(&value);
    let verdict: VerdictJson = serde_json::from_value(value).unwrap();
    assert!(verdict.suggestions.len() <= 3);
    assert!(completion.usage.prompt_tokens > 0 && completion.usage.completion_tokens > 0);
    assert_eq!(completion.model, model.model());
}

#[tokio::test]
async fn improve_runs_the_whole_loop_with_a_critic() {
    let _one = MODEL.lock().await;
    let config = config(&[("critics.enabled", "reflexion"), ("validators.enabled", "words:min=3")]);
    let engine = Engine::from_config(&config).unwrap();
    let thought = engine.improve(TEXT).await;

    assert!(is_valid_end(thought.stop_reason), "{:?}: {:?}", thought.stop_reason, thought.error);
    assert!((1..=2).contains(&thought.iterations.len()));
    let best = thought.best_iteration.expect("a best iteration");
    assert_eq!(thought.final_text.as_deref(), Some(thought.iterations[best].text.as_str()));
    for it in &thought.iterations {
        assert!(!it.text.trim().is_empty(), "iteration {} is empty", it.index);
        assert_eq!(it.validations.len(), 1);
        assert_eq!(it.critiques.len(), 1);
        let critique = &it.critiques[0];
        assert!(critique.error.is_none(), "critique failed: {:?}", critique.error);
        assert!((0.0..=1.0).contains(&critique.confidence));
        assert!(it.decision.is_some());
    }
    for it in thought.iterations.iter().skip(1) {
        assert!(it.generation.is_some(), "a revision records its generation");
    }
    // The critique answers in the audit trail are the JSON the grammar forced.
    for c in thought.calls().filter(|c| c.role == CallRole::Critique) {
        let value: Value = serde_json::from_str(c.response.as_deref().unwrap()).unwrap();
        assert_verdict_shape(&value);
    }
    assert_audit_complete(&thought);

    // The audit trail survives JSON, as `--json` prints it.
    let json = serde_json::to_value(&thought).unwrap();
    assert_eq!(json["settings"]["provider"]["kind"], "local");
    assert!(json["stop_reason"].is_string());
    let back: Thought = serde_json::from_value(json).unwrap();
    assert_eq!(back.iterations.len(), thought.iterations.len());
}

#[tokio::test]
async fn validator_feedback_reaches_the_reviser() {
    let _one = MODEL.lock().await;
    let config =
        config(&[("critics.enabled", ""), ("validators.enabled", "require:photosynthesis")]);
    let engine = Engine::from_config(&config).unwrap();
    let thought = engine.improve(TEXT).await;

    assert!(is_valid_end(thought.stop_reason), "{:?}: {:?}", thought.stop_reason, thought.error);
    let failure = &thought.iterations[0].validations[0];
    assert!(!failure.passed, "the text lacks the required word");
    let revisions: Vec<_> = thought.calls().filter(|c| c.role == CallRole::Revise).collect();
    assert!(!revisions.is_empty(), "a failed hard validator asks for a revision");
    for call in &revisions {
        let user = &call.messages.last().unwrap().content;
        assert!(user.contains(&failure.message), "the reviser was not told: {user}");
        assert!(user.contains(TEXT), "the reviser gets the text");
        assert!(call.sampling.max_tokens <= Some(config.local.max_tokens));
    }
    for it in thought.iterations.iter().skip(1) {
        assert!(!it.text.trim().is_empty());
    }
    assert_audit_complete(&thought);
}

#[tokio::test]
async fn generate_writes_a_draft() {
    let _one = MODEL.lock().await;
    let config = config(&[
        ("critics.enabled", ""),
        ("validators.enabled", ""),
        ("engine.max_iterations", "1"),
    ]);
    let engine = Engine::from_config(&config).unwrap();
    let thought = engine.generate("Write one sentence about green tea.").await;

    assert!(is_valid_end(thought.stop_reason), "{:?}: {:?}", thought.stop_reason, thought.error);
    assert_eq!(thought.iterations.len(), 1);
    assert!(!thought.iterations[0].text.trim().is_empty());
    assert!(thought.calls().any(|c| c.role == CallRole::Draft));
    assert_audit_complete(&thought);
}

#[tokio::test]
async fn the_cli_improves_with_no_api_key_and_prints_the_audit_trail() {
    let _one = MODEL.lock().await;
    let model_file = config(&[]).local.model_file().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_redraft"))
        .args(["improve", "--json", "--max-iterations", "2", "--critic", "self_refine", TEXT])
        .current_dir(workdir())
        .env_remove("REDRAFT__PROVIDER__NAME")
        .env_remove("OPENAI_API_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(stderr.contains("using the local model"), "{stderr}");
    let json: Value = serde_json::from_slice(&out.stdout).expect("--json prints the thought");
    let reason = json["stop_reason"].as_str().unwrap();
    assert!(["accepted", "max_iterations", "plateau"].contains(&reason), "{reason}");
    let iterations = json["iterations"].as_array().unwrap();
    assert!(!iterations.is_empty() && iterations.len() <= 2);
    assert!(json["final_text"].as_str().is_some_and(|t| !t.trim().is_empty()));
    assert_eq!(json["settings"]["provider"]["kind"], "local");
    assert_eq!(json["settings"].get("local"), None, "no machine path is stored");

    let path = Command::new(env!("CARGO_BIN_EXE_redraft"))
        .args(["model", "path"])
        .current_dir(workdir())
        .output()
        .unwrap();
    assert!(path.status.success());
    assert_eq!(String::from_utf8_lossy(&path.stdout).trim(), model_file.display().to_string());
}

#[test]
fn a_missing_or_corrupt_model_says_to_fetch() {
    let _one = MODEL.blocking_lock();
    let dir = workdir().join("broken-models");
    std::fs::create_dir_all(&dir).unwrap();
    let settings = |path: PathBuf| LocalSettings {
        model_path: path,
        threads: 1,
        context_size: 512,
        max_tokens: 16,
        seed: 1,
    };
    let missing = LocalModel::load(settings(dir.join("nothing.gguf"))).unwrap_err();
    let truncated_default = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    std::fs::write(&truncated_default, b"GGUF but cut short").unwrap();
    let truncated = LocalModel::load(settings(truncated_default)).unwrap_err();
    let garbage = dir.join("garbage.gguf");
    std::fs::write(&garbage, vec![7u8; 4096]).unwrap();
    let unreadable = LocalModel::load(settings(garbage)).unwrap_err();
    for err in [missing, truncated, unreadable] {
        assert!(matches!(err, Error::Provider { .. }), "{err}");
        assert!(err.to_string().contains("redraft model fetch"), "{err}");
    }
}
