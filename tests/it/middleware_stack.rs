//! The assembled resilience stack against fake servers: a stream broken mid-way is
//! retried without leaking text, the in-flight limit holds on the server, and the
//! resilience sections load, layer and print (redacted) like the rest of the config.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::fake_openai::{FakeOpenAi, Reply};
use redraft::config::{Config, LoadOptions};
use redraft::model::call::call_streaming;
use redraft::model::transport::Transport;
use redraft::model::{CallLog, CallTag, LanguageModel, Message, Request};
use redraft::thought::CallRole;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

fn load(overrides: &[(&str, &str)], env: &[(&str, &str)]) -> Config {
    Config::load_with(&LoadOptions {
        // The built-in default is the local model; these tests talk to HTTP servers.
        overrides: [("provider.name", "openai")]
            .iter()
            .chain(overrides)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        env_vars: Some(env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
        workdir: Some(std::env::temp_dir().join("redraft-middleware-no-such-dir")),
        ..LoadOptions::default()
    })
    .unwrap()
}

fn stack(server: &FakeOpenAi, extra: &[(&str, &str)]) -> Arc<dyn LanguageModel> {
    let base = server.base_url();
    let mut overrides = vec![
        ("provider.base_url", base.as_str()),
        ("retry.initial_backoff_ms", "1"),
        ("retry.max_backoff_ms", "4"),
    ];
    overrides.extend_from_slice(extra);
    let config = load(&overrides, &[]);
    redraft::assemble::uncached(&config, &Transport::new(Default::default()).unwrap()).unwrap()
}

fn request() -> Request {
    Request { messages: vec![Message::user("Say hello")], ..Request::default() }
}

fn sse(parts: &[&str], done: bool) -> Vec<Vec<u8>> {
    let chunk = |content: &str, finish: Option<&str>| {
        json!({"id": "c", "object": "chat.completion.chunk", "model": "m",
               "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
    };
    let mut events: Vec<String> = parts.iter().map(|p| chunk(p, None).to_string()).collect();
    if done {
        events.push(chunk("", Some("stop")).to_string());
        events.push("[DONE]".into());
    }
    events.iter().map(|e| format!("data: {e}\n\n").into_bytes()).collect()
}

#[tokio::test]
async fn a_stream_broken_mid_way_is_retried_and_leaks_no_text() {
    let server = FakeOpenAi::start(|_, n| Reply::Stream {
        content_type: "text/event-stream".into(),
        chunks: if n == 0 {
            sse(&["BROKEN ", "half"], false)
        } else {
            sse(&["Hello, ", "world."], true)
        },
        pause: Duration::from_millis(5),
        drop_after: n == 0,
    })
    .await;
    let model = stack(&server, &[]);
    let log = CallLog::new();
    let mut shown = String::new();
    let mut restarts = 0;
    let tag = CallTag::new(CallRole::Draft);
    let c = call_streaming(&*model, &request(), &tag, &log, &mut |d| match d {
        Some(text) => shown.push_str(text),
        None => {
            restarts += 1;
            shown.clear();
        }
    })
    .await
    .unwrap();

    assert_eq!(c.text, "Hello, world.");
    assert_eq!(shown, "Hello, world.");
    assert_eq!(restarts, 1);
    assert_eq!(server.request_count(), 2);
    let records = log.take();
    assert_eq!(records.len(), 2);
    assert!(records[0].error.as_ref().unwrap().message.contains("connection"), "{records:?}");
    assert_eq!(records[1].response.as_deref(), Some("Hello, world."));
}

#[tokio::test]
async fn the_in_flight_limit_holds_on_the_server() {
    let server =
        FakeOpenAi::start(|_, _| Reply::text("ok").delayed(Duration::from_millis(30))).await;
    let model = stack(&server, &[("concurrency.max_in_flight", "3")]);
    let calls = (0..12).map(|_| {
        let model = Arc::clone(&model);
        tokio::spawn(async move { model.complete(&request()).await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    assert_eq!(server.request_count(), 12);
    let peak = server.peak_in_flight();
    assert!((2..=3).contains(&peak), "peak in flight {peak}");
}

#[tokio::test]
async fn without_a_limit_the_calls_overlap() {
    // The counterpart of the test above: the gauge does see concurrency.
    let server =
        FakeOpenAi::start(|_, _| Reply::text("ok").delayed(Duration::from_millis(100))).await;
    let model = stack(&server, &[]);
    let calls = (0..8).map(|_| {
        let model = Arc::clone(&model);
        tokio::spawn(async move { model.complete(&request()).await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    assert!(server.peak_in_flight() > 3, "peak {}", server.peak_in_flight());
}

#[test]
fn the_defaults_retry_and_limit_nothing() {
    let config = load(&[], &[]);
    assert_eq!(config.retry.max_attempts, 6);
    assert_eq!(config.retry.initial_backoff, Duration::from_millis(500));
    assert_eq!(config.retry.max_total_backoff, Duration::from_secs(60));
    assert!(config.rate_limit.is_unlimited());
    assert_eq!(config.concurrency.max_in_flight, None);
    assert!(config.fallback.is_empty());
}

#[test]
fn sections_come_from_the_environment_and_the_command_line() {
    let config = load(
        &[("rate_limit.requests_per_minute", "600")],
        &[("REDRAFT__RETRY__MAX_ATTEMPTS", "2"), ("REDRAFT__CONCURRENCY__MAX_IN_FLIGHT", "4")],
    );
    assert_eq!(config.retry.max_attempts, 2);
    assert_eq!(config.rate_limit.requests_per_minute, Some(600));
    assert_eq!(config.concurrency.max_in_flight, Some(4));
    let err = Config::load_with(&LoadOptions {
        overrides: vec![("retry.max_attempts".into(), "0".into())],
        env_vars: Some(vec![]),
        ..LoadOptions::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("retry.max_attempts"), "{err}");
}

#[test]
fn a_fallback_file_loads_and_prints_without_its_key() {
    let path = std::env::temp_dir()
        .join(format!("redraft-middleware-{}-fallback.toml", std::process::id()));
    std::fs::write(
        &path,
        "[provider]\nname = \"openai\"\n\n[[fallback]]\nmodel = \"gpt-4o\"\n\n[[fallback]]\nname = \"openai\"\n\
         base_url = \"https://api.groq.com/openai/v1/\"\nmodel = \"llama\"\n\
         api_key_env = \"GROQ_API_KEY\"\ntimeout_secs = 30\n",
    )
    .unwrap();
    let loaded = Config::load_with(&LoadOptions {
        file: Some(path.clone()),
        env_vars: Some(vec![("GROQ_API_KEY".into(), "gsk-secret-998877".into())]),
        ..LoadOptions::default()
    });
    std::fs::remove_file(&path).unwrap();
    let config = loaded.unwrap();
    assert_eq!(config.fallback.len(), 2);
    assert_eq!(config.fallback[0].model, "gpt-4o");
    assert_eq!(config.fallback[0].base_url, config.provider.base_url);
    assert_eq!(config.fallback[1].base_url, "https://api.groq.com/openai/v1");
    assert_eq!(config.fallback[1].timeout, Duration::from_secs(30));
    assert!(config.fallback[1].api_key.is_some());

    let shown = config.redacted();
    assert_eq!(shown["fallback"][1]["api_key"], "[redacted]");
    assert_eq!(shown["retry"]["max_attempts"], 6);
    assert_eq!(shown["rate_limit"]["requests_per_minute"], 0);
    let text = shown.to_string();
    assert!(!text.contains("gsk-secret-998877"));
    assert!(!format!("{config:?}").contains("gsk-secret-998877"));

    // The stack builds a chain over both.
    let model =
        redraft::assemble::uncached(&config, &Transport::new(Default::default()).unwrap()).unwrap();
    assert_eq!(model.model(), "gpt-4o-mini");
}

#[test]
fn an_unknown_fallback_provider_is_rejected_naming_its_table() {
    let path =
        std::env::temp_dir().join(format!("redraft-middleware-{}-other.toml", std::process::id()));
    std::fs::write(&path, "[[fallback]]\nname = \"acme\"\nmodel = \"x\"\n").unwrap();
    let err = Config::load_with(&LoadOptions {
        file: Some(path.clone()),
        env_vars: Some(vec![]),
        ..LoadOptions::default()
    })
    .unwrap_err()
    .to_string();
    std::fs::remove_file(&path).unwrap();
    assert!(err.contains("fallback[0].name"), "{err}");
}
