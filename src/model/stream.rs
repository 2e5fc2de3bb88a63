//! Streamed answers: text deltas as they arrive, then the whole completion.
//!
//! A middleware that restarts a stream (a retry or a failover after part of an answer
//! arrived) yields [`StreamEvent::Restart`] first, so consumers drop what they showed:
//! a partial answer from a failed attempt never leaks into the output.

use super::{Completion, ModelError};
use futures::stream::BoxStream;

/// One event of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// More text.
    Delta(String),
    /// Discard every delta so far: the answer starts again.
    Restart,
    /// The whole answer, with its finish reason and usage. Always the last event.
    Done(Completion),
}

/// A streamed answer.
pub type CompletionStream = BoxStream<'static, Result<StreamEvent, ModelError>>;

/// A stream of one delta (the whole text) and the completion.
pub fn once(completion: Completion) -> CompletionStream {
    let delta = StreamEvent::Delta(completion.text.clone());
    Box::pin(futures::stream::iter([Ok(delta), Ok(StreamEvent::Done(completion))]))
}

/// Drain `stream`, calling `on_delta` with each delta (and with `None` on a restart),
/// and return the final completion. A stream that ends without [`StreamEvent::Done`]
/// is an error of kind `Malformed` attributed to `provider`.
pub async fn collect(
    mut stream: CompletionStream,
    provider: &str,
    on_delta: &mut (dyn FnMut(Option<&str>) + Send),
) -> Result<Completion, ModelError> {
    use futures::StreamExt;
    while let Some(event) = stream.next().await {
        match event? {
            StreamEvent::Delta(text) => on_delta(Some(&text)),
            StreamEvent::Restart => on_delta(None),
            StreamEvent::Done(completion) => return Ok(completion),
        }
    }
    Err(ModelError::new(
        super::ModelErrorKind::Malformed,
        provider,
        "the stream ended before the answer was complete",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn once_yields_the_text_then_the_completion() {
        let c = Completion { text: "hi".into(), ..Completion::default() };
        let mut seen = Vec::new();
        let got = collect(once(c.clone()), "p", &mut |d| seen.push(d.map(str::to_owned))).await;
        assert_eq!(got.unwrap(), c);
        assert_eq!(seen, vec![Some("hi".to_owned())]);
    }

    #[tokio::test]
    async fn a_stream_without_done_is_malformed() {
        let s: CompletionStream =
            Box::pin(futures::stream::iter([Ok(StreamEvent::Delta("x".into()))]));
        let err = collect(s, "p", &mut |_| {}).await.unwrap_err();
        assert_eq!(err.kind, crate::model::ModelErrorKind::Malformed);
    }
}

/// One frame of a streamed HTTP body.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// A server-sent event (OpenAI, Anthropic, Gemini).
    Sse(super::sse::SseEvent),
    /// One line of newline-delimited JSON (Ollama).
    Json(serde_json::Value),
}

/// How a streamed body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `text/event-stream`.
    Sse,
    /// `application/x-ndjson`.
    Ndjson,
}

/// A provider's pure translation of stream frames into text deltas and a completion.
pub trait StreamDecoder: Send + 'static {
    /// Take one frame; return the text it adds (if any).
    fn frame(&mut self, frame: Frame) -> Result<Option<String>, ModelError>;
    /// Whether the provider signalled the end of the answer (later bytes are ignored).
    fn is_done(&self) -> bool;
    /// The whole answer, once the body ended (or [`is_done`](Self::is_done)).
    fn finish(&mut self) -> Result<Completion, ModelError>;
}

/// Decode a streamed body with `framing` and `decoder` into a [`CompletionStream`].
/// A body that breaks off (dropped connection, idle timeout) yields that error; a
/// frame that is not valid JSON where JSON was due yields `Malformed` for `provider`.
pub fn decode(
    body: BoxStream<'static, Result<Vec<u8>, ModelError>>,
    framing: Framing,
    decoder: impl StreamDecoder,
    provider: &str,
) -> CompletionStream {
    use futures::StreamExt;
    use std::collections::VecDeque;

    struct State<D> {
        body: BoxStream<'static, Result<Vec<u8>, ModelError>>,
        sse: super::sse::SseDecoder,
        ndjson: super::ndjson::NdjsonDecoder,
        decoder: D,
        pending: VecDeque<Result<StreamEvent, ModelError>>,
        ended: bool,
    }

    impl<D: StreamDecoder> State<D> {
        /// Feed frames to the decoder, queueing deltas; stop at the first error, then
        /// at the framing error that came after them, unless the answer was done.
        fn frames(&mut self, frames: Vec<Frame>, error: Option<ModelError>) {
            for frame in frames {
                if self.decoder.is_done() || self.ended {
                    return;
                }
                match self.decoder.frame(frame) {
                    Ok(Some(delta)) if !delta.is_empty() => {
                        self.pending.push_back(Ok(StreamEvent::Delta(delta)));
                    }
                    Ok(_) => {}
                    Err(e) => return self.fail(e),
                }
            }
            if let Some(error) = error
                && !self.decoder.is_done()
                && !self.ended
            {
                self.fail(error);
            }
        }

        fn fail(&mut self, e: ModelError) {
            self.pending.push_back(Err(e));
            self.ended = true;
        }

        fn complete(&mut self) {
            let done = self.decoder.finish().map(StreamEvent::Done);
            self.pending.push_back(done);
            self.ended = true;
        }
    }

    let provider = provider.to_owned();
    let state = State {
        body,
        sse: Default::default(),
        ndjson: Default::default(),
        decoder,
        pending: VecDeque::new(),
        ended: false,
    };
    // The frames that `bytes` (or, with `None`, the end of the body) completes, and the
    // error that stopped framing, if any: frames before a bad line still count.
    let frames_of = move |state: &mut State<_>,
                          bytes: Option<&[u8]>|
          -> (Vec<Frame>, Option<ModelError>) {
        match framing {
            Framing::Sse => {
                let events = match bytes {
                    Some(b) => state.sse.push(b),
                    None => state.sse.finish(),
                };
                (events.into_iter().map(Frame::Sse).collect(), None)
            }
            Framing::Ndjson => {
                let lines = match bytes {
                    Some(b) => state.ndjson.push(b),
                    None => state.ndjson.finish(),
                };
                let mut frames = Vec::with_capacity(lines.len());
                for line in lines {
                    match line {
                        Ok(v) => frames.push(Frame::Json(v)),
                        Err(e) => {
                            let msg = format!("invalid JSON line in the stream: {e}");
                            let error =
                                ModelError::new(super::ModelErrorKind::Malformed, &provider, msg);
                            return (frames, Some(error));
                        }
                    }
                }
                (frames, None)
            }
        }
    };
    let stream = futures::stream::unfold((state, frames_of), |(mut state, frames_of)| async move {
        loop {
            if let Some(item) = state.pending.pop_front() {
                return Some((item, (state, frames_of)));
            }
            if state.ended {
                return None;
            }
            if state.decoder.is_done() {
                state.complete();
                continue;
            }
            match state.body.next().await {
                Some(Ok(bytes)) => {
                    let (frames, error) = frames_of(&mut state, Some(&bytes));
                    state.frames(frames, error);
                }
                Some(Err(e)) => state.fail(e),
                None => {
                    let (frames, error) = frames_of(&mut state, None);
                    state.frames(frames, error);
                    if !state.ended {
                        state.complete();
                    }
                }
            }
        }
    });
    Box::pin(stream)
}
