//! Turning an OpenAI-compatible error answer (status, headers, body) into a typed
//! [`ModelError`], so retry and fallback decide on the kind, never on the text.

use super::PROVIDER;
use crate::model::transport::{body_excerpt, retry_after};
use crate::model::{ModelError, ModelErrorKind};
use reqwest::header::{HeaderMap, LOCATION};
use serde_json::Value;

/// How many characters of the provider's message an error keeps.
const MESSAGE_CHARS: usize = 300;

/// Phrases by which servers say the prompt is too long (OpenAI, vLLM, Groq, llama.cpp).
const CONTEXT_MARKERS: [&str; 6] = [
    "context_length_exceeded",
    "maximum context length",
    "context length exceeded",
    "exceeds the available context size",
    "exceed_context_size",
    "context window",
];

/// Phrases by which servers reject the requested `response_format`.
const FORMAT_MARKERS: [&str; 3] = ["response_format", "json_schema", "response format"];

/// Classify a non-2xx answer.
///
/// - 429 → [`ModelErrorKind::RateLimit`], or [`ModelErrorKind::Quota`] when the code or
///   type is `insufficient_quota` (or the message says the quota is exceeded); 402 is
///   also `Quota` (out of credit).
/// - 401 / 403 → [`ModelErrorKind::Auth`].
/// - 408 → [`ModelErrorKind::Timeout`] (the server gave up waiting; worth a retry).
/// - 400 / 413 / 422 with code `context_length_exceeded` or a message about the maximum
///   context length → [`ModelErrorKind::ContextLength`].
/// - 400 / 422 whose error mentions `response_format` or `json_schema` →
///   [`ModelErrorKind::UnsupportedFormat`].
/// - Any other 4xx (and an unfollowed 3xx redirect) → [`ModelErrorKind::InvalidRequest`].
/// - 5xx (and anything else) → [`ModelErrorKind::Server`].
///
/// `Retry-After` / `retry-after-ms` become `retry_after`. The message is the
/// provider's own `error.message` when there is one, else the start of the body, else
/// the status's reason phrase — at most a few hundred characters.
pub fn classify_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ModelError {
    let info = ErrorInfo::parse(body);
    let haystack = info.haystack();
    let mentions = |markers: &[&str]| markers.iter().any(|m| haystack.contains(m));
    let kind = match status {
        429 if info.is_code("insufficient_quota")
            || haystack.contains("exceeded your current quota") =>
        {
            ModelErrorKind::Quota
        }
        429 => ModelErrorKind::RateLimit,
        402 => ModelErrorKind::Quota,
        401 | 403 => ModelErrorKind::Auth,
        408 => ModelErrorKind::Timeout,
        400 | 413 | 422 if mentions(&CONTEXT_MARKERS) => ModelErrorKind::ContextLength,
        400 | 422 if mentions(&FORMAT_MARKERS) => ModelErrorKind::UnsupportedFormat,
        300..=499 => ModelErrorKind::InvalidRequest,
        _ => ModelErrorKind::Server,
    };
    let mut message = match info.message {
        Some(m) if !m.trim().is_empty() => body_excerpt(m.as_bytes(), MESSAGE_CHARS),
        _ if !body.trim_ascii().is_empty() => body_excerpt(body, MESSAGE_CHARS),
        _ => reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("no error message")
            .to_owned(),
    };
    if (300..400).contains(&status) {
        let target = headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("?");
        message = format!("redirected to {target}; check the base URL ({message})");
    }
    ModelError::new(kind, PROVIDER, message)
        .with_status(status)
        .with_retry_after(retry_after(headers))
}

/// The interesting fields of an error body, in any of the shapes servers use:
/// `{"error": {"message", "type", "code", "param"}}` (OpenAI, llama.cpp, Ollama),
/// `{"error": "text"}`, or top-level `{"message", "type", "code"}` (vLLM).
#[derive(Default)]
struct ErrorInfo {
    /// The whole body, when it is not JSON.
    raw: Option<String>,
    message: Option<String>,
    code: Option<String>,
    kind: Option<String>,
    param: Option<String>,
}

impl ErrorInfo {
    fn parse(body: &[u8]) -> Self {
        let Ok(json) = serde_json::from_slice::<Value>(body) else {
            return Self {
                raw: Some(String::from_utf8_lossy(body).into_owned()),
                ..Self::default()
            };
        };
        let fields = match json.get("error") {
            Some(Value::String(s)) => return Self { message: Some(s.clone()), ..Self::default() },
            Some(error @ Value::Object(_)) => error,
            _ => &json,
        };
        let text = |key: &str| match fields.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(v @ (Value::Array(_) | Value::Object(_))) => Some(v.to_string()),
            _ => None,
        };
        // FastAPI-style servers put a string or a list of problems under `detail`.
        let message = text("message").or_else(|| text("detail"));
        Self { raw: None, message, code: text("code"), kind: text("type"), param: text("param") }
    }

    fn is_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code) || self.kind.as_deref() == Some(code)
    }

    /// Everything searchable, lower-cased (for a non-JSON body, the body itself).
    fn haystack(&self) -> String {
        [&self.raw, &self.message, &self.code, &self.kind, &self.param]
            .into_iter()
            .flatten()
            .map(|s| s.to_lowercase())
            .collect::<Vec<_>>()
            .join(" ")
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

    /// OpenAI's answer to too many requests per minute.
    const RATE_LIMITED: &str = r#"{
      "error": {
        "message": "Rate limit reached for gpt-4o-mini in organization org-abc on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s. Visit https://platform.openai.com/account/rate-limits to learn more.",
        "type": "requests",
        "param": null,
        "code": "rate_limit_exceeded"
      }
    }"#;

    /// OpenAI's answer when the account has no credit left.
    const INSUFFICIENT_QUOTA: &str = r#"{
      "error": {
        "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "type": "insufficient_quota",
        "param": null,
        "code": "insufficient_quota"
      }
    }"#;

    /// OpenAI's answer to a prompt over the context window.
    const CONTEXT_LENGTH: &str = r#"{
      "error": {
        "message": "This model's maximum context length is 128000 tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded"
      }
    }"#;

    /// OpenAI's answer to `json_schema` on a model without structured outputs.
    const SCHEMA_UNSUPPORTED: &str = r#"{
      "error": {
        "message": "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model. Learn more about supported models at the Structured Outputs guide: https://platform.openai.com/docs/guides/structured-outputs",
        "type": "invalid_request_error",
        "param": null,
        "code": null
      }
    }"#;

    /// OpenAI's answer to a schema strict mode cannot take.
    const SCHEMA_INVALID: &str = r#"{
      "error": {
        "message": "Invalid schema for response_format 'verdict': In context=(), 'additionalProperties' is required to be supplied and to be false.",
        "type": "invalid_request_error",
        "param": "response_format",
        "code": null
      }
    }"#;

    /// OpenAI's generic server failure.
    const SERVER_ERROR: &str = r#"{
      "error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": null,
        "code": null
      }
    }"#;

    /// OpenAI's answer to a wrong key (it masks the key itself).
    const BAD_KEY: &str = r#"{
      "error": {
        "message": "Incorrect API key provided: sk-proj-********************************************abcd. You can find your API key at https://platform.openai.com/account/api-keys.",
        "type": "invalid_request_error",
        "param": null,
        "code": "invalid_api_key"
      }
    }"#;

    /// vLLM's top-level error shape.
    const VLLM_CONTEXT: &str = r#"{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}"#;

    #[test]
    fn rate_limit_with_fractional_retry_after() {
        let e = classify_error(429, &headers(&[("retry-after", "0.05")]), RATE_LIMITED.as_bytes());
        assert_eq!(e.kind, ModelErrorKind::RateLimit);
        assert_eq!(e.status, Some(429));
        assert_eq!(e.retry_after, Some(Duration::from_millis(50)));
        assert_eq!(e.provider, "openai");
        assert!(e.message.starts_with("Rate limit reached for gpt-4o-mini"), "{}", e.message);
        assert!(e.message.chars().count() <= MESSAGE_CHARS + 1);
    }

    #[test]
    fn retry_after_ms_header_is_read() {
        let e = classify_error(429, &headers(&[("retry-after-ms", "250")]), b"");
        assert_eq!(e.retry_after, Some(Duration::from_millis(250)));
        assert_eq!(e.message, "Too Many Requests");
    }

    #[test]
    fn insufficient_quota_is_quota_not_rate_limit() {
        let e = classify_error(429, &HeaderMap::new(), INSUFFICIENT_QUOTA.as_bytes());
        assert_eq!(e.kind, ModelErrorKind::Quota);
        assert!(!e.kind.is_retryable());
        assert_eq!(classify_error(402, &HeaderMap::new(), b"{}").kind, ModelErrorKind::Quota);
    }

    #[test]
    fn auth_errors() {
        let e = classify_error(401, &HeaderMap::new(), BAD_KEY.as_bytes());
        assert_eq!(e.kind, ModelErrorKind::Auth);
        assert!(e.message.starts_with("Incorrect API key provided"), "{}", e.message);
        assert_eq!(classify_error(403, &HeaderMap::new(), b"").kind, ModelErrorKind::Auth);
    }

    #[test]
    fn context_length_from_code_or_message() {
        let e = classify_error(400, &HeaderMap::new(), CONTEXT_LENGTH.as_bytes());
        assert_eq!(e.kind, ModelErrorKind::ContextLength);
        let e = classify_error(400, &HeaderMap::new(), VLLM_CONTEXT.as_bytes());
        assert_eq!(e.kind, ModelErrorKind::ContextLength);
        assert!(e.message.starts_with("This model's maximum context length is 4096"));
    }

    #[test]
    fn response_format_rejections_are_unsupported_format() {
        for body in [SCHEMA_UNSUPPORTED, SCHEMA_INVALID] {
            let e = classify_error(400, &HeaderMap::new(), body.as_bytes());
            assert_eq!(e.kind, ModelErrorKind::UnsupportedFormat, "{body}");
        }
        // LM Studio rejects json_object with a 400 naming the field.
        let lm_studio = br#"{"error":"'response_format.type' must be 'json_schema' or 'text'"}"#;
        let e = classify_error(400, &HeaderMap::new(), lm_studio);
        assert_eq!(e.kind, ModelErrorKind::UnsupportedFormat);
        assert_eq!(e.message, "'response_format.type' must be 'json_schema' or 'text'");
        // A FastAPI validation error.
        let fastapi = br#"{"detail":[{"loc":["body","response_format"],"msg":"extra fields not permitted"}]}"#;
        let e = classify_error(422, &HeaderMap::new(), fastapi);
        assert_eq!(e.kind, ModelErrorKind::UnsupportedFormat);
    }

    #[test]
    fn other_client_errors_are_invalid_requests() {
        let body = br#"{"error":{"message":"The model `gpt-9` does not exist","type":"invalid_request_error","code":"model_not_found"}}"#;
        let e = classify_error(404, &HeaderMap::new(), body);
        assert_eq!(e.kind, ModelErrorKind::InvalidRequest);
        assert_eq!(e.message, "The model `gpt-9` does not exist");
        assert_eq!(
            classify_error(400, &HeaderMap::new(), b"{}").kind,
            ModelErrorKind::InvalidRequest
        );
        assert_eq!(classify_error(408, &HeaderMap::new(), b"").kind, ModelErrorKind::Timeout);
    }

    #[test]
    fn redirects_name_their_target() {
        let e = classify_error(301, &headers(&[("location", "https://api.example.com/v1/")]), b"");
        assert_eq!(e.kind, ModelErrorKind::InvalidRequest);
        assert!(e.message.contains("https://api.example.com/v1/"), "{}", e.message);
    }

    #[test]
    fn server_errors() {
        let e = classify_error(500, &HeaderMap::new(), SERVER_ERROR.as_bytes());
        assert_eq!(e.kind, ModelErrorKind::Server);
        assert!(e.kind.is_retryable());
        assert_eq!(
            e.message,
            "The server had an error while processing your request. Sorry about that!"
        );
        let e = classify_error(503, &headers(&[("retry-after", "2")]), b"");
        assert_eq!(e.kind, ModelErrorKind::Server);
        assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
        assert_eq!(e.message, "Service Unavailable");
    }

    #[test]
    fn garbage_bodies_are_quoted_briefly() {
        let html =
            format!("<html><body><h1>502 Bad Gateway</h1>{}</body></html>", "z".repeat(10_000));
        let e = classify_error(502, &HeaderMap::new(), html.as_bytes());
        assert_eq!(e.kind, ModelErrorKind::Server);
        assert!(e.message.starts_with("<html><body><h1>502 Bad Gateway</h1>"), "{}", e.message);
        assert!(e.message.chars().count() <= MESSAGE_CHARS + 1);
        let e = classify_error(400, &HeaderMap::new(), &[0xff, 0xfe, b'!']);
        assert_eq!(e.kind, ModelErrorKind::InvalidRequest);
        assert!(e.message.ends_with('!'), "{}", e.message);
    }

    #[test]
    fn long_provider_messages_are_bounded() {
        let body = serde_json::json!({ "error": { "message": "m".repeat(5000) } }).to_string();
        let e = classify_error(400, &HeaderMap::new(), body.as_bytes());
        assert_eq!(e.message.chars().count(), MESSAGE_CHARS + 1);
        assert!(e.message.ends_with('…'));
    }
}
