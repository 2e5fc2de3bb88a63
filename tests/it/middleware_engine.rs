//! The resilience stack as `Engine::from_config` builds it, against fault-injecting
//! fake servers: retries on 429 and 5xx with every attempt in the `Thought`, no retry
//! and no failover on auth or quota errors, and failover to a second server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::fake_openai::{FakeOpenAi, Reply};
use crate::support::fake_providers::anthropic;
use redraft::Engine;
use redraft::config::{Config, LoadOptions};
use redraft::model::ModelErrorKind;
use redraft::thought::{CallRecord, StopReason, Thought};
use std::path::PathBuf;

/// A config file holding `text`, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir()
            .join(format!("redraft-middleware-{}-{name}.toml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The engine for `server`: no critics, fast backoff, `extra` overrides, and an
/// optional config file.
fn engine(server: &FakeOpenAi, extra: &[(&str, &str)], file: Option<&TempFile>) -> Engine {
    let mut overrides: Vec<(String, String)> = vec![
        ("provider.name".into(), "openai".into()),
        ("provider.base_url".into(), server.base_url()),
        ("provider.model".into(), "primary-model".into()),
        ("critics.enabled".into(), String::new()),
        ("retry.initial_backoff_ms".into(), "1".into()),
        ("retry.max_backoff_ms".into(), "4".into()),
    ];
    overrides.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let config = Config::load_with(&LoadOptions {
        file: file.map(|f| f.0.clone()),
        overrides,
        // A fallback to anthropic needs its key to be built.
        env_vars: Some(vec![("ANTHROPIC_API_KEY".to_owned(), "sk-ant-test".to_owned())]),
        workdir: Some(std::env::temp_dir().join("redraft-middleware-no-such-dir")),
        ..LoadOptions::default()
    })
    .unwrap();
    Engine::from_config(&config).unwrap()
}

/// A config file with one fallback to `backup`.
fn fallback_to(backup: &FakeOpenAi, name: &str) -> TempFile {
    let text =
        format!("[[fallback]]\nbase_url = \"{}\"\nmodel = \"backup-model\"\n", backup.base_url());
    TempFile::new(name, &text)
}

fn calls(thought: &Thought) -> Vec<&CallRecord> {
    thought.calls().collect()
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_and_both_attempts_are_recorded() {
    let server = FakeOpenAi::start(|_, n| {
        if n == 0 { Reply::rate_limited("0.05") } else { Reply::text("A haiku.") }
    })
    .await;
    let thought = engine(&server, &[], None).generate("Write a haiku").await;

    assert_eq!(thought.stop_reason, Some(StopReason::Accepted), "{:?}", thought.error);
    assert_eq!(thought.final_text.as_deref(), Some("A haiku."));
    let records = calls(&thought);
    assert_eq!(records.len(), 2);
    let error = records[0].error.as_ref().unwrap();
    assert_eq!((error.kind, error.status), (ModelErrorKind::RateLimit, Some(429)));
    let error = &error.message;
    assert!(error.contains("rate_limit (HTTP 429)"), "{error}");
    assert_eq!(records[0].response, None);
    assert_eq!((records[0].attempt, records[1].attempt), (1, 2));
    assert_eq!(records[1].response.as_deref(), Some("A haiku."));
    assert_eq!(records[1].prompt_tokens, 12);
    assert_eq!(thought.usage.calls, server.request_count() as u64);
    assert_eq!(thought.usage.calls, 2);
}

#[tokio::test]
async fn server_errors_exhausting_the_retries_fail_the_run_with_every_attempt() {
    let server = FakeOpenAi::start(|_, _| Reply::error(500, "server_error", "boom")).await;
    let thought = engine(&server, &[], None).generate("Write a haiku").await;

    assert_eq!(thought.stop_reason, Some(StopReason::Failed));
    assert_eq!(server.request_count(), 6, "default: 6 attempts");
    let records = calls(&thought);
    assert_eq!(records.len(), 6);
    assert!(records.iter().all(|r| r.error.as_ref().unwrap().message.contains("HTTP 500")
        && r.error.as_ref().unwrap().status == Some(500)));
    assert_eq!(records.iter().map(|r| r.attempt).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(thought.usage.calls, 6);
}

#[tokio::test]
async fn retries_follow_the_configured_attempts() {
    let server = FakeOpenAi::start(|_, _| Reply::error(503, "overloaded", "busy")).await;
    let thought = engine(&server, &[("retry.max_attempts", "2")], None).generate("Hi").await;
    assert_eq!(thought.stop_reason, Some(StopReason::Failed));
    assert_eq!((server.request_count(), thought.usage.calls), (2, 2));
}

#[tokio::test]
async fn auth_and_quota_errors_are_neither_retried_nor_failed_over() {
    let replies = [
        Reply::error(401, "invalid_api_key", "Incorrect API key provided"),
        Reply::error(429, "insufficient_quota", "You exceeded your current quota"),
    ];
    for (i, reply) in replies.into_iter().enumerate() {
        let server = FakeOpenAi::start(move |_, _| reply.clone()).await;
        let backup = FakeOpenAi::start(|_, _| Reply::text("backup")).await;
        let file = fallback_to(&backup, &format!("no-failover-{i}"));
        let thought = engine(&server, &[], Some(&file)).generate("Hi").await;

        assert_eq!(thought.stop_reason, Some(StopReason::Failed));
        assert_eq!(server.request_count(), 1, "reply {i}: not retried");
        assert_eq!(backup.request_count(), 0, "reply {i}: no failover");
        assert_eq!(calls(&thought).len(), 1);
    }
}

#[tokio::test]
async fn five_hundreds_fail_over_to_the_second_server() {
    let primary = FakeOpenAi::start(|_, _| Reply::error(500, "server_error", "down")).await;
    let backup = FakeOpenAi::start(|_, _| Reply::text("From the backup.")).await;
    let file = fallback_to(&backup, "failover");
    let thought =
        engine(&primary, &[("retry.max_attempts", "3")], Some(&file)).generate("Hi").await;

    assert_eq!(thought.stop_reason, Some(StopReason::Accepted), "{:?}", thought.error);
    assert_eq!(thought.final_text.as_deref(), Some("From the backup."));
    assert_eq!((primary.request_count(), backup.request_count()), (3, 1));
    let records = calls(&thought);
    let models: Vec<&str> = records.iter().map(|r| r.model.as_str()).collect();
    assert_eq!(models, ["primary-model", "primary-model", "primary-model", "backup-model"]);
    assert!(records[..3].iter().all(|r| r.error.is_some()));
    assert_eq!(records[3].response.as_deref(), Some("From the backup."));
    assert_eq!(thought.usage.calls, 4);
}

#[tokio::test]
async fn a_malformed_body_is_not_retried() {
    let server =
        FakeOpenAi::start(|_, _| Reply::Raw { status: 200, body: "<html>oops".into() }).await;
    let thought = engine(&server, &[], None).generate("Hi").await;
    assert_eq!(thought.stop_reason, Some(StopReason::Failed));
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn a_slow_answer_times_out_and_is_retried() {
    let server = FakeOpenAi::start(|_, n| {
        let reply = Reply::text("In time.");
        if n == 0 { reply.delayed(std::time::Duration::from_secs(3)) } else { reply }
    })
    .await;
    let thought = engine(&server, &[("provider.timeout_secs", "1")], None).generate("Hi").await;

    assert_eq!(thought.stop_reason, Some(StopReason::Accepted), "{:?}", thought.error);
    assert_eq!(thought.final_text.as_deref(), Some("In time."));
    let records = calls(&thought);
    assert_eq!(records.len(), 2);
    let error = records[0].error.as_ref().unwrap();
    assert_eq!(error.kind, ModelErrorKind::Timeout);
    let error = &error.message;
    assert!(error.contains("timeout"), "{error}");
    assert_eq!(thought.usage.calls, server.request_count() as u64);
}

#[tokio::test]
async fn a_fallback_to_another_vendor_speaks_its_format() {
    let primary = FakeOpenAi::start(|_, _| Reply::error(503, "overloaded", "busy")).await;
    let backup =
        FakeOpenAi::start_any(|_, _, _| anthropic::message("From Claude.", "end_turn", 9, 3));
    let text = format!(
        "[[fallback]]\nname = \"anthropic\"\nbase_url = \"{}\"\nmodel = \"claude-test\"\n",
        backup.root_url()
    );
    let file = TempFile::new("other-vendor", &text);
    let thought =
        engine(&primary, &[("retry.max_attempts", "2")], Some(&file)).generate("Hi").await;

    assert_eq!(thought.stop_reason, Some(StopReason::Accepted), "{:?}", thought.error);
    assert_eq!(thought.final_text.as_deref(), Some("From Claude."));
    assert_eq!(backup.paths(), ["/v1/messages"]);
    let records = calls(&thought);
    let providers: Vec<&str> = records.iter().map(|r| r.provider.as_str()).collect();
    assert_eq!(providers, ["openai", "openai", "anthropic"]);
    assert_eq!(records[0].model, "primary-model");
    assert_eq!(backup.requests()[0]["model"], "claude-test");
    assert_eq!(thought.usage.calls, 3);
}
