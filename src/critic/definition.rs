//! A critic as the configuration resolved it: [`Definition`] — its parsed file, its
//! templates compiled (once) and its `critics.vars` applied. Binding it to sampling
//! and a model ([`Definition::critic`]) compiles nothing, so the configuration can
//! resolve critics when it is loaded and the engine only binds them.

use super::prompt::Prompt;
use super::single::TemplateCritic;
use super::spec::CriticSpec;
use crate::Error;
use crate::model::Sampling;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A critic resolved: its spec, and its templates compiled and checked with its vars.
/// Cheap to clone.
#[derive(Clone)]
pub struct Definition {
    spec: Arc<CriticSpec>,
    prompt: Prompt,
}

impl std::fmt::Debug for Definition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Definition")
            .field("name", &self.spec.name)
            .field("origin", &self.spec.origin)
            .finish_non_exhaustive()
    }
}

impl Definition {
    /// Check `spec` and compile its templates with its file's `[vars]`.
    pub fn compile(spec: &CriticSpec) -> Result<Definition, Error> {
        spec.check_fields().map_err(|reason| spec.invalid(reason))?;
        let prompt = Prompt::compile(spec, &spec.vars)?;
        Ok(Self::compiled(spec.clone(), prompt))
    }

    /// `spec` with templates already compiled (and checked) with its file's vars.
    pub(crate) fn compiled(spec: CriticSpec, prompt: Prompt) -> Definition {
        Definition { spec: Arc::new(spec), prompt }
    }

    /// This critic with `overrides` replacing entries of its file's `[vars]` (each key
    /// must exist there, with a value of the same JSON type): the templates are
    /// checked again with the merged variables, not compiled again. `None` changes
    /// nothing.
    pub fn with_vars(self, overrides: Option<&Map<String, Value>>) -> Result<Definition, Error> {
        let Some(overrides) = overrides else { return Ok(self) };
        let spec = &self.spec;
        let vars = merge_vars(&spec.vars, Some(overrides)).map_err(|r| spec.invalid(r))?;
        let prompt = self.prompt.with_vars(spec, &vars)?;
        Ok(Definition { prompt, ..self })
    }

    /// The critic's name.
    pub fn name(&self) -> &str {
        &self.spec.name
    }

    /// The critic's file, parsed.
    pub fn spec(&self) -> &CriticSpec {
        &self.spec
    }

    /// The runnable critic, its calls sent with `defaults` unless its file's `[model]`
    /// says otherwise, field by field. Compiles nothing.
    pub fn critic(&self, defaults: Sampling) -> TemplateCritic {
        TemplateCritic::bind(self, self.prompt.clone(), defaults)
    }
}

/// The file's vars with `overrides` applied: only known keys, each with the same JSON
/// type as the file's value.
pub(crate) fn merge_vars(
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
