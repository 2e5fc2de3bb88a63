//! One conformance suite for every HTTP dialect: the same behaviours, asserted the same
//! way, against a fake server speaking each vendor's wire format (OpenAI chat
//! completions, Anthropic Messages, Gemini `generateContent`, Ollama `/api/chat`).
//!
//! Each test walks [`DIALECTS`], a table of per-dialect model builders and fake-reply
//! builders, and names the dialect in every assertion. What only one vendor does (Azure,
//! reasoning models, Gemini's `RetryInfo`, Anthropic's tool use, `ollama pull` hints…)
//! stays in that vendor's own test file.
#![allow(clippy::unwrap_used)]

use crate::support::fake_openai::{FakeOpenAi, Reply, last_message, response_format_type};
use crate::support::fake_providers::{anthropic, gemini, ollama, split_every, verdict};
use futures::StreamExt;
use redraft::critic::{VerdictJson, verdict_schema};
use redraft::model::anthropic::{Anthropic, AnthropicSettings};
use redraft::model::gemini::{Gemini, GeminiSettings};
use redraft::model::ollama::{Ollama, OllamaSettings};
use redraft::model::openai::{OpenAi, OpenAiSettings};
use redraft::model::stream::collect;
use redraft::model::structured::complete_json;
use redraft::model::transport::{Transport, TransportSettings};
use redraft::model::{
    CallLog, CallTag, CallTrace, FinishReason, LanguageModel, Message, ModelErrorKind, Request,
    Sampling, StreamEvent, TokenUsage,
};
use redraft::thought::CallRole;
use serde_json::{Value, json};
use std::time::Duration;

/// The key every model is built with; careless fake servers echo it back.
const KEY: &str = "sk-conformance-5e1d9c3b7a";

/// How long a streamed answer may stay silent in these tests.
const IDLE: Duration = Duration::from_millis(300);

/// A model that can also be shown (to check that its `Debug` hides the key).
trait Model: LanguageModel + std::fmt::Debug {}
impl<T: LanguageModel + std::fmt::Debug> Model for T {}

/// One dialect: how to build its model against a fake server, and how its server
/// answers each situation, in the vendor's exact wire format.
struct Dialect {
    /// The provider name errors and completions carry.
    name: &'static str,
    /// A model over a fresh transport, pointed at `server`, with `key`.
    build: fn(&FakeOpenAi, Option<&str>) -> Box<dyn Model>,
    /// The path (with query) of a whole answer, and of a streamed one.
    paths: (&'static str, &'static str),
    /// The header carrying the key, and its value for [`KEY`].
    key_header: (&'static str, &'static str),
    /// A finished text answer, its usage and the model the server reports.
    text: fn(&str) -> Reply,
    text_usage: TokenUsage,
    answered_by: &'static str,
    /// An answer cut off by the token limit.
    cut_off: fn(&str) -> Reply,
    /// A structured answer whose JSON is `value`.
    structured: fn(&Value) -> Reply,
    /// Whether a request body asks for `schema` natively; whether it asks for JSON in
    /// the fallback form (no schema; the schema is in the system prompt).
    asks_schema: fn(&Value, &Value) -> bool,
    asks_json: fn(&Value) -> bool,
    /// The system prompt and the last user text of a request body.
    system: fn(&Value) -> String,
    user: fn(&Value) -> String,
    /// Error answers: a 429 with `Retry-After: {secs}`, a bad key (echoing `message`),
    /// the quota used up (none: Ollama has no billing), a prompt over the context
    /// window, a 500.
    rate_limited: fn(&str) -> Reply,
    bad_key: fn(&str) -> Reply,
    quota: Option<fn() -> Reply>,
    context_length: fn() -> Reply,
    server_error: fn() -> Reply,
    /// A server rejecting schemas (none: Anthropic uses tool use, never a schema format).
    schema_rejected: Option<fn() -> Reply>,
    /// Streams: the content type, the bytes of a whole answer made of `pieces`, the
    /// usage it reports, and whether a request body asks for a stream.
    content_type: &'static str,
    stream: fn(&[&str]) -> Vec<u8>,
    stream_usage: TokenUsage,
    asks_stream: fn(&Value) -> bool,
    /// The bytes of a stream that says `first`, then fails with an error event
    /// saying `message`; and of a stream that says `first`, then sends garbage.
    stream_error: fn(&str, &str) -> Vec<u8>,
    stream_garbage: fn(&str) -> Vec<u8>,
}

static DIALECTS: [Dialect; 4] = [
    Dialect {
        name: "openai",
        build: |server, key| {
            let settings = OpenAiSettings {
                base_url: server.base_url(),
                model: "gpt-4o-mini".into(),
                api_key: key.map(Into::into),
            };
            Box::new(OpenAi::new(transport(), settings).with_idle_timeout(IDLE))
        },
        paths: ("/v1/chat/completions", "/v1/chat/completions"),
        key_header: ("authorization", "Bearer sk-conformance-5e1d9c3b7a"),
        text: Reply::text,
        text_usage: TokenUsage { prompt_tokens: 12, completion_tokens: 7 },
        answered_by: "gpt-4o-mini",
        cut_off: |text| Reply::Chat {
            content: text.into(),
            finish_reason: "length".into(),
            prompt_tokens: 5,
            completion_tokens: 3,
        },
        structured: Reply::json,
        asks_schema: |body, schema| {
            body["response_format"]
                == json!({ "type": "json_schema",
                           "json_schema": { "name": "verdict", "schema": schema, "strict": true } })
        },
        asks_json: |body| response_format_type(body).as_deref() == Some("json_object"),
        system: |body| last_message(body, "system"),
        user: |body| last_message(body, "user"),
        rate_limited: Reply::rate_limited,
        bad_key: |message| Reply::error(401, "invalid_api_key", message),
        quota: Some(|| Reply::error(429, "insufficient_quota", "You exceeded your current quota.")),
        context_length: || {
            Reply::error(
                400,
                "context_length_exceeded",
                "This model's maximum context length is 8192 tokens.",
            )
        },
        server_error: || {
            Reply::error(500, "", "The server had an error while processing your request.")
        },
        schema_rejected: Some(Reply::schema_rejected),
        content_type: "text/event-stream",
        stream: |pieces| {
            let mut events: Vec<String> = pieces.iter().map(|p| openai_chunk(p, None)).collect();
            events.push(openai_chunk("", Some("stop")));
            events.push(
                json!({"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
                       "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4}})
                .to_string(),
            );
            events.push("[DONE]".into());
            events.iter().map(|e| format!("data: {e}\r\n\r\n")).collect::<String>().into_bytes()
        },
        stream_usage: TokenUsage { prompt_tokens: 5, completion_tokens: 4 },
        asks_stream: |body| {
            body["stream"] == true && body["stream_options"]["include_usage"] == true
        },
        stream_error: |first, message| {
            let error = json!({ "error": { "message": message, "type": "server_error" } });
            format!("data: {}\n\ndata: {error}\n\n", openai_chunk(first, None)).into_bytes()
        },
        stream_garbage: |first| {
            format!("data: {}\n\ndata: {{not json\n\n", openai_chunk(first, None)).into_bytes()
        },
    },
    Dialect {
        name: "anthropic",
        build: |server, key| {
            let settings = AnthropicSettings {
                base_url: format!("{}/", server.root_url()),
                model: "claude-3-5-haiku-latest".into(),
                api_key: key.map(Into::into),
            };
            Box::new(Anthropic::new(transport(), settings).with_idle_timeout(IDLE))
        },
        paths: ("/v1/messages", "/v1/messages"),
        key_header: ("x-api-key", KEY),
        text: |text| anthropic::message(text, "end_turn", 21, 4),
        text_usage: TokenUsage { prompt_tokens: 21, completion_tokens: 4 },
        answered_by: "claude-3-5-haiku-20241022",
        cut_off: |text| anthropic::message(text, "max_tokens", 5, 3),
        structured: |value| anthropic::tool_use("verdict", value),
        asks_schema: |body, schema| {
            body["tools"][0]["name"] == "verdict"
                && body["tools"][0]["input_schema"] == *schema
                && body["tool_choice"] == json!({ "type": "tool", "name": "verdict" })
        },
        asks_json: |_| unreachable!("anthropic has no schema fallback"),
        system: |body| body["system"].as_str().unwrap_or_default().to_owned(),
        user: |body| last_message(body, "user"),
        rate_limited: |secs| {
            anthropic::error(
                429,
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit",
                &[("retry-after", secs)],
            )
        },
        bad_key: |message| anthropic::error(401, "authentication_error", message, &[]),
        quota: Some(|| {
            anthropic::error(
                400,
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
                &[],
            )
        }),
        context_length: || {
            anthropic::error(
                400,
                "invalid_request_error",
                "prompt is too long: 208310 tokens > 200000 maximum",
                &[],
            )
        },
        server_error: || anthropic::error(500, "api_error", "Internal server error", &[]),
        schema_rejected: None,
        content_type: "text/event-stream",
        stream: |pieces| anthropic::text_stream(pieces, "end_turn"),
        stream_usage: TokenUsage { prompt_tokens: 25, completion_tokens: 15 },
        asks_stream: |body| body["stream"] == true,
        stream_error: |first, message| {
            let text = String::from_utf8(anthropic::text_stream(&[first], "end_turn")).unwrap();
            let cut = text.find("event: content_block_stop").unwrap();
            let error = json!({ "type": "error",
                                "error": { "type": "overloaded_error", "message": message } });
            format!("{}event: error\ndata: {error}\n\n", &text[..cut]).into_bytes()
        },
        stream_garbage: |first| {
            let text = String::from_utf8(anthropic::text_stream(&[first], "end_turn")).unwrap();
            let cut = text.find("event: content_block_stop").unwrap();
            format!("{}event: content_block_delta\ndata: {{not json\n\n", &text[..cut]).into_bytes()
        },
    },
    Dialect {
        name: "gemini",
        build: |server, key| {
            let settings = GeminiSettings {
                base_url: format!("{}/v1beta", server.root_url()),
                model: "gemini-2.0-flash".into(),
                api_key: key.map(Into::into),
            };
            Box::new(Gemini::new(transport(), settings).with_idle_timeout(IDLE))
        },
        paths: (
            "/v1beta/models/gemini-2.0-flash:generateContent",
            "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse",
        ),
        key_header: ("x-goog-api-key", KEY),
        text: |text| gemini::answer(text, "STOP", 12, 4),
        text_usage: TokenUsage { prompt_tokens: 12, completion_tokens: 4 },
        answered_by: "gemini-2.0-flash",
        cut_off: |text| gemini::answer(text, "MAX_TOKENS", 5, 3),
        structured: |value| gemini::answer(&value.to_string(), "STOP", 40, 20),
        asks_schema: |body, _| {
            let config = &body["generationConfig"];
            config["responseMimeType"] == "application/json"
                && config["responseSchema"]["type"] == "OBJECT"
        },
        asks_json: |body| {
            let config = &body["generationConfig"];
            config["responseMimeType"] == "application/json"
                && config.get("responseSchema").is_none()
        },
        system: |body| {
            body["systemInstruction"]["parts"][0]["text"].as_str().unwrap_or_default().to_owned()
        },
        user: |body| {
            let contents = body["contents"].as_array().unwrap();
            let last = contents.iter().rev().find(|c| c["role"] == "user").unwrap();
            last["parts"][0]["text"].as_str().unwrap_or_default().to_owned()
        },
        rate_limited: |secs| {
            gemini::error(
                429,
                "RESOURCE_EXHAUSTED",
                "Resource exhausted.",
                json!([]),
                &[("retry-after", secs)],
            )
        },
        // Gemini answers a bad key with a 400 whose reason is API_KEY_INVALID.
        bad_key: |message| {
            gemini::error(
                400,
                "INVALID_ARGUMENT",
                message,
                json!([{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID" }]),
                &[],
            )
        },
        quota: Some(|| {
            let details = json!([{ "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                "violations": [{ "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier" }] }]);
            gemini::error(
                429,
                "RESOURCE_EXHAUSTED",
                "You exceeded your current quota, please check your plan and billing details.",
                details,
                &[],
            )
        }),
        context_length: || {
            gemini::error(
                400,
                "INVALID_ARGUMENT",
                "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
                json!([]),
                &[],
            )
        },
        server_error: || {
            gemini::error(500, "INTERNAL", "An internal error has occurred.", json!([]), &[])
        },
        schema_rejected: Some(|| {
            gemini::error(
                400,
                "INVALID_ARGUMENT",
                "Invalid JSON payload received. Unknown name \"minimum\" at 'generation_config.response_schema.properties[0].value': Cannot find field.",
                json!([]),
                &[],
            )
        }),
        content_type: "text/event-stream",
        stream: |pieces| gemini::stream(pieces, "STOP"),
        stream_usage: TokenUsage { prompt_tokens: 8, completion_tokens: 5 },
        // Gemini streams from another endpoint (checked by `paths`), with the same body.
        asks_stream: |body| body.get("stream").is_none(),
        stream_error: |first, message| {
            let first = String::from_utf8(gemini::stream(&[first, "never"], "STOP")).unwrap();
            let first = first.split("\r\n\r\n").next().unwrap();
            let error =
                json!({ "error": { "code": 503, "message": message, "status": "UNAVAILABLE" } });
            format!("{first}\r\n\r\ndata: {error}\r\n\r\n").into_bytes()
        },
        stream_garbage: |first| {
            let first = String::from_utf8(gemini::stream(&[first, "never"], "STOP")).unwrap();
            let first = first.split("\r\n\r\n").next().unwrap();
            format!("{first}\r\n\r\ndata: {{not json\r\n\r\n").into_bytes()
        },
    },
    Dialect {
        name: "ollama",
        build: |server, key| {
            let settings = OllamaSettings {
                base_url: server.root_url(),
                model: "llama3.2".into(),
                api_key: key.map(Into::into),
            };
            Box::new(Ollama::new(transport(), settings).with_idle_timeout(IDLE))
        },
        paths: ("/api/chat", "/api/chat"),
        key_header: ("authorization", "Bearer sk-conformance-5e1d9c3b7a"),
        text: |text| ollama::answer(text, "stop", 26, 4),
        text_usage: TokenUsage { prompt_tokens: 26, completion_tokens: 4 },
        answered_by: "llama3.2",
        cut_off: |text| ollama::answer(text, "length", 5, 3),
        structured: |value| ollama::answer(&value.to_string(), "stop", 40, 20),
        asks_schema: |body, schema| body["format"] == *schema,
        asks_json: |body| body["format"] == "json",
        system: |body| last_message(body, "system"),
        user: |body| last_message(body, "user"),
        rate_limited: |secs| {
            ollama::error(
                429,
                "server busy, please try again.  maximum pending requests exceeded",
                &[("retry-after", secs)],
            )
        },
        bad_key: |message| ollama::error(401, message, &[]),
        quota: None,
        context_length: || {
            ollama::error(400, "the input length exceeds the context length of the model", &[])
        },
        server_error: || {
            ollama::error(500, "llama runner process has terminated: signal: killed", &[])
        },
        schema_rejected: Some(|| {
            ollama::error(
                400,
                "json: cannot unmarshal object into Go struct field ChatRequest.format of type string",
                &[],
            )
        }),
        content_type: "application/x-ndjson",
        stream: |pieces| ollama::stream(pieces, "stop"),
        stream_usage: TokenUsage { prompt_tokens: 26, completion_tokens: 4 },
        asks_stream: |body| body["stream"] == true,
        stream_error: |first, message| {
            let line = json!({ "model": "llama3.2", "message": { "role": "assistant", "content": first },
                               "done": false });
            format!("{line}\n{}\n", json!({ "error": message })).into_bytes()
        },
        stream_garbage: |first| {
            let line = json!({ "model": "llama3.2", "message": { "role": "assistant", "content": first },
                               "done": false });
            format!("{line}\nthis is not json\n").into_bytes()
        },
    },
];

fn transport() -> Transport {
    Transport::new(TransportSettings::default()).unwrap()
}

/// An OpenAI `chat.completion.chunk` saying `content`.
fn openai_chunk(content: &str, finish: Option<&str>) -> String {
    json!({"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
           "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
    .to_string()
}

/// A server answering the `n`-th request (from 0), on any path, with `reply(n)`.
fn serve(reply: impl Fn(usize) -> Reply + Send + Sync + 'static) -> FakeOpenAi {
    FakeOpenAi::start_any(move |_, _, n| reply(n))
}

fn request(text: &str) -> Request {
    Request {
        messages: vec![Message::system("You improve texts."), Message::user(text)],
        sampling: Sampling { temperature: Some(0.5), max_tokens: Some(300) },
        ..Request::default()
    }
}

#[tokio::test]
async fn a_text_answer_is_read_and_the_key_sent_in_the_dialects_header() {
    for d in &DIALECTS {
        let server = serve(move |_| (d.text)("Hello there."));
        let model = (d.build)(&server, Some(KEY));
        let c = model.complete(&request("Make it better: hi")).await.unwrap();
        assert_eq!(c.text, "Hello there.", "{}", d.name);
        assert_eq!(c.finish_reason, FinishReason::Stop, "{}", d.name);
        assert_eq!(c.usage, d.text_usage, "{}", d.name);
        assert_eq!(c.model, d.answered_by, "{}", d.name);
        assert_eq!((model.provider(), c.provider.as_str()), (d.name, d.name));
        assert!(!c.cache_hit && c.failed_attempts.is_empty(), "{}", d.name);
        assert_eq!(server.paths(), [d.paths.0], "{}", d.name);
        let (header, value) = d.key_header;
        assert_eq!(server.header(0, header).as_deref(), Some(value), "{}", d.name);
        assert_eq!(server.header(0, "content-type").as_deref(), Some("application/json"));
        assert_eq!((d.user)(&server.requests()[0]), "Make it better: hi", "{}", d.name);
        assert_eq!((d.system)(&server.requests()[0]), "You improve texts.", "{}", d.name);
        assert!(!format!("{model:?}").contains(KEY), "{}", d.name);
    }
}

#[tokio::test]
async fn without_a_key_no_key_header_is_sent() {
    for d in &DIALECTS {
        let server = serve(move |_| (d.text)("ok"));
        (d.build)(&server, None).complete(&request("hi")).await.unwrap();
        assert_eq!(server.request_count(), 1, "{}", d.name);
        assert_eq!(server.header(0, d.key_header.0), None, "{}", d.name);
        assert_eq!(server.header(0, "authorization"), None, "{}", d.name);
    }
}

#[tokio::test]
async fn an_answer_cut_off_by_the_token_limit_is_length() {
    for d in &DIALECTS {
        let server = serve(move |_| (d.cut_off)("Once upon a"));
        let c = (d.build)(&server, None).complete(&request("hi")).await.unwrap();
        assert_eq!((c.text.as_str(), c.finish_reason), ("Once upon a", FinishReason::Length));
    }
}

#[tokio::test]
async fn a_structured_answer_is_asked_natively_and_parsed() {
    for d in &DIALECTS {
        let server = serve(move |_| (d.structured)(&verdict(true, "Add an example.")));
        let model = (d.build)(&server, None);
        let log = CallLog::new();
        let tag = CallTag::by(CallRole::Critique, "reflexion");
        let v: VerdictJson =
            complete_json(&model, request("A text."), "verdict", &verdict_schema(), &tag, &log)
                .await
                .unwrap();
        assert!(v.needs_improvement, "{}", d.name);
        assert_eq!(v.suggestions, ["Add an example."], "{}", d.name);
        assert_eq!(server.request_count(), 1, "{}", d.name);
        assert!((d.asks_schema)(&server.requests()[0], &verdict_schema()), "{}", d.name);
        let records = log.take();
        assert_eq!(records.len(), 1, "{}", d.name);
        assert_eq!(records[0].response_format, "json_schema", "{}", d.name);
        assert!(model.supports_json_schema(), "{}", d.name);
    }
}

#[tokio::test]
async fn a_rate_limit_is_typed_with_its_wait_before_and_when_streaming() {
    for d in &DIALECTS {
        let server = serve(move |_| (d.rate_limited)("0.05"));
        let model = (d.build)(&server, Some(KEY));
        let err = model.complete(&request("hi")).await.unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::RateLimit, "{}: {err}", d.name);
        assert_eq!(err.status, Some(429), "{}", d.name);
        assert_eq!(err.retry_after, Some(Duration::from_millis(50)), "{}", d.name);
        assert_eq!(err.provider, d.name);
        assert!(err.kind.is_retryable(), "{}", d.name);
        // An error status fails the stream before any event.
        let err = model.stream(&request("hi")).await.err().unwrap();
        assert_eq!(err.kind, ModelErrorKind::RateLimit, "{}: {err}", d.name);
        assert_eq!(err.retry_after, Some(Duration::from_millis(50)), "{}", d.name);
        assert_eq!(server.paths(), [d.paths.0, d.paths.1], "{}", d.name);
    }
}

#[tokio::test]
async fn a_bad_key_is_auth_and_the_key_never_appears_in_errors_or_records() {
    for d in &DIALECTS {
        let server = serve(move |n| match n {
            0 => (d.bad_key)(&format!("API key not valid: {KEY}")),
            _ => Reply::Raw { status: 200, body: format!("<html>not json, your key is {KEY}") },
        });
        let model = (d.build)(&server, Some(KEY));
        let log = CallLog::new();
        let tag = CallTag::new(CallRole::Draft);
        let err = redraft::model::call::call(&model, &request("hi"), &tag, &log).await.unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Auth, "{}: {err}", d.name);
        assert!(!err.kind.is_retryable(), "{}", d.name);
        assert!(!format!("{err} {err:?}").contains(KEY), "{}: {err:?}", d.name);
        assert!(err.message.contains("[REDACTED]"), "{}: {err}", d.name);
        let record = &log.take()[0];
        assert!(!record.error.as_ref().unwrap().message.contains(KEY), "{}", d.name);

        let err = model.complete(&request("hi")).await.unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Malformed, "{}: {err}", d.name);
        assert!(!format!("{err} {err:?}").contains(KEY), "{}: {err:?}", d.name);
        assert!(!format!("{model:?}").contains(KEY), "{}", d.name);
    }
}

#[tokio::test]
async fn quota_context_length_and_server_errors_are_typed() {
    for d in &DIALECTS {
        let server = serve(move |n| match (n, d.quota) {
            (0, _) => (d.context_length)(),
            (1, _) => (d.server_error)(),
            (_, Some(quota)) => quota(),
            (_, None) => unreachable!("{} has no quota error", d.name),
        });
        let model = (d.build)(&server, None);
        let err = model.complete(&request("hi")).await.unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::ContextLength, "{}: {err}", d.name);
        assert!(!err.kind.is_retryable(), "{}", d.name);
        let err = model.complete(&request("hi")).await.unwrap_err();
        assert_eq!((err.kind, err.status), (ModelErrorKind::Server, Some(500)), "{}", d.name);
        assert!(err.kind.is_retryable(), "{}", d.name);
        if d.quota.is_some() {
            let err = model.complete(&request("hi")).await.unwrap_err();
            assert_eq!(err.kind, ModelErrorKind::Quota, "{}: {err}", d.name);
            assert!(!err.kind.is_retryable(), "{}", d.name);
        }
    }
}

#[tokio::test]
async fn a_body_that_is_not_the_dialects_json_is_malformed() {
    for d in &DIALECTS {
        let server = serve(|n| match n {
            0 => Reply::Raw { status: 200, body: "<html>upstream proxy says hello</html>".into() },
            1 => Reply::Raw { status: 200, body: "{\"truncated\": [".into() },
            _ => Reply::Raw { status: 200, body: String::new() },
        });
        let model = (d.build)(&server, None);
        let err = model.complete(&request("hi")).await.unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Malformed, "{}: {err}", d.name);
        assert!(err.message.contains("upstream proxy says hello"), "{}: {err}", d.name);
        for _ in 0..2 {
            let err = model.complete(&request("hi")).await.unwrap_err();
            assert_eq!(err.kind, ModelErrorKind::Malformed, "{}: {err}", d.name);
        }
    }
}

#[tokio::test]
async fn streamed_deltas_arrive_in_order_whatever_the_chunking_then_done() {
    for d in &DIALECTS {
        let bytes = (d.stream)(&["Héllo", " ☀ ", "wörld"]);
        for size in [1, 5, 7, 13, 64] {
            let chunked = bytes.clone();
            let server = serve(move |_| split_every(d.content_type, &chunked, size, false));
            let model = (d.build)(&server, Some(KEY));
            let mut stream = model.stream(&request("Say hi")).await.unwrap();
            let mut shown = String::new();
            let mut done = None;
            while let Some(event) = stream.next().await {
                assert!(done.is_none(), "{}: an event after Done", d.name);
                match event.unwrap() {
                    StreamEvent::Delta(text) => shown.push_str(&text),
                    StreamEvent::Restart => panic!("{}: a restart from a plain model", d.name),
                    StreamEvent::Done(c) => done = Some(c),
                }
            }
            let c = done.unwrap_or_else(|| panic!("{}: no Done", d.name));
            assert_eq!(c.text, "Héllo ☀ wörld", "{} split every {size} bytes", d.name);
            assert_eq!(shown, c.text, "{}", d.name);
            assert_eq!(c.finish_reason, FinishReason::Stop, "{}", d.name);
            assert_eq!(c.usage, d.stream_usage, "{}", d.name);
            assert_eq!(c.provider, d.name);
            assert_eq!(server.paths(), [d.paths.1], "{}", d.name);
            assert!((d.asks_stream)(&server.requests()[0]), "{}", d.name);
            let (header, value) = d.key_header;
            assert_eq!(server.header(0, header).as_deref(), Some(value), "{}", d.name);
        }
    }
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_is_a_connection_error_after_the_first_delta() {
    for d in &DIALECTS {
        let bytes = (d.stream)(&["Hel", "XYZ"]);
        let text = String::from_utf8(bytes).unwrap();
        // Everything before the line that carries the second piece.
        let second = text.find("\"XYZ\"").unwrap();
        let cut = text[..second].rfind('\n').unwrap() + 1;
        let head = text.as_bytes()[..cut].to_vec();
        let server = serve(move |_| Reply::Stream {
            content_type: d.content_type.into(),
            chunks: vec![head.clone()],
            pause: Duration::from_millis(20),
            drop_after: true,
        });
        let mut stream = (d.build)(&server, None).stream(&request("hi")).await.unwrap();
        let first = stream.next().await.unwrap().unwrap();
        assert_eq!(first, StreamEvent::Delta("Hel".into()), "{}", d.name);
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Connection, "{}: {err}", d.name);
        assert!(err.kind.is_retryable(), "{}", d.name);
        assert!(stream.next().await.is_none(), "{}: the stream ends at its error", d.name);
    }
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_server_error_without_the_key() {
    for d in &DIALECTS {
        let message = format!("The model is overloaded; key {KEY}");
        let bytes = (d.stream_error)("Hel", &message);
        let server = serve(move |_| split_every(d.content_type, &bytes, 10, false));
        let model = (d.build)(&server, Some(KEY));
        let mut stream = model.stream(&request("hi")).await.unwrap();
        let first = stream.next().await.unwrap().unwrap();
        assert_eq!(first, StreamEvent::Delta("Hel".into()), "{}", d.name);
        let err = stream.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Server, "{}: {err}", d.name);
        assert_eq!(err.message, "The model is overloaded; key [REDACTED]", "{}", d.name);
        assert_eq!(err.provider, d.name);
    }
}

#[tokio::test]
async fn a_garbage_frame_mid_stream_is_malformed() {
    for d in &DIALECTS {
        let bytes = (d.stream_garbage)("Hel");
        let server = serve(move |_| split_every(d.content_type, &bytes, 64, false));
        let stream = (d.build)(&server, None).stream(&request("hi")).await.unwrap();
        let mut shown = String::new();
        let err =
            collect(stream, d.name, &mut |t| shown.push_str(t.unwrap_or(""))).await.unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Malformed, "{}: {err}", d.name);
        assert_eq!(shown, "Hel", "{}", d.name);
    }
}

#[tokio::test]
async fn a_silent_stream_times_out() {
    for d in &DIALECTS {
        let bytes = (d.stream)(&["Hel", "lo"]);
        let (head, tail) = bytes.split_at(bytes.len() / 2);
        let chunks = vec![head.to_vec(), tail.to_vec()];
        let server = serve(move |_| Reply::Stream {
            content_type: d.content_type.into(),
            chunks: chunks.clone(),
            pause: Duration::from_secs(5),
            drop_after: false,
        });
        let stream = (d.build)(&server, None).stream(&request("hi")).await.unwrap();
        let err = collect(stream, d.name, &mut |_| {}).await.unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Timeout, "{}: {err}", d.name);
    }
}

#[tokio::test]
async fn a_rejected_schema_falls_back_to_the_prompt_and_is_remembered() {
    for d in DIALECTS.iter().filter(|d| d.schema_rejected.is_some()) {
        let rejected = d.schema_rejected.unwrap();
        let schema = verdict_schema();
        let server = FakeOpenAi::start_any(move |_, body, _| {
            if (d.asks_schema)(body, &verdict_schema()) {
                rejected()
            } else {
                (d.structured)(&verdict(false, "Reads well."))
            }
        });
        let model = (d.build)(&server, None);
        let tag = CallTag::by(CallRole::Critique, "clarity");
        let log = CallLog::new();
        let v: VerdictJson =
            complete_json(&model, request("A text."), "verdict", &schema, &tag, &log)
                .await
                .unwrap();
        assert!(!v.needs_improvement, "{}", d.name);
        assert!(!model.supports_json_schema(), "{}", d.name);

        let records = log.take();
        assert_eq!(records.len(), 2, "{}", d.name);
        assert_eq!((records[0].response_format.as_str(), records[0].attempt), ("json_schema", 1));
        let error = records[0].error.as_ref().unwrap();
        assert_eq!((error.kind, error.status), (ModelErrorKind::UnsupportedFormat, Some(400)));
        let error = &error.message;
        assert!(error.contains("unsupported_format") && error.contains("HTTP 400"), "{error}");
        assert_eq!((records[1].response_format.as_str(), records[1].attempt), ("json_object", 2));
        assert!(records[1].error.is_none(), "{}", d.name);
        let sent = server.requests();
        assert!((d.asks_json)(&sent[1]) && !(d.asks_schema)(&sent[1], &schema), "{}", d.name);
        assert!((d.system)(&sent[1]).contains(&schema.to_string()), "{}", d.name);

        // The next structured call goes straight to the fallback, schema in the prompt.
        let v: VerdictJson =
            complete_json(&model, request("Another text."), "verdict", &schema, &tag, &log)
                .await
                .unwrap();
        assert_eq!(v.feedback, "Reads well.", "{}", d.name);
        assert_eq!(log.len(), 1, "{}", d.name);
        assert_eq!(server.request_count(), 3, "{}", d.name);
        let third = &server.requests()[2];
        assert!((d.asks_json)(third) && !(d.asks_schema)(third, &schema), "{}", d.name);
        assert!((d.system)(third).contains(&schema.to_string()), "{}", d.name);
        assert_eq!((d.user)(third), "Another text.", "{}", d.name);
    }
}

#[tokio::test]
async fn sequential_calls_reuse_one_connection() {
    for d in &DIALECTS {
        let server = serve(move |n| (d.text)(&format!("answer {n}")));
        let model = (d.build)(&server, Some(KEY));
        for n in 0..5 {
            let c = model.complete(&request("hi")).await.unwrap();
            assert_eq!(c.text, format!("answer {n}"), "{}", d.name);
        }
        assert_eq!(server.request_count(), 5, "{}", d.name);
        assert_eq!(server.connections(), 1, "{}", d.name);
        // A model with its own transport opens its own connection: the count is real.
        (d.build)(&server, None).complete(&request("hi")).await.unwrap();
        assert_eq!(server.connections(), 2, "{}", d.name);
    }
}

/// A request the caller stopped waiting for is still in the audit trail: the model
/// marks it sent on the request's trace as it leaves.
#[tokio::test]
async fn an_abandoned_request_is_marked_sent_on_its_trace() {
    for d in &DIALECTS {
        let server = serve(move |_| (d.text)("late").delayed(Duration::from_secs(30)));
        let model = (d.build)(&server, None);
        for streamed in [false, true] {
            let trace = CallTrace::new();
            let req = Request { trace: trace.clone(), ..request("hi") };
            let wait = Duration::from_millis(100);
            if streamed {
                assert!(tokio::time::timeout(wait, model.stream(&req)).await.is_err());
            } else {
                assert!(tokio::time::timeout(wait, model.complete(&req)).await.is_err());
            }
            let abandoned = trace.take();
            let in_flight = abandoned.in_flight.unwrap_or_else(|| panic!("{}", d.name));
            assert_eq!(in_flight.provider, d.name, "streamed: {streamed}");
            assert!(abandoned.failed.is_empty(), "{}", d.name);
        }
    }
}
