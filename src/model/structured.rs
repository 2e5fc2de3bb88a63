//! Structured (JSON) output: ask with a JSON schema, fall back to a JSON object with the
//! schema in the prompt when a server rejects schemas, parse leniently (code fences,
//! leading prose) and re-ask once on invalid JSON. Every attempt is recorded.

use super::call::call;
use super::{
    CallLog, CallTag, LanguageModel, Message, ModelError, ModelErrorKind, Request, ResponseFormat,
    Role,
};
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// Why structured output could not be had.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StructuredError {
    /// The model call itself failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model answered twice with something that is not the JSON asked for.
    #[error("invalid JSON from the model after a re-ask: {reason}")]
    Invalid {
        /// What was wrong with the last answer.
        reason: String,
    },
}

/// A JSON schema to ask with: a [`serde_json::Value`] (copied into the request) or an
/// `Arc` of one (shared with it, for a caller that asks with the same schema again and
/// again).
pub trait Schema {
    /// The schema as the request holds it.
    fn shared(&self) -> Arc<serde_json::Value>;
}

impl Schema for serde_json::Value {
    fn shared(&self) -> Arc<serde_json::Value> {
        Arc::new(self.clone())
    }
}

impl Schema for Arc<serde_json::Value> {
    fn shared(&self) -> Arc<serde_json::Value> {
        Arc::clone(self)
    }
}

/// Ask `model` for JSON matching `schema` and decode it as `T`.
///
/// `request.format` is replaced; its messages and sampling are kept. The first attempt
/// asks for `json_schema`; if the server rejects that format, the same request is sent
/// once more as `json_object` with the schema appended to the system prompt. An answer
/// that does not decode is re-asked once, with the error, as a follow-up turn.
pub async fn complete_json<T: DeserializeOwned, S: Schema + ?Sized>(
    model: &dyn LanguageModel,
    mut request: Request,
    name: &str,
    schema: &S,
    tag: &CallTag,
    log: &CallLog,
) -> Result<T, StructuredError> {
    let mut tag = tag.clone();
    let schema = schema.shared();
    if !model.supports_json_schema() {
        request.format = ResponseFormat::JsonObject;
        add_schema_to_prompt(&mut request, &schema);
    } else {
        let shared = Arc::clone(&schema);
        request.format = ResponseFormat::JsonSchema { name: name.to_owned(), schema: shared };
    }
    let completion = match call(model, &request, &tag, log).await {
        Err(e)
            if e.kind == ModelErrorKind::UnsupportedFormat
                && matches!(request.format, ResponseFormat::JsonSchema { .. }) =>
        {
            request.format = ResponseFormat::JsonObject;
            add_schema_to_prompt(&mut request, &schema);
            tag = tag.next_attempt();
            call(model, &request, &tag, log).await?
        }
        other => other?,
    };
    let reason = match parse_lenient::<T>(&completion.text) {
        Ok(value) => return Ok(value),
        Err(reason) => reason,
    };
    request.messages.push(Message::assistant(completion.text));
    request.messages.push(Message::user(format!(
        "That answer was not valid: {reason}. Reply with only one JSON object matching this schema, no prose:\n{schema}"
    )));
    let retry = call(model, &request, &tag.next_attempt(), log).await?;
    parse_lenient(&retry.text).map_err(|reason| StructuredError::Invalid { reason })
}

/// Append the schema to the system prompt (or add one) for servers without schemas.
fn add_schema_to_prompt(request: &mut Request, schema: &serde_json::Value) {
    let note = format!("Answer with one JSON object matching this JSON schema:\n{schema}");
    match request.messages.iter_mut().find(|m| m.role == Role::System) {
        Some(system) => {
            system.content.push_str("\n\n");
            system.content.push_str(&note);
        }
        None => request.messages.insert(0, Message::system(note)),
    }
}

/// Decode `T` from a model's answer, tolerating code fences and prose around the JSON:
/// the first `{` … last `}` span is tried when the whole text does not decode.
pub fn parse_lenient<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let trimmed = text.trim();
    let first_error = match serde_json::from_str(trimmed) {
        Ok(v) => return Ok(v),
        Err(e) => e.to_string(),
    };
    let (Some(start), Some(end)) = (trimmed.find('{'), trimmed.rfind('}')) else {
        return Err(format!("no JSON object in the answer ({first_error})"));
    };
    if end < start {
        return Err(format!("no JSON object in the answer ({first_error})"));
    }
    serde_json::from_str(&trimmed[start..=end]).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thought::verdict::VerdictJson;

    #[test]
    fn parses_fenced_json_with_prose() {
        let text = "Here is my verdict:\n```json\n{\"needs_improvement\": true, \"confidence\": 0.8, \"feedback\": \"f\", \"suggestions\": [\"a\"]}\n```\nThanks";
        let v: VerdictJson = parse_lenient(text).unwrap();
        assert!(v.needs_improvement);
        assert_eq!(v.suggestions, vec!["a"]);
    }

    #[test]
    fn rejects_text_without_json() {
        let err = parse_lenient::<VerdictJson>("no verdict here").unwrap_err();
        assert!(err.contains("no JSON object"), "{err}");
    }

    #[test]
    fn rejects_json_missing_a_field() {
        let err = parse_lenient::<VerdictJson>("{\"needs_improvement\": true}").unwrap_err();
        assert!(err.contains("missing field"), "{err}");
    }
}
