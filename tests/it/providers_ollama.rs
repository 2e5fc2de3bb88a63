//! The Ollama native provider against a fake server speaking `/api/chat`: the request
//! on the wire, `format` for structured output, the `ollama pull` hint, and an improve
//! run end to end from the config. What every dialect does alike is in
//! `provider_conformance.rs`.
#![allow(clippy::unwrap_used)]

use crate::support::fake_openai::FakeOpenAi;
use crate::support::fake_providers::{ollama, verdict};
use redraft::Engine;
use redraft::config::{Config, LoadOptions};
use redraft::critic::VerdictJson;
use redraft::model::ollama::{Ollama, OllamaSettings};
use redraft::model::structured::complete_json;
use redraft::model::transport::{Transport, TransportSettings};
use redraft::model::{
    CallLog, CallTag, FinishReason, LanguageModel, Message, ModelErrorKind, Request, Sampling,
    TokenUsage,
};
use redraft::thought::{CallRole, StopReason};
use serde_json::json;
use std::time::Duration;

fn model(server: &FakeOpenAi) -> Ollama {
    let transport = Transport::new(TransportSettings::default()).unwrap();
    Ollama::new(
        transport,
        OllamaSettings { base_url: server.root_url(), model: "llama3.2".into(), api_key: None },
    )
    .with_idle_timeout(Duration::from_millis(500))
}

fn request() -> Request {
    Request {
        messages: vec![Message::system("You improve texts."), Message::user("Make it better: hi")],
        sampling: Sampling { temperature: Some(0.5), max_tokens: Some(300) },
        ..Request::default()
    }
}

#[tokio::test]
async fn complete_sends_the_native_dialect_and_reads_the_answer() {
    let server = FakeOpenAi::start_any(|_, _, _| ollama::answer("Hello there.", "stop", 26, 4));
    let c = model(&server).complete(&request()).await.unwrap();
    assert_eq!(c.text, "Hello there.");
    assert_eq!(c.finish_reason, FinishReason::Stop);
    assert_eq!(c.usage, TokenUsage { prompt_tokens: 26, completion_tokens: 4 });
    assert_eq!(c.model, "llama3.2");
    assert_eq!(c.provider, "ollama");
    assert_eq!(server.paths(), ["/api/chat"]);
    assert_eq!(server.header(0, "authorization"), None);
    let body = &server.requests()[0];
    assert_eq!(body["stream"], false);
    assert_eq!(body["options"], json!({ "temperature": 0.5, "num_predict": 300 }));
    assert_eq!(body["messages"][0], json!({ "role": "system", "content": "You improve texts." }));
    assert!(body.get("format").is_none());
}

#[tokio::test]
async fn structured_output_sends_the_schema_as_format() {
    let server = FakeOpenAi::start_any(|_, _, _| {
        ollama::answer(&verdict(true, "Add a number.").to_string(), "stop", 40, 20)
    });
    let log = CallLog::default();
    let tag = CallTag::by(CallRole::Critique, "reflexion");
    let schema = redraft::critic::verdict_schema();
    let v: VerdictJson =
        complete_json(&model(&server), request(), "verdict", &schema, &tag, &log).await.unwrap();
    assert!(v.needs_improvement);
    assert_eq!(server.requests()[0]["format"], schema);
}

#[tokio::test]
async fn a_model_not_pulled_is_an_invalid_request_saying_how_to_pull_it() {
    let server = FakeOpenAi::start_any(|_, _, _| {
        ollama::error(404, "model \"llama3.2\" not found, try pulling it first", &[])
    });
    let err = model(&server).complete(&request()).await.unwrap_err();
    assert_eq!((err.kind, err.status), (ModelErrorKind::InvalidRequest, Some(404)));
    assert!(err.message.contains("ollama pull llama3.2"), "{}", err.message);
}

#[tokio::test]
async fn improve_end_to_end_from_the_config() {
    let server = FakeOpenAi::start_any(|path, body, _| {
        assert_eq!(path, "/api/chat");
        let last = body["messages"].as_array().unwrap().last().unwrap()["content"].to_string();
        if body["format"].is_object() {
            let v = verdict(!last.contains("much better"), "Be concrete.");
            ollama::answer(&v.to_string(), "stop", 40, 20)
        } else {
            ollama::answer("A much better text.", "stop", 30, 6)
        }
    });
    let opts = LoadOptions {
        overrides: vec![
            ("provider.name".into(), "ollama".into()),
            ("provider.base_url".into(), server.root_url()),
            ("critics.enabled".into(), "reflexion".into()),
        ],
        env_vars: Some(vec![]),
        workdir: Some(std::env::temp_dir().join("redraft-providers-ollama-none")),
        ..LoadOptions::default()
    };
    let config = Config::load_with(&opts).unwrap();
    assert_eq!(config.provider.model, "llama3.2");
    assert!(config.provider.api_key.is_none());
    let thought = Engine::from_config(&config).unwrap().improve("A text.").await;
    assert_eq!(thought.stop_reason, Some(StopReason::Accepted), "{:?}", thought.iterations);
    assert_eq!(thought.final_text.as_deref(), Some("A much better text."));
    assert_eq!(thought.usage.calls, server.request_count() as u64);
    assert_eq!(server.request_count(), 3);
}
