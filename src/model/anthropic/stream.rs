//! Pure translation of Anthropic's streamed Messages (`stream: true`): named SSE
//! events `message_start` (model, input tokens), `content_block_start`,
//! `content_block_delta` (`text_delta`, or `input_json_delta` for a tool's input),
//! `content_block_stop`, `message_delta` (stop reason, output tokens), `message_stop`,
//! `ping`, and `error`.

use super::PROVIDER;
use super::errors::classify_event;
use super::wire::{WireUsage, finish_reason};
use crate::model::stream::{Frame, StreamDecoder};
use crate::model::{Completion, FinishReason, ModelError, ModelErrorKind, TokenUsage};
use serde::Deserialize;
use serde_json::{Value, json};

/// Turn a Messages body into its streaming form.
pub fn stream_body(mut body: Value) -> Value {
    if let Some(map) = body.as_object_mut() {
        map.insert("stream".into(), json!(true));
    }
    body
}

/// The state of one streamed message.
///
/// Text deltas are yielded as they come. A `tool_use` block (a structured answer)
/// yields its `partial_json` pieces as deltas too, and its whole input becomes the
/// final text, as in [`parse_response`](super::parse_response); text that arrives
/// after a tool block started is not yielded.
#[derive(Debug, Default)]
pub struct MessageDecoder {
    text: String,
    tool_json: Option<String>,
    finish: Option<FinishReason>,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    model: String,
    done: bool,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: Option<StartMessage>,
    #[serde(default)]
    content_block: Option<Block>,
    #[serde(default)]
    delta: Option<Delta>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Delta {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    partial_json: Option<String>,
    #[serde(default)]
    stop_reason: Option<String>,
}

impl MessageDecoder {
    fn usage(&mut self, usage: &WireUsage) {
        if let Some(prompt) = usage.prompt_tokens() {
            self.prompt_tokens = Some(prompt);
        }
        if let Some(output) = usage.output_tokens {
            self.completion_tokens = Some(output);
        }
    }

    fn text(&mut self, piece: Option<String>) -> Option<String> {
        let piece = piece.filter(|p| !p.is_empty())?;
        self.text.push_str(&piece);
        self.tool_json.is_none().then_some(piece)
    }
}

impl StreamDecoder for MessageDecoder {
    fn frame(&mut self, frame: Frame) -> Result<Option<String>, ModelError> {
        let Frame::Sse(event) = frame else { return Ok(None) };
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(None);
        }
        let value: Value = serde_json::from_str(data).map_err(|e| {
            let msg = format!("invalid stream event ({e}): {}", excerpt(data));
            ModelError::new(ModelErrorKind::Malformed, PROVIDER, msg)
        })?;
        let is_error = event.event.as_deref() == Some("error")
            || value.get("type").and_then(Value::as_str) == Some("error");
        if is_error {
            return Err(classify_event(&value));
        }
        let event: Event = serde_json::from_value(value).map_err(|e| {
            let msg = format!("unexpected stream event ({e}): {}", excerpt(data));
            ModelError::new(ModelErrorKind::Malformed, PROVIDER, msg)
        })?;
        match event.kind.as_str() {
            "message_start" => {
                if let Some(message) = event.message {
                    if let Some(model) = message.model.filter(|m| !m.is_empty()) {
                        self.model = model;
                    }
                    if let Some(usage) = message.usage {
                        self.usage(&usage);
                    }
                }
            }
            "content_block_start" => match event.content_block {
                Some(block) if block.kind == "tool_use" => {
                    self.tool_json.get_or_insert_with(String::new);
                }
                Some(block) if block.kind == "text" => return Ok(self.text(block.text)),
                _ => {}
            },
            "content_block_delta" => {
                let Some(delta) = event.delta else { return Ok(None) };
                match delta.kind.as_deref() {
                    Some("text_delta") => return Ok(self.text(delta.text)),
                    Some("input_json_delta") => {
                        let piece = delta.partial_json.unwrap_or_default();
                        self.tool_json.get_or_insert_with(String::new).push_str(&piece);
                        return Ok(Some(piece));
                    }
                    // thinking_delta, signature_delta, citations: not part of the text.
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = event.delta.and_then(|d| d.stop_reason) {
                    self.finish = Some(finish_reason(Some(&reason)));
                }
                if let Some(usage) = event.usage {
                    self.usage(&usage);
                }
            }
            "message_stop" => self.done = true,
            // ping, content_block_stop, and event types added later.
            _ => {}
        }
        Ok(None)
    }

    fn is_done(&self) -> bool {
        self.done
    }

    fn finish(&mut self) -> Result<Completion, ModelError> {
        let Some(finish_reason) = self.finish.filter(|_| self.done) else {
            return Err(ModelError::new(
                ModelErrorKind::Connection,
                PROVIDER,
                "the stream ended before the message was complete",
            ));
        };
        let text = match self.tool_json.take() {
            // Re-serialise so the text is the same compact JSON as a non-streamed answer.
            Some(raw) => match serde_json::from_str::<Value>(&raw) {
                Ok(input) => input.to_string(),
                Err(_) => raw,
            },
            None => std::mem::take(&mut self.text),
        };
        Ok(Completion {
            text,
            finish_reason,
            usage: TokenUsage {
                prompt_tokens: self.prompt_tokens.unwrap_or(0),
                completion_tokens: self.completion_tokens.unwrap_or(0),
            },
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

    fn sse(event: &str, data: &str) -> Frame {
        Frame::Sse(SseEvent { event: Some(event.to_owned()), data: data.to_owned() })
    }

    /// A text answer, as in Anthropic's streaming guide.
    const TEXT_EVENTS: [(&str, &str); 8] = [
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY","type":"message","role":"assistant","content":[],"model":"claude-3-5-haiku-20241022","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        ),
        ("ping", r#"{"type": "ping"}"#),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"!"}}"#,
        ),
        ("content_block_stop", r#"{"type":"content_block_stop","index":0}"#),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":15}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ];

    /// A forced tool-use answer: the tool input arrives as `input_json_delta`s.
    const TOOL_EVENTS: [(&str, &str); 7] = [
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_014p7gG3wDgGV9EUtLvnow3U","type":"message","role":"assistant","model":"claude-3-5-sonnet-20241022","stop_sequence":null,"usage":{"input_tokens":472,"output_tokens":2},"content":[],"stop_reason":null}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"verdict","input":{}}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"ok\": tr"}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"ue}"}}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ];

    fn run(events: &[(&str, &str)]) -> (Vec<String>, MessageDecoder) {
        let mut d = MessageDecoder::default();
        let deltas = events.iter().filter_map(|(e, data)| d.frame(sse(e, data)).unwrap()).collect();
        (deltas, d)
    }

    #[test]
    fn decodes_a_recorded_text_stream() {
        let (deltas, mut d) = run(&TEXT_EVENTS);
        assert_eq!(deltas, ["Hello", "!"]);
        assert!(d.is_done());
        let c = d.finish().unwrap();
        assert_eq!(c.text, "Hello!");
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 25, completion_tokens: 15 });
        assert_eq!(c.model, "claude-3-5-haiku-20241022");
    }

    #[test]
    fn tool_input_deltas_are_the_text() {
        let (deltas, mut d) = run(&TOOL_EVENTS);
        assert_eq!(deltas.concat(), "{\"ok\": true}");
        let c = d.finish().unwrap();
        assert_eq!(c.text, "{\"ok\":true}");
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 472, completion_tokens: 89 });
    }

    #[test]
    fn a_stream_without_message_stop_is_cut_off() {
        let (_, mut d) = run(&TEXT_EVENTS[..7]);
        assert!(!d.is_done());
        assert_eq!(d.finish().unwrap_err().kind, ModelErrorKind::Connection);
    }

    #[test]
    fn error_events_are_typed_and_garbage_is_malformed() {
        let mut d = MessageDecoder::default();
        let err = d
            .frame(sse(
                "error",
                r#"{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}"#,
            ))
            .unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Server);
        assert_eq!(err.message, "Overloaded");
        assert_eq!(
            d.frame(sse("message_start", "{nope")).unwrap_err().kind,
            ModelErrorKind::Malformed
        );
        assert_eq!(
            d.frame(sse("x", r#"{"no_type":1}"#)).unwrap_err().kind,
            ModelErrorKind::Malformed
        );
    }

    #[test]
    fn thinking_is_not_text_and_max_tokens_is_length() {
        let mut d = MessageDecoder::default();
        let thinking = r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me"}}"#;
        assert_eq!(d.frame(sse("content_block_delta", thinking)).unwrap(), None);
        let stop = r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":3}}"#;
        d.frame(sse("message_delta", stop)).unwrap();
        d.frame(sse("message_stop", r#"{"type":"message_stop"}"#)).unwrap();
        let c = d.finish().unwrap();
        assert_eq!(c.finish_reason, FinishReason::Length);
        assert_eq!(c.text, "");
    }

    #[test]
    fn the_body_asks_for_a_stream() {
        assert_eq!(stream_body(json!({"model": "m"}))["stream"], true);
    }
}
