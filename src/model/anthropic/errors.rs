//! Turning an Anthropic error answer (status, headers, body) — or an `error` event in
//! a stream — into a typed [`ModelError`].
//!
//! Anthropic's errors look like
//! `{"type": "error", "error": {"type": "rate_limit_error", "message": "…"}}`.

use super::PROVIDER;
use crate::model::transport::{body_excerpt, retry_after};
use crate::model::{ModelError, ModelErrorKind};
use reqwest::header::HeaderMap;
use serde_json::Value;

/// How many characters of the provider's message an error keeps.
const MESSAGE_CHARS: usize = 300;

/// How Anthropic says the prompt does not fit the context window.
const CONTEXT_MARKERS: [&str; 3] = ["prompt is too long", "exceed context limit", "context window"];

/// How Anthropic says the account cannot pay.
const QUOTA_MARKERS: [&str; 3] = ["credit balance", "billing", "purchase credits"];

/// Classify a non-2xx answer.
///
/// - `rate_limit_error` / 429 → [`ModelErrorKind::RateLimit`].
/// - `overloaded_error` / 529, `api_error` / 5xx → [`ModelErrorKind::Server`]
///   (retryable); `timeout_error` / 504 → [`ModelErrorKind::Timeout`].
/// - `authentication_error` / 401, `permission_error` / 403 → [`ModelErrorKind::Auth`].
/// - `billing_error` / 402, or a 400 about the credit balance or billing →
///   [`ModelErrorKind::Quota`].
/// - A 400 / 413 "prompt is too long" (or input + `max_tokens` over the context
///   limit) → [`ModelErrorKind::ContextLength`].
/// - Any other 4xx (`invalid_request_error`, `not_found_error`, …) →
///   [`ModelErrorKind::InvalidRequest`].
///
/// `retry-after` becomes `retry_after`. The message is Anthropic's own, bounded.
pub fn classify_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ModelError {
    let (kind_name, message) = parse(body);
    let kind = kind_of(Some(status), kind_name.as_deref(), message.as_deref());
    let message = match message {
        Some(m) if !m.trim().is_empty() => body_excerpt(m.as_bytes(), MESSAGE_CHARS),
        _ if !body.trim_ascii().is_empty() => body_excerpt(body, MESSAGE_CHARS),
        _ => reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no error message")
            .to_owned(),
    };
    ModelError::new(kind, PROVIDER, message)
        .with_status(status)
        .with_retry_after(retry_after(headers))
}

/// Classify the payload of a stream's `error` event (no HTTP status: the stream had
/// already started with 200).
pub fn classify_event(data: &Value) -> ModelError {
    let error = data.get("error").unwrap_or(data);
    let kind_name = error.get("type").and_then(Value::as_str);
    let message = error.get("message").and_then(Value::as_str);
    let kind = kind_of(None, kind_name, message);
    let message = body_excerpt(message.unwrap_or("error event in the stream").as_bytes(), 300);
    ModelError::new(kind, PROVIDER, message)
}

/// The error's `type` and `message`, if the body is Anthropic's error JSON.
fn parse(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(json) = serde_json::from_slice::<Value>(body) else { return (None, None) };
    let error = json.get("error").unwrap_or(&json);
    let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
    (text("type"), text("message"))
}

fn kind_of(status: Option<u16>, kind: Option<&str>, message: Option<&str>) -> ModelErrorKind {
    let lower = message.unwrap_or_default().to_lowercase();
    let mentions = |markers: &[&str]| markers.iter().any(|m| lower.contains(m));
    match (kind, status) {
        (Some("rate_limit_error"), _) | (_, Some(429)) => ModelErrorKind::RateLimit,
        (Some("overloaded_error" | "api_error"), _) => ModelErrorKind::Server,
        (Some("timeout_error"), _) | (_, Some(504)) => ModelErrorKind::Timeout,
        (Some("authentication_error" | "permission_error"), _) | (_, Some(401 | 403)) => {
            ModelErrorKind::Auth
        }
        (Some("billing_error"), _) | (_, Some(402)) => ModelErrorKind::Quota,
        _ if mentions(&QUOTA_MARKERS) => ModelErrorKind::Quota,
        _ if mentions(&CONTEXT_MARKERS) => ModelErrorKind::ContextLength,
        (_, Some(300..=499)) => ModelErrorKind::InvalidRequest,
        (Some("invalid_request_error" | "not_found_error" | "request_too_large"), None) => {
            ModelErrorKind::InvalidRequest
        }
        _ => ModelErrorKind::Server,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use std::time::Duration;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn error(kind: &str, message: &str) -> Vec<u8> {
        serde_json::json!({ "type": "error", "error": { "type": kind, "message": message },
                            "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy" })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn rate_limit_with_retry_after() {
        let body = error(
            "rate_limit_error",
            "This request would exceed the rate limit for your organization of 50 requests per minute.",
        );
        let e = classify_error(429, &headers(&[("retry-after", "7")]), &body);
        assert_eq!(e.kind, ModelErrorKind::RateLimit);
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(e.provider, "anthropic");
        assert!(e.message.starts_with("This request would exceed the rate limit"));
    }

    #[test]
    fn overloaded_529_is_a_retryable_server_error() {
        let e = classify_error(529, &HeaderMap::new(), &error("overloaded_error", "Overloaded"));
        assert_eq!(e.kind, ModelErrorKind::Server);
        assert!(e.kind.is_retryable());
        assert_eq!(e.message, "Overloaded");
        let e = classify_error(500, &HeaderMap::new(), &error("api_error", "Internal error"));
        assert_eq!(e.kind, ModelErrorKind::Server);
        let e = classify_error(504, &HeaderMap::new(), &error("timeout_error", "Timed out"));
        assert_eq!(e.kind, ModelErrorKind::Timeout);
    }

    #[test]
    fn auth_and_permission() {
        let e = classify_error(
            401,
            &HeaderMap::new(),
            &error("authentication_error", "invalid x-api-key"),
        );
        assert_eq!(e.kind, ModelErrorKind::Auth);
        let e = classify_error(403, &HeaderMap::new(), &error("permission_error", "no access"));
        assert_eq!(e.kind, ModelErrorKind::Auth);
    }

    #[test]
    fn prompt_too_long_is_context_length() {
        let e = classify_error(
            400,
            &HeaderMap::new(),
            &error("invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"),
        );
        assert_eq!(e.kind, ModelErrorKind::ContextLength);
        let e = classify_error(
            400,
            &HeaderMap::new(),
            &error(
                "invalid_request_error",
                "input length and `max_tokens` exceed context limit: 197202 + 21333 > 200000, decrease input length or `max_tokens` and try again",
            ),
        );
        assert_eq!(e.kind, ModelErrorKind::ContextLength);
    }

    #[test]
    fn credit_and_billing_are_quota() {
        let e = classify_error(
            400,
            &HeaderMap::new(),
            &error(
                "invalid_request_error",
                "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.",
            ),
        );
        assert_eq!(e.kind, ModelErrorKind::Quota);
        assert!(!e.kind.is_retryable());
        let e = classify_error(402, &HeaderMap::new(), &error("billing_error", "pay up"));
        assert_eq!(e.kind, ModelErrorKind::Quota);
    }

    #[test]
    fn other_client_errors_are_invalid_requests() {
        let e =
            classify_error(404, &HeaderMap::new(), &error("not_found_error", "model: claude-9"));
        assert_eq!(e.kind, ModelErrorKind::InvalidRequest);
        let e = classify_error(
            400,
            &HeaderMap::new(),
            &error("invalid_request_error", "temperature: range: 0..1"),
        );
        assert_eq!(e.kind, ModelErrorKind::InvalidRequest);
        assert_eq!(e.message, "temperature: range: 0..1");
    }

    #[test]
    fn garbage_bodies_are_quoted_and_empty_ones_named() {
        let e = classify_error(502, &HeaderMap::new(), b"<html>Bad Gateway</html>");
        assert_eq!(e.kind, ModelErrorKind::Server);
        assert_eq!(e.message, "<html>Bad Gateway</html>");
        let e = classify_error(503, &HeaderMap::new(), b"");
        assert_eq!(e.message, "Service Unavailable");
    }

    #[test]
    fn stream_error_events() {
        let overloaded: Value =
            serde_json::from_slice(&error("overloaded_error", "Overloaded")).unwrap();
        assert_eq!(classify_event(&overloaded).kind, ModelErrorKind::Server);
        let limited: Value = serde_json::from_slice(&error("rate_limit_error", "slow")).unwrap();
        assert_eq!(classify_event(&limited).kind, ModelErrorKind::RateLimit);
        let bad: Value = serde_json::from_slice(&error("invalid_request_error", "bad")).unwrap();
        assert_eq!(classify_event(&bad).kind, ModelErrorKind::InvalidRequest);
    }
}
