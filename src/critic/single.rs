//! The `single` strategy: a critic from a [`CriticSpec`] that renders its prompt and
//! asks the model for a verdict in exactly one call (plus, only on failure, the
//! structured-output fallback or re-ask of [`complete_json`]).

use super::memory::reflections;
use super::prompt::{Prompt, Slots};
use super::spec::CriticSpec;
use super::{Critic, CriticError, CritiqueContext, VerdictJson, verdict_schema};
use crate::Error;
use crate::model::structured::{StructuredError, complete_json};
use crate::model::{CallTag, Message, Request, ResponseFormat, Sampling};
use crate::thought::{CallRole, Critique};
use async_trait::async_trait;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The schema name sent with `response_format: json_schema`.
const SCHEMA_NAME: &str = "critic_verdict";

/// A critic defined by a template file, run with the `single` strategy.
pub struct TemplateCritic {
    name: String,
    memory: bool,
    prompt: Prompt,
    sampling: Sampling,
    /// The verdict schema, shared with every request.
    schema: Arc<Value>,
}

impl std::fmt::Debug for TemplateCritic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateCritic")
            .field("name", &self.name)
            .field("memory", &self.memory)
            .field("sampling", &self.sampling)
            .finish_non_exhaustive()
    }
}

impl TemplateCritic {
    /// Build a critic from `spec`.
    ///
    /// `vars_override` replaces entries of the file's `[vars]` (each key must exist there,
    /// with a value of the same JSON type); the templates are checked again with the
    /// merged variables. `defaults` is the sampling for critique calls; the file's
    /// `[model]` temperature and max_tokens take precedence, field by field.
    pub fn new(
        spec: &CriticSpec,
        vars_override: Option<&Map<String, Value>>,
        defaults: Sampling,
    ) -> Result<TemplateCritic, Error> {
        spec.check_fields().map_err(|reason| spec.invalid(reason))?;
        let vars = merge_vars(&spec.vars, vars_override).map_err(|reason| spec.invalid(reason))?;
        let prompt = Prompt::compile(spec, &vars)?;
        let sampling = Sampling {
            temperature: spec.model.temperature.or(defaults.temperature),
            max_tokens: spec.model.max_tokens.or(defaults.max_tokens),
        };
        Ok(TemplateCritic {
            name: spec.name.clone(),
            memory: spec.memory,
            prompt,
            sampling,
            schema: Arc::new(verdict_schema()),
        })
    }

    /// The sampling sent with this critic's calls.
    pub fn sampling(&self) -> Sampling {
        self.sampling
    }

    /// The request this critic would send for `cx` (messages and sampling; the format
    /// is set by the structured-output call).
    pub fn request(&self, cx: &CritiqueContext<'_>) -> Result<Request, CriticError> {
        let reflections = if self.memory {
            reflections(cx.history, &self.name, cx.iteration)
        } else {
            Vec::new()
        };
        let slots = Slots {
            text: cx.text,
            input: cx.input,
            mode: cx.mode,
            iteration: cx.iteration,
            reflections: &reflections,
        };
        let rendered =
            self.prompt.render(&slots).map_err(|e| CriticError::Template(e.to_string()))?;
        Ok(Request {
            messages: vec![Message::system(rendered.system), Message::user(rendered.user)],
            sampling: self.sampling,
            format: ResponseFormat::Text,
            ..Request::default()
        })
    }
}

#[async_trait]
impl Critic for TemplateCritic {
    fn name(&self) -> &str {
        &self.name
    }

    async fn critique(&self, cx: &CritiqueContext<'_>) -> Result<Critique, CriticError> {
        let request = self.request(cx)?;
        let tag = CallTag::by(CallRole::Critique, self.name.as_str());
        let verdict: VerdictJson =
            complete_json(cx.model, request, SCHEMA_NAME, &self.schema, &tag, cx.log)
                .await
                .map_err(|e| match e {
                    StructuredError::Model(e) => CriticError::Model(e),
                    StructuredError::Invalid { reason } => CriticError::Invalid(reason),
                })?;
        Ok(verdict.into_critique(&self.name))
    }
}

/// The file's vars with `overrides` applied: only known keys, each with the same JSON
/// type as the file's value.
fn merge_vars(
    vars: &Map<String, Value>,
    overrides: Option<&Map<String, Value>>,
) -> Result<Map<String, Value>, String> {
    let mut merged = vars.clone();
    for (key, value) in overrides.into_iter().flatten() {
        let Some(default) = vars.get(key) else {
            let known: Vec<&str> = vars.keys().map(String::as_str).collect();
            return Err(format!(
                "vars override `{key}` is not a variable of this critic (its vars: {})",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            ));
        };
        if json_type(default) != json_type(value) {
            return Err(format!(
                "vars override `{key}` must be {} like the critic's own value, got {}",
                json_type(default),
                json_type(value)
            ));
        }
        merged.insert(key.clone(), value.clone());
    }
    Ok(merged)
}

/// The JSON type of `value`, with an article, for messages.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn overrides_replace_known_vars_of_the_same_type() {
        let vars = map(json!({"principles": ["a"], "tone": "dry"}));
        let merged = merge_vars(&vars, Some(&map(json!({"principles": ["b", "c"]})))).unwrap();
        assert_eq!(merged["principles"], json!(["b", "c"]));
        assert_eq!(merged["tone"], json!("dry"));
    }

    #[test]
    fn overrides_of_unknown_vars_or_other_types_are_errors() {
        let vars = map(json!({"principles": ["a"]}));
        let unknown = merge_vars(&vars, Some(&map(json!({"principle": ["b"]})))).unwrap_err();
        assert!(unknown.contains("`principle`") && unknown.contains("principles"), "{unknown}");
        let typed = merge_vars(&vars, Some(&map(json!({"principles": "b"})))).unwrap_err();
        assert!(typed.contains("an array") && typed.contains("a string"), "{typed}");
    }
}
