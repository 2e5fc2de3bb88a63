//! Pure translation between redraft's [`Request`]/[`Completion`] and the OpenAI
//! chat-completions JSON: no I/O, unit-tested on recorded responses.

use super::PROVIDER;
use crate::json::Object;
use crate::model::transport::body_excerpt;
use crate::model::{
    Completion, FinishReason, ModelError, Request, ResponseFormat, Role, TokenUsage,
};
use serde::Deserialize;
use serde_json::Value;

/// How many characters of a bad body an error quotes.
const EXCERPT_CHARS: usize = 200;

/// How a chat-completions body is asked for, beyond the request itself: see
/// [`request_body`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyOptions {
    /// False once the server rejected a JSON schema: a schema request then goes out as
    /// `json_object` with the schema in the system prompt.
    pub schema_supported: bool,
    /// A reasoning model (o1, o3, o4-mini, gpt-5…), which rejects `temperature` and
    /// `max_tokens`: the temperature is dropped and the token cap is sent as
    /// `max_completion_tokens` (which also covers the model's hidden reasoning tokens).
    pub reasoning: bool,
    /// Ask for a streamed answer: `stream: true`, with usage in the last chunk.
    pub stream: bool,
}

impl Default for BodyOptions {
    /// A whole answer from a plain model that takes schemas.
    fn default() -> Self {
        Self { schema_supported: true, reasoning: false, stream: false }
    }
}

/// The JSON body of a `POST /chat/completions` for `request` to `model`, as the bytes
/// sent: written straight from the request (no intermediate JSON value, no copy of
/// the messages).
///
/// `temperature` and `max_tokens` are sent only when set. A
/// [`ResponseFormat::JsonSchema`] becomes a strict `json_schema` response format; when
/// `options.schema_supported` is false (the server rejected schemas before) it becomes
/// `json_object` instead, with the schema appended to the system prompt so the model
/// still knows the shape. [`ResponseFormat::JsonObject`] is `json_object`;
/// [`ResponseFormat::Text`] sends no `response_format`. See [`BodyOptions`] for
/// reasoning models and streaming.
pub fn request_body(model: &str, request: &Request, options: BodyOptions) -> Vec<u8> {
    let size: usize = request.messages.iter().map(|m| m.content.len() + 40).sum();
    let mut out = Vec::with_capacity(size + 1024);
    let mut body = Object::new(&mut out);
    body.str("model", model);
    let temperature = request.sampling.temperature.and_then(temperature_decimal);
    let max_tokens = request.sampling.max_tokens;
    if options.reasoning {
        if let Some(max) = max_tokens {
            body.value("max_completion_tokens", &max);
        }
    } else {
        if let Some(t) = temperature {
            body.value("temperature", &t);
        }
        if let Some(max) = max_tokens {
            body.value("max_tokens", &max);
        }
    }
    // Without schema support the schema goes into the system prompt instead.
    let mut schema_note = None;
    match &request.format {
        ResponseFormat::Text => {}
        ResponseFormat::JsonObject => body.key("response_format").extend_from_slice(JSON_OBJECT),
        ResponseFormat::JsonSchema { name, schema } if options.schema_supported => {
            let format = body.key("response_format");
            format.extend_from_slice(b"{\"type\":\"json_schema\",\"json_schema\":");
            let mut json_schema = Object::new(format);
            json_schema.str("name", &schema_name(name));
            json_schema.value("schema", schema);
            json_schema.value("strict", &true);
            json_schema.end();
            format.push(b'}');
        }
        ResponseFormat::JsonSchema { schema, .. } => {
            schema_note =
                Some(format!("Answer with one JSON object matching this JSON schema:\n{schema}"));
            body.key("response_format").extend_from_slice(JSON_OBJECT);
        }
    }
    let messages = body.key("messages");
    messages.push(b'[');
    let system = request.messages.iter().position(|m| m.role == Role::System);
    if let (Some(note), None) = (&schema_note, system) {
        write_message(messages, "system", note, None);
        if !request.messages.is_empty() {
            messages.push(b',');
        }
    }
    for (i, m) in request.messages.iter().enumerate() {
        if i > 0 {
            messages.push(b',');
        }
        let note = if Some(i) == system { schema_note.as_deref() } else { None };
        write_message(messages, role_name(m.role), &m.content, note);
    }
    messages.push(b']');
    if options.stream {
        body.value("stream", &true);
        body.key("stream_options").extend_from_slice(b"{\"include_usage\":true}");
    }
    body.end();
    out
}

/// `{"type":"json_object"}`.
const JSON_OBJECT: &[u8] = b"{\"type\":\"json_object\"}";

/// One message, with `note` appended to its content after a blank line, if given.
fn write_message(out: &mut Vec<u8>, role: &str, content: &str, note: Option<&str>) {
    let mut message = Object::new(out);
    message.str("role", role);
    match note {
        Some(note) => message.str("content", &format!("{content}\n\n{note}")),
        None => message.str("content", content),
    }
    message.end();
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The temperature as the decimal the user wrote (`0.7`, not `0.699999988…`, which is
/// what widening the `f32` would send); nothing for NaN or infinity.
pub(crate) fn temperature_json(t: f32) -> Option<Value> {
    temperature_decimal(t).and_then(serde_json::Number::from_f64).map(Value::Number)
}

/// [`temperature_json`] as the `f64` that serialises to that decimal.
pub(crate) fn temperature_decimal(t: f32) -> Option<f64> {
    if !t.is_finite() {
        return None;
    }
    t.to_string().parse().ok()
}

/// OpenAI accepts schema names matching `^[a-zA-Z0-9_-]{1,64}$`.
pub(crate) fn schema_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .take(64)
        .collect();
    if cleaned.is_empty() { "response".to_owned() } else { cleaned }
}

#[derive(Deserialize)]
struct WireResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<WireChoice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct WireChoice {
    #[serde(default)]
    message: Option<WireMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    content: Option<WireContent>,
    #[serde(default)]
    refusal: Option<String>,
}

/// Content is a string, or (some compatible servers) a list of typed parts.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireContent {
    Text(String),
    Parts(Vec<WirePart>),
}

#[derive(Deserialize)]
struct WirePart {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// Read a successful chat-completions body.
///
/// The first choice's `message.content` is the text (null → empty). `finish_reason`
/// maps `stop`, `length` and `content_filter` (plus the synonyms other servers use,
/// e.g. `eos_token`); anything else or none is [`FinishReason::Other`]. A refusal
/// (`message.refusal` with no content) is an empty text with
/// [`FinishReason::ContentFilter`]. Missing usage counts as 0 tokens. A body that is
/// not JSON, or has no choice, is [`ModelErrorKind::Malformed`](crate::model::ModelErrorKind::Malformed) quoting its start.
pub fn parse_response(body: &[u8]) -> Result<Completion, ModelError> {
    let wire: WireResponse = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the response is not a chat completion ({e})"), body))?;
    let Some(choice) = wire.choices.and_then(|c| c.into_iter().next()) else {
        let why = match wire.error.as_ref().and_then(error_message) {
            Some(message) => format!("the response has no choices but an error: {message}"),
            None => "the response has no choices".to_owned(),
        };
        return Err(malformed(why, body));
    };
    let message = choice.message.unwrap_or(WireMessage { content: None, refusal: None });
    let text = match message.content {
        Some(WireContent::Text(text)) => text,
        Some(WireContent::Parts(parts)) => parts.into_iter().filter_map(|p| p.text).collect(),
        None => String::new(),
    };
    let refused = text.is_empty() && message.refusal.is_some_and(|r| !r.is_empty());
    let finish_reason = if refused {
        FinishReason::ContentFilter
    } else {
        finish_reason(choice.finish_reason.as_deref())
    };
    let usage = wire.usage.map_or_else(TokenUsage::default, |u| TokenUsage {
        prompt_tokens: u.prompt_tokens.unwrap_or(0),
        completion_tokens: u.completion_tokens.unwrap_or(0),
    });
    Ok(Completion {
        text,
        finish_reason,
        usage,
        model: wire.model.unwrap_or_default(),
        provider: "openai".to_owned(),
        ..Completion::default()
    })
}

pub(super) fn finish_reason(reason: Option<&str>) -> FinishReason {
    match reason {
        Some("stop" | "eos" | "eos_token" | "stop_sequence" | "end_turn") => FinishReason::Stop,
        Some("length" | "max_tokens") => FinishReason::Length,
        Some("content_filter") => FinishReason::ContentFilter,
        _ => FinishReason::Other,
    }
}

/// The message of an `error` field that is a string or an object with `message`.
fn error_message(error: &Value) -> Option<String> {
    match error {
        Value::String(s) => Some(body_excerpt(s.as_bytes(), EXCERPT_CHARS)),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(|s| body_excerpt(s.as_bytes(), EXCERPT_CHARS)),
        _ => None,
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
    use serde_json::json;

    /// A real `gpt-4o-mini` chat completion, as returned by api.openai.com.
    const OPENAI_COMPLETION: &str = r#"{
      "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
      "object": "chat.completion",
      "created": 1741569952,
      "model": "gpt-4o-mini-2024-07-18",
      "choices": [
        {
          "index": 0,
          "message": {
            "role": "assistant",
            "content": "Hello! How can I assist you today?",
            "refusal": null,
            "annotations": []
          },
          "logprobs": null,
          "finish_reason": "stop"
        }
      ],
      "usage": {
        "prompt_tokens": 19,
        "completion_tokens": 10,
        "total_tokens": 29,
        "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
        "completion_tokens_details": {
          "reasoning_tokens": 0,
          "audio_tokens": 0,
          "accepted_prediction_tokens": 0,
          "rejected_prediction_tokens": 0
        }
      },
      "service_tier": "default",
      "system_fingerprint": "fp_06737a9306"
    }"#;

    /// A structured-output refusal, as OpenAI sends it.
    const OPENAI_REFUSAL: &str = r#"{
      "id": "chatcmpl-9nYAG9LPNonX8DAyrkwYfemr3C8HC",
      "object": "chat.completion",
      "created": 1721596428,
      "model": "gpt-4o-2024-08-06",
      "choices": [
        {
          "index": 0,
          "message": {
            "role": "assistant",
            "content": null,
            "refusal": "I'm sorry, I cannot assist with that request."
          },
          "logprobs": null,
          "finish_reason": "stop"
        }
      ],
      "usage": { "prompt_tokens": 81, "completion_tokens": 11, "total_tokens": 92 },
      "system_fingerprint": "fp_3407719c7f"
    }"#;

    fn request(format: ResponseFormat) -> Request {
        Request {
            messages: vec![Message::system("Be a critic."), Message::user("Text: hi")],
            sampling: Sampling::default(),
            format,
            ..Request::default()
        }
    }

    /// The body as sent (serialised to bytes) and read back.
    fn sent(model: &str, request: &Request, options: BodyOptions) -> Value {
        serde_json::from_slice(&request_body(model, request, options)).unwrap()
    }

    /// [`sent`] for a plain model and a whole answer.
    fn body_of(model: &str, request: &Request, schema_supported: bool) -> Value {
        sent(model, request, BodyOptions { schema_supported, ..BodyOptions::default() })
    }

    /// [`sent`] for a reasoning model and a whole answer.
    fn reasoning_body(model: &str, request: &Request) -> Value {
        sent(model, request, BodyOptions { reasoning: true, ..BodyOptions::default() })
    }

    fn schema() -> Value {
        json!({ "type": "object", "properties": { "ok": { "type": "boolean" } }, "required": ["ok"] })
    }

    #[test]
    fn text_request_has_model_and_messages_only() {
        let body = body_of("gpt-4o-mini", &request(ResponseFormat::Text), true);
        assert_eq!(
            body,
            json!({
                "model": "gpt-4o-mini",
                "messages": [
                    { "role": "system", "content": "Be a critic." },
                    { "role": "user", "content": "Text: hi" }
                ]
            })
        );
    }

    #[test]
    fn sampling_is_sent_when_set_with_the_written_decimal() {
        let mut req = request(ResponseFormat::Text);
        req.sampling = Sampling { temperature: Some(0.7), max_tokens: Some(256) };
        let body = body_of("m", &req, true);
        assert_eq!(body["temperature"], json!(0.7));
        assert_eq!(body["max_tokens"], json!(256));
        req.sampling.temperature = Some(f32::NAN);
        assert!(body_of("m", &req, true).get("temperature").is_none());
    }

    #[test]
    fn reasoning_models_get_max_completion_tokens_and_no_temperature() {
        let mut req = request(ResponseFormat::Text);
        req.sampling = Sampling { temperature: Some(0.7), max_tokens: Some(256) };
        let body = reasoning_body("o3-mini", &req);
        assert!(body.get("temperature").is_none(), "{body}");
        assert!(body.get("max_tokens").is_none(), "{body}");
        assert_eq!(body["max_completion_tokens"], json!(256));
        assert_eq!(body["model"], "o3-mini");
        req.sampling = Sampling::default();
        let body = reasoning_body("o3-mini", &req);
        assert!(body.get("max_completion_tokens").is_none(), "{body}");
    }

    #[test]
    fn the_body_asks_for_a_stream_with_usage() {
        let options = BodyOptions { stream: true, ..BodyOptions::default() };
        let body = sent("m", &request(ResponseFormat::Text), options);
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        let whole = body_of("m", &request(ResponseFormat::Text), true);
        assert!(whole.get("stream").is_none() && whole.get("stream_options").is_none());
    }

    #[test]
    fn json_schema_is_strict_when_supported() {
        let req =
            request(ResponseFormat::JsonSchema { name: "verdict".into(), schema: schema().into() });
        let body = body_of("m", &req, true);
        assert_eq!(
            body["response_format"],
            json!({
                "type": "json_schema",
                "json_schema": { "name": "verdict", "schema": schema(), "strict": true }
            })
        );
        assert_eq!(body["messages"][0]["content"], "Be a critic.");
    }

    #[test]
    fn json_schema_downgrades_to_json_object_with_schema_in_prompt() {
        let req =
            request(ResponseFormat::JsonSchema { name: "verdict".into(), schema: schema().into() });
        let body = body_of("m", &req, false);
        assert_eq!(body["response_format"], json!({ "type": "json_object" }));
        let system = body["messages"][0]["content"].as_str().unwrap();
        assert!(system.starts_with("Be a critic.\n\n"), "{system}");
        assert!(system.contains(&schema().to_string()), "{system}");
        assert_eq!(body["messages"].as_array().unwrap().len(), 2);

        // Without a system message, one is added first.
        let mut req = req;
        req.messages.remove(0);
        let body = body_of("m", &req, false);
        assert_eq!(body["messages"][0]["role"], "system");
        assert_eq!(body["messages"][1]["role"], "user");
    }

    #[test]
    fn json_object_and_schema_names() {
        let body = body_of("m", &request(ResponseFormat::JsonObject), true);
        assert_eq!(body["response_format"], json!({ "type": "json_object" }));
        assert_eq!(schema_name("my verdict.v2"), "my_verdict_v2");
        assert_eq!(schema_name(""), "response");
        assert_eq!(schema_name(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn parses_a_real_openai_completion() {
        let c = parse_response(OPENAI_COMPLETION.as_bytes()).unwrap();
        assert_eq!(c.text, "Hello! How can I assist you today?");
        assert_eq!(c.finish_reason, FinishReason::Stop);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 19, completion_tokens: 10 });
        assert_eq!(c.model, "gpt-4o-mini-2024-07-18");
    }

    #[test]
    fn refusal_is_empty_and_content_filtered() {
        let c = parse_response(OPENAI_REFUSAL.as_bytes()).unwrap();
        assert_eq!(c.text, "");
        assert_eq!(c.finish_reason, FinishReason::ContentFilter);
    }

    #[test]
    fn null_content_missing_usage_and_finish_reasons() {
        let body = br#"{"choices":[{"message":{"role":"assistant","content":null},"finish_reason":"length"}]}"#;
        let c = parse_response(body).unwrap();
        assert_eq!(c.text, "");
        assert_eq!(c.finish_reason, FinishReason::Length);
        assert_eq!(c.usage, TokenUsage::default());
        assert_eq!(c.model, "");

        let reasons = [
            ("\"content_filter\"", FinishReason::ContentFilter),
            ("\"tool_calls\"", FinishReason::Other),
            ("\"eos_token\"", FinishReason::Stop),
            ("null", FinishReason::Other),
        ];
        for (reason, expected) in reasons {
            let body = format!(
                r#"{{"choices":[{{"message":{{"content":"x"}},"finish_reason":{reason}}}]}}"#
            );
            assert_eq!(
                parse_response(body.as_bytes()).unwrap().finish_reason,
                expected,
                "{reason}"
            );
        }
        let no_reason = br#"{"choices":[{"message":{"content":"x"}}],"usage":{"prompt_tokens":3}}"#;
        let c = parse_response(no_reason).unwrap();
        assert_eq!(c.finish_reason, FinishReason::Other);
        assert_eq!(c.usage, TokenUsage { prompt_tokens: 3, completion_tokens: 0 });
    }

    #[test]
    fn content_parts_are_joined() {
        let body = br#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},"finish_reason":"stop"}]}"#;
        assert_eq!(parse_response(body).unwrap().text, "ab");
    }

    #[test]
    fn garbage_is_malformed_with_a_bounded_excerpt() {
        let garbage = format!("<html><body>502 Bad Gateway{}</body></html>", "x".repeat(5000));
        let err = parse_response(garbage.as_bytes()).unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Malformed);
        assert_eq!(err.provider, "openai");
        assert!(err.message.contains("<html><body>502 Bad Gateway"), "{}", err.message);
        assert!(err.message.len() < 600, "{}", err.message.len());

        let err = parse_response(b"").unwrap_err();
        assert_eq!(err.kind, ModelErrorKind::Malformed);
        assert!(err.message.contains("empty body"), "{}", err.message);
    }

    #[test]
    fn no_choices_is_malformed() {
        for body in [&br#"{"choices":[]}"#[..], br#"{"id":"x"}"#, br#"{"choices":null}"#, b"[1,2]"]
        {
            let err = parse_response(body).unwrap_err();
            assert_eq!(err.kind, ModelErrorKind::Malformed, "{}", String::from_utf8_lossy(body));
        }
        let err = parse_response(br#"{"error":{"message":"model is loading"}}"#).unwrap_err();
        assert!(err.message.contains("model is loading"), "{}", err.message);
    }
}
