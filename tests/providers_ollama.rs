//! The Ollama native provider against a fake server speaking `/api/chat`: the request
//! on the wire, `format` for structured output, NDJSON streaming split anywhere, typed
//! errors, and an improve run end to end from the config.
#![allow(clippy::unwrap_used)]

mod support;

use redraft::Engine;
use redraft::config::{Config, LoadOptions};
use redraft::critic::VerdictJson;
use redraft::model::ollama::{Ollama, OllamaSettings};
use redraft::model::stream::collect;
use redraft::model::structured::complete_json;
use redraft::model::transport::{Transport, TransportSettings};
use redraft::model::{
    CallLog, CallTag, FinishReason, LanguageModel, Message, ModelErrorKind, Request, Sampling,
    TokenUsage,
};
use redraft::thought::{CallRole, StopReason};
use serde_json::json;
use std::time::Duration;
use support::fake_openai::{FakeOpenAi, Reply};
use support::fake_providers::{ollama, split_every, verdict};

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
async fn length_answers_are_length() {
    let server = FakeOpenAi::start_any(|_, _, _| ollama::answer("Once upon", "length", 5, 3));
    let c = model(&server).complete(&request()).await.unwrap();
    assert_eq!(c.finish_reason, FinishReason::Length);
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
async fn an_old_server_rejecting_the_schema_gets_format_json() {
    let server = FakeOpenAi::start_any(|_, body, _| {
        if body["format"].is_object() {
            ollama::error(
                400,
                "json: cannot unmarshal object into Go struct field ChatRequest.format of type string",
                &[],
            )
        } else {
            ollama::answer(&verdict(false, "Fine.").to_string(), "stop", 40, 20)
        }
    });
    let m = model(&server);
    let log = CallLog::default();
    let tag = CallTag::by(CallRole::Critique, "reflexion");
    let schema = redraft::critic::verdict_schema();
    let v: VerdictJson =
        complete_json(&m, request(), "verdict", &schema, &tag, &log).await.unwrap();
    assert!(!v.needs_improvement);
    assert!(!m.supports_json_schema());
    assert_eq!(server.requests()[1]["format"], "json");
}

#[tokio::test]
async fn ndjson_streams_split_anywhere_including_mid_character() {
    let bytes = ollama::stream(&["Héllo", " ☀ ", "wörld"], "stop");
    for size in [1, 5, 7, 13, 64] {
        let chunked = bytes.clone();
        let server = FakeOpenAi::start_any(move |_, _, _| {
            split_every("application/x-ndjson", &chunked, size, false)
        });
        let mut shown = String::new();
        let stream = model(&server).stream(&request()).await.unwrap();
        let c = collect(stream, "ollama", &mut |d| shown.push_str(d.unwrap_or(""))).await.unwrap();
        assert_eq!(c.text, "Héllo ☀ wörld", "split every {size} bytes");
        assert_eq!(shown, c.text);
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 26, completion_tokens: 4 });
        assert_eq!(server.requests()[0]["stream"], true);
    }
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_is_a_connection_error() {
    let bytes = ollama::stream(&["Hel", "lo", " there"], "stop");
    let cut = bytes[..bytes.len() / 2].to_vec();
    let server =
        FakeOpenAi::start_any(move |_, _, _| split_every("application/x-ndjson", &cut, 16, true));
    let stream = model(&server).stream(&request()).await.unwrap();
    let err = collect(stream, "ollama", &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Connection, "{err}");
}

#[tokio::test]
async fn an_error_line_or_a_garbage_line_ends_the_stream() {
    let server = FakeOpenAi::start_any(|_, _, n| {
        let tail = if n == 0 {
            "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}\n"
        } else {
            "this is not json\n"
        };
        let first = "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"done\":false}\n";
        split_every("application/x-ndjson", format!("{first}{tail}").as_bytes(), 64, false)
    });
    let m = model(&server);
    let err =
        collect(m.stream(&request()).await.unwrap(), "ollama", &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Server);
    assert!(err.message.contains("unexpected EOF"));
    let err =
        collect(m.stream(&request()).await.unwrap(), "ollama", &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Malformed);
}

#[tokio::test]
async fn errors_are_typed() {
    let server = FakeOpenAi::start_any(|_, _, n| match n {
        0 => ollama::error(
            429,
            "server busy, please try again.  maximum pending requests exceeded",
            &[("retry-after", "0.05")],
        ),
        1 => ollama::error(404, "model \"llama3.2\" not found, try pulling it first", &[]),
        2 => ollama::error(401, "unauthorized", &[]),
        3 => ollama::error(500, "llama runner process has terminated: signal: killed", &[]),
        _ => Reply::Raw { status: 200, body: "not json".into() },
    });
    let m = model(&server);
    let err = m.complete(&request()).await.unwrap_err();
    assert_eq!(
        (err.kind, err.retry_after),
        (ModelErrorKind::RateLimit, Some(Duration::from_millis(50)))
    );
    let err = m.complete(&request()).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::InvalidRequest);
    assert!(err.message.contains("ollama pull llama3.2"), "{}", err.message);
    assert_eq!(m.complete(&request()).await.unwrap_err().kind, ModelErrorKind::Auth);
    let err = m.complete(&request()).await.unwrap_err();
    assert_eq!((err.kind, err.status), (ModelErrorKind::Server, Some(500)));
    assert_eq!(m.complete(&request()).await.unwrap_err().kind, ModelErrorKind::Malformed);
}

#[tokio::test]
async fn a_key_if_set_goes_as_a_bearer_token() {
    let server = FakeOpenAi::start_any(|_, _, _| ollama::answer("ok", "stop", 1, 1));
    let transport = Transport::new(TransportSettings::default()).unwrap();
    let m = Ollama::new(
        transport,
        OllamaSettings {
            base_url: server.root_url(),
            model: "gpt-oss:120b".into(),
            api_key: Some("ol-key-123".into()),
        },
    );
    m.complete(&request()).await.unwrap();
    assert_eq!(server.header(0, "authorization").as_deref(), Some("Bearer ol-key-123"));
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
