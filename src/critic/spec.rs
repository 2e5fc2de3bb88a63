//! A critic file (`critics/*.toml`) parsed and checked: [`CriticSpec`].
//!
//! Parsing is strict: unknown keys are errors (with line and column), reserved
//! strategies say they are not supported yet, and the prompt templates are compiled and
//! rendered against a sample context so a bad template fails when the critic is loaded,
//! not in the middle of a run.

use super::prompt::Prompt;
use crate::Error;
use serde::{Deserialize, Serialize};

/// How a critic turns a draft into a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Strategy {
    /// One model call with the rendered prompt (implemented).
    #[default]
    Single,
    /// Several perspectives called concurrently, then aggregated (reserved).
    Ensemble,
    /// k samples and a vote (reserved).
    Sample,
    /// A critique judged by a meta-judge (reserved).
    Meta,
    /// Critics that argue, then a verdict (reserved).
    Debate,
    /// Evidence retrieved from a corpus first (reserved).
    Retrieve,
}

impl Strategy {
    /// The snake_case name used in critic files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Ensemble => "ensemble",
            Self::Sample => "sample",
            Self::Meta => "meta",
            Self::Debate => "debate",
            Self::Retrieve => "retrieve",
        }
    }

    /// Whether critics with this strategy can be built.
    pub fn is_supported(self) -> bool {
        matches!(self, Self::Single)
    }
}

impl std::fmt::Display for Strategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `[model]` table: per-critic overrides of the run's model settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelOverrides {
    /// A model name for this critic, on the run's provider (default: the run's model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Sampling temperature for this critic's calls (0..=2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Cap on completion tokens for this critic's calls (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// The `[prompt]` table: minijinja templates for the system and the user message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSpec {
    /// Instructions. Must not include the text under review (`{{ text }}`) or the input.
    pub system: String,
    /// The last user message. Must include `{{ text }}`, delimited.
    pub user: String,
}

/// A parsed critic file. Build a runnable critic from it with
/// [`Registry::build`](super::Registry::build) or
/// [`TemplateCritic::new`](super::TemplateCritic::new).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriticSpec {
    /// The name used in config and in the `Thought` (letters, digits, `_`, `-`).
    pub name: String,
    /// The version of this definition, stored with every run that uses it; bump it
    /// when the prompt or rules change, so a stored run made with the old one is told
    /// apart on resume. Default 1.
    #[serde(default = "first_version")]
    pub version: u32,
    /// One line on what the critic looks for.
    pub description: String,
    /// The paper the critic follows, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paper: Option<String>,
    /// How the critic runs; default `single`.
    #[serde(default)]
    pub strategy: Strategy,
    /// Whether the critic's own earlier feedback is passed back as `reflections`.
    #[serde(default)]
    pub memory: bool,
    /// Criteria available to the templates as `rubric`.
    #[serde(default)]
    pub rubric: Vec<String>,
    /// Extra template variables (overridable per critic in config).
    #[serde(default)]
    pub vars: serde_json::Map<String, serde_json::Value>,
    /// Per-critic model overrides.
    #[serde(default)]
    pub model: ModelOverrides,
    /// The prompt templates.
    pub prompt: PromptSpec,
    /// Where the critic was defined: a file path or `built-in`. Not read from the file.
    #[serde(skip)]
    pub origin: String,
}

fn first_version() -> u32 {
    1
}

impl CriticSpec {
    /// Parse and check a critic file. `origin` (a path or `built-in`) names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<CriticSpec, Error> {
        Self::load(text, origin).map(|(spec, _)| spec)
    }

    /// Parse and check a critic file, keeping its compiled templates (with its file's
    /// vars) so they need not be compiled again.
    pub(crate) fn load(text: &str, origin: &str) -> Result<(CriticSpec, Prompt), Error> {
        let spec = Self::parse(text, origin)?;
        spec.check_fields().map_err(|reason| spec.invalid(reason))?;
        let prompt = Prompt::compile(&spec, &spec.vars)?;
        Ok((spec, prompt))
    }

    /// Parse a critic file without [`check`](Self::check)ing it (which compiles its
    /// templates): for the compiled-in critics, which a unit test checks, so a start
    /// does not compile templates it may never use.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<CriticSpec, Error> {
        let mut spec: CriticSpec = toml::from_str(text).map_err(|e| Error::InvalidCritic {
            name: guess_name(text, origin),
            origin: origin.to_owned(),
            reason: toml_reason(text, &e),
        })?;
        spec.origin = origin.to_owned();
        Ok(spec)
    }

    /// Check everything parsing cannot: the name, the strategy, the model overrides, the
    /// variables, and the templates (compiled and rendered against sample contexts).
    pub fn check(&self) -> Result<(), Error> {
        self.check_fields().map_err(|reason| self.invalid(reason))?;
        Prompt::compile(self, &self.vars).map(drop)
    }

    /// An [`Error::InvalidCritic`] for this critic.
    pub(crate) fn invalid(&self, reason: impl Into<String>) -> Error {
        Error::InvalidCritic {
            name: self.name.clone(),
            origin: self.origin.clone(),
            reason: reason.into(),
        }
    }

    /// Check the name, strategy, model overrides and variable names.
    pub(crate) fn check_fields(&self) -> Result<(), String> {
        if !is_valid_name(&self.name) {
            return Err(format!(
                "name `{}` must be non-empty and use only letters, digits, `_` and `-`",
                self.name
            ));
        }
        if !self.strategy.is_supported() {
            return Err(format!(
                "strategy `{}` is not supported yet; only `single` is implemented",
                self.strategy
            ));
        }
        if let Some(t) = self.model.temperature
            && !(t.is_finite() && (0.0..=2.0).contains(&t))
        {
            return Err(format!("model.temperature must be between 0 and 2, got {t}"));
        }
        if self.model.max_tokens == Some(0) {
            return Err("model.max_tokens must be at least 1".to_owned());
        }
        if self.model.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err("model.name must not be empty".to_owned());
        }
        for key in self.vars.keys() {
            if super::prompt::RESERVED.contains(&key.as_str()) {
                return Err(format!(
                    "vars.{key} clashes with a built-in template variable ({})",
                    super::prompt::RESERVED.join(", ")
                ));
            }
            if !is_identifier(key) {
                return Err(format!("vars.{key} is not a valid template variable name"));
            }
        }
        Ok(())
    }
}

/// Letters, digits, `_` and `-`, non-empty.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A name a template can refer to: `[A-Za-z_][A-Za-z0-9_]*`.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The critic's name for an error about a file that did not parse: its `name` key if
/// the TOML is readable, else the file's stem.
fn guess_name(text: &str, origin: &str) -> String {
    toml::from_str::<toml::Table>(text)
        .ok()
        .and_then(|t| t.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .or_else(|| {
            std::path::Path::new(origin).file_stem().and_then(|s| s.to_str()).map(str::to_owned)
        })
        .unwrap_or_else(|| origin.to_owned())
}

/// A one-line TOML error: `line L, column C: message`.
fn toml_reason(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim();
    match error.span() {
        Some(span) => {
            let (line, column) = line_column(text, span.start);
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
name = "tiny"
description = "d"
[prompt]
system = "You review texts."
user = "<text>{{ text }}</text>"
"#;

    fn reason(err: Error) -> (String, String, String) {
        match err {
            Error::InvalidCritic { name, origin, reason } => (name, origin, reason),
            other => panic!("expected InvalidCritic, got {other:?}"),
        }
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let spec = CriticSpec::from_toml(MINIMAL, "x.toml").unwrap();
        assert_eq!(spec.strategy, Strategy::Single);
        assert!(!spec.memory);
        assert!(spec.rubric.is_empty());
        assert_eq!(spec.origin, "x.toml");
    }

    #[test]
    fn unknown_key_is_reported_with_line_and_column() {
        let text = MINIMAL.replace("description = \"d\"", "description = \"d\"\ncolour = 1");
        let (name, origin, reason) =
            reason(CriticSpec::from_toml(&text, "/c/tiny.toml").unwrap_err());
        assert_eq!(name, "tiny");
        assert_eq!(origin, "/c/tiny.toml");
        assert!(reason.contains("line 4, column 1"), "{reason}");
        assert!(reason.contains("colour"), "{reason}");
    }

    #[test]
    fn unparseable_file_is_named_after_its_stem() {
        let (name, _, reason) =
            reason(CriticSpec::from_toml("name = ", "/c/broken.toml").unwrap_err());
        assert_eq!(name, "broken");
        assert!(reason.starts_with("line 1"), "{reason}");
    }

    #[test]
    fn reserved_strategy_is_not_supported_yet() {
        let text =
            MINIMAL.replace("description = \"d\"", "description = \"d\"\nstrategy = \"debate\"");
        let (_, _, reason) = reason(CriticSpec::from_toml(&text, "x").unwrap_err());
        assert!(reason.contains("`debate` is not supported yet"), "{reason}");
    }

    #[test]
    fn bad_name_temperature_and_var_names_are_rejected() {
        let bad_name = MINIMAL.replace("\"tiny\"", "\"a b\"");
        assert!(reason(CriticSpec::from_toml(&bad_name, "x").unwrap_err()).2.contains("name"));
        let hot = format!("{MINIMAL}[model]\ntemperature = 3.5\n");
        assert!(reason(CriticSpec::from_toml(&hot, "x").unwrap_err()).2.contains("temperature"));
        let reserved = format!("{MINIMAL}[vars]\ntext = \"x\"\n");
        assert!(reason(CriticSpec::from_toml(&reserved, "x").unwrap_err()).2.contains("clashes"));
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ab\ncé\nx", 6), (2, 3));
        assert_eq!(line_column("abc", 0), (1, 1));
    }
}
