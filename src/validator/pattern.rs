//! `regex`: the text must match a pattern a number of times — at least `min`, at most
//! `max`. With neither given the pattern is *required* (`min = 1`); `max = 0` makes it
//! *forbidden*.
//!
//! Patterns use the `regex` crate's syntax and are compiled in **multi-line mode**, so
//! `^` and `$` match at the start and end of every line (`^#` finds Markdown headings
//! anywhere in the text). Write `(?-m)` at the start of a pattern to anchor to the
//! whole text instead, and `(?i)` for case-insensitive matching. Matches are counted
//! without overlap. An invalid pattern is rejected when the validator is built, never
//! when it runs.

use super::text::{snippet, times};
use super::{ValidationContext, Validator, ValidatorError};
use crate::thought::Verdict;
use async_trait::async_trait;

/// How many matched snippets a failure message quotes.
const QUOTED: usize = 3;

/// A regex count validator, e.g. `regex(/^#/, min=2)`.
#[derive(Debug, Clone)]
pub struct RegexCount {
    regex: regex::Regex,
    pattern: String,
    min: usize,
    max: Option<usize>,
    name: String,
}

impl RegexCount {
    /// A validator requiring between `min` and `max` matches of `pattern`; `min`
    /// defaults to 1 when neither is given, else to 0.
    pub fn new(
        pattern: &str,
        min: Option<usize>,
        max: Option<usize>,
    ) -> Result<Self, crate::Error> {
        Self::check(pattern, min, max)?;
        let invalid = |reason: String| crate::Error::InvalidValidator {
            spec: format!("regex:{pattern}"),
            reason,
        };
        let lo = Self::lowest(min, max);
        super::count_regex();
        let regex = regex::RegexBuilder::new(pattern)
            .multi_line(true)
            .build()
            .map_err(|e| invalid(format!("invalid regex /{pattern}/: {e}")))?;
        let name = match (min, max) {
            (None, None) => format!("regex(/{pattern}/)"),
            (Some(lo), None) => format!("regex(/{pattern}/, min={lo})"),
            (None, Some(hi)) => format!("regex(/{pattern}/, max={hi})"),
            (Some(lo), Some(hi)) => format!("regex(/{pattern}/, min={lo}, max={hi})"),
        };
        Ok(Self { regex, pattern: pattern.to_owned(), min: lo, max, name })
    }

    /// Check what [`RegexCount::new`] checks except the pattern itself (which takes
    /// compiling it): there is a pattern, and `min` does not exceed `max`.
    pub fn check(
        pattern: &str,
        min: Option<usize>,
        max: Option<usize>,
    ) -> Result<(), crate::Error> {
        let invalid = |reason: String| crate::Error::InvalidValidator {
            spec: format!("regex:{pattern}"),
            reason,
        };
        if pattern.is_empty() {
            return Err(invalid("empty pattern".to_owned()));
        }
        let lo = Self::lowest(min, max);
        if let Some(hi) = max
            && lo > hi
        {
            return Err(invalid(format!("min ({lo}) is greater than max ({hi})")));
        }
        Ok(())
    }

    /// The least number of matches: `min`, else 1 when `max` is absent too, else 0.
    fn lowest(min: Option<usize>, max: Option<usize>) -> usize {
        min.unwrap_or(if max.is_none() { 1 } else { 0 })
    }

    /// What the validator asks for, e.g. `match /^#/ at least 1 time`.
    pub fn requirement(&self) -> String {
        let p = &self.pattern;
        match self.max {
            Some(0) => format!("not match /{p}/"),
            Some(hi) if hi == self.min => format!("match /{p}/ exactly {}", times(hi)),
            Some(hi) if self.min > 0 => format!("match /{p}/ between {} and {hi} times", self.min),
            Some(hi) => format!("match /{p}/ at most {}", times(hi)),
            None => format!("match /{p}/ at least {}", times(self.min)),
        }
    }
}

#[async_trait]
impl Validator for RegexCount {
    fn name(&self) -> &str {
        &self.name
    }

    async fn validate(&self, cx: &ValidationContext<'_>) -> Result<Verdict, ValidatorError> {
        let matches: Vec<&str> = self.regex.find_iter(cx.text).map(|m| m.as_str()).collect();
        let n = matches.len();
        let p = &self.pattern;
        if n < self.min {
            let message =
                format!("the text must match /{p}/ at least {} (found {n})", times(self.min));
            return Ok(Verdict::fail(&self.name, n as f64 / self.min as f64, message));
        }
        if let Some(hi) = self.max
            && n > hi
        {
            let mut quoted: Vec<String> = Vec::new();
            for m in matches.iter().filter(|m| !m.trim().is_empty()) {
                let q = format!("'{}'", snippet(m, 40));
                if !quoted.contains(&q) {
                    quoted.push(q);
                }
            }
            let more = if quoted.len() > QUOTED { ", …" } else { "" };
            quoted.truncate(QUOTED);
            let examples = if quoted.is_empty() {
                String::new()
            } else {
                format!(": {}{more}", quoted.join(", "))
            };
            let message = if hi == 0 {
                format!(
                    "the text must not match /{p}/ (found {n}{examples}); remove or rewrite those parts"
                )
            } else {
                format!(
                    "the text must match /{p}/ at most {} (found {n}{examples}); remove or rewrite {} of them",
                    times(hi),
                    n - hi
                )
            };
            return Ok(Verdict::fail(&self.name, (hi + 1) as f64 / (n + 1) as f64, message));
        }
        Ok(Verdict::pass(&self.name, format!("matches /{p}/ {}", times(n))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::testing::run;

    #[test]
    fn required_by_default_and_multi_line() {
        let v = RegexCount::new("^#", None, None).unwrap();
        assert_eq!(v.name(), "regex(/^#/)");
        let verdict = run(&v, "no heading here");
        assert!(!verdict.passed);
        assert_eq!(verdict.message, "the text must match /^#/ at least 1 time (found 0)");
        assert!(run(&v, "intro\n# Heading\ntext").passed);
        assert!(!run(&v, "a # not at line start").passed);
        let whole = RegexCount::new("(?-m)^#", None, None).unwrap();
        assert!(!run(&whole, "intro\n# Heading").passed);
    }

    #[test]
    fn counts_against_min_and_max() {
        let v = RegexCount::new(r"^## ", Some(2), Some(3)).unwrap();
        assert!(!run(&v, "## a\n").passed);
        assert!(run(&v, "## a\n## b\n").passed);
        assert!(run(&v, "## a\n## b\n## c").passed);
        let over = run(&v, "## a\n## b\n## c\n## d");
        assert!(!over.passed);
        assert_eq!(
            over.message,
            "the text must match /^## / at most 3 times (found 4: '## '); remove or rewrite 1 of them"
        );
        assert!((over.score - 0.8).abs() < 1e-9);
    }

    #[test]
    fn forbidden_with_max_zero_quotes_matches() {
        let v = RegexCount::new(r"(?i)\bguarantee\w*", None, Some(0)).unwrap();
        assert!(run(&v, "honest offer").passed);
        assert!(run(&v, "").passed);
        let verdict = run(&v, "We guarantee it, Guaranteed, guarantee.");
        assert_eq!(
            verdict.message,
            "the text must not match /(?i)\\bguarantee\\w*/ (found 3: 'guarantee', 'Guaranteed'); remove or rewrite those parts"
        );
        assert_eq!(v.requirement(), "not match /(?i)\\bguarantee\\w*/");
    }

    #[test]
    fn unicode_patterns() {
        let v = RegexCount::new(r"\p{Han}+", Some(2), None).unwrap();
        assert!(run(&v, "太阳 and 能源").passed);
        assert!(!run(&v, "only 太阳 😀").passed);
    }

    #[test]
    fn invalid_patterns_fail_at_build_naming_pattern_and_reason() {
        let err = RegexCount::new("(unclosed", None, None).unwrap_err().to_string();
        assert!(err.contains("invalid regex /(unclosed/"), "{err}");
        assert!(err.contains("unclosed group"), "{err}");
        assert!(RegexCount::new("", None, None).is_err());
        assert!(RegexCount::new("a", Some(3), Some(1)).is_err());
    }
}
