//! A scripted in-process model for deterministic tests and benchmarks
//! (behind the `test-util` feature).
//!
//! It answers with a closure over the request, so a test can answer critique requests
//! (those asking for JSON) differently from revisions, and it records every request it
//! received.

use super::{
    Completion, FinishReason, LanguageModel, ModelError, Request, ResponseFormat, TokenUsage,
};
use async_trait::async_trait;
use std::sync::Mutex;
use std::time::Duration;

type Script = dyn Fn(&Request, usize) -> Result<Completion, ModelError> + Send + Sync;

/// A model that answers from a script.
pub struct ScriptedModel {
    script: Box<Script>,
    latency: Duration,
    seen: Mutex<Vec<Request>>,
}

impl ScriptedModel {
    /// A model whose answer to the `n`-th request (from 0) is `script(request, n)`.
    pub fn new(
        script: impl Fn(&Request, usize) -> Result<Completion, ModelError> + Send + Sync + 'static,
    ) -> Self {
        Self { script: Box::new(script), latency: Duration::ZERO, seen: Mutex::new(Vec::new()) }
    }

    /// A model that answers critique requests (any JSON format) with `verdict` and every
    /// other request with `text`.
    pub fn fixed(verdict: serde_json::Value, text: impl Into<String>) -> Self {
        let text = text.into();
        Self::new(move |req, _| {
            Ok(match req.format {
                ResponseFormat::Text => reply(&text),
                _ => reply(&verdict.to_string()),
            })
        })
    }

    /// Wait `latency` before every answer (default: none).
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

/// A completion with `text`, `finish_reason = stop` and 10 prompt + 5 completion tokens.
pub fn reply(text: &str) -> Completion {
    Completion {
        text: text.to_owned(),
        finish_reason: FinishReason::Stop,
        usage: TokenUsage { prompt_tokens: 10, completion_tokens: 5 },
        model: "scripted".to_owned(),
        ..Completion::default()
    }
}

#[async_trait]
impl LanguageModel for ScriptedModel {
    fn provider(&self) -> &str {
        "scripted"
    }
    fn model(&self) -> &str {
        "scripted"
    }
    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        let n = {
            let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
            seen.push(request.clone());
            seen.len() - 1
        };
        request.trace.sent("scripted");
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        (self.script)(request, n)
    }
}
