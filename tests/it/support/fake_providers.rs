//! Replies in the real wire formats of Anthropic, Gemini and Ollama, for
//! [`FakeOpenAi::start_any`](super::fake_openai::FakeOpenAi::start_any) servers: whole
//! answers, structured answers, error bodies (with `Retry-After`), and streams as the
//! exact bytes each vendor sends (to be split anywhere with [`split_every`]).

use super::fake_openai::Reply;
use serde_json::{Value, json};
use std::time::Duration;

/// A verdict object as critics answer it.
pub fn verdict(needs_improvement: bool, feedback: &str) -> Value {
    let suggestions: Vec<&str> = if needs_improvement { vec![feedback] } else { vec![] };
    json!({ "needs_improvement": needs_improvement, "confidence": 0.9,
            "feedback": feedback, "suggestions": suggestions })
}

/// A streamed 200 reply of `bytes` cut into pieces of `size` bytes (so cuts fall
/// mid-line and mid-character), optionally dropping the connection at the end.
pub fn split_every(content_type: &str, bytes: &[u8], size: usize, drop_after: bool) -> Reply {
    Reply::Stream {
        content_type: content_type.to_owned(),
        chunks: bytes.chunks(size.max(1)).map(<[u8]>::to_vec).collect(),
        pause: Duration::ZERO,
        drop_after,
    }
}

/// An error status with a JSON body and headers.
fn error_reply(status: u16, body: Value, headers: &[(&str, &str)]) -> Reply {
    let headers = headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Reply::Error { status, body, headers }
}

/// Anthropic's Messages API.
pub mod anthropic {
    use super::*;

    /// A text message with `stop_reason` and usage.
    pub fn message(text: &str, stop_reason: &str, input: u64, output: u64) -> Reply {
        Reply::Json {
            status: 200,
            body: json!({
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
                "type": "message",
                "role": "assistant",
                "model": "claude-3-5-haiku-20241022",
                "content": [{ "type": "text", "text": text }],
                "stop_reason": stop_reason,
                "stop_sequence": null,
                "usage": { "input_tokens": input, "output_tokens": output,
                           "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0 }
            }),
        }
    }

    /// A forced tool-use answer whose input is `input`.
    pub fn tool_use(name: &str, input: &Value) -> Reply {
        Reply::Json {
            status: 200,
            body: json!({
                "id": "msg_01Aq9w938a90dw8q",
                "type": "message",
                "role": "assistant",
                "model": "claude-3-5-haiku-20241022",
                "content": [{ "type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9",
                              "name": name, "input": input }],
                "stop_reason": "tool_use",
                "stop_sequence": null,
                "usage": { "input_tokens": 40, "output_tokens": 20 }
            }),
        }
    }

    /// Anthropic's error body with `headers`.
    pub fn error(status: u16, kind: &str, message: &str, headers: &[(&str, &str)]) -> Reply {
        let body = json!({ "type": "error", "error": { "type": kind, "message": message },
                           "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy" });
        error_reply(status, body, headers)
    }

    /// The SSE bytes of a streamed text answer made of `pieces`.
    pub fn text_stream(pieces: &[&str], stop_reason: &str) -> Vec<u8> {
        let mut events = vec![
            (
                "message_start",
                json!({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-3-5-haiku-20241022","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}),
            ),
            (
                "content_block_start",
                json!({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}),
            ),
            ("ping", json!({"type": "ping"})),
        ];
        for piece in pieces {
            events.push(("content_block_delta", json!({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":piece}})));
        }
        events.push(("content_block_stop", json!({"type":"content_block_stop","index":0})));
        events.push(("message_delta", json!({"type":"message_delta","delta":{"stop_reason":stop_reason,"stop_sequence":null},"usage":{"output_tokens":15}})));
        events.push(("message_stop", json!({"type":"message_stop"})));
        sse_bytes(&events)
    }

    /// The SSE bytes of a streamed tool-use answer whose input JSON arrives in `pieces`.
    pub fn tool_stream(name: &str, pieces: &[&str]) -> Vec<u8> {
        let mut events = vec![
            (
                "message_start",
                json!({"type":"message_start","message":{"id":"msg_2","type":"message","role":"assistant","content":[],"model":"claude-3-5-haiku-20241022","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2}}}),
            ),
            (
                "content_block_start",
                json!({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":name,"input":{}}}),
            ),
        ];
        for piece in pieces {
            events.push(("content_block_delta", json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":piece}})));
        }
        events.push(("content_block_stop", json!({"type":"content_block_stop","index":0})));
        events.push(("message_delta", json!({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}})));
        events.push(("message_stop", json!({"type":"message_stop"})));
        sse_bytes(&events)
    }

    fn sse_bytes(events: &[(&str, Value)]) -> Vec<u8> {
        events
            .iter()
            .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
            .collect::<String>()
            .into_bytes()
    }
}

/// Google's Gemini API.
pub mod gemini {
    use super::*;

    /// A `GenerateContentResponse` body with one candidate.
    pub fn response(text: &str, finish: &str, prompt: u64, output: u64) -> Value {
        json!({
            "candidates": [{
                "content": { "parts": [{ "text": text }], "role": "model" },
                "finishReason": finish,
                "index": 0
            }],
            "usageMetadata": { "promptTokenCount": prompt, "candidatesTokenCount": output,
                               "totalTokenCount": prompt + output },
            "modelVersion": "gemini-2.0-flash",
            "responseId": "r-1"
        })
    }

    /// A 200 answer with `text`.
    pub fn answer(text: &str, finish: &str, prompt: u64, output: u64) -> Reply {
        Reply::Json { status: 200, body: response(text, finish, prompt, output) }
    }

    /// Google's error body (`{"error": {"code", "message", "status", "details"}}`).
    pub fn error(
        status: u16,
        code: &str,
        message: &str,
        details: Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = json!({ "error": { "code": status, "message": message, "status": code, "details": details } });
        error_reply(status, body, headers)
    }

    /// The SSE bytes of a streamed answer made of `pieces`, usage on the last chunk.
    pub fn stream(pieces: &[&str], finish: &str) -> Vec<u8> {
        let mut out = String::new();
        for (i, piece) in pieces.iter().enumerate() {
            let last = i + 1 == pieces.len();
            let mut chunk = json!({
                "candidates": [{ "content": { "parts": [{ "text": piece }], "role": "model" } }],
                "usageMetadata": { "promptTokenCount": 8, "totalTokenCount": 8 },
                "modelVersion": "gemini-2.0-flash"
            });
            if last {
                chunk["candidates"][0]["finishReason"] = json!(finish);
                chunk["usageMetadata"] = json!({ "promptTokenCount": 8, "candidatesTokenCount": 5, "totalTokenCount": 13 });
            }
            out.push_str(&format!("data: {chunk}\r\n\r\n"));
        }
        out.into_bytes()
    }
}

/// Ollama's native API.
pub mod ollama {
    use super::*;

    /// A whole (`stream: false`) answer.
    pub fn answer(text: &str, done_reason: &str, prompt: u64, output: u64) -> Reply {
        Reply::Json {
            status: 200,
            body: json!({
                "model": "llama3.2",
                "created_at": "2025-01-01T00:00:00Z",
                "message": { "role": "assistant", "content": text },
                "done": true,
                "done_reason": done_reason,
                "total_duration": 5_191_566_416_u64,
                "prompt_eval_count": prompt,
                "eval_count": output
            }),
        }
    }

    /// Ollama's error body.
    pub fn error(status: u16, message: &str, headers: &[(&str, &str)]) -> Reply {
        error_reply(status, json!({ "error": message }), headers)
    }

    /// The NDJSON bytes of a streamed answer made of `pieces`.
    pub fn stream(pieces: &[&str], done_reason: &str) -> Vec<u8> {
        let mut out = String::new();
        for piece in pieces {
            let line = json!({ "model": "llama3.2", "created_at": "2025-01-01T00:00:00Z",
                               "message": { "role": "assistant", "content": piece }, "done": false });
            out.push_str(&format!("{line}\n"));
        }
        let last = json!({ "model": "llama3.2", "created_at": "2025-01-01T00:00:01Z",
                           "message": { "role": "assistant", "content": "" },
                           "done_reason": done_reason, "done": true,
                           "prompt_eval_count": 26, "eval_count": 4 });
        out.push_str(&format!("{last}\n"));
        out.into_bytes()
    }
}
