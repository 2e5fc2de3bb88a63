//! The OpenAI-compatible provider against a fake server on loopback: the request on
//! the wire, the strict `json_schema`, the re-ask through `complete_json`, timeouts and
//! a wrong base URL. What every dialect does alike (typed errors, key scrubbing,
//! streaming, the schema fallback, keep-alive) is in `provider_conformance.rs`.

// The helpers below are test code too: a setup failure should panic.
#![allow(clippy::unwrap_used)]

use crate::support::fake_openai::{FakeOpenAi, Reply, is_structured, last_user_message};
use redraft::critic::VerdictJson;
use redraft::model::openai::{OpenAi, OpenAiSettings};
use redraft::model::structured::complete_json;
use redraft::model::transport::{Transport, TransportSettings};
use redraft::model::{
    CallLog, CallTag, FinishReason, LanguageModel, Message, ModelErrorKind, Request,
    ResponseFormat, Sampling, TokenUsage,
};
use redraft::thought::CallRole;
use serde_json::{Value, json};
use std::time::Duration;

const KEY: &str = "sk-test-4f9c2e7a1b";

fn provider(server: &FakeOpenAi, key: Option<&str>) -> OpenAi {
    provider_with(server, key, TransportSettings::default())
}

fn provider_with(server: &FakeOpenAi, key: Option<&str>, settings: TransportSettings) -> OpenAi {
    OpenAi::new(
        Transport::new(settings).unwrap(),
        OpenAiSettings {
            base_url: format!("{}/", server.base_url()),
            model: "gpt-4o-mini".to_owned(),
            api_key: key.map(Into::into),
        },
    )
}

fn request(text: &str) -> Request {
    Request {
        messages: vec![Message::system("You improve texts."), Message::user(text)],
        sampling: Sampling { temperature: Some(0.2), max_tokens: Some(300) },
        format: ResponseFormat::Text,
        ..Request::default()
    }
}

fn verdict_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "needs_improvement": { "type": "boolean" },
            "confidence": { "type": "number" },
            "feedback": { "type": "string" },
            "suggestions": { "type": "array", "items": { "type": "string" } }
        },
        "required": ["needs_improvement", "confidence", "feedback", "suggestions"],
        "additionalProperties": false
    })
}

#[tokio::test]
async fn completion_round_trip_with_a_key() {
    let server =
        FakeOpenAi::start(|body, _| Reply::text(&format!("echo: {}", last_user_message(body))))
            .await;
    let model = provider(&server, Some(KEY));

    let completion = model.complete(&request("Our product are good.")).await.unwrap();

    assert_eq!(completion.text, "echo: Our product are good.");
    assert_eq!(completion.finish_reason, FinishReason::Stop);
    assert_eq!(completion.usage, TokenUsage { prompt_tokens: 12, completion_tokens: 7 });
    assert_eq!(completion.model, "gpt-4o-mini");
    assert_eq!(
        server.requests(),
        vec![json!({
            "model": "gpt-4o-mini",
            "messages": [
                { "role": "system", "content": "You improve texts." },
                { "role": "user", "content": "Our product are good." }
            ],
            "temperature": 0.2,
            "max_tokens": 300
        })]
    );
    assert_eq!(
        server.header(0, "authorization").as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(server.header(0, "content-type").as_deref(), Some("application/json"));
}

#[tokio::test]
async fn schema_requests_send_a_strict_json_schema() {
    let server = FakeOpenAi::start(|_, _| Reply::verdict(true, 0.8, "Fix the grammar.")).await;
    let model = provider(&server, None);
    let log = CallLog::new();

    let verdict: VerdictJson = complete_json(
        &model,
        request("Our product are good."),
        "verdict",
        &verdict_schema(),
        &CallTag::by(CallRole::Critique, "grammar"),
        &log,
    )
    .await
    .unwrap();

    assert!(verdict.needs_improvement);
    assert_eq!(verdict.suggestions, vec!["Fix the grammar."]);
    let sent = &server.requests()[0];
    assert_eq!(
        sent["response_format"],
        json!({
            "type": "json_schema",
            "json_schema": { "name": "verdict", "schema": verdict_schema(), "strict": true }
        })
    );
    assert_eq!(log.len(), 1);
}

#[tokio::test]
async fn invalid_json_is_re_asked_once() {
    let server = FakeOpenAi::start(|_, n| {
        if n == 0 {
            Reply::text("I think it is fine.")
        } else {
            Reply::verdict(false, 0.7, "Fine.")
        }
    })
    .await;
    let model = provider(&server, None);
    let log = CallLog::new();

    let verdict: VerdictJson = complete_json(
        &model,
        request("A text."),
        "verdict",
        &verdict_schema(),
        &CallTag::new(CallRole::Judge),
        &log,
    )
    .await
    .unwrap();

    assert_eq!(verdict.feedback, "Fine.");
    let records = log.take();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].response.as_deref(), Some("I think it is fine."));
    assert_eq!(records[1].attempt, 2);
    let second = &server.requests()[1];
    assert!(is_structured(second));
    assert!(last_user_message(second).starts_with("That answer was not valid"));
    assert_eq!(second["messages"][2]["content"], "I think it is fine.");
}

#[tokio::test]
async fn slow_server_is_a_timeout() {
    let server =
        FakeOpenAi::start(|_, _| Reply::text("late").delayed(Duration::from_secs(30))).await;
    let settings = TransportSettings {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_millis(200),
    };
    let err = provider_with(&server, None, settings).complete(&request("hi")).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Timeout, "{err}");
    assert!(err.kind.is_retryable());
}

#[tokio::test]
async fn wrong_base_url_is_an_invalid_request_naming_the_path() {
    let server = FakeOpenAi::start(|_, _| Reply::text("never")).await;
    let model = OpenAi::new(
        Transport::new(TransportSettings::default()).unwrap(),
        OpenAiSettings {
            base_url: format!("http://{}", server.addr()),
            model: "m".into(),
            api_key: None,
        },
    );
    let err = model.complete(&request("hi")).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::InvalidRequest);
    assert_eq!(err.status, Some(404));
    assert!(err.message.contains("/chat/completions"), "{err}");
    assert_eq!(server.request_count(), 0);
}

#[test]
fn server_works_from_synchronous_code() {
    let server = FakeOpenAi::start_blocking(|_, _| Reply::text("sync"));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let text = runtime
        .block_on(async { provider(&server, None).complete(&request("hi")).await.unwrap().text });
    assert_eq!(text, "sync");
    assert_eq!(server.request_count(), 1);
}
