//! Pure translation of Gemini's `streamGenerateContent?alt=sse`: SSE events whose
//! `data` is one `GenerateContentResponse` chunk (text parts so far, then a chunk
//! with `finishReason` and `usageMetadata`). There is no end marker: the answer is
//! complete when the body ends after a chunk with a finish reason.

use super::PROVIDER;
use super::errors::classify_value;
use super::wire::{WireResponse, completion, finish_reason};
use crate::model::stream::{Frame, StreamDecoder};
use crate::model::{Completion, FinishReason, ModelError, ModelErrorKind, TokenUsage};
use serde_json::Value;

/// The state of one streamed answer.
#[derive(Debug, Default)]
pub struct ChunkDecoder {
    text: String,
    finish: Option<FinishReason>,
    usage: TokenUsage,
    model: String,
}

impl StreamDecoder for ChunkDecoder {
    fn frame(&mut self, frame: Frame) -> Result<Option<String>, ModelError> {
        let Frame::Sse(event) = frame else { return Ok(None) };
        let data = event.data.trim();
        if data.is_empty() {
            return Ok(None);
        }
        let value: Value = serde_json::from_str(data).map_err(|e| malformed(&e, data))?;
        if value.get("error").is_some() {
            return Err(classify_value(&value));
        }
        let chunk: WireResponse = serde_json::from_value(value).map_err(|e| malformed(&e, data))?;
        if let Some(model) = chunk.model_version.filter(|m| !m.is_empty()) {
            self.model = model;
        }
        // Each chunk's usage is the running total; the last one is the answer's.
        if let Some(usage) = chunk.usage_metadata {
            self.usage = usage.tokens();
        }
        let Some(candidate) = chunk.candidates.and_then(|c| c.into_iter().next()) else {
            if chunk.prompt_feedback.and_then(|f| f.block_reason).is_some() {
                self.finish = Some(FinishReason::ContentFilter);
            }
            return Ok(None);
        };
        if let Some(reason) = candidate.finish_reason.as_deref() {
            self.finish = Some(finish_reason(Some(reason)));
        }
        let delta = candidate.text();
        self.text.push_str(&delta);
        Ok(Some(delta))
    }

    fn is_done(&self) -> bool {
        false
    }

    fn finish(&mut self) -> Result<Completion, ModelError> {
        let Some(finish_reason) = self.finish else {
            return Err(ModelError::new(
                ModelErrorKind::Connection,
                PROVIDER,
                "the stream ended before the answer finished",
            ));
        };
        let text = std::mem::take(&mut self.text);
        Ok(completion(text, finish_reason, self.usage, std::mem::take(&mut self.model)))
    }
}

fn malformed(e: &serde_json::Error, data: &str) -> ModelError {
    let excerpt = crate::model::transport::body_excerpt(data.as_bytes(), 200);
    ModelError::new(
        ModelErrorKind::Malformed,
        PROVIDER,
        format!("invalid stream chunk ({e}): {excerpt}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sse::SseEvent;

    fn sse(data: &str) -> Frame {
        Frame::Sse(SseEvent { event: None, data: data.to_owned() })
    }

    /// A recorded `streamGenerateContent?alt=sse` answer.
    const CHUNKS: [&str; 3] = [
        r#"{"candidates": [{"content": {"parts": [{"text": "The"}],"role": "model"}}],"usageMetadata": {"promptTokenCount": 8,"totalTokenCount": 8},"modelVersion": "gemini-2.0-flash","responseId": "r1"}"#,
        r#"{"candidates": [{"content": {"parts": [{"text": " sky is"}],"role": "model"}}],"usageMetadata": {"promptTokenCount": 8,"totalTokenCount": 8},"modelVersion": "gemini-2.0-flash","responseId": "r1"}"#,
        r#"{"candidates": [{"content": {"parts": [{"text": " blue.\n"}],"role": "model"},"finishReason": "STOP"}],"usageMetadata": {"promptTokenCount": 8,"candidatesTokenCount": 5,"totalTokenCount": 13,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 8}]},"modelVersion": "gemini-2.0-flash","responseId": "r1"}"#,
    ];

    #[test]
    fn decodes_a_recorded_stream_with_usage_from_the_last_chunk() {
        let mut d = ChunkDecoder::default();
        let deltas: Vec<_> = CHUNKS.iter().map(|c| d.frame(sse(c)).unwrap().unwrap()).collect();
        assert_eq!(deltas, ["The", " sky is", " blue.\n"]);
        assert!(!d.is_done());
        let c = d.finish().unwrap();
        assert_eq!(c.text, "The sky is blue.\n");
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 8, completion_tokens: 5 });
        assert_eq!(c.model, "gemini-2.0-flash");
        assert_eq!(c.provider, "gemini");
    }

    #[test]
    fn a_stream_cut_before_the_finish_reason_is_an_error() {
        let mut d = ChunkDecoder::default();
        d.frame(sse(CHUNKS[0])).unwrap();
        assert_eq!(d.finish().unwrap_err().kind, ModelErrorKind::Connection);
    }

    #[test]
    fn errors_blocks_and_garbage() {
        let mut d = ChunkDecoder::default();
        let err = d
            .frame(sse(r#"{"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}"#))
            .unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Server);
        assert_eq!(d.frame(sse("{nope")).unwrap_err().kind, ModelErrorKind::Malformed);
        let mut d = ChunkDecoder::default();
        d.frame(sse(r#"{"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}, "usageMetadata": {"promptTokenCount": 4}}"#))
            .unwrap();
        let c = d.finish().unwrap();
        assert_eq!(c.finish_reason, FinishReason::ContentFilter);
        assert_eq!(c.text, "");
        assert_eq!(c.usage.prompt_tokens, 4);
    }
}
