//! Term matching shared by [`Require`](super::Require) and [`Forbid`](super::Forbid).
//!
//! A term is literal text (never a regex). Options:
//!
//! - `case_sensitive` (default `false`): `Solar` matches `solar` unless set; case folding
//!   is Unicode-aware (`ÉTÉ` matches `été`).
//! - `whole_word` (default `true`): `cat` does not match inside `concat`. A boundary is
//!   only required where the term itself starts or ends with a letter, digit or `_`
//!   (so `C++` and `$$$` work), and not at all next to characters of scripts written
//!   without spaces (CJK, Thai, Lao, Khmer, Myanmar), where a "whole word" cannot be
//!   told from text alone — there a term matches anywhere.
//!
//! Whitespace inside a term matches any run of whitespace, so `act now` also finds
//! `act\nnow`.

use serde::{Deserialize, Serialize};

/// How terms are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermOptions {
    /// Match letter case exactly (default `false`).
    pub case_sensitive: bool,
    /// Match whole words only (default `true`).
    pub whole_word: bool,
}

impl Default for TermOptions {
    fn default() -> Self {
        Self { case_sensitive: false, whole_word: true }
    }
}

/// One compiled term.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    text: String,
    regex: regex::Regex,
    boundary_start: bool,
    boundary_end: bool,
}

impl Term {
    /// Compile `term` (trimmed; must not be empty).
    pub(crate) fn new(term: &str, options: TermOptions) -> Result<Self, String> {
        let text = term.trim();
        if text.is_empty() {
            return Err("empty term".to_owned());
        }
        let pattern: Vec<String> = text.split_whitespace().map(regex::escape).collect();
        super::count_regex();
        let regex = regex::RegexBuilder::new(&pattern.join(r"\s+"))
            .case_insensitive(!options.case_sensitive)
            .build()
            .map_err(|e| format!("term '{text}' cannot be matched: {e}"))?;
        let word_edge = |c: Option<char>| options.whole_word && c.is_some_and(needs_boundary);
        Ok(Self {
            text: text.to_owned(),
            boundary_start: word_edge(text.chars().next()),
            boundary_end: word_edge(text.chars().next_back()),
            regex,
        })
    }

    /// The term as written (trimmed).
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Whether the term is several words (a phrase).
    pub(crate) fn is_phrase(&self) -> bool {
        self.text.contains(char::is_whitespace)
    }

    /// How many times the term occurs in `haystack`.
    pub(crate) fn count(&self, haystack: &str) -> usize {
        self.regex
            .find_iter(haystack)
            .filter(|m| {
                let before = haystack[..m.start()].chars().next_back();
                let after = haystack[m.end()..].chars().next();
                let glued_before = self.boundary_start && before.is_some_and(needs_boundary);
                let glued_after = self.boundary_end && after.is_some_and(needs_boundary);
                !glued_before && !glued_after
            })
            .count()
    }
}

/// Whether `c` is a word character that takes part in word boundaries.
fn needs_boundary(c: char) -> bool {
    (c.is_alphanumeric() || c == '_') && !unspaced_script(c)
}

/// Characters of scripts written without spaces between words.
fn unspaced_script(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF     // Thai, Lao
        | 0x1000..=0x109F   // Myanmar
        | 0x1780..=0x17FF   // Khmer
        | 0x3040..=0x30FF   // Hiragana, Katakana
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF66..=0xFF9F   // half-width Katakana
        | 0x20000..=0x3FFFF // CJK extensions B and later
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(t: &str, case_sensitive: bool, whole_word: bool) -> Term {
        Term::new(t, TermOptions { case_sensitive, whole_word }).unwrap()
    }

    #[test]
    fn whole_word_versus_substring() {
        let whole = term("cat", false, true);
        let sub = term("cat", false, false);
        let text = "concat the cat, Cat_ and CAT.";
        assert_eq!(whole.count(text), 2);
        assert_eq!(sub.count(text), 4);
    }

    #[test]
    fn case_sensitivity() {
        assert_eq!(term("Solar", true, true).count("solar SOLAR Solar"), 1);
        assert_eq!(term("Solar", false, true).count("solar SOLAR Solar"), 3);
        assert_eq!(term("été", false, true).count("L'ÉTÉ est là, été."), 2);
    }

    #[test]
    fn phrases_symbols_and_unspaced_scripts() {
        assert_eq!(term("act now", false, true).count("Act\n now! react nowhere"), 1);
        assert_eq!(term("C++", true, true).count("C++ and C++11 and xC++"), 2);
        assert_eq!(term("太阳", false, true).count("太阳能很好，太阳很大"), 2);
        assert_eq!(term("naïve", false, true).count("naïveté naïve"), 1);
        assert!(Term::new("  ", TermOptions::default()).is_err());
        assert!(term("act now", false, true).is_phrase());
    }
}
