//! Validators: cheap, deterministic checks (length, required and forbidden terms,
//! regexes, composition) that run before the critics. A failure carries an actionable
//! delta for the reviser ("add about 40 words").

use crate::model::{CallLog, LanguageModel};
use crate::thought::Verdict;
use async_trait::async_trait;

/// What a validator sees.
pub struct ValidationContext<'a> {
    /// The draft under review.
    pub text: &'a str,
    /// The prompt (generate) or the original text (improve).
    pub input: &'a str,
    /// Index of the iteration under review.
    pub iteration: usize,
    /// The run's model (for model-backed validators).
    pub model: &'a dyn LanguageModel,
    /// Where every model call is recorded.
    pub log: &'a CallLog,
}

/// How expensive a validator is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cost {
    /// Pure CPU: always runs.
    Cpu,
    /// Calls a model: runs only when every cheap validator passed.
    Model,
}

/// Why a validator could not give a verdict.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ValidatorError(pub String);

/// A validator. Dyn-safe: configuration picks validators at run time.
#[async_trait]
pub trait Validator: Send + Sync {
    /// The validator's name, as recorded in verdicts (e.g. `words(min=50,max=120)`).
    fn name(&self) -> &str;
    /// How expensive it is; defaults to [`Cost::Cpu`].
    fn cost(&self) -> Cost {
        Cost::Cpu
    }
    /// Check `cx.text`.
    async fn validate(&self, cx: &ValidationContext<'_>) -> Result<Verdict, ValidatorError>;
}
