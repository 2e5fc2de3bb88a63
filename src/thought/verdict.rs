//! The verdict a critic's model returns, as JSON: its shape ([`VerdictJson`]) and its
//! JSON schema ([`verdict_schema`]), which structured output and the local model's
//! grammar enforce. A parsed verdict becomes a [`Critique`].

use super::Critique;
use serde::{Deserialize, Serialize};

/// The verdict a critic's model is asked to return (its JSON schema is
/// [`verdict_schema`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictJson {
    /// Whether the text should be revised.
    pub needs_improvement: bool,
    /// How sure the critic is, 0..=1.
    pub confidence: f64,
    /// What is wrong, in prose.
    pub feedback: String,
    /// Concrete changes to make.
    #[serde(default)]
    pub suggestions: Vec<String>,
}

impl VerdictJson {
    /// The verdict as a [`Critique`] by `critic` (confidence clamped to 0..=1).
    pub fn into_critique(self, critic: &str) -> Critique {
        Critique {
            critic: critic.to_owned(),
            needs_improvement: self.needs_improvement,
            confidence: if self.confidence.is_finite() {
                self.confidence.clamp(0.0, 1.0)
            } else {
                0.0
            },
            feedback: self.feedback,
            suggestions: self.suggestions,
            error: None,
        }
    }
}

/// The JSON schema of a critic verdict.
pub fn verdict_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "needs_improvement": { "type": "boolean" },
            "confidence": { "type": "number", "minimum": 0, "maximum": 1 },
            "feedback": { "type": "string" },
            "suggestions": { "type": "array", "items": { "type": "string" } }
        },
        "required": ["needs_improvement", "confidence", "feedback", "suggestions"],
        "additionalProperties": false
    })
}
