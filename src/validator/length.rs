//! Length validators: characters, words or sentences, with a minimum, a maximum or both.
//!
//! Counting follows Unicode (via `unicode-segmentation`), so accents, emoji and CJK
//! count the way a reader sees them:
//!
//! - **chars** are extended grapheme clusters: `é` written as `e` + a combining accent is
//!   one character, and so is a family emoji made of several code points;
//! - **words** are UAX #29 words that contain a letter or digit (punctuation and emoji
//!   are not words; each CJK ideograph is a word);
//! - **sentences** are UAX #29 sentences that contain a letter or digit (a stray `...`
//!   or blank line is not a sentence).

use super::text::count;
use super::{ValidationContext, Validator, ValidatorError};
use crate::thought::Verdict;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use unicode_segmentation::UnicodeSegmentation;

/// What a length validator counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Extended grapheme clusters (user-perceived characters).
    Chars,
    /// Unicode words containing a letter or digit.
    Words,
    /// Unicode sentences containing a letter or digit.
    Sentences,
}

impl Unit {
    /// How many units `text` holds.
    pub fn count(self, text: &str) -> usize {
        match self {
            Unit::Chars => text.graphemes(true).count(),
            Unit::Words => text.unicode_words().count(),
            Unit::Sentences => {
                // A plain loop, not `.count()`: `count` asks for a size hint, and
                // unicode-segmentation 1.13.3's sentence size hint underflows (panics in
                // debug builds) near the end of the text.
                let mut n = 0;
                for sentence in text.unicode_sentences() {
                    if sentence.chars().any(char::is_alphanumeric) {
                        n += 1;
                    }
                }
                n
            }
        }
    }

    /// The kind name: `chars`, `words` or `sentences`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Chars => "chars",
            Unit::Words => "words",
            Unit::Sentences => "sentences",
        }
    }

    /// `n` with the right noun: `1 character`, `2 words`.
    fn amount(self, n: usize) -> String {
        match self {
            Unit::Chars => count(n, "character", self.plural()),
            Unit::Words => count(n, "word", self.plural()),
            Unit::Sentences => count(n, "sentence", self.plural()),
        }
    }

    /// The plural noun: `characters`, `words`, `sentences`.
    fn plural(self) -> &'static str {
        match self {
            Unit::Chars => "characters",
            Unit::Words => "words",
            Unit::Sentences => "sentences",
        }
    }

    /// Whether a fix can only be approximate (a reviser cannot hit an exact character
    /// count, but can add exactly two sentences).
    fn approximate(self) -> bool {
        !matches!(self, Unit::Sentences)
    }
}

/// A length validator, e.g. `words(min=50,max=120)`.
#[derive(Debug, Clone)]
pub struct Length {
    unit: Unit,
    min: Option<usize>,
    max: Option<usize>,
    name: String,
}

impl Length {
    /// A validator requiring between `min` and `max` units (either may be absent, not
    /// both; `min` may not exceed `max`).
    pub fn new(unit: Unit, min: Option<usize>, max: Option<usize>) -> Result<Self, crate::Error> {
        let bounds = [min.map(|m| format!("min={m}")), max.map(|m| format!("max={m}"))];
        let bounds: Vec<String> = bounds.into_iter().flatten().collect();
        let name = format!("{}({})", unit.as_str(), bounds.join(","));
        let invalid = |reason: String| crate::Error::InvalidValidator {
            spec: format!("{}:{}", unit.as_str(), bounds.join(",")),
            reason,
        };
        match (min, max) {
            (None, None) => Err(invalid("give min=N and/or max=N".into())),
            (Some(lo), Some(hi)) if lo > hi => {
                Err(invalid(format!("min ({lo}) is greater than max ({hi})")))
            }
            _ => Ok(Self { unit, min, max, name }),
        }
    }

    /// What the validator asks for, e.g. `have between 50 and 120 words`.
    pub fn requirement(&self) -> String {
        let noun = self.unit.plural();
        match (self.min, self.max) {
            (Some(lo), Some(hi)) if lo == hi => format!("have exactly {}", self.unit.amount(lo)),
            (Some(lo), Some(hi)) => format!("have between {lo} and {hi} {noun}"),
            (Some(lo), None) => format!("have at least {}", self.unit.amount(lo)),
            (None, Some(hi)) => format!("have at most {}", self.unit.amount(hi)),
            (None, None) => format!("have any number of {noun}"),
        }
    }

    fn bounds_text(&self) -> String {
        match (self.min, self.max) {
            (Some(lo), Some(hi)) => format!("needs {lo} to {hi}"),
            (Some(lo), None) => format!("needs at least {lo}"),
            (None, Some(hi)) => format!("needs at most {hi}"),
            (None, None) => "any length".to_owned(),
        }
    }

    /// The verdict on a text with `n` units.
    fn judge(&self, n: usize) -> Verdict {
        let about = if self.unit.approximate() { "about " } else { "" };
        if let Some(lo) = self.min
            && n < lo
        {
            let message =
                format!("add {about}{} (has {n}, needs at least {lo})", self.unit.amount(lo - n));
            return Verdict::fail(&self.name, n as f64 / lo as f64, message);
        }
        if let Some(hi) = self.max
            && n > hi
        {
            let message =
                format!("cut {about}{} (has {n}, needs at most {hi})", self.unit.amount(n - hi));
            return Verdict::fail(&self.name, hi as f64 / n as f64, message);
        }
        Verdict::pass(&self.name, format!("has {} ({})", self.unit.amount(n), self.bounds_text()))
    }
}

#[async_trait]
impl Validator for Length {
    fn name(&self) -> &str {
        &self.name
    }

    async fn validate(&self, cx: &ValidationContext<'_>) -> Result<Verdict, ValidatorError> {
        Ok(self.judge(self.unit.count(cx.text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::testing::run;

    fn words(min: Option<usize>, max: Option<usize>) -> Length {
        Length::new(Unit::Words, min, max).unwrap()
    }

    #[test]
    fn counts_unicode_text_the_way_a_reader_does() {
        // "é" as e + combining acute, a family emoji (ZWJ sequence) and a flag.
        let text = "cafe\u{301} 👨‍👩‍👧 🇫🇷";
        assert_eq!(Unit::Chars.count(text), 8);
        assert_eq!(text.chars().count(), 14);
        assert_eq!(Unit::Words.count("Crème brûlée, s'il vous plaît! 🎉"), 5);
        assert_eq!(Unit::Words.count("太阳能很好"), 5);
        assert_eq!(Unit::Sentences.count("One. Two? Three!  ... \n\n"), 3);
        assert_eq!(Unit::Sentences.count(""), 0);
        assert_eq!(Unit::Chars.count(""), 0);
    }

    #[test]
    fn exact_bounds_pass_and_one_off_fails() {
        let v = words(Some(3), Some(5));
        assert!(run(&v, "one two three").passed);
        assert!(run(&v, "one two three four five").passed);
        let under = run(&v, "one two");
        assert!(!under.passed);
        assert_eq!(under.message, "add about 1 word (has 2, needs at least 3)");
        assert!((under.score - 2.0 / 3.0).abs() < 1e-9);
        let over = run(&v, "a b c d e f g");
        assert!(!over.passed);
        assert_eq!(over.message, "cut about 2 words (has 7, needs at most 5)");
        assert!((over.score - 5.0 / 7.0).abs() < 1e-9);
    }

    #[test]
    fn empty_text_fails_a_minimum_and_passes_a_maximum() {
        let v = run(&words(Some(1), None), "");
        assert!(!v.passed);
        assert_eq!(v.score, 0.0);
        assert!(run(&words(None, Some(10)), "").passed);
    }

    #[test]
    fn chars_count_graphemes_and_sentences_are_exact() {
        let tweet = Length::new(Unit::Chars, None, Some(3)).unwrap();
        assert!(run(&tweet, "a👨‍👩‍👧é").passed);
        let v = run(&tweet, "日本語です");
        assert_eq!(v.message, "cut about 2 characters (has 5, needs at most 3)");
        let s = Length::new(Unit::Sentences, Some(3), None).unwrap();
        let v = run(&s, "Only one.");
        assert_eq!(v.message, "add 2 sentences (has 1, needs at least 3)");
        assert_eq!(s.name(), "sentences(min=3)");
    }

    #[test]
    fn pass_score_is_one_and_names_show_bounds() {
        let v = words(Some(1), Some(2));
        assert_eq!(v.name(), "words(min=1,max=2)");
        let ok = run(&v, "hello");
        assert_eq!(ok.score, 1.0);
        assert_eq!(ok.message, "has 1 word (needs 1 to 2)");
        assert_eq!(v.requirement(), "have between 1 and 2 words");
        assert_eq!(words(Some(4), Some(4)).requirement(), "have exactly 4 words");
    }

    #[test]
    fn rejects_missing_or_crossed_bounds() {
        let err = Length::new(Unit::Words, Some(5), Some(2)).unwrap_err().to_string();
        assert!(err.contains("min (5) is greater than max (2)"), "{err}");
        let err = Length::new(Unit::Chars, None, None).unwrap_err().to_string();
        assert!(err.contains("min=N and/or max=N"), "{err}");
    }
}
