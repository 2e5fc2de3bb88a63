//! Pure translation between redraft's [`Request`]/[`Completion`] and Ollama's native
//! `POST /api/chat` JSON: no I/O, unit-tested on recorded responses.

use super::PROVIDER;
use crate::model::openai::temperature_json;
use crate::model::{
    Completion, FinishReason, ModelError, Request, ResponseFormat, Role, TokenUsage,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The body of a `POST /api/chat` for `request` to `model`; `stream` says whether the
/// answer is streamed (NDJSON) or sent whole.
///
/// Messages keep their roles (`system`, `user`, `assistant`). `options.temperature`
/// and `options.num_predict` are sent when set. [`ResponseFormat::JsonSchema`] sends
/// the schema itself as `format` (Ollama 0.5+ constrains the output to it); when
/// `schema_supported` is false (the server rejected a schema before), `format` is
/// `"json"` and the schema goes in the system prompt. [`ResponseFormat::JsonObject`]
/// is `format: "json"`.
pub fn request_body(model: &str, request: &Request, stream: bool, schema_supported: bool) -> Value {
    let mut messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| {
            let role = match m.role {
                Role::System => "system",
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            json!({ "role": role, "content": m.content })
        })
        .collect();
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("stream".into(), json!(stream));
    let mut options = Map::new();
    if let Some(t) = request.sampling.temperature.and_then(temperature_json) {
        options.insert("temperature".into(), t);
    }
    if let Some(max) = request.sampling.max_tokens {
        options.insert("num_predict".into(), json!(max));
    }
    if !options.is_empty() {
        body.insert("options".into(), Value::Object(options));
    }
    match &request.format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject => {
            body.insert("format".into(), json!("json"));
        }
        ResponseFormat::JsonSchema { schema, .. } if schema_supported => {
            body.insert("format".into(), Value::clone(schema));
        }
        ResponseFormat::JsonSchema { schema, .. } => {
            let note = format!("Answer with one JSON object matching this JSON schema:\n{schema}");
            match messages.iter_mut().find(|m| m["role"] == "system") {
                Some(system) => {
                    let content = system["content"].as_str().unwrap_or_default();
                    system["content"] = json!(format!("{content}\n\n{note}"));
                }
                None => messages.insert(0, json!({ "role": "system", "content": note })),
            }
            body.insert("format".into(), json!("json"));
        }
    }
    body.insert("messages".into(), Value::Array(messages));
    Value::Object(body)
}

/// One `/api/chat` answer, or one line of a streamed one.
#[derive(Debug, Deserialize)]
pub(super) struct WireResponse {
    #[serde(default)]
    pub(super) model: Option<String>,
    #[serde(default)]
    pub(super) message: Option<WireMessage>,
    #[serde(default)]
    pub(super) done: Option<bool>,
    #[serde(default)]
    pub(super) done_reason: Option<String>,
    #[serde(default)]
    pub(super) prompt_eval_count: Option<u64>,
    #[serde(default)]
    pub(super) eval_count: Option<u64>,
    #[serde(default)]
    pub(super) error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireMessage {
    #[serde(default)]
    pub(super) content: Option<String>,
}

impl WireResponse {
    pub(super) fn usage(&self) -> TokenUsage {
        TokenUsage {
            prompt_tokens: self.prompt_eval_count.unwrap_or(0),
            completion_tokens: self.eval_count.unwrap_or(0),
        }
    }
}

/// Read a whole (`stream: false`) `/api/chat` answer.
///
/// `message.content` is the text (a `thinking` field is not). `done_reason` maps
/// `stop` to [`FinishReason::Stop`], `length` to [`FinishReason::Length`], anything
/// else (or none, from servers before 0.1.40) to [`FinishReason::Other`].
/// `prompt_eval_count` and `eval_count` are the tokens. A body that is not an answer,
/// or one not `done`, is [`ModelErrorKind::Malformed`](crate::model::ModelErrorKind::Malformed).
pub fn parse_response(body: &[u8]) -> Result<Completion, ModelError> {
    let wire: WireResponse = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the response is not a chat answer ({e})"), body))?;
    if let Some(error) = &wire.error {
        return Err(malformed(format!("the response is an error: {error}"), body));
    }
    let Some(message) = &wire.message else {
        return Err(malformed("the response has no message".to_owned(), body));
    };
    if wire.done != Some(true) {
        return Err(malformed("the response is not done (a stream line?)".to_owned(), body));
    }
    Ok(Completion {
        text: message.content.clone().unwrap_or_default(),
        finish_reason: finish_reason(wire.done_reason.as_deref()),
        usage: wire.usage(),
        model: wire.model.clone().unwrap_or_default(),
        provider: PROVIDER.to_owned(),
        ..Completion::default()
    })
}

/// Ollama's `done_reason` as a [`FinishReason`].
pub(super) fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("stop") => FinishReason::Stop,
        Some("length") => FinishReason::Length,
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

    /// A real `stream: false` answer (from Ollama's API docs).
    const ANSWER: &str = r#"{
      "model": "llama3.2",
      "created_at": "2023-12-12T14:13:43.416799Z",
      "message": { "role": "assistant", "content": "Hello! How are you today?" },
      "done": true,
      "done_reason": "stop",
      "total_duration": 5191566416,
      "load_duration": 2154458,
      "prompt_eval_count": 26,
      "prompt_eval_duration": 383809000,
      "eval_count": 298,
      "eval_duration": 4799921000
    }"#;

    /// An answer cut off by `num_predict`.
    const LENGTH: &str = r#"{"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Once upon"},"done_reason":"length","done":true,"total_duration":1,"prompt_eval_count":11,"eval_count":2}"#;

    fn request(format: ResponseFormat) -> Request {
        Request {
            messages: vec![Message::system("Be a critic."), Message::user("Text: hi")],
            sampling: Sampling { temperature: Some(0.2), max_tokens: Some(64) },
            format,
            ..Request::default()
        }
    }

    fn schema() -> Value {
        json!({ "type": "object", "properties": { "ok": { "type": "boolean" } }, "required": ["ok"] })
    }

    #[test]
    fn text_request_with_options() {
        let body = request_body("llama3.2", &request(ResponseFormat::Text), false, true);
        assert_eq!(
            body,
            json!({
                "model": "llama3.2",
                "stream": false,
                "options": { "temperature": 0.2, "num_predict": 64 },
                "messages": [
                    { "role": "system", "content": "Be a critic." },
                    { "role": "user", "content": "Text: hi" }
                ]
            })
        );
        let mut req = request(ResponseFormat::Text);
        req.sampling = Sampling::default();
        let body = request_body("m", &req, true, true);
        assert_eq!(body["stream"], true);
        assert!(body.get("options").is_none());
    }

    #[test]
    fn formats() {
        let req = request(ResponseFormat::JsonSchema { name: "v".into(), schema: schema().into() });
        assert_eq!(request_body("m", &req, false, true)["format"], schema());
        let body = request_body("m", &req, false, false);
        assert_eq!(body["format"], "json");
        let system = body["messages"][0]["content"].as_str().unwrap();
        assert!(system.starts_with("Be a critic.\n\n") && system.contains(&schema().to_string()));
        let body = request_body("m", &request(ResponseFormat::JsonObject), false, true);
        assert_eq!(body["format"], "json");
    }

    #[test]
    fn parses_a_real_answer() {
        let c = parse_response(ANSWER.as_bytes()).unwrap();
        assert_eq!(c.text, "Hello! How are you today?");
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 26, completion_tokens: 298 });
        assert_eq!(c.model, "llama3.2");
        assert_eq!(c.provider, "ollama");
    }

    #[test]
    fn length_and_other_reasons() {
        let c = parse_response(LENGTH.as_bytes()).unwrap();
        assert_eq!(c.text, "Once upon");
        assert_eq!(c.finish_reason, FinishReason::Length);
        assert_eq!(finish_reason(Some("load")), FinishReason::Other);
        assert_eq!(finish_reason(None), FinishReason::Other);
    }

    #[test]
    fn garbage_errors_and_unfinished_answers_are_malformed() {
        for body in [
            &b"<html>"[..],
            b"",
            br#"{"error":"boom"}"#,
            br#"{"model":"m","done":true}"#,
            br#"{"model":"m","message":{"role":"assistant","content":"x"},"done":false}"#,
        ] {
            let err = parse_response(body).unwrap_err();
            assert_eq!(err.kind, ModelErrorKind::Malformed, "{}", String::from_utf8_lossy(body));
            assert_eq!(err.provider, "ollama");
        }
    }
}
