//! Composition: [`All`], [`Any`] and [`Not`] over other validators, with plain boolean
//! logic. `not(all(a, b))` passes when at least one of `a`, `b` fails — it is not
//! `all(not(a), not(b))`.
//!
//! Every child always runs (no short-circuit), so a failure message can list every
//! delta. A composite costs as much as its most expensive child. A child that cannot
//! give a verdict makes the composite fail to give one too, except in `any`, which
//! still passes when another branch passes.

use super::{Cost, ValidationContext, Validator, ValidatorError};
use crate::thought::Verdict;
use async_trait::async_trait;
use std::sync::Arc;

/// Run every child, in order.
async fn run_all(
    children: &[Arc<dyn Validator>],
    cx: &ValidationContext<'_>,
) -> Vec<Result<Verdict, ValidatorError>> {
    let mut out = Vec::with_capacity(children.len());
    for child in children {
        out.push(child.validate(cx).await);
    }
    out
}

fn max_cost(children: &[Arc<dyn Validator>]) -> Cost {
    children.iter().map(|c| c.cost()).max().unwrap_or(Cost::Cpu)
}

fn joined_names(children: &[Arc<dyn Validator>]) -> String {
    children.iter().map(|c| c.name()).collect::<Vec<_>>().join(", ")
}

fn child_error(name: &str, child: &dyn Validator, e: ValidatorError) -> ValidatorError {
    ValidatorError(format!("{name}: {}: {e}", child.name()))
}

/// Passes when every child passes (an empty `all` passes).
pub struct All {
    children: Vec<Arc<dyn Validator>>,
    name: String,
}

impl All {
    /// All of `children`.
    pub fn new(children: Vec<Arc<dyn Validator>>) -> Self {
        let name = format!("all({})", joined_names(&children));
        Self { children, name }
    }
}

#[async_trait]
impl Validator for All {
    fn name(&self) -> &str {
        &self.name
    }

    fn cost(&self) -> Cost {
        max_cost(&self.children)
    }

    async fn validate(&self, cx: &ValidationContext<'_>) -> Result<Verdict, ValidatorError> {
        let mut failures = Vec::new();
        let mut score = 0.0;
        for (child, result) in self.children.iter().zip(run_all(&self.children, cx).await) {
            let verdict = result.map_err(|e| child_error(&self.name, child.as_ref(), e))?;
            score += verdict.score;
            if !verdict.passed {
                failures.push(verdict.message);
            }
        }
        if failures.is_empty() {
            return Ok(Verdict::pass(&self.name, "every condition holds"));
        }
        let score = score / self.children.len() as f64;
        Ok(Verdict::fail(&self.name, score, failures.join("; ")))
    }
}

/// Passes when at least one child passes (an empty `any` fails).
pub struct Any {
    children: Vec<Arc<dyn Validator>>,
    name: String,
}

impl Any {
    /// Any of `children`.
    pub fn new(children: Vec<Arc<dyn Validator>>) -> Self {
        let name = format!("any({})", joined_names(&children));
        Self { children, name }
    }
}

#[async_trait]
impl Validator for Any {
    fn name(&self) -> &str {
        &self.name
    }

    fn cost(&self) -> Cost {
        max_cost(&self.children)
    }

    async fn validate(&self, cx: &ValidationContext<'_>) -> Result<Verdict, ValidatorError> {
        let mut deltas = Vec::new();
        let mut best: f64 = 0.0;
        let mut first_error = None;
        for (child, result) in self.children.iter().zip(run_all(&self.children, cx).await) {
            match result {
                Ok(v) if v.passed => {
                    return Ok(Verdict::pass(&self.name, format!("satisfies {}", child.name())));
                }
                Ok(v) => {
                    best = best.max(v.score);
                    deltas.push(format!("[{}]", v.message));
                }
                Err(e) => {
                    first_error.get_or_insert_with(|| child_error(&self.name, child.as_ref(), e));
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let message = format!("satisfy at least one of: {}", deltas.join(" or "));
        Ok(Verdict::fail(&self.name, best, message))
    }
}

/// Passes when its child fails.
pub struct Not {
    child: Arc<dyn Validator>,
    requirement: String,
    name: String,
}

impl Not {
    /// The negation of `child`; `requirement` says what `child` asks for
    /// (e.g. `include the term 'solar'`), so a failure can say what to stop doing.
    pub fn new(child: Arc<dyn Validator>, requirement: impl Into<String>) -> Self {
        let name = format!("not({})", child.name());
        Self { child, requirement: requirement.into(), name }
    }
}

#[async_trait]
impl Validator for Not {
    fn name(&self) -> &str {
        &self.name
    }

    fn cost(&self) -> Cost {
        self.child.cost()
    }

    async fn validate(&self, cx: &ValidationContext<'_>) -> Result<Verdict, ValidatorError> {
        let inner = self
            .child
            .validate(cx)
            .await
            .map_err(|e| child_error(&self.name, self.child.as_ref(), e))?;
        if inner.passed {
            let message = format!("the text must NOT satisfy: {}", self.requirement);
            Ok(Verdict::fail(&self.name, 1.0 - inner.score, message))
        } else {
            Ok(Verdict::pass(&self.name, format!("does not {}", self.requirement)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::length::{Length, Unit};
    use crate::validator::require::{Require, TermMode};
    use crate::validator::terms::TermOptions;
    use crate::validator::testing::run;

    fn words_min(n: usize) -> Arc<dyn Validator> {
        Arc::new(Length::new(Unit::Words, Some(n), None).unwrap())
    }

    fn require(term: &str) -> Arc<dyn Validator> {
        Arc::new(Require::new(&[term.to_owned()], TermOptions::default(), TermMode::All).unwrap())
    }

    fn not(v: Arc<dyn Validator>, req: &str) -> Arc<dyn Validator> {
        Arc::new(Not::new(v, req))
    }

    #[test]
    fn not_all_differs_from_all_not() {
        // a = "has at least 3 words", b = "includes 'solar'".
        let not_all = Not::new(Arc::new(All::new(vec![words_min(3), require("solar")])), "both");
        let all_not = All::new(vec![not(words_min(3), "a"), not(require("solar"), "b")]);
        // a holds, b fails: not(all) passes, all(not) fails.
        let text = "wind power is cheap";
        assert!(run(&not_all, text).passed);
        assert!(!run(&all_not, text).passed);
        // Both hold: both fail.
        assert!(!run(&not_all, "solar power is cheap").passed);
        assert!(!run(&all_not, "solar power is cheap").passed);
        // Neither holds: both pass.
        assert!(run(&not_all, "wind").passed);
        assert!(run(&all_not, "wind").passed);
    }

    #[test]
    fn all_lists_every_failure() {
        let v = All::new(vec![words_min(5), require("solar"), require("wind")]);
        let verdict = run(&v, "wind is good");
        assert!(!verdict.passed);
        assert_eq!(
            verdict.message,
            "add about 2 words (has 3, needs at least 5); include the term 'solar'"
        );
        assert!((verdict.score - (0.6 + 0.0 + 1.0) / 3.0).abs() < 1e-9);
        assert_eq!(v.name(), "all(words(min=5), require(solar), require(wind))");
        assert!(run(&All::new(vec![]), "").passed);
    }

    #[test]
    fn any_lists_each_branch_delta() {
        let v = Any::new(vec![words_min(5), require("solar")]);
        let verdict = run(&v, "wind is good");
        assert!(!verdict.passed);
        assert_eq!(
            verdict.message,
            "satisfy at least one of: [add about 2 words (has 3, needs at least 5)] or [include the term 'solar']"
        );
        assert!((verdict.score - 0.6).abs() < 1e-9);
        assert!(run(&v, "solar").passed);
        assert!(!run(&Any::new(vec![]), "").passed);
    }

    #[test]
    fn not_says_what_to_stop_doing() {
        let v = Not::new(require("solar"), "include the term 'solar'");
        let verdict = run(&v, "solar power");
        assert!(!verdict.passed);
        assert_eq!(verdict.score, 0.0);
        assert_eq!(verdict.message, "the text must NOT satisfy: include the term 'solar'");
        assert!(run(&v, "wind power").passed);
        assert_eq!(v.name(), "not(require(solar))");
    }

    struct Broken;

    #[async_trait]
    impl Validator for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        fn cost(&self) -> Cost {
            Cost::Model
        }
        async fn validate(&self, _: &ValidationContext<'_>) -> Result<Verdict, ValidatorError> {
            Err(ValidatorError("no model".into()))
        }
    }

    #[test]
    fn errors_propagate_except_when_any_passes() {
        let all = All::new(vec![require("x"), Arc::new(Broken)]);
        assert_eq!(all.cost(), Cost::Model);
        let err = crate::validator::testing::try_run(&all, "x").unwrap_err();
        assert!(err.0.contains("broken: no model"), "{}", err.0);
        let any = Any::new(vec![Arc::new(Broken), require("x")]);
        assert!(run(&any, "x").passed);
        assert!(crate::validator::testing::try_run(&any, "y").is_err());
    }
}
