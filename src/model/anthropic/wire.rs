//! Pure translation between redraft's [`Request`]/[`Completion`] and Anthropic's
//! Messages JSON (`POST /v1/messages`): no I/O, unit-tested on recorded responses.

use super::PROVIDER;
use crate::model::openai::{schema_name, temperature_json};
use crate::model::{
    Completion, FinishReason, ModelError, Request, ResponseFormat, Role, TokenUsage,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The `max_tokens` sent when the request sets none: the Messages API requires one.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

/// What the tool that carries a structured answer says about itself.
const TOOL_DESCRIPTION: &str =
    "Record your answer. The input must be one JSON object matching the input schema.";

/// The body of a `POST /v1/messages` for `request` to `model`.
///
/// - System messages are joined (blank line between) into the top-level `system`;
///   user and assistant messages keep their order in `messages`.
/// - `max_tokens` is the request's, else [`DEFAULT_MAX_TOKENS`] (it is required);
///   `temperature` is sent only when set (Anthropic accepts 0 to 1; the API rejects
///   more, and the rejection is reported, not hidden by clamping).
/// - [`ResponseFormat::JsonSchema`] with an object schema becomes **tool use**: one
///   tool named after the schema with the schema as its `input_schema`, and
///   `tool_choice` forcing it; [`parse_response`] turns the tool's input into the
///   completion text. A schema that is not an object (tools take objects only), and
///   [`ResponseFormat::JsonObject`], are asked for in the system prompt instead.
pub fn request_body(model: &str, request: &Request) -> Value {
    let mut system: Vec<String> = request
        .messages
        .iter()
        .filter(|m| m.role == Role::System)
        .map(|m| m.content.clone())
        .collect();
    let messages: Vec<Value> = request
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| {
            let role = if m.role == Role::Assistant { "assistant" } else { "user" };
            json!({ "role": role, "content": m.content })
        })
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    let max_tokens = request.sampling.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS);
    body.insert("max_tokens".into(), json!(max_tokens));
    if let Some(t) = request.sampling.temperature.and_then(temperature_json) {
        body.insert("temperature".into(), t);
    }
    match &request.format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonSchema { name, schema } if is_object_schema(schema) => {
            let name = schema_name(name);
            body.insert(
                "tools".into(),
                json!([{ "name": name, "description": TOOL_DESCRIPTION, "input_schema": schema }]),
            );
            body.insert("tool_choice".into(), json!({ "type": "tool", "name": name }));
        }
        ResponseFormat::JsonSchema { schema, .. } => system
            .push(format!("Answer with only JSON matching this JSON schema, no prose:\n{schema}")),
        ResponseFormat::JsonObject => {
            system.push("Answer with only one JSON object, no prose and no code fence.".into());
        }
    }
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    body.insert("messages".into(), Value::Array(messages));
    Value::Object(body)
}

/// Whether a tool can take `schema` as its input schema (`"type": "object"`).
fn is_object_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    content: Option<Vec<WireBlock>>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    input: Option<Value>,
}

/// `usage` of a message (also of `message_start` and `message_delta` events).
#[derive(Debug, Default, Deserialize)]
pub(super) struct WireUsage {
    #[serde(default)]
    pub(super) input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) output_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub(super) cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// All prompt tokens: fresh input plus what was written to and read from the
    /// prompt cache (the API counts those apart from `input_tokens`).
    pub(super) fn prompt_tokens(&self) -> Option<u64> {
        let parts =
            [self.input_tokens, self.cache_creation_input_tokens, self.cache_read_input_tokens];
        if parts.iter().all(Option::is_none) {
            return None;
        }
        Some(parts.iter().flatten().sum())
    }
}

/// Read a successful Messages body.
///
/// The text is the joined `text` blocks, unless a `tool_use` block is present (a
/// structured answer): then it is that tool's `input`, serialised as JSON, and any text
/// beside it is dropped. `thinking` blocks are never part of the text. `stop_reason`
/// maps `end_turn`, `stop_sequence` and `tool_use` to [`FinishReason::Stop`],
/// `max_tokens` (and `model_context_window_exceeded`) to [`FinishReason::Length`],
/// `refusal` to [`FinishReason::ContentFilter`], anything else to
/// [`FinishReason::Other`]. Prompt tokens include cache reads and writes. A body that
/// is not a message is [`ModelErrorKind::Malformed`](crate::model::ModelErrorKind::Malformed) quoting its start.
pub fn parse_response(body: &[u8]) -> Result<Completion, ModelError> {
    let wire: WireResponse = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the response is not a message ({e})"), body))?;
    if wire.kind.as_deref() == Some("error") || wire.error.is_some() {
        let message = wire
            .error
            .as_ref()
            .and_then(|e| e.get("message"))
            .and_then(Value::as_str)
            .unwrap_or("no message");
        return Err(malformed(format!("the response is an error: {message}"), body));
    }
    let Some(content) = wire.content else {
        return Err(malformed("the response has no content".to_owned(), body));
    };
    let mut text = String::new();
    let mut tool_input = None;
    for block in content {
        match block.kind.as_str() {
            "text" => text.push_str(block.text.as_deref().unwrap_or_default()),
            "tool_use" if tool_input.is_none() => tool_input = block.input,
            _ => {}
        }
    }
    if let Some(input) = tool_input {
        text = input.to_string();
    }
    let usage = wire.usage.unwrap_or_default();
    Ok(Completion {
        text,
        finish_reason: finish_reason(wire.stop_reason.as_deref()),
        usage: TokenUsage {
            prompt_tokens: usage.prompt_tokens().unwrap_or(0),
            completion_tokens: usage.output_tokens.unwrap_or(0),
        },
        model: wire.model.unwrap_or_default(),
        provider: PROVIDER.to_owned(),
        ..Completion::default()
    })
}

/// Anthropic's `stop_reason` as a [`FinishReason`].
pub(super) fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("end_turn" | "stop_sequence" | "tool_use") => FinishReason::Stop,
        Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
        Some("refusal") => FinishReason::ContentFilter,
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

    /// A real Messages answer (from Anthropic's API reference).
    const MESSAGE: &str = r#"{
      "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
      "type": "message",
      "role": "assistant",
      "model": "claude-3-5-haiku-20241022",
      "content": [
        { "type": "text", "text": "Hi! My name is Claude." }
      ],
      "stop_reason": "end_turn",
      "stop_sequence": null,
      "usage": {
        "input_tokens": 2095,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 503
      }
    }"#;

    /// A forced tool-use answer (shape from Anthropic's tool-use guide).
    const TOOL_USE: &str = r#"{
      "id": "msg_01Aq9w938a90dw8q",
      "type": "message",
      "role": "assistant",
      "model": "claude-3-5-sonnet-20241022",
      "content": [
        {
          "type": "tool_use",
          "id": "toolu_01A09q90qw90lq917835lq9",
          "name": "verdict",
          "input": { "needs_improvement": false, "confidence": 0.9, "feedback": "Clear.", "suggestions": [] }
        }
      ],
      "stop_reason": "tool_use",
      "stop_sequence": null,
      "usage": { "input_tokens": 472, "output_tokens": 61, "cache_read_input_tokens": 100 }
    }"#;

    /// An answer cut off by `max_tokens`.
    const MAX_TOKENS: &str = r#"{
      "id": "msg_01",
      "type": "message",
      "role": "assistant",
      "model": "claude-3-5-haiku-20241022",
      "content": [ { "type": "text", "text": "Once upon a" } ],
      "stop_reason": "max_tokens",
      "stop_sequence": null,
      "usage": { "input_tokens": 12, "output_tokens": 3 }
    }"#;

    fn request(format: ResponseFormat) -> Request {
        Request {
            messages: vec![
                Message::system("Be a critic."),
                Message::user("Text: hi"),
                Message::assistant("{}"),
                Message::system("Be brief."),
                Message::user("Again"),
            ],
            sampling: Sampling::default(),
            format,
            ..Request::default()
        }
    }

    fn schema() -> Value {
        json!({ "type": "object", "properties": { "ok": { "type": "boolean" } }, "required": ["ok"] })
    }

    #[test]
    fn system_goes_top_level_and_max_tokens_is_always_set() {
        let body = request_body("claude-3-5-haiku-latest", &request(ResponseFormat::Text));
        assert_eq!(
            body,
            json!({
                "model": "claude-3-5-haiku-latest",
                "max_tokens": DEFAULT_MAX_TOKENS,
                "system": "Be a critic.\n\nBe brief.",
                "messages": [
                    { "role": "user", "content": "Text: hi" },
                    { "role": "assistant", "content": "{}" },
                    { "role": "user", "content": "Again" }
                ]
            })
        );
        let mut req = request(ResponseFormat::Text);
        req.sampling = Sampling { temperature: Some(0.3), max_tokens: Some(77) };
        req.messages.retain(|m| m.role != Role::System);
        let body = request_body("m", &req);
        assert_eq!(body["max_tokens"], 77);
        assert_eq!(body["temperature"], json!(0.3));
        assert!(body.get("system").is_none());
    }

    #[test]
    fn json_schema_becomes_a_forced_tool() {
        let req = request(ResponseFormat::JsonSchema {
            name: "my verdict".into(),
            schema: schema().into(),
        });
        let body = request_body("m", &req);
        assert_eq!(
            body["tools"],
            json!([{ "name": "my_verdict", "description": TOOL_DESCRIPTION, "input_schema": schema() }])
        );
        assert_eq!(body["tool_choice"], json!({ "type": "tool", "name": "my_verdict" }));
        assert_eq!(body["system"], "Be a critic.\n\nBe brief.");
    }

    #[test]
    fn json_object_and_non_object_schemas_are_asked_for_in_the_prompt() {
        let body = request_body("m", &request(ResponseFormat::JsonObject));
        assert!(body.get("tools").is_none());
        assert!(body["system"].as_str().unwrap().ends_with("no prose and no code fence."));
        let list = json!({ "type": "array", "items": { "type": "string" } });
        let req =
            request(ResponseFormat::JsonSchema { name: "l".into(), schema: list.clone().into() });
        let body = request_body("m", &req);
        assert!(body.get("tools").is_none());
        assert!(body["system"].as_str().unwrap().contains(&list.to_string()));
    }

    #[test]
    fn parses_a_real_message() {
        let c = parse_response(MESSAGE.as_bytes()).unwrap();
        assert_eq!(c.text, "Hi! My name is Claude.");
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 2095, completion_tokens: 503 });
        assert_eq!(c.model, "claude-3-5-haiku-20241022");
        assert_eq!(c.provider, "anthropic");
    }

    #[test]
    fn tool_use_input_is_the_text() {
        let c = parse_response(TOOL_USE.as_bytes()).unwrap();
        let v: Value = serde_json::from_str(&c.text).unwrap();
        assert_eq!(v["needs_improvement"], false);
        assert_eq!(v["feedback"], "Clear.");
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 572, completion_tokens: 61 });
    }

    #[test]
    fn max_tokens_is_length_and_other_reasons_map() {
        let c = parse_response(MAX_TOKENS.as_bytes()).unwrap();
        assert_eq!(c.text, "Once upon a");
        assert_eq!(c.finish_reason, FinishReason::Length);
        assert_eq!(finish_reason(Some("refusal")), FinishReason::ContentFilter);
        assert_eq!(finish_reason(Some("stop_sequence")), FinishReason::Stop);
        assert_eq!(finish_reason(Some("pause_turn")), FinishReason::Other);
        assert_eq!(finish_reason(None), FinishReason::Other);
    }

    #[test]
    fn thinking_blocks_are_not_text() {
        let body = br#"{"type":"message","content":[{"type":"thinking","thinking":"hmm","signature":"x"},{"type":"text","text":"A"},{"type":"text","text":"B"}],"stop_reason":"end_turn"}"#;
        let c = parse_response(body).unwrap();
        assert_eq!(c.text, "AB");
        assert_eq!(c.usage, TokenUsage::default());
    }

    #[test]
    fn garbage_errors_and_missing_content_are_malformed() {
        for body in [
            &b"<html>502</html>"[..],
            b"",
            br#"{"type":"message"}"#,
            br#"{"type":"error","error":{"type":"api_error","message":"boom"}}"#,
        ] {
            let err = parse_response(body).unwrap_err();
            assert_eq!(err.kind, ModelErrorKind::Malformed, "{}", String::from_utf8_lossy(body));
            assert_eq!(err.provider, "anthropic");
        }
        let err = parse_response(br#"{"type":"error","error":{"message":"boom"}}"#).unwrap_err();
        assert!(err.message.contains("boom"), "{}", err.message);
    }
}
