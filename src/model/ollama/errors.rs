//! Turning an Ollama error answer (`{"error": "…"}` with a status) into a typed
//! [`ModelError`].

use super::PROVIDER;
use crate::model::transport::{body_excerpt, retry_after};
use crate::model::{ModelError, ModelErrorKind};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// How many characters of the server's message an error keeps.
const MESSAGE_CHARS: usize = 300;

/// How Ollama says the prompt does not fit.
const CONTEXT_MARKERS: [&str; 2] = ["context length", "exceeds maximum context"];

/// How Ollama rejects the `format` field (servers before 0.5 take only `"json"`).
const FORMAT_MARKERS: [&str; 2] = ["format", "json schema"];

/// Classify a non-2xx answer for `model`.
///
/// - 404 (the model is not pulled) → [`ModelErrorKind::InvalidRequest`], with a hint
///   to run `ollama pull {model}`.
/// - 429 (`server busy`, too many queued requests) → [`ModelErrorKind::RateLimit`].
/// - 401 / 403 (a key required by ollama.com or a proxy) → [`ModelErrorKind::Auth`].
/// - A 400 about the context length → [`ModelErrorKind::ContextLength`]; a 400 about
///   the `format` → [`ModelErrorKind::UnsupportedFormat`]; other 4xx →
///   [`ModelErrorKind::InvalidRequest`].
/// - 5xx (the runner crashed, out of memory, `503` busy) → [`ModelErrorKind::Server`].
pub fn classify_error(status: u16, headers: &HeaderMap, body: &[u8], model: &str) -> ModelError {
    let message = error_text(body);
    let lower = message.as_deref().unwrap_or_default().to_lowercase();
    let mentions = |markers: &[&str]| markers.iter().any(|m| lower.contains(m));
    let kind = match status {
        429 => ModelErrorKind::RateLimit,
        401 | 403 => ModelErrorKind::Auth,
        400 | 413 if mentions(&CONTEXT_MARKERS) => ModelErrorKind::ContextLength,
        400 if mentions(&FORMAT_MARKERS) => ModelErrorKind::UnsupportedFormat,
        300..=499 => ModelErrorKind::InvalidRequest,
        _ => ModelErrorKind::Server,
    };
    let mut message = match message {
        Some(m) if !m.trim().is_empty() => body_excerpt(m.as_bytes(), MESSAGE_CHARS),
        _ if !body.trim_ascii().is_empty() => body_excerpt(body, MESSAGE_CHARS),
        _ => reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no error message")
            .to_owned(),
    };
    if status == 404 {
        message =
            format!("{message} (is the model pulled? run `ollama pull {model}` on the server)");
    }
    ModelError::new(kind, PROVIDER, message)
        .with_status(status)
        .with_retry_after(retry_after(headers))
}

/// Classify an `{"error": "…"}` line met inside a stream: the runner failed mid-answer.
pub fn classify_line(message: &str) -> ModelError {
    ModelError::new(
        ModelErrorKind::Server,
        PROVIDER,
        body_excerpt(message.as_bytes(), MESSAGE_CHARS),
    )
}

/// The `error` text of an Ollama error body.
fn error_text(body: &[u8]) -> Option<String> {
    let json: Value = serde_json::from_slice(body).ok()?;
    match json.get("error")? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("message").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::time::Duration;

    #[test]
    fn a_missing_model_hints_at_ollama_pull() {
        let body = br#"{"error":"model \"llama3.2\" not found, try pulling it first"}"#;
        let e = classify_error(404, &HeaderMap::new(), body, "llama3.2");
        assert_eq!(e.kind, ModelErrorKind::InvalidRequest);
        assert!(e.message.starts_with("model \"llama3.2\" not found"), "{}", e.message);
        assert!(e.message.contains("ollama pull llama3.2"), "{}", e.message);
        assert_eq!(e.provider, "ollama");
    }

    #[test]
    fn busy_servers_are_retryable() {
        let body =
            br#"{"error":"server busy, please try again.  maximum pending requests exceeded"}"#;
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("1"));
        let e = classify_error(429, &headers, body, "m");
        assert_eq!(e.kind, ModelErrorKind::RateLimit);
        assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
        let e = classify_error(503, &HeaderMap::new(), body, "m");
        assert_eq!(e.kind, ModelErrorKind::Server);
        let crash = br#"{"error":"llama runner process has terminated: signal: killed"}"#;
        let e = classify_error(500, &HeaderMap::new(), crash, "m");
        assert_eq!(e.kind, ModelErrorKind::Server);
        assert_eq!(e.message, "llama runner process has terminated: signal: killed");
    }

    #[test]
    fn client_errors() {
        let e = classify_error(401, &HeaderMap::new(), br#"{"error":"unauthorized"}"#, "m");
        assert_eq!(e.kind, ModelErrorKind::Auth);
        let old = br#"{"error":"json: cannot unmarshal object into Go struct field ChatRequest.format of type string"}"#;
        assert_eq!(
            classify_error(400, &HeaderMap::new(), old, "m").kind,
            ModelErrorKind::UnsupportedFormat
        );
        let ctx = br#"{"error":"the input length exceeds the context length"}"#;
        assert_eq!(
            classify_error(400, &HeaderMap::new(), ctx, "m").kind,
            ModelErrorKind::ContextLength
        );
        let other = br#"{"error":"invalid message role"}"#;
        assert_eq!(
            classify_error(400, &HeaderMap::new(), other, "m").kind,
            ModelErrorKind::InvalidRequest
        );
        let e = classify_error(502, &HeaderMap::new(), b"", "m");
        assert_eq!(e.kind, ModelErrorKind::Server);
        assert_eq!(e.message, "Bad Gateway");
        assert_eq!(classify_line("unexpected EOF").kind, ModelErrorKind::Server);
    }
}
