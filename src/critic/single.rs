//! The `single` strategy: a critic from a [`CriticSpec`] that renders its prompt and
//! asks the model for a verdict in exactly one call (plus, only on failure, the
//! structured-output fallback or re-ask of [`complete_json`]).

use super::definition::Definition;
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
    version: u32,
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
    /// Build a critic from `spec`: [`Definition::compile`], then
    /// [`Definition::with_vars`] and [`Definition::critic`].
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
        Ok(Definition::compile(spec)?.with_vars(vars_override)?.critic(defaults))
    }

    /// The critic `definition` describes, its calls sent with `defaults` unless the
    /// critic's file says otherwise: nothing is compiled here.
    pub(crate) fn bind(definition: &Definition, prompt: Prompt, defaults: Sampling) -> Self {
        let spec = definition.spec();
        TemplateCritic {
            name: spec.name.clone(),
            version: spec.version,
            memory: spec.memory,
            prompt,
            sampling: Sampling {
                temperature: spec.model.temperature.or(defaults.temperature),
                max_tokens: spec.model.max_tokens.or(defaults.max_tokens),
            },
            schema: Arc::new(verdict_schema()),
        }
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

    fn version(&self) -> u32 {
        self.version
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
