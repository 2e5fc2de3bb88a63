//! The Gemini provider against a fake server speaking `generateContent` and
//! `streamGenerateContent?alt=sse` under `/v1beta/models/…`: the request on the wire,
//! `responseSchema`, blocked prompts, a stream without a finish reason, `RetryInfo`, the
//! 503, and an improve run end to end from the config. What every dialect does alike is
//! in `provider_conformance.rs`.
#![allow(clippy::unwrap_used)]

use crate::support::fake_openai::{FakeOpenAi, Reply};
use crate::support::fake_providers::{gemini, split_every, verdict};
use redraft::Engine;
use redraft::config::{Config, LoadOptions};
use redraft::critic::VerdictJson;
use redraft::model::gemini::{Gemini, GeminiSettings};
use redraft::model::stream::collect;
use redraft::model::structured::complete_json;
use redraft::model::transport::{Transport, TransportSettings};
use redraft::model::{
    CallLog, CallTag, FinishReason, LanguageModel, Message, ModelErrorKind, Request, Sampling,
    TokenUsage,
};
use redraft::thought::{CallRole, StopReason};
use serde_json::{Value, json};
use std::time::Duration;

const KEY: &str = "AIzaSy-test-0123456789";

fn model(server: &FakeOpenAi) -> Gemini {
    let transport = Transport::new(TransportSettings::default()).unwrap();
    Gemini::new(
        transport,
        GeminiSettings {
            base_url: format!("{}/v1beta", server.root_url()),
            model: "gemini-2.0-flash".into(),
            api_key: Some(KEY.into()),
        },
    )
    .with_idle_timeout(Duration::from_millis(500))
}

fn request() -> Request {
    Request {
        messages: vec![
            Message::system("You improve texts."),
            Message::user("Make it better: hi"),
            Message::assistant("Hi!"),
            Message::user("Again"),
        ],
        sampling: Sampling { temperature: Some(0.5), max_tokens: Some(300) },
        ..Request::default()
    }
}

const GENERATE: &str = "/v1beta/models/gemini-2.0-flash:generateContent";

#[tokio::test]
async fn complete_sends_contents_and_reads_the_answer() {
    let server = FakeOpenAi::start_any(|_, _, _| gemini::answer("Hello there.", "STOP", 12, 4));
    let c = model(&server).complete(&request()).await.unwrap();
    assert_eq!(c.text, "Hello there.");
    assert_eq!(c.finish_reason, FinishReason::Stop);
    assert_eq!(c.usage, TokenUsage { prompt_tokens: 12, completion_tokens: 4 });
    assert_eq!(c.model, "gemini-2.0-flash");
    assert_eq!(c.provider, "gemini");

    assert_eq!(server.paths(), [GENERATE]);
    assert_eq!(server.header(0, "x-goog-api-key").as_deref(), Some(KEY));
    assert!(!server.paths()[0].contains("key="));
    let body = &server.requests()[0];
    assert_eq!(body["systemInstruction"], json!({ "parts": [{ "text": "You improve texts." }] }));
    assert_eq!(
        body["contents"],
        json!([
            { "role": "user", "parts": [{ "text": "Make it better: hi" }] },
            { "role": "model", "parts": [{ "text": "Hi!" }] },
            { "role": "user", "parts": [{ "text": "Again" }] }
        ])
    );
    assert_eq!(body["generationConfig"], json!({ "temperature": 0.5, "maxOutputTokens": 300 }));
}

#[tokio::test]
async fn blocked_prompts_are_content_filtered() {
    let server = FakeOpenAi::start_any(|_, _, _| Reply::Json {
        status: 200,
        body: json!({ "promptFeedback": { "blockReason": "SAFETY" },
                      "usageMetadata": { "promptTokenCount": 7, "totalTokenCount": 7 } }),
    });
    let blocked = model(&server).complete(&request()).await.unwrap();
    assert_eq!((blocked.text.as_str(), blocked.finish_reason), ("", FinishReason::ContentFilter));
    assert_eq!(blocked.usage.prompt_tokens, 7);
}

#[tokio::test]
async fn structured_output_uses_a_response_schema() {
    let server = FakeOpenAi::start_any(|_, _, _| {
        gemini::answer(&verdict(false, "Clear.").to_string(), "STOP", 40, 20)
    });
    let log = CallLog::default();
    let tag = CallTag::by(CallRole::Critique, "reflexion");
    let schema = redraft::critic::verdict_schema();
    let v: VerdictJson =
        complete_json(&model(&server), request(), "verdict", &schema, &tag, &log).await.unwrap();
    assert!(!v.needs_improvement);
    let config = &server.requests()[0]["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(config["responseSchema"]["type"], "OBJECT");
    assert_eq!(config["responseSchema"]["properties"]["confidence"]["type"], "NUMBER");
    assert!(config["responseSchema"].get("additionalProperties").is_none());
}

#[tokio::test]
async fn a_stream_that_ends_without_a_finish_reason_is_cut_off() {
    let bytes = gemini::stream(&["Hel", "lo"], "STOP");
    let text = String::from_utf8(bytes).unwrap();
    let first = text.split("\r\n\r\n").next().unwrap().to_owned() + "\r\n\r\n";
    let server = FakeOpenAi::start_any(move |_, _, _| {
        split_every("text/event-stream", first.as_bytes(), 64, false)
    });
    let stream = model(&server).stream(&request()).await.unwrap();
    let err = collect(stream, "gemini", &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Connection, "{err}");
}

#[tokio::test]
async fn rate_limits_carry_the_retry_delay() {
    let details = json!([
        { "@type": "type.googleapis.com/google.rpc.QuotaFailure",
          "violations": [{ "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "quotaValue": "15" }] },
        { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.05s" }
    ]);
    let server = FakeOpenAi::start_any(move |_, _, _| {
        gemini::error(
            429,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
            details.clone(),
            &[],
        )
    });
    let err = model(&server).complete(&request()).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::RateLimit);
    assert_eq!(err.status, Some(429));
    assert_eq!(err.retry_after, Some(Duration::from_millis(50)));
    let err = model(&server).stream(&request()).await.err().unwrap();
    assert_eq!(err.kind, ModelErrorKind::RateLimit);
}

/// Gemini's overload status (the shared 5xx cases are in `provider_conformance`).
#[tokio::test]
async fn an_unavailable_503_is_a_server_error() {
    let server = FakeOpenAi::start_any(|_, _, _| {
        gemini::error(503, "UNAVAILABLE", "The model is overloaded.", json!([]), &[])
    });
    let err = model(&server).complete(&request()).await.unwrap_err();
    assert_eq!((err.kind, err.status), (ModelErrorKind::Server, Some(503)));
}

#[tokio::test]
async fn improve_end_to_end_from_the_config() {
    let server = FakeOpenAi::start_any(|path, body, _| {
        assert_eq!(path, GENERATE);
        let last = body["contents"].as_array().unwrap().last().unwrap().to_string();
        if body["generationConfig"].get("responseSchema").is_some() {
            let v: Value = verdict(!last.contains("much better"), "Be concrete.");
            gemini::answer(&v.to_string(), "STOP", 40, 20)
        } else {
            gemini::answer("A much better text.", "STOP", 30, 6)
        }
    });
    let opts = LoadOptions {
        overrides: vec![
            ("provider.name".into(), "gemini".into()),
            ("provider.base_url".into(), format!("{}/v1beta", server.root_url())),
            ("critics.enabled".into(), "reflexion".into()),
        ],
        env_vars: Some(vec![("GEMINI_API_KEY".into(), KEY.into())]),
        workdir: Some(std::env::temp_dir().join("redraft-providers-gemini-none")),
        ..LoadOptions::default()
    };
    let config = Config::load_with(&opts).unwrap();
    assert_eq!(config.provider.model, "gemini-2.0-flash");
    let thought = Engine::from_config(&config).unwrap().improve("A text.").await;
    assert_eq!(thought.stop_reason, Some(StopReason::Accepted), "{:?}", thought.iterations);
    assert_eq!(thought.final_text.as_deref(), Some("A much better text."));
    assert_eq!(thought.usage.calls, server.request_count() as u64);
    assert_eq!(server.request_count(), 3);
    assert_eq!(server.header(0, "x-goog-api-key").as_deref(), Some(KEY));
}
