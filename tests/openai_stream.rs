//! OpenAI streaming against the fake server: chunk boundaries anywhere (mid-line,
//! mid-character), dropped connections, idle timeouts, and errors before the stream.
#![allow(clippy::unwrap_used)]

mod support;

use futures::StreamExt;
use redraft::model::openai::{OpenAi, OpenAiSettings};
use redraft::model::stream::collect;
use redraft::model::transport::{Transport, TransportSettings};
use redraft::model::{FinishReason, LanguageModel, Message, ModelErrorKind, Request, StreamEvent};
use serde_json::json;
use std::time::Duration;
use support::fake_openai::{FakeOpenAi, Reply};

fn model(server: &FakeOpenAi) -> OpenAi {
    let transport = Transport::new(TransportSettings::default()).unwrap();
    let settings =
        OpenAiSettings { base_url: server.base_url(), model: "gpt-4o-mini".into(), api_key: None };
    OpenAi::new(transport, settings).with_idle_timeout(Duration::from_millis(300))
}

fn request() -> Request {
    Request { messages: vec![Message::user("Say hi")], ..Request::default() }
}

fn chunk(content: &str, finish: Option<&str>) -> String {
    json!({"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
           "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
    .to_string()
}

/// The SSE bytes of a whole answer "Héllo ☀ world" with usage, then `[DONE]`.
fn answer_bytes() -> Vec<u8> {
    let usage = json!({"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
                       "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 4}});
    let events = [
        chunk("Héllo", None),
        chunk(" ☀ ", None),
        chunk("world", Some("stop")),
        usage.to_string(),
        "[DONE]".into(),
    ];
    events.iter().map(|e| format!("data: {e}\r\n\r\n")).collect::<String>().into_bytes()
}

#[tokio::test]
async fn deltas_arrive_in_order_whatever_the_chunking() {
    let bytes = answer_bytes();
    for split in [1, 7, 13, 64] {
        let chunks: Vec<Vec<u8>> = bytes.chunks(split).map(<[u8]>::to_vec).collect();
        let server = FakeOpenAi::start(move |_, _| Reply::Stream {
            content_type: "text/event-stream".into(),
            chunks: chunks.clone(),
            pause: Duration::ZERO,
            drop_after: false,
        })
        .await;
        let mut shown = String::new();
        let stream = model(&server).stream(&request()).await.unwrap();
        let c = collect(stream, "openai", &mut |d| shown.push_str(d.unwrap_or(""))).await.unwrap();
        assert_eq!(c.text, "Héllo ☀ world", "split every {split} bytes");
        assert_eq!(shown, c.text);
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage.prompt_tokens, 5);
        let body = &server.requests()[0];
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
    }
}

#[tokio::test]
async fn a_connection_dropped_mid_stream_is_a_connection_error() {
    let server = FakeOpenAi::start(|_, _| Reply::Stream {
        content_type: "text/event-stream".into(),
        chunks: vec![format!("data: {}\n\n", chunk("Hel", None)).into_bytes()],
        pause: Duration::from_millis(50),
        drop_after: true,
    })
    .await;
    let mut stream = model(&server).stream(&request()).await.unwrap();
    assert_eq!(stream.next().await.unwrap().unwrap(), StreamEvent::Delta("Hel".into()));
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Connection, "{err}");
}

#[tokio::test]
async fn a_silent_stream_times_out() {
    let server = FakeOpenAi::start(|_, _| Reply::Stream {
        content_type: "text/event-stream".into(),
        chunks: vec![
            format!("data: {}\n\n", chunk("Hel", None)).into_bytes(),
            b"data: [DONE]\n\n".to_vec(),
        ],
        pause: Duration::from_secs(5),
        drop_after: false,
    })
    .await;
    let stream = model(&server).stream(&request()).await.unwrap();
    let err = collect(stream, "openai", &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind, ModelErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn an_error_status_fails_before_streaming() {
    let server = FakeOpenAi::start(|_, _| Reply::rate_limited("0.05")).await;
    let err = model(&server).stream(&request()).await.err().unwrap();
    assert_eq!(err.kind, ModelErrorKind::RateLimit);
    assert_eq!(err.retry_after, Some(Duration::from_millis(50)));
}
