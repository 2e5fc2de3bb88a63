//! Whether a server takes JSON schemas: true until it rejects one, then false for the
//! life of the model, so later schema requests go out in the dialect's fallback form
//! (JSON with the schema in the prompt) instead of failing again.

use crate::model::{ModelError, ModelErrorKind, Request, ResponseFormat};
use std::sync::atomic::{AtomicBool, Ordering};

/// The "server rejected schemas, remember it" flag every dialect shares.
#[derive(Debug)]
pub(crate) struct SchemaSupport(AtomicBool);

impl Default for SchemaSupport {
    fn default() -> Self {
        Self(AtomicBool::new(true))
    }
}

impl SchemaSupport {
    /// Whether schemas are still sent as such.
    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// Learn from a failed request: `error` is a rejection of the schema when it is
    /// [`ModelErrorKind::UnsupportedFormat`] and `request` asked for a schema that was
    /// really sent (`sent_schema_support` is what [`get`](Self::get) said when the body
    /// was built). Returns whether this call is the one that learned it.
    pub(crate) fn learn(
        &self,
        error: &ModelError,
        request: &Request,
        sent_schema_support: bool,
    ) -> bool {
        let sent_schema =
            sent_schema_support && matches!(request.format, ResponseFormat::JsonSchema { .. });
        error.kind == ModelErrorKind::UnsupportedFormat
            && sent_schema
            && self.0.swap(false, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_rejected_schema_that_was_sent_is_learned_and_only_once() {
        let support = SchemaSupport::default();
        let schema = Request {
            format: ResponseFormat::JsonSchema {
                name: "v".into(),
                schema: serde_json::json!({}).into(),
            },
            ..Request::default()
        };
        let rejected = ModelError::new(ModelErrorKind::UnsupportedFormat, "p", "no");
        let other = ModelError::new(ModelErrorKind::InvalidRequest, "p", "no");
        assert!(!support.learn(&rejected, &Request::default(), true), "no schema was asked");
        assert!(!support.learn(&rejected, &schema, false), "the schema was not sent");
        assert!(!support.learn(&other, &schema, true), "not a format rejection");
        assert!(support.get());
        assert!(support.learn(&rejected, &schema, true));
        assert!(!support.get());
        assert!(!support.learn(&rejected, &schema, true), "already known");
    }
}
