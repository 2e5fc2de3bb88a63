//! `require`: the text must contain given terms — all of them (the default) or, with
//! [`TermMode::Any`], at least one. A failure names every missing term.

use super::terms::{Term, TermOptions};
use super::text::quoted_list;
use super::{ValidationContext, Validator, ValidatorError};
use crate::thought::Verdict;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Whether every term or at least one term must be present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TermMode {
    /// Every term must be present (the default).
    #[default]
    All,
    /// At least one term must be present.
    Any,
}

/// Requires terms to be present, e.g. `require(solar, wind)`.
#[derive(Debug, Clone)]
pub struct Require {
    terms: Vec<Term>,
    mode: TermMode,
    name: String,
}

impl Require {
    /// A validator requiring `terms` (at least one; none empty).
    pub fn new(
        terms: &[String],
        options: TermOptions,
        mode: TermMode,
    ) -> Result<Self, crate::Error> {
        let name = terms_name("require", terms, options, mode);
        let terms = compile(&name, terms, options)?;
        Ok(Self { terms, mode, name })
    }

    /// What the validator asks for, e.g. `include the terms 'solar' and 'wind'`.
    pub fn requirement(&self) -> String {
        let all: Vec<String> = self.terms.iter().map(|t| t.text().to_owned()).collect();
        match (self.mode, all.len()) {
            (_, 1) => format!("include the term {}", quoted_list(&all)),
            (TermMode::All, _) => format!("include the terms {}", quoted_list(&all)),
            (TermMode::Any, _) => {
                format!("include at least one of the terms {}", quoted_list(&all))
            }
        }
    }
}

#[async_trait]
impl Validator for Require {
    fn name(&self) -> &str {
        &self.name
    }

    async fn validate(&self, cx: &ValidationContext<'_>) -> Result<Verdict, ValidatorError> {
        let (found, missing): (Vec<&Term>, Vec<&Term>) =
            self.terms.iter().partition(|t| t.count(cx.text) > 0);
        let found_names: Vec<String> = found.iter().map(|t| t.text().to_owned()).collect();
        let missing_names: Vec<String> = missing.iter().map(|t| t.text().to_owned()).collect();
        let passed = match self.mode {
            TermMode::All => missing.is_empty(),
            TermMode::Any => !found.is_empty(),
        };
        if passed {
            return Ok(Verdict::pass(
                &self.name,
                format!("includes {}", quoted_list(&found_names)),
            ));
        }
        let message = match (self.mode, missing_names.len()) {
            (TermMode::All, 1) => format!("include the term {}", quoted_list(&missing_names)),
            (TermMode::All, _) => format!("include the terms {}", quoted_list(&missing_names)),
            (TermMode::Any, _) => {
                format!("include at least one of the terms {}", quoted_list(&missing_names))
            }
        };
        let score = found.len() as f64 / self.terms.len() as f64;
        Ok(Verdict::fail(&self.name, score, message))
    }
}

/// Compile terms, rejecting an empty list or an empty term.
pub(crate) fn compile(
    name: &str,
    terms: &[String],
    options: TermOptions,
) -> Result<Vec<Term>, crate::Error> {
    let invalid = |reason: String| crate::Error::InvalidValidator { spec: name.to_owned(), reason };
    if terms.is_empty() {
        return Err(invalid("give at least one term".to_owned()));
    }
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            Term::new(t, options).map_err(|reason| invalid(format!("term {}: {reason}", i + 1)))
        })
        .collect()
}

/// A verdict name such as `require(Solar, wind; case_sensitive, substring)`.
pub(crate) fn terms_name(
    kind: &str,
    terms: &[String],
    options: TermOptions,
    mode: TermMode,
) -> String {
    let mut flags = Vec::new();
    if options.case_sensitive {
        flags.push("case_sensitive");
    }
    if !options.whole_word {
        flags.push("substring");
    }
    if mode == TermMode::Any {
        flags.push("any");
    }
    let terms: Vec<&str> = terms.iter().map(|t| t.trim()).collect();
    if flags.is_empty() {
        format!("{kind}({})", terms.join(", "))
    } else {
        format!("{kind}({}; {})", terms.join(", "), flags.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::testing::run;

    fn require(terms: &[&str], options: TermOptions, mode: TermMode) -> Require {
        let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
        Require::new(&terms, options, mode).unwrap()
    }

    #[test]
    fn names_every_missing_term() {
        let v = require(&["solar", "wind", "tidal"], TermOptions::default(), TermMode::All);
        let verdict = run(&v, "Solar power is cheap.");
        assert!(!verdict.passed);
        assert_eq!(verdict.message, "include the terms 'wind' and 'tidal'");
        assert!((verdict.score - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(v.name(), "require(solar, wind, tidal)");
        let one = run(&v, "solar and wind");
        assert_eq!(one.message, "include the term 'tidal'");
        assert!(run(&v, "SOLAR, wind; tidal.").passed);
    }

    #[test]
    fn whole_word_and_case_options() {
        let whole = require(&["sol"], TermOptions::default(), TermMode::All);
        assert!(!run(&whole, "solar").passed);
        let sub = require(
            &["sol"],
            TermOptions { case_sensitive: false, whole_word: false },
            TermMode::All,
        );
        assert!(run(&sub, "SOLAR").passed);
        let cased = require(
            &["Solar"],
            TermOptions { case_sensitive: true, whole_word: true },
            TermMode::All,
        );
        assert!(!run(&cased, "solar").passed);
        assert!(run(&cased, "Solar").passed);
        assert_eq!(cased.name(), "require(Solar; case_sensitive)");
    }

    #[test]
    fn any_mode_needs_one() {
        let v = require(&["solar", "wind"], TermOptions::default(), TermMode::Any);
        assert!(run(&v, "wind farms").passed);
        let verdict = run(&v, "");
        assert!(!verdict.passed);
        assert_eq!(verdict.message, "include at least one of the terms 'solar' and 'wind'");
        assert_eq!(verdict.score, 0.0);
    }

    #[test]
    fn unicode_terms() {
        let v = require(&["café", "日本", "🎉"], TermOptions::default(), TermMode::All);
        assert!(run(&v, "Un CAFÉ au 日本語 🎉").passed);
    }

    #[test]
    fn rejects_empty_lists_and_terms() {
        assert!(Require::new(&[], TermOptions::default(), TermMode::All).is_err());
        let err = Require::new(&["a".into(), " ".into()], TermOptions::default(), TermMode::All)
            .unwrap_err()
            .to_string();
        assert!(err.contains("term 2: empty term"), "{err}");
    }
}
