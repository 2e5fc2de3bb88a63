//! Validators: cheap, deterministic checks (length, required and forbidden terms,
//! regexes, composition) that run before the critics. A failure carries an actionable
//! delta for the reviser ("add about 40 words").
//!
//! # Layout
//!
//! - the [`Validator`] trait and what it sees ([`ValidationContext`]);
//! - the kinds, one file each: [`Length`] (chars, words, sentences), [`Require`],
//!   [`Forbid`], [`RegexCount`], and the compositions [`All`], [`Any`], [`Not`];
//! - [`ValidatorSpec`] / [`Entry`]: validators as data — an entry is read from a config
//!   table or a spec string in the command-line syntax ([`parse_spec`]:
//!   `words:min=50,max=120`, `soft:regex[max=0]:guarantee`, `preset:tweet`, …);
//! - [`Presets`]: named lists of validators from `validators/*.toml` and user files;
//! - [`build`]: an entry (and its presets) to [`Configured`] validators, hard or soft,
//!   compiling each spec once (see the `build` module);
//! - [`kinds`]: the catalog behind `redraft validators`.
//!
//! Every failure message is a delta the reviser can act on ("add about 40 words (has
//! 80, needs at least 120)", "remove the word 'guarantee' (found 2 times)"); every
//! score is in 0..=1 and 1 exactly when the validator passes.

mod build;
mod catalog;
mod compose;
mod forbid;
mod length;
mod parse;
mod pattern;
mod preset;
mod require;
mod spec;
mod terms;
mod text;

#[cfg(test)]
mod testing;

pub use build::{Configured, build, build_items, check};
pub use catalog::{KindDoc, kinds};
pub use compose::{All, Any, Not};
pub use forbid::Forbid;
pub use length::{Length, Unit};
pub use parse::parse_spec;
pub use pattern::RegexCount;
pub use preset::{BUILT_IN, Preset, Presets};
pub use require::{Require, TermMode};
pub use spec::{Entry, ValidatorSpec};
pub use terms::TermOptions;

use crate::model::{CallLog, LanguageModel};
use crate::thought::Verdict;
use async_trait::async_trait;

#[cfg(any(test, feature = "test-util"))]
thread_local! {
    static REGEXES_COMPILED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts one regex compiled (a `regex` pattern or a term), in test builds.
fn count_regex() {
    #[cfg(any(test, feature = "test-util"))]
    REGEXES_COMPILED.with(|n| n.set(n.get() + 1));
}

/// How many regexes (`regex` patterns and `require`/`forbid` terms) this thread has
/// compiled so far: for tests that prove a spec is compiled once.
#[cfg(any(test, feature = "test-util"))]
pub fn regexes_compiled() -> usize {
    REGEXES_COMPILED.with(std::cell::Cell::get)
}

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
