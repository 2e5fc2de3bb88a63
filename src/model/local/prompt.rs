//! Requests tuned for a small model, applied by [`LocalModel`]'s `prepare` so the
//! engine and the critics stay provider-agnostic and the audit trail records exactly
//! what the model saw.
//!
//! - Every answer is capped at `local.max_tokens` tokens, whatever the request asks.
//! - The temperature is capped at [`MAX_TEMPERATURE`]: above it a 135M model drifts
//!   from rewriting into commentary, or follows instructions inside the text.
//! - A structured (JSON) request gets, at the end of its system prompt, one example
//!   answer made from its schema: small models copy a shape far more reliably than
//!   they follow a list of fields. The grammar then guarantees the shape itself.
//!
//! [`LocalModel`]: super::LocalModel

use super::grammar;
use crate::model::{Message, Request, ResponseFormat, Role};
use std::borrow::Cow;

/// The highest temperature the local model samples at, and the one used when a request
/// names none.
pub(crate) const MAX_TEMPERATURE: f32 = 0.3;

/// The line that introduces the example answer (also how a prepared request is
/// recognised, so preparing twice changes nothing).
const EXAMPLE_INTRO: &str =
    "Reply with one JSON object only. Example of the format (use your own values):";

/// `request` as the local model is sent it (see the module docs).
pub(crate) fn prepare(request: &Request, cap: u32) -> Cow<'_, Request> {
    let capped = request.sampling.max_tokens.map_or(cap, |n| n.min(cap));
    let temperature =
        request.sampling.temperature.map_or(MAX_TEMPERATURE, |t| t.min(MAX_TEMPERATURE));
    let example = match &request.format {
        ResponseFormat::JsonSchema { schema, .. } => Some(grammar::example(schema)),
        ResponseFormat::JsonObject | ResponseFormat::Text => None,
    };
    let has_example = request
        .messages
        .iter()
        .any(|m| m.role == Role::System && m.content.contains(EXAMPLE_INTRO));
    let add_example = example.filter(|_| !has_example);
    if request.sampling.max_tokens == Some(capped)
        && request.sampling.temperature == Some(temperature)
        && add_example.is_none()
    {
        return Cow::Borrowed(request);
    }
    let mut out = request.clone();
    out.sampling.max_tokens = Some(capped);
    out.sampling.temperature = Some(temperature);
    if let Some(example) = add_example {
        let note = format!("{EXAMPLE_INTRO}\n{example}");
        match out.messages.iter_mut().find(|m| m.role == Role::System) {
            Some(system) => {
                system.content.push_str("\n\n");
                system.content.push_str(&note);
            }
            None => out.messages.insert(0, Message::system(note)),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sampling;
    use crate::thought::verdict::verdict_schema;

    fn structured(max_tokens: Option<u32>) -> Request {
        Request {
            messages: vec![Message::system("Judge the text."), Message::user("<text>Hi</text>")],
            sampling: Sampling { temperature: Some(0.2), max_tokens },
            format: ResponseFormat::JsonSchema {
                name: "v".into(),
                schema: verdict_schema().into(),
            },
            ..Request::default()
        }
    }

    #[test]
    fn max_tokens_and_temperature_are_capped_and_set_when_absent() {
        let text = Request { messages: vec![Message::user("Write.")], ..Request::default() };
        let set = prepare(&text, 256);
        assert_eq!(set.sampling.max_tokens, Some(256));
        assert_eq!(set.sampling.temperature, Some(MAX_TEMPERATURE));
        let mut big = text.clone();
        big.sampling = Sampling { temperature: Some(1.2), max_tokens: Some(4096) };
        let capped = prepare(&big, 256);
        assert_eq!(
            capped.sampling,
            Sampling { temperature: Some(MAX_TEMPERATURE), max_tokens: Some(256) }
        );
        let mut small = text;
        small.sampling = Sampling { temperature: Some(0.1), max_tokens: Some(100) };
        assert!(matches!(prepare(&small, 256), Cow::Borrowed(_)), "nothing to change");
    }

    #[test]
    fn a_structured_request_gets_one_example_in_its_system_prompt() {
        let once = prepare(&structured(Some(512)), 256).into_owned();
        let system = &once.messages[0].content;
        assert!(system.starts_with("Judge the text."), "{system}");
        assert!(system.contains(EXAMPLE_INTRO) && system.contains("\"needs_improvement\":true"));
        assert_eq!(once.messages[1].content, "<text>Hi</text>", "the user message is untouched");
        let twice = prepare(&once, 256);
        assert!(matches!(twice, Cow::Borrowed(_)), "preparing is idempotent");
    }

    #[test]
    fn a_structured_request_without_a_system_prompt_gets_one() {
        let mut req = structured(None);
        req.messages.remove(0);
        let out = prepare(&req, 256);
        assert_eq!(out.messages[0].role, Role::System);
        assert!(out.messages[0].content.starts_with(EXAMPLE_INTRO));
    }
}
