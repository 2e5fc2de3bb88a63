//! Pure translation of Ollama's streamed `/api/chat` (`stream: true`): one JSON object
//! per line, each with a `message.content` delta; the last has `done: true`, the
//! `done_reason` and the token counts.

use super::PROVIDER;
use super::errors::classify_line;
use super::wire::{WireResponse, finish_reason};
use crate::model::stream::{Frame, StreamDecoder};
use crate::model::{Completion, FinishReason, ModelError, ModelErrorKind, TokenUsage};

/// The state of one streamed answer.
#[derive(Debug, Default)]
pub struct LineDecoder {
    text: String,
    finish: Option<FinishReason>,
    usage: TokenUsage,
    model: String,
    done: bool,
}

impl StreamDecoder for LineDecoder {
    fn frame(&mut self, frame: Frame) -> Result<Option<String>, ModelError> {
        let Frame::Json(value) = frame else { return Ok(None) };
        let line: WireResponse = serde_json::from_value(value).map_err(|e| {
            ModelError::new(
                ModelErrorKind::Malformed,
                PROVIDER,
                format!("unexpected stream line ({e})"),
            )
        })?;
        if let Some(error) = &line.error {
            return Err(classify_line(error));
        }
        if let Some(model) = line.model.as_deref().filter(|m| !m.is_empty()) {
            self.model = model.to_owned();
        }
        let delta = line.message.as_ref().and_then(|m| m.content.clone()).unwrap_or_default();
        self.text.push_str(&delta);
        if line.done == Some(true) {
            self.done = true;
            self.finish = Some(finish_reason(line.done_reason.as_deref()));
            self.usage = line.usage();
        }
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
                "the stream ended before the answer was done",
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A recorded `stream: true` answer.
    const LINES: [&str; 4] = [
        r#"{"model":"llama3.2","created_at":"2025-01-01T00:00:00.1Z","message":{"role":"assistant","content":"The"},"done":false}"#,
        r#"{"model":"llama3.2","created_at":"2025-01-01T00:00:00.2Z","message":{"role":"assistant","content":" sky"},"done":false}"#,
        r#"{"model":"llama3.2","created_at":"2025-01-01T00:00:00.3Z","message":{"role":"assistant","content":" is blue."},"done":false}"#,
        r#"{"model":"llama3.2","created_at":"2025-01-01T00:00:00.4Z","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}"#,
    ];

    fn json(line: &str) -> Frame {
        Frame::Json(serde_json::from_str::<Value>(line).unwrap())
    }

    #[test]
    fn decodes_a_recorded_stream() {
        let mut d = LineDecoder::default();
        let deltas: Vec<_> = LINES.iter().map(|l| d.frame(json(l)).unwrap().unwrap()).collect();
        assert_eq!(deltas.concat(), "The sky is blue.");
        assert!(d.is_done());
        let c = d.finish().unwrap();
        assert_eq!(c.text, "The sky is blue.");
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 26, completion_tokens: 282 });
        assert_eq!(c.model, "llama3.2");
    }

    #[test]
    fn a_stream_without_done_is_cut_off() {
        let mut d = LineDecoder::default();
        d.frame(json(LINES[0])).unwrap();
        assert!(!d.is_done());
        assert_eq!(d.finish().unwrap_err().kind, ModelErrorKind::Connection);
    }

    #[test]
    fn error_lines_and_odd_lines() {
        let mut d = LineDecoder::default();
        let err = d
            .frame(json(
                r#"{"error":"an error was encountered while running the model: unexpected EOF"}"#,
            ))
            .unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Server);
        assert!(err.message.contains("unexpected EOF"));
        assert_eq!(d.frame(json("[1]")).unwrap_err().kind, ModelErrorKind::Malformed);
        let length = r#"{"model":"m","message":{"role":"assistant","content":""},"done":true,"done_reason":"length","eval_count":5}"#;
        d.frame(json(length)).unwrap();
        assert_eq!(d.finish().unwrap().finish_reason, FinishReason::Length);
    }
}
