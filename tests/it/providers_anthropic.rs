//! The Anthropic provider against a fake server speaking the Messages API on
//! `/v1/messages`: the request on the wire, tool use for structured output (whole and
//! streamed), the 529 overload, and an improve run end to end from the config. What
//! every dialect does alike is in `provider_conformance.rs`.
#![allow(clippy::unwrap_used)]

use crate::support::fake_openai::FakeOpenAi;
use crate::support::fake_providers::{anthropic, split_every, verdict};
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
async fn a_streamed_tool_input_is_the_answer() {
    let bytes = anthropic::tool_stream("verdict", &["{\"ok\": ", "tr", "ue, \"why\": \"é\"}"]);
    let server =
        FakeOpenAi::start_any(move |_, _, _| split_every("text/event-stream", &bytes, 9, false));
    let stream = model(&server).stream(&request()).await.unwrap();
    let c = collect(stream, "anthropic", &mut |_| {}).await.unwrap();
    assert_eq!(serde_json::from_str::<Value>(&c.text).unwrap(), json!({ "ok": true, "why": "é" }));
    assert_eq!(c.usage.completion_tokens, 89);
}

/// Anthropic's own overload status (the shared 5xx cases are in `provider_conformance`).
#[tokio::test]
async fn an_overloaded_529_is_a_server_error() {
    let server = FakeOpenAi::start_any(|_, _, _| {
        anthropic::error(529, "overloaded_error", "Overloaded", &[])
    });
    let err = model(&server).complete(&request()).await.unwrap_err();
    assert_eq!((err.kind, err.status), (ModelErrorKind::Server, Some(529)));
    assert!(err.kind.is_retryable());
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
