//! Turning a Gemini error answer into a typed [`ModelError`].
//!
//! Gemini answers errors as Google APIs do:
//! `{"error": {"code": 429, "message": "…", "status": "RESOURCE_EXHAUSTED",
//! "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "43s"}, …]}}`.

use super::PROVIDER;
use crate::model::transport::{body_excerpt, retry_after};
use crate::model::{ModelError, ModelErrorKind};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::time::Duration;

/// How many characters of the provider's message an error keeps.
const MESSAGE_CHARS: usize = 300;

/// How Gemini says the prompt is over the model's context window.
const CONTEXT_MARKERS: [&str; 3] =
    ["exceeds the maximum number of tokens", "input token count", "context window"];

/// How Gemini rejects the requested response format or schema.
const FORMAT_MARKERS: [&str; 5] = [
    "response_schema",
    "responseschema",
    "response_mime_type",
    "responsemimetype",
    "response_json_schema",
];

/// How Gemini says the quota (not just the per-minute rate) is used up.
const QUOTA_MARKERS: [&str; 2] = ["exceeded your current quota", "billing"];

/// Classify a non-2xx answer.
///
/// - `RESOURCE_EXHAUSTED` / 429: [`ModelErrorKind::Quota`] when the quota that ran
///   out is a daily one (a `QuotaFailure` whose `quotaId` says `PerDay`), or when the
///   message speaks of the quota or billing **and** no `RetryInfo` says when to come
///   back; otherwise [`ModelErrorKind::RateLimit`]. (Gemini's per-minute limits also
///   say "You exceeded your current quota", but come with a `retryDelay`.)
/// - `UNAUTHENTICATED` / 401, `PERMISSION_DENIED` / 403, and a 400 whose reason is
///   `API_KEY_INVALID` → [`ModelErrorKind::Auth`].
/// - A 400 about the input token count → [`ModelErrorKind::ContextLength`]; a 400
///   naming the response schema or MIME type → [`ModelErrorKind::UnsupportedFormat`].
/// - `DEADLINE_EXCEEDED` / 504 → [`ModelErrorKind::Timeout`]; other 4xx →
///   [`ModelErrorKind::InvalidRequest`]; 5xx (`INTERNAL`, `UNAVAILABLE`) →
///   [`ModelErrorKind::Server`].
///
/// `retry_after` is the `Retry-After` header when there is one, else the `RetryInfo`
/// detail's `retryDelay` (`"1.5s"`).
pub fn classify_error(status: u16, headers: &HeaderMap, body: &[u8]) -> ModelError {
    let info = ErrorInfo::parse(serde_json::from_slice::<Value>(body).ok().as_ref());
    let kind = info.kind(Some(status));
    let message = match &info.message {
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
        .with_retry_after(retry_after(headers).or(info.retry_delay))
}

/// Classify an `{"error": …}` object met inside a stream (no HTTP status of its own;
/// its `code` is used when present).
pub fn classify_value(value: &Value) -> ModelError {
    let info = ErrorInfo::parse(Some(value));
    let status = info.code.and_then(|c| u16::try_from(c).ok());
    let kind = info.kind(status);
    let message = info.message.as_deref().unwrap_or("error in the stream");
    let mut error =
        ModelError::new(kind, PROVIDER, body_excerpt(message.as_bytes(), MESSAGE_CHARS))
            .with_retry_after(info.retry_delay);
    error.status = status;
    error
}

#[derive(Debug, Default)]
struct ErrorInfo {
    code: Option<u64>,
    message: Option<String>,
    status: Option<String>,
    reasons: Vec<String>,
    quota_ids: Vec<String>,
    retry_delay: Option<Duration>,
}

impl ErrorInfo {
    fn parse(json: Option<&Value>) -> Self {
        let Some(json) = json else { return Self::default() };
        // The non-SSE stream endpoint wraps everything in an array.
        let json = match json {
            Value::Array(items) => items.first().unwrap_or(json),
            other => other,
        };
        let error = json.get("error").unwrap_or(json);
        if let Value::String(s) = error {
            return Self { message: Some(s.clone()), ..Self::default() };
        }
        let text = |key: &str| error.get(key).and_then(Value::as_str).map(str::to_owned);
        let mut info = Self {
            code: error.get("code").and_then(Value::as_u64),
            message: text("message"),
            status: text("status"),
            ..Self::default()
        };
        for detail in error.get("details").and_then(Value::as_array).into_iter().flatten() {
            if let Some(reason) = detail.get("reason").and_then(Value::as_str) {
                info.reasons.push(reason.to_owned());
            }
            if let Some(delay) = detail.get("retryDelay").and_then(Value::as_str) {
                info.retry_delay = info.retry_delay.or_else(|| parse_delay(delay));
            }
            for violation in
                detail.get("violations").and_then(Value::as_array).into_iter().flatten()
            {
                if let Some(id) = violation.get("quotaId").and_then(Value::as_str) {
                    info.quota_ids.push(id.to_owned());
                }
            }
        }
        info
    }

    fn kind(&self, status: Option<u16>) -> ModelErrorKind {
        let lower = self.message.as_deref().unwrap_or_default().to_lowercase();
        let mentions = |markers: &[&str]| markers.iter().any(|m| lower.contains(m));
        let is_status = |s: &str| self.status.as_deref() == Some(s);
        if is_status("RESOURCE_EXHAUSTED") || status == Some(429) {
            let daily = self.quota_ids.iter().any(|id| id.contains("PerDay"));
            let quota_words = mentions(&QUOTA_MARKERS) && self.retry_delay.is_none();
            return if daily || quota_words {
                ModelErrorKind::Quota
            } else {
                ModelErrorKind::RateLimit
            };
        }
        let key_invalid = self.reasons.iter().any(|r| r == "API_KEY_INVALID")
            || lower.contains("api key not valid");
        if key_invalid
            || is_status("UNAUTHENTICATED")
            || is_status("PERMISSION_DENIED")
            || matches!(status, Some(401 | 403))
        {
            return ModelErrorKind::Auth;
        }
        if is_status("DEADLINE_EXCEEDED") || status == Some(504) {
            return ModelErrorKind::Timeout;
        }
        match status {
            Some(400 | 413) if mentions(&CONTEXT_MARKERS) => ModelErrorKind::ContextLength,
            Some(400) if mentions(&FORMAT_MARKERS) => ModelErrorKind::UnsupportedFormat,
            Some(300..=499) => ModelErrorKind::InvalidRequest,
            None if is_status("INVALID_ARGUMENT") || is_status("NOT_FOUND") => {
                ModelErrorKind::InvalidRequest
            }
            _ => ModelErrorKind::Server,
        }
    }
}

/// A protobuf JSON duration: decimal seconds with an `s` suffix (`"1.5s"`, `"43s"`).
fn parse_delay(text: &str) -> Option<Duration> {
    let secs: f64 = text.trim().strip_suffix('s')?.parse().ok()?;
    if secs >= 0.0 { Duration::try_from_secs_f64(secs).ok() } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    /// Gemini's free-tier per-minute limit (it speaks of "quota", but says when to
    /// come back).
    const PER_MINUTE: &str = r#"{
      "error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
          {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [
              {
                "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                "quotaDimensions": { "location": "global", "model": "gemini-2.0-flash" },
                "quotaValue": "15"
              }
            ]
          },
          {
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [ { "description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits" } ]
          },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s" }
        ]
      }
    }"#;

    /// The daily free-tier quota.
    const PER_DAY: &str = r#"{
      "error": {
        "code": 429,
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "status": "RESOURCE_EXHAUSTED",
        "details": [
          {
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [ { "quotaId": "GenerateRequestsPerDayPerProjectPerModel-FreeTier", "quotaValue": "200" } ]
          },
          { "@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "27s" }
        ]
      }
    }"#;

    /// A wrong key (Gemini answers 400, not 401).
    const BAD_KEY: &str = r#"{
      "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
          {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": { "service": "generativelanguage.googleapis.com" }
          }
        ]
      }
    }"#;

    fn error(code: u16, status: &str, message: &str) -> Vec<u8> {
        serde_json::json!({ "error": { "code": code, "message": message, "status": status } })
            .to_string()
            .into_bytes()
    }

    #[test]
    fn per_minute_limits_are_rate_limits_with_the_retry_delay() {
        let e = classify_error(429, &HeaderMap::new(), PER_MINUTE.as_bytes());
        assert_eq!(e.kind, ModelErrorKind::RateLimit);
        assert_eq!(e.retry_after, Some(Duration::from_millis(1500)));
        assert_eq!(e.provider, "gemini");
        assert!(e.message.starts_with("You exceeded your current quota"));
        // A Retry-After header wins over the detail.
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        let e = classify_error(429, &headers, PER_MINUTE.as_bytes());
        assert_eq!(e.retry_after, Some(Duration::from_secs(3)));
    }

    #[test]
    fn daily_or_billing_exhaustion_is_quota() {
        let e = classify_error(429, &HeaderMap::new(), PER_DAY.as_bytes());
        assert_eq!(e.kind, ModelErrorKind::Quota);
        let body = error(
            429,
            "RESOURCE_EXHAUSTED",
            "You exceeded your current quota, please check your plan and billing details.",
        );
        assert_eq!(classify_error(429, &HeaderMap::new(), &body).kind, ModelErrorKind::Quota);
        let body =
            error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
        assert_eq!(classify_error(429, &HeaderMap::new(), &body).kind, ModelErrorKind::RateLimit);
    }

    #[test]
    fn auth_errors_including_the_400_for_a_bad_key() {
        let e = classify_error(400, &HeaderMap::new(), BAD_KEY.as_bytes());
        assert_eq!(e.kind, ModelErrorKind::Auth);
        let body = error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers.");
        assert_eq!(classify_error(403, &HeaderMap::new(), &body).kind, ModelErrorKind::Auth);
        let body = error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
        assert_eq!(classify_error(401, &HeaderMap::new(), &body).kind, ModelErrorKind::Auth);
    }

    #[test]
    fn context_format_and_other_client_errors() {
        let body = error(
            400,
            "INVALID_ARGUMENT",
            "The input token count (1290473) exceeds the maximum number of tokens allowed (1048576).",
        );
        assert_eq!(
            classify_error(400, &HeaderMap::new(), &body).kind,
            ModelErrorKind::ContextLength
        );
        let body = error(
            400,
            "INVALID_ARGUMENT",
            "Invalid JSON payload received. Unknown name \"additionalProperties\" at 'generation_config.response_schema.properties[0].value': Cannot find field.",
        );
        assert_eq!(
            classify_error(400, &HeaderMap::new(), &body).kind,
            ModelErrorKind::UnsupportedFormat
        );
        let body = error(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta");
        let e = classify_error(404, &HeaderMap::new(), &body);
        assert_eq!(e.kind, ModelErrorKind::InvalidRequest);
        assert_eq!(e.message, "models/gemini-9 is not found for API version v1beta");
    }

    #[test]
    fn server_errors_and_timeouts() {
        let body = error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.");
        let e = classify_error(503, &HeaderMap::new(), &body);
        assert_eq!(e.kind, ModelErrorKind::Server);
        assert!(e.kind.is_retryable());
        let body = error(500, "INTERNAL", "An internal error has occurred.");
        assert_eq!(classify_error(500, &HeaderMap::new(), &body).kind, ModelErrorKind::Server);
        let body =
            error(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.");
        assert_eq!(classify_error(504, &HeaderMap::new(), &body).kind, ModelErrorKind::Timeout);
        let e = classify_error(502, &HeaderMap::new(), b"<html>Bad Gateway</html>");
        assert_eq!(e.kind, ModelErrorKind::Server);
        assert_eq!(e.message, "<html>Bad Gateway</html>");
    }

    #[test]
    fn stream_errors_and_delays() {
        let value: Value = serde_json::from_str(PER_MINUTE).unwrap();
        let e = classify_value(&value);
        assert_eq!(e.kind, ModelErrorKind::RateLimit);
        assert_eq!(e.status, Some(429));
        let value =
            serde_json::json!({"error": {"code": 500, "message": "x", "status": "INTERNAL"}});
        assert_eq!(classify_value(&value).kind, ModelErrorKind::Server);
        assert_eq!(parse_delay("43s"), Some(Duration::from_secs(43)));
        assert_eq!(parse_delay("0.25s"), Some(Duration::from_millis(250)));
        assert_eq!(parse_delay("soon"), None);
        assert_eq!(parse_delay("-1s"), None);
    }
}
