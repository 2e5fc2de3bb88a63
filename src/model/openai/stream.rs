//! Pure translation of OpenAI's streamed chat completions (`stream: true`): SSE events
//! whose `data` is a `chat.completion.chunk`, ending with `data: [DONE]`. Usage comes
//! in the last chunk when `stream_options.include_usage` is set.

use super::PROVIDER;
use super::wire::finish_reason;
use crate::model::stream::{Frame, StreamDecoder};
use crate::model::{Completion, FinishReason, ModelError, ModelErrorKind, TokenUsage};
use serde::Deserialize;
use serde_json::Value;

/// The state of one streamed answer.
#[derive(Debug, Default)]
pub struct ChunkDecoder {
    text: String,
    finish: Option<FinishReason>,
    usage: TokenUsage,
    model: String,
    done: bool,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<ChunkUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<ChunkDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChunkDelta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct ChunkUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

impl StreamDecoder for ChunkDecoder {
    fn frame(&mut self, frame: Frame) -> Result<Option<String>, ModelError> {
        let Frame::Sse(event) = frame else { return Ok(None) };
        let data = event.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(None);
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| {
            let msg = format!("invalid stream chunk ({e}): {}", excerpt(data));
            ModelError::new(ModelErrorKind::Malformed, PROVIDER, msg)
        })?;
        if let Some(error) = chunk.error {
            let msg = error.get("message").and_then(Value::as_str).unwrap_or("stream error");
            return Err(ModelError::new(ModelErrorKind::Server, PROVIDER, excerpt(msg)));
        }
        if let Some(model) = chunk.model.filter(|m| !m.is_empty()) {
            self.model = model;
        }
        if let Some(u) = chunk.usage {
            self.usage = TokenUsage {
                prompt_tokens: u.prompt_tokens.unwrap_or(0),
                completion_tokens: u.completion_tokens.unwrap_or(0),
            };
        }
        let mut delta = String::new();
        for choice in chunk.choices {
            if let Some(text) = choice.delta.and_then(|d| d.content) {
                delta.push_str(&text);
            }
            if let Some(reason) = choice.finish_reason {
                self.finish = Some(finish_reason(Some(&reason)));
            }
        }
        self.text.push_str(&delta);
        Ok(Some(delta))
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn finish(&mut self) -> Result<Completion, ModelError> {
        let Some(finish_reason) = self.finish else {
            return Err(ModelError::new(
                ModelErrorKind::Connection,
                PROVIDER,
                "the stream ended before the answer finished",
            ));
        };
        Ok(Completion {
            text: std::mem::take(&mut self.text),
            finish_reason,
            usage: self.usage,
            model: std::mem::take(&mut self.model),
            provider: PROVIDER.to_owned(),
            ..Completion::default()
        })
    }
}

fn excerpt(s: &str) -> String {
    crate::model::transport::body_excerpt(s.as_bytes(), 200)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sse::SseEvent;

    fn sse(data: &str) -> Frame {
        Frame::Sse(SseEvent { event: None, data: data.to_owned() })
    }

    /// Recorded from a real `stream: true` answer with `include_usage`.
    const CHUNKS: [&str; 5] = [
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":" world"},"logprobs":null,"finish_reason":null}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}"#,
        r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini-2024-07-18","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"total_tokens":11}}"#,
    ];

    #[test]
    fn decodes_a_recorded_stream() {
        let mut d = ChunkDecoder::default();
        let deltas: Vec<_> = CHUNKS.iter().map(|c| d.frame(sse(c)).unwrap()).collect();
        assert_eq!(deltas[1].as_deref(), Some("Hello"));
        assert!(!d.is_done());
        d.frame(sse("[DONE]")).unwrap();
        assert!(d.is_done());
        let c = d.finish().unwrap();
        assert_eq!(c.text, "Hello world");
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 9, completion_tokens: 2 });
        assert_eq!(c.model, "gpt-4o-mini-2024-07-18");
    }

    #[test]
    fn a_stream_cut_before_the_finish_reason_is_an_error() {
        let mut d = ChunkDecoder::default();
        d.frame(sse(CHUNKS[1])).unwrap();
        assert_eq!(d.finish().unwrap_err().kind, ModelErrorKind::Connection);
    }

    #[test]
    fn garbage_and_error_chunks_are_errors() {
        let mut d = ChunkDecoder::default();
        assert_eq!(d.frame(sse("{nope")).unwrap_err().kind, ModelErrorKind::Malformed);
        let err = d.frame(sse(r#"{"error":{"message":"overloaded"}}"#)).unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Server);
    }
}
