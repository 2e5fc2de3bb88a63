//! Test helpers: run a validator on a text with a model that is never called.

use super::{ValidationContext, Validator, ValidatorError};
use crate::model::{CallLog, Completion, LanguageModel, ModelError, Request};
use crate::thought::Verdict;
use async_trait::async_trait;

/// A model for cheap validators, which never call it.
struct Unused;

#[async_trait]
impl LanguageModel for Unused {
    fn provider(&self) -> &str {
        "unused"
    }
    fn model(&self) -> &str {
        "unused"
    }
    async fn complete(&self, _: &Request) -> Result<Completion, ModelError> {
        panic!("a cheap validator called the model")
    }
}

/// Validate `text`, keeping errors.
pub(crate) fn try_run(v: &dyn Validator, text: &str) -> Result<Verdict, ValidatorError> {
    let log = CallLog::new();
    let cx = ValidationContext { text, input: "", iteration: 0, model: &Unused, log: &log };
    futures::executor::block_on(v.validate(&cx))
}

/// Validate `text`; the validator must not error.
pub(crate) fn run(v: &dyn Validator, text: &str) -> Verdict {
    let verdict = try_run(v, text).unwrap();
    assert!((0.0..=1.0).contains(&verdict.score), "score {} out of range", verdict.score);
    assert_eq!(verdict.passed, verdict.score == 1.0, "{verdict:?}");
    verdict
}
