//! Critics: the [`Critic`] trait, and critics defined as data in `critics/*.toml`.
//!
//! A critic reads the current draft (and the run's history) and returns a verdict:
//! `needs_improvement`, `confidence`, `feedback`, `suggestions`. Critics of one
//! iteration run concurrently; one that errors does not vote.
//!
//! - `spec` — a critic file parsed and checked ([`CriticSpec`]).
//! - `prompt` — the templates: strict minijinja, checked when a critic is loaded.
//! - `definition` — a critic resolved ([`Definition`]): templates compiled once, vars
//!   applied; what the configuration holds and the engine binds to a model.
//! - `memory` — a critic's own earlier feedback, bounded (Reflexion).
//! - `single` — the `single` strategy: [`TemplateCritic`], one model call per critique.
//! - `registry` — built-ins plus user files, by name ([`Registry`]).

mod definition;
mod memory;
mod own_model;
mod prompt;
mod registry;
mod single;
mod spec;

pub use definition::Definition;
pub use own_model::OwnModel;
pub use registry::{CriticInfo, Registry};
pub use single::TemplateCritic;
pub use spec::{CriticSpec, ModelOverrides, PromptSpec, Strategy};

use crate::model::{CallLog, LanguageModel, ModelError};
pub use crate::thought::verdict::{VerdictJson, verdict_schema};
use crate::thought::{Critique, Iteration, Mode};
use async_trait::async_trait;

#[cfg(any(test, feature = "test-util"))]
thread_local! {
    static TEMPLATES_COMPILED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts one critic's templates compiled, in test builds.
fn count_template_compile() {
    #[cfg(any(test, feature = "test-util"))]
    TEMPLATES_COMPILED.with(|n| n.set(n.get() + 1));
}

/// How many times this thread has compiled a critic's templates (both of them, once
/// per critic): for tests that prove a critic is compiled once.
#[cfg(any(test, feature = "test-util"))]
pub fn templates_compiled() -> usize {
    TEMPLATES_COMPILED.with(std::cell::Cell::get)
}

/// What a critic sees.
pub struct CritiqueContext<'a> {
    /// The draft under review.
    pub text: &'a str,
    /// The prompt (generate) or the original text (improve).
    pub input: &'a str,
    /// Improve or generate.
    pub mode: Mode,
    /// Index of the iteration under review.
    pub iteration: usize,
    /// Earlier iterations (not the current one), oldest first.
    pub history: &'a [Iteration],
    /// The run's model.
    pub model: &'a dyn LanguageModel,
    /// Where every model call is recorded.
    pub log: &'a CallLog,
}

/// Why a critic could not give a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CriticError {
    /// The model call failed.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The model's answer was not a valid verdict.
    #[error("invalid verdict: {0}")]
    Invalid(String),
    /// The critic's prompt template failed to render.
    #[error("template error: {0}")]
    Template(String),
}

impl CriticError {
    /// The error as the `Thought` stores it: a model error keeps its kind and status.
    pub fn info(&self) -> crate::thought::ErrorInfo {
        match self {
            Self::Model(e) => e.info(),
            Self::Invalid(_) | Self::Template(_) => {
                crate::thought::ErrorInfo::new(crate::thought::ErrorKind::Critic, self.to_string())
            }
        }
    }
}

/// A critic. Dyn-safe: configuration picks critics by name at run time.
#[async_trait]
pub trait Critic: Send + Sync {
    /// The critic's name, as used in config and in the `Thought`.
    fn name(&self) -> &str;
    /// The version of the critic's definition, stored with every run that uses it: a
    /// critic whose prompt or rules change should bump it. Default: 1.
    fn version(&self) -> u32 {
        1
    }
    /// Review `cx.text`.
    async fn critique(&self, cx: &CritiqueContext<'_>) -> Result<Critique, CriticError>;
}
