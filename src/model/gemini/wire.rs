//! Pure translation between redraft's [`Request`]/[`Completion`] and Gemini's
//! `generateContent` JSON: no I/O, unit-tested on recorded responses.

use super::PROVIDER;
use super::schema::openapi_schema;
use crate::model::openai::temperature_json;
use crate::model::{
    Completion, FinishReason, ModelError, Request, ResponseFormat, Role, TokenUsage,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The body of a `POST …/models/{model}:generateContent` for `request` (the model is
/// in the URL, not the body).
///
/// - System messages are joined (blank line between) into `systemInstruction`; user
///   and assistant messages become `contents` with roles `user` and `model`.
/// - `generationConfig` carries `temperature` and `maxOutputTokens` when set.
/// - [`ResponseFormat::JsonSchema`] sets `responseMimeType: application/json` and
///   `responseSchema`: the schema translated to the OpenAPI subset Gemini takes (see
///   [`openapi_schema`]; `responseSchema` works on every Gemini model, the newer
///   `responseJsonSchema` only on some). When `schema_supported` is false (the server
///   rejected a schema before), the schema goes in the system instruction instead.
///   [`ResponseFormat::JsonObject`] sets only `responseMimeType`.
pub fn request_body(request: &Request, schema_supported: bool) -> Value {
    let mut system: Vec<String> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.clone())
        .collect();
    let contents: Vec<Value> = request
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| {
            let role = if m.role == Role::Assistant { "model" } else { "user" };
            json!({ "role": role, "parts": [{ "text": m.content }] })
        })
        .collect();
    let mut config = Map::new();
    if let Some(t) = request.sampling.temperature.and_then(temperature_json) {
        config.insert("temperature".into(), t);
    }
    if let Some(max) = request.sampling.max_tokens {
        config.insert("maxOutputTokens".into(), json!(max));
    }
    match &request.format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        ResponseFormat::JsonSchema { schema, .. } => {
            config.insert("responseMimeType".into(), json!("application/json"));
            if schema_supported {
                config.insert("responseSchema".into(), openapi_schema(schema));
            } else {
                system.push(format!(
                    "Answer with one JSON object matching this JSON schema:\n{schema}"
                ));
            }
        }
    }
    let mut body = Map::new();
    body.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        body.insert(
            "systemInstruction".into(),
            json!({ "parts": [{ "text": system.join("\n\n") }] }),
        );
    }
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    Value::Object(body)
}

/// A `GenerateContentResponse` (also one chunk of a stream).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireResponse {
    #[serde(default)]
    pub(super) candidates: Option<Vec<WireCandidate>>,
    #[serde(default)]
    pub(super) usage_metadata: Option<WireUsage>,
    #[serde(default)]
    pub(super) model_version: Option<String>,
    #[serde(default)]
    pub(super) prompt_feedback: Option<WireFeedback>,
    #[serde(default)]
    pub(super) error: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireCandidate {
    #[serde(default)]
    content: Option<WireContent>,
    #[serde(default)]
    pub(super) finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireContent {
    #[serde(default)]
    parts: Option<Vec<WirePart>>,
}

#[derive(Debug, Deserialize)]
struct WirePart {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    thought: Option<bool>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireUsage {
    #[serde(default)]
    prompt_token_count: Option<u64>,
    #[serde(default)]
    candidates_token_count: Option<u64>,
    #[serde(default)]
    thoughts_token_count: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct WireFeedback {
    #[serde(default)]
    pub(super) block_reason: Option<String>,
}

impl WireCandidate {
    /// The candidate's text: its non-thought parts, joined.
    pub(super) fn text(&self) -> String {
        let parts = self.content.as_ref().and_then(|c| c.parts.as_deref()).unwrap_or_default();
        parts.iter().filter(|p| p.thought != Some(true)).filter_map(|p| p.text.as_deref()).collect()
    }
}

impl WireUsage {
    /// As redraft counts tokens: thinking tokens are billed as output, so they count
    /// as completion tokens.
    pub(super) fn tokens(self) -> TokenUsage {
        TokenUsage {
            prompt_tokens: self.prompt_token_count.unwrap_or(0),
            completion_tokens: self.candidates_token_count.unwrap_or(0)
                + self.thoughts_token_count.unwrap_or(0),
        }
    }
}

/// Read a successful `generateContent` body.
///
/// The first candidate's non-thought parts are the text. `finishReason` maps `STOP` to
/// [`FinishReason::Stop`], `MAX_TOKENS` to [`FinishReason::Length`], the safety family
/// (`SAFETY`, `RECITATION`, `BLOCKLIST`, `PROHIBITED_CONTENT`, `SPII`, `IMAGE_SAFETY`)
/// to [`FinishReason::ContentFilter`], anything else to [`FinishReason::Other`].
/// Completion tokens include thinking tokens. A prompt blocked before any candidate
/// (`promptFeedback.blockReason`) is an **empty completion with
/// [`FinishReason::ContentFilter`]**, like a refusal from the other providers, so the
/// engine treats it as a failed revision rather than a transport failure. Anything
/// that is not a response is [`ModelErrorKind::Malformed`](crate::model::ModelErrorKind::Malformed).
pub fn parse_response(body: &[u8]) -> Result<Completion, ModelError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the response is not JSON ({e})"), body))?;
    // Some proxies wrap the response in a one-element array, as the non-SSE stream does.
    let value = match value {
        Value::Array(mut items) if items.len() == 1 => items.remove(0),
        other => other,
    };
    let wire: WireResponse = serde_json::from_value(value).map_err(|e| {
        malformed(format!("the response is not a GenerateContentResponse ({e})"), body)
    })?;
    if let Some(error) = &wire.error {
        let message = error.get("message").and_then(Value::as_str).unwrap_or("no message");
        return Err(malformed(format!("the response is an error: {message}"), body));
    }
    let usage = wire.usage_metadata.map(WireUsage::tokens).unwrap_or_default();
    let model = wire.model_version.unwrap_or_default();
    let Some(candidate) = wire.candidates.and_then(|c| c.into_iter().next()) else {
        let blocked = wire.prompt_feedback.and_then(|f| f.block_reason);
        return match blocked {
            Some(_) => Ok(completion(String::new(), FinishReason::ContentFilter, usage, model)),
            None => Err(malformed("the response has no candidates".to_owned(), body)),
        };
    };
    let text = candidate.text();
    let finish = finish_reason(candidate.finish_reason.as_deref());
    Ok(completion(text, finish, usage, model))
}

pub(super) fn completion(
    text: String,
    finish_reason: FinishReason,
    usage: TokenUsage,
    model: String,
) -> Completion {
    Completion {
        text,
        finish_reason,
        usage,
        model,
        provider: PROVIDER.to_owned(),
        ..Completion::default()
    }
}

/// Gemini's `finishReason` as a [`FinishReason`].
pub(super) fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("STOP") => FinishReason::Stop,
        Some("MAX_TOKENS") => FinishReason::Length,
        Some(
            "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY",
        ) => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

fn malformed(why: String, body: &[u8]) -> ModelError {
    crate::model::transport::malformed(PROVIDER, why, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelErrorKind;
    use crate::model::{Message, Sampling};

    /// A real `gemini-2.0-flash` answer (shape from the API reference).
    const ANSWER: &str = r#"{
      "candidates": [
        {
          "content": {
            "parts": [ { "text": "Hello! How can I help you today?\n" } ],
            "role": "model"
          },
          "finishReason": "STOP",
          "avgLogprobs": -0.0243
        }
      ],
      "usageMetadata": {
        "promptTokenCount": 2,
        "candidatesTokenCount": 10,
        "totalTokenCount": 12,
        "promptTokensDetails": [ { "modality": "TEXT", "tokenCount": 2 } ],
        "candidatesTokensDetails": [ { "modality": "TEXT", "tokenCount": 10 } ]
      },
      "modelVersion": "gemini-2.0-flash",
      "responseId": "dDqqaJ2-LrGdz7IPvdDwoQQ"
    }"#;

    /// A `gemini-2.5-flash` answer cut off by `maxOutputTokens`, with thinking tokens.
    const MAX_TOKENS: &str = r#"{
      "candidates": [
        {
          "content": { "parts": [ { "text": "Once upon" } ], "role": "model" },
          "finishReason": "MAX_TOKENS",
          "index": 0
        }
      ],
      "usageMetadata": {
        "promptTokenCount": 9,
        "candidatesTokenCount": 2,
        "totalTokenCount": 60,
        "thoughtsTokenCount": 49
      },
      "modelVersion": "gemini-2.5-flash"
    }"#;

    /// A prompt blocked before generation.
    const BLOCKED: &str = r#"{
      "promptFeedback": {
        "blockReason": "SAFETY",
        "safetyRatings": [ { "category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH" } ]
      },
      "usageMetadata": { "promptTokenCount": 8, "totalTokenCount": 8 },
      "modelVersion": "gemini-2.0-flash"
    }"#;

    fn request(format: ResponseFormat) -> Request {
        Request {
            messages: vec![
                Message::system("Be a critic."),
                Message::user("Text: hi"),
                Message::assistant("ok"),
                Message::user("Again"),
            ],
            sampling: Sampling::default(),
            format,
            ..Request::default()
        }
    }

    fn schema() -> Value {
        json!({ "type": "object", "properties": { "ok": { "type": "boolean" } },
                "required": ["ok"], "additionalProperties": false })
    }

    #[test]
    fn roles_system_instruction_and_sampling() {
        let mut req = request(ResponseFormat::Text);
        req.sampling = Sampling { temperature: Some(0.7), max_tokens: Some(100) };
        let body = request_body(&req, true);
        assert_eq!(
            body,
            json!({
                "contents": [
                    { "role": "user", "parts": [{ "text": "Text: hi" }] },
                    { "role": "model", "parts": [{ "text": "ok" }] },
                    { "role": "user", "parts": [{ "text": "Again" }] }
                ],
                "systemInstruction": { "parts": [{ "text": "Be a critic." }] },
                "generationConfig": { "temperature": 0.7, "maxOutputTokens": 100 }
            })
        );
        req.messages.remove(0);
        req.sampling = Sampling::default();
        let body = request_body(&req, true);
        assert!(body.get("systemInstruction").is_none() && body.get("generationConfig").is_none());
    }

    #[test]
    fn json_schema_becomes_a_response_schema() {
        let req = request(ResponseFormat::JsonSchema { name: "v".into(), schema: schema().into() });
        let body = request_body(&req, true);
        let config = &body["generationConfig"];
        assert_eq!(config["responseMimeType"], "application/json");
        assert_eq!(
            config["responseSchema"],
            json!({ "type": "OBJECT", "properties": { "ok": { "type": "BOOLEAN" } }, "required": ["ok"] })
        );
        let body = request_body(&req, false);
        assert!(body["generationConfig"].get("responseSchema").is_none());
        let system = body["systemInstruction"]["parts"][0]["text"].as_str().unwrap();
        assert!(system.contains("additionalProperties"), "{system}");
    }

    #[test]
    fn json_object_sets_only_the_mime_type() {
        let body = request_body(&request(ResponseFormat::JsonObject), true);
        assert_eq!(body["generationConfig"], json!({ "responseMimeType": "application/json" }));
    }

    #[test]
    fn parses_a_real_answer() {
        let c = parse_response(ANSWER.as_bytes()).unwrap();
        assert_eq!(c.text, "Hello! How can I help you today?\n");
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 2, completion_tokens: 10 });
        assert_eq!(c.model, "gemini-2.0-flash");
        assert_eq!(c.provider, "gemini");
    }

    #[test]
    fn max_tokens_is_length_and_thinking_tokens_count() {
        let c = parse_response(MAX_TOKENS.as_bytes()).unwrap();
        assert_eq!(c.text, "Once upon");
        assert_eq!(c.finish_reason, FinishReason::Length);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 9, completion_tokens: 51 });
    }

    #[test]
    fn a_blocked_prompt_is_an_empty_filtered_completion() {
        let c = parse_response(BLOCKED.as_bytes()).unwrap();
        assert_eq!(c.text, "");
        assert_eq!(c.finish_reason, FinishReason::ContentFilter);
        assert_eq!(c.usage.prompt_tokens, 8);
        for reason in ["SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT"] {
            assert_eq!(finish_reason(Some(reason)), FinishReason::ContentFilter, "{reason}");
        }
        assert_eq!(finish_reason(Some("OTHER")), FinishReason::Other);
    }

    #[test]
    fn thought_parts_are_not_text() {
        let body = br#"{"candidates":[{"content":{"parts":[{"text":"thinking...","thought":true},{"text":"A"},{"text":"B"}]},"finishReason":"STOP"}]}"#;
        assert_eq!(parse_response(body).unwrap().text, "AB");
    }

    #[test]
    fn garbage_and_empty_answers_are_malformed() {
        for body in [
            &b"<html>oops</html>"[..],
            b"",
            br#"{"candidates":[]}"#,
            br#"{"error":{"code":500,"message":"boom","status":"INTERNAL"}}"#,
            b"[1]",
        ] {
            let err = parse_response(body).unwrap_err();
            assert_eq!(err.kind, ModelErrorKind::Malformed, "{}", String::from_utf8_lossy(body));
        }
    }
}
