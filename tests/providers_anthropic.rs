//! The Anthropic provider against a fake server speaking the Messages API on
//! `/v1/messages`: the request on the wire, tool use for structured output, streaming
//! split anywhere, typed errors, and an improve run end to end from the config.
#![allow(clippy::unwrap_used)]

mod support;

use redraft::Engine;
use redraft::config::{Config, LoadOptions};
use redraft::critic::VerdictJson;
use redraft::model::anthropic::{Anthropic, AnthropicSettings};
use redraft::model::stream::collect;
use redraft::model::structured::complete_json;
use redraft::model::transport::{Transport, TransportSettings};
use redraft::model::{
    CallLog, CallTag, FinishReason, LanguageModel, Message, ModelErrorKind, Request, Sampling,
    TokenUsage,
};
use redraft::thought::{CallRole, StopReason};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::time::Duration;
use support::fake_openai::{FakeOpenAi, Reply};
use support::fake_providers::{anthropic, split_every, verdict};

const KEY: &str = "sk-ant-test-9f8e7d6c";

fn model(server: &FakeOpenAi) -> Anthropic {
    let transport = Transport::new(TransportSettings::default()).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-custom", HeaderValue::from_static("yes"));
    Anthropic::new(
        transport,
        AnthropicSettings {
            base_url: format!("{}/", server.root_url()),
            model: "claude-3-5-haiku-latest".into(),
            api_key: Some(KEY.into()),
        },
    )
    .with_headers(headers)
    .with_idle_timeout(Duration::from_millis(500))
}

fn request() -> Request {
    Request {
        messages: vec![Message::system("You improve texts."), Message::user("Make it better: hi")],
        sampling: Sampling { temperature: Some(0.5), max_tokens: Some(300) },
        ..Request::default()
    }
}

fn verdict_schema() -> Value {
    redraft::critic::verdict_schema()
}

#[tokio::test]
async fn complete_sends_the_messages_dialect_and_reads_the_answer() {
    let server =
        FakeOpenAi::start_any(|_, _, _| anthropic::message("Hello there.", "end_turn", 21, 4));
    let c = model(&server).complete(&request()).await.unwrap();
    assert_eq!(c.text, "Hello there.");
    assert_eq!(c.finish_reason, FinishReason::Stop);
    assert_eq!(c.usage, TokenUsage { prompt_tokens: 21, completion_tokens: 4 });
    assert_eq!(c.model, "claude-3-5-haiku-20241022");
    assert_eq!(c.provider, "anthropic");

    assert_eq!(server.paths(), ["/v1/messages"]);
    assert_eq!(server.header(0, "x-api-key").as_deref(), Some(KEY));
    assert_eq!(server.header(0, "anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(server.header(0, "x-custom").as_deref(), Some("yes"));
    assert_eq!(server.header(0, "authorization"), None);
    let body = &server.requests()[0];
    assert_eq!(body["system"], "You improve texts.");
    assert_eq!(body["messages"], json!([{ "role": "user", "content": "Make it better: hi" }]));
    assert_eq!(body["max_tokens"], 300);
    assert_eq!(body["temperature"], json!(0.5));
    assert_eq!(body["model"], "claude-3-5-haiku-latest");
}

#[tokio::test]
async fn max_tokens_answers_are_length() {
    let server =
        FakeOpenAi::start_any(|_, _, _| anthropic::message("Once upon a", "max_tokens", 5, 3));
    let c = model(&server).complete(&request()).await.unwrap();
    assert_eq!(c.finish_reason, FinishReason::Length);
}

#[tokio::test]
async fn structured_output_uses_a_forced_tool() {
    let server = FakeOpenAi::start_any(|_, _, _| {
        anthropic::tool_use("verdict", &verdict(true, "Add an example."))
    });
    let log = CallLog::default();
    let tag = CallTag::by(CallRole::Critique, "reflexion");
    let v: VerdictJson =
        complete_json(&model(&server), request(), "verdict", &verdict_schema(), &tag, &log)
            .await
            .unwrap();
    assert!(v.needs_improvement);
    assert_eq!(v.feedback, "Add an example.");
    let body = &server.requests()[0];
    assert_eq!(body["tools"][0]["name"], "verdict");
    assert_eq!(body["tools"][0]["input_schema"], verdict_schema());
    assert_eq!(body["tool_choice"], json!({ "type": "tool", "name": "verdict" }));
    assert_eq!(server.request_count(), 1);
}

#[tokio::test]
async fn streams_split_anywhere_including_mid_character() {
    let bytes = anthropic::text_stream(&["Héllo", " ☀ ", "wörld"], "end_turn");
    for size in [1, 5, 7, 13, 64] {
        let chunked = bytes.clone();
        let server = FakeOpenAi::start_any(move |_, _, _| {
            split_every("text/event-stream", &chunked, size, false)
        });
        let mut shown = String::new();
        let stream = model(&server).stream(&request()).await.unwrap();
        let c =
            collect(stream, "anthropic", &mut |d| shown.push_str(d.unwrap_or(""))).await.unwrap();
        assert_eq!(c.text, "Héllo ☀ wörld", "split every {size} bytes");
        assert_eq!(shown, c.text);
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 25, completion_tokens: 15 });
        assert_eq!(server.requests()[0]["stream"], true);
    }
}

#[tokio::test]
async fn a_streamed_tool_input_is_the_answer() {
    let bytes = anthropic::tool_stream("verdict", &["{\"ok\": ", "tr", "ue, \"why\": \"é\"}"]);
    let server =
        FakeOpenAi::start_any(move |_, _, _| split_every("text/event-stream", &bytes, 9, false));
    let stream = model(&server).stream(&request()).await.unwrap();
    let c = collect(stream, "anthropic", &mut |_| {}).await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&c.text).unwrap(), json!({ "ok": true, "why": "é" }));
    assert_eq!(c.usage.completion_tokens, 89);
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_is_a_connection_error() {
    let bytes = anthropic::text_stream(&["Hel", "lo"], "end_turn");
    let cut = bytes[..bytes.len() / 2].to_vec();
    let server =
        FakeOpenAi::start_any(move |_, _, _| split_every("text/event-stream", &cut, 16, true));
    let stream = model(&server).stream(&request()).await.unwrap();
    let err = collect(stream, "anthropic", &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Connection, "{err}");
    assert!(err.kind.is_retryable());
}

#[tokio::test]
async fn an_error_event_mid_stream_is_typed() {
    let start = anthropic::text_stream(&["Hel"], "end_turn");
    let text = String::from_utf8(start).unwrap();
    // Everything up to (and including) the first delta, then an error event.
    let cut = text.find("event: content_block_stop").unwrap();
    let mut bytes = text.as_bytes()[..cut].to_vec();
    bytes.extend_from_slice(b"event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n");
    let server =
        FakeOpenAi::start_any(move |_, _, _| split_every("text/event-stream", &bytes, 10, false));
    let stream = model(&server).stream(&request()).await.unwrap();
    let err = collect(stream, "anthropic", &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Server);
    assert_eq!(err.message, "Overloaded");
}

#[tokio::test]
async fn rate_limits_carry_retry_after() {
    let server = FakeOpenAi::start_any(|_, _, _| {
        anthropic::error(
            429,
            "rate_limit_error",
            "Number of request tokens has exceeded your per-minute rate limit",
            &[("retry-after", "0.05")],
        )
    });
    let err = model(&server).complete(&request()).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::RateLimit);
    assert_eq!(err.status, Some(429));
    assert_eq!(err.retry_after, Some(Duration::from_millis(50)));
    // The same when streaming.
    let err = model(&server).stream(&request()).await.err().unwrap();
    assert_eq!(err.kind, ModelErrorKind::RateLimit);
    assert_eq!(err.retry_after, Some(Duration::from_millis(50)));
}

#[tokio::test]
async fn auth_server_and_malformed_answers() {
    let server = FakeOpenAi::start_any(|_, _, n| match n {
        0 => {
            anthropic::error(401, "authentication_error", &format!("invalid x-api-key {KEY}"), &[])
        }
        1 => anthropic::error(500, "api_error", "Internal server error", &[]),
        2 => anthropic::error(529, "overloaded_error", "Overloaded", &[]),
        _ => Reply::Raw { status: 200, body: "<html>not json</html>".into() },
    });
    let m = model(&server);
    let err = m.complete(&request()).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Auth);
    assert!(!err.to_string().contains(KEY), "{err}");
    assert!(!format!("{err:?}").contains(KEY));
    let err = m.complete(&request()).await.unwrap_err();
    assert_eq!((err.kind, err.status), (ModelErrorKind::Server, Some(500)));
    let err = m.complete(&request()).await.unwrap_err();
    assert_eq!((err.kind, err.status), (ModelErrorKind::Server, Some(529)));
    let err = m.complete(&request()).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Malformed);
    assert!(err.message.contains("<html>not json</html>"), "{}", err.message);
}

/// `improve` from a config naming the provider: the critic's verdicts arrive by tool
/// use, the revision as text, and every request is counted.
#[tokio::test]
async fn improve_end_to_end_from_the_config() {
    let server = FakeOpenAi::start_any(|path, body, _| {
        assert_eq!(path, "/v1/messages");
        let last = body["messages"].as_array().unwrap().last().unwrap()["content"].to_string();
        if body.get("tools").is_some() {
            let name = body["tools"][0]["name"].as_str().unwrap();
            anthropic::tool_use(name, &verdict(!last.contains("much better"), "Be concrete."))
        } else {
            anthropic::message("A much better text.", "end_turn", 30, 6)
        }
    });
    let opts = LoadOptions {
        overrides: vec![
            ("provider.name".into(), "anthropic".into()),
            ("provider.base_url".into(), server.root_url()),
            ("critics.enabled".into(), "reflexion".into()),
        ],
        env_vars: Some(vec![("ANTHROPIC_API_KEY".into(), KEY.into())]),
        workdir: Some(std::env::temp_dir().join("redraft-providers-anthropic-none")),
        ..LoadOptions::default()
    };
    let config = Config::load_with(&opts).unwrap();
    assert_eq!(config.provider.model, "claude-3-5-haiku-latest");
    assert_eq!(config.provider.api_key_env, "ANTHROPIC_API_KEY");
    let thought = Engine::from_config(&config).unwrap().improve("A text.").await;
    assert_eq!(thought.stop_reason, Some(StopReason::Accepted), "{:?}", thought.iterations);
    assert_eq!(thought.final_text.as_deref(), Some("A much better text."));
    assert_eq!(thought.usage.calls, server.request_count() as u64);
    assert_eq!(server.request_count(), 3);
    assert!(server.headers().iter().all(|h| h.iter().any(|(k, v)| k == "x-api-key" && v == KEY)));
}
