//! `forbid`: the text must not contain given terms. A failure names each term found
//! and how often, so the reviser knows exactly what to remove.

use super::require::{TermMode, compile, terms_name};
use super::terms::{Term, TermOptions};
use super::text::{quoted_list, times};
use super::{ValidationContext, Validator, ValidatorError};
use crate::thought::Verdict;
use async_trait::async_trait;

/// Forbids terms, e.g. `forbid(guarantee, act now)`.
#[derive(Debug, Clone)]
pub struct Forbid {
    terms: Vec<Term>,
    whole_word: bool,
    name: String,
}

impl Forbid {
    /// A validator forbidding `terms` (at least one; none empty).
    pub fn new(terms: &[String], options: TermOptions) -> Result<Self, crate::Error> {
        let name = terms_name("forbid", terms, options, TermMode::All);
        let terms = compile(&name, terms, options)?;
        Ok(Self { terms, whole_word: options.whole_word, name })
    }

    /// What the validator asks for, e.g. `avoid the terms 'guarantee' and 'act now'`.
    pub fn requirement(&self) -> String {
        let all: Vec<String> = self.terms.iter().map(|t| t.text().to_owned()).collect();
        if all.len() == 1 {
            format!("avoid the term {}", quoted_list(&all))
        } else {
            format!("avoid the terms {}", quoted_list(&all))
        }
    }

    fn removal(&self, term: &Term, n: usize) -> String {
        let what = match (self.whole_word, term.is_phrase()) {
            (false, _) => "every occurrence of",
            (true, false) => "the word",
            (true, true) => "the phrase",
        };
        format!("remove {what} '{}' (found {})", term.text(), times(n))
    }
}

#[async_trait]
impl Validator for Forbid {
    fn name(&self) -> &str {
        &self.name
    }

    async fn validate(&self, cx: &ValidationContext<'_>) -> Result<Verdict, ValidatorError> {
        let found: Vec<(&Term, usize)> =
            self.terms.iter().map(|t| (t, t.count(cx.text))).filter(|(_, n)| *n > 0).collect();
        if found.is_empty() {
            return Ok(Verdict::pass(&self.name, "none of the forbidden terms appear"));
        }
        let total: usize = found.iter().map(|(_, n)| n).sum();
        let message: Vec<String> = found.iter().map(|(t, n)| self.removal(t, *n)).collect();
        Ok(Verdict::fail(&self.name, 1.0 / (1.0 + total as f64), message.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::testing::run;

    fn forbid(terms: &[&str], options: TermOptions) -> Forbid {
        let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
        Forbid::new(&terms, options).unwrap()
    }

    #[test]
    fn names_each_found_term_with_its_count() {
        let v = forbid(&["guarantee", "act now", "free"], TermOptions::default());
        let verdict = run(&v, "We guarantee it. Guarantee! ACT NOW, it's guaranteed.");
        assert!(!verdict.passed);
        assert_eq!(
            verdict.message,
            "remove the word 'guarantee' (found 2 times); remove the phrase 'act now' (found 1 time)"
        );
        assert!((verdict.score - 0.25).abs() < 1e-9);
        assert!(run(&v, "A fine, honest offer.").passed);
        assert!(run(&v, "").passed);
    }

    #[test]
    fn substring_and_case_options() {
        let sub = forbid(&["guarant"], TermOptions { case_sensitive: false, whole_word: false });
        let verdict = run(&sub, "guaranteed GUARANTEE");
        assert_eq!(verdict.message, "remove every occurrence of 'guarant' (found 2 times)");
        let cased = forbid(&["NASA"], TermOptions { case_sensitive: true, whole_word: true });
        assert!(run(&cased, "nasa is an agency").passed);
        assert!(!run(&cased, "NASA is an agency").passed);
    }

    #[test]
    fn unicode_terms_and_emoji() {
        let v = forbid(&["💯", "très"], TermOptions::default());
        let verdict = run(&v, "C'est TRÈS bien 💯💯");
        assert_eq!(
            verdict.message,
            "remove the word '💯' (found 2 times); remove the word 'très' (found 1 time)"
        );
    }
}
