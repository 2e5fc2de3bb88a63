//! Revisions that must not replace the text although the model answered: one that
//! echoes the revision instructions, and — for the small local model — one that has
//! nothing to do with the text it revises.
//!
//! Both are recorded and treated like an empty or cut-off revision (retried once, else
//! the previous text is kept), so an answer such as "Rewrite the text with these
//! changes: - Add 8 words (has 7, needs at least 15)" can never pass a word limit, be
//! ranked best and be returned.

use crate::model::Request;
use crate::thought::Iteration;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

/// How many consecutive words an echo shares with the instructions.
const ECHO_WORDS: usize = 4;

/// Whether `revision` repeats the revision instructions of `request`: it shares a run
/// of [`ECHO_WORDS`] words with the request's messages that is in neither the text
/// under revision, the run's input, nor the critics' feedback and suggestions (which a
/// revision may rightly take up). What is left is the prompt's own scaffolding and the
/// validators' messages — words no real revision contains.
pub(crate) fn echoes_instructions(
    revision: &str,
    request: &Request,
    it: &Iteration,
    input: &str,
) -> bool {
    // Sets only of the revision's runs, which is short: first those the request has
    // too, then strike every one the text, the input or the feedback has.
    let mine: Shingles = shingles(revision).collect();
    if mine.is_empty() {
        return false;
    }
    let mut echoed: Shingles = request
        .messages
        .iter()
        .flat_map(|m| shingles(&m.content))
        .filter(|s| mine.contains(s))
        .collect();
    let own = [it.text.as_str(), input].into_iter().chain(it.critiques.iter().flat_map(|c| {
        std::iter::once(c.feedback.as_str()).chain(c.suggestions.iter().map(String::as_str))
    }));
    for text in own {
        if echoed.is_empty() {
            break;
        }
        for s in shingles(text) {
            echoed.remove(&s);
        }
    }
    !echoed.is_empty()
}

/// The share of a text's content words a revision must keep, or of the revision's
/// content words that must come from the text, for a small model's revision to count
/// as a revision of that text.
const KEPT_AT_LEAST: f64 = 0.2;
/// See [`KEPT_AT_LEAST`].
const FROM_TEXT_AT_LEAST: f64 = 0.3;
/// Texts with fewer content words than this are too short to judge.
const MIN_CONTENT_WORDS: usize = 3;

/// Whether `revision` shares almost no content words with `text` (or the run's
/// `input`): it keeps under a fifth of the text's content words, and under a third of
/// its own come from the text. An expansion keeps the text's words; a shortening takes
/// its words from the text; an answer about something else does neither. Only for the
/// local model, which drifts; a capable model's full rewrite is a valid revision.
pub(crate) fn unrelated(revision: &str, text: &str, input: &str) -> bool {
    let theirs = content_words(text);
    let mine = content_words(revision);
    if theirs.len() < MIN_CONTENT_WORDS || mine.is_empty() {
        return false;
    }
    let source: HashSet<_> = theirs.iter().cloned().chain(content_words(input)).collect();
    let kept = theirs.iter().filter(|w| mine.contains(*w)).count() as f64 / theirs.len() as f64;
    let from_text = mine.iter().filter(|w| source.contains(*w)).count() as f64 / mine.len() as f64;
    kept < KEPT_AT_LEAST && from_text < FROM_TEXT_AT_LEAST
}

/// Lower-case words: runs of letters and digits.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// A hash of every run of [`ECHO_WORDS`] consecutive words, case folded. Hashes, not
/// strings: the check runs on every revision, over the whole prompt, and must cost
/// next to nothing beside the model call.
fn shingles(text: &str) -> impl Iterator<Item = u64> + '_ {
    let mut window = [0u64; ECHO_WORDS];
    let mut seen = 0usize;
    WordHashes { text, at: 0 }.filter_map(move |w| {
        window.rotate_left(1);
        window[ECHO_WORDS - 1] = w;
        seen += 1;
        (seen >= ECHO_WORDS).then(|| {
            window
                .iter()
                .fold(0xcbf2_9ce4_8422_2325, |h, w| (h ^ w).wrapping_mul(MIX).rotate_left(23))
        })
    })
}

/// An odd multiplier that spreads bits (from the FNV and Fx hashes' family).
const MIX: u64 = 0x0100_0000_01b3_0f2b;

/// The hash of a word before its first character.
const WORD_SEED: u64 = 0x8422_2325_cbf2_9ce4;

/// `h` with the character `c` mixed in.
fn mix(h: u64, c: char) -> u64 {
    (h ^ u64::from(c)).wrapping_mul(MIX)
}

/// A hash of each of a text's words as [`words`] splits and lower-cases them, in one
/// pass over its bytes (ASCII without decoding a character).
struct WordHashes<'a> {
    text: &'a str,
    /// The byte where the next word's search starts.
    at: usize,
}

/// What an ASCII byte is to [`WordHashes`]: its lower-case form if it is a letter or a
/// digit, else 0 (a separator); every byte from 0x80 up is [`NOT_ASCII`].
static ASCII: [u8; 256] = {
    let mut table = [NOT_ASCII; 256];
    let mut b = 0;
    while b < 0x80 {
        let byte = b as u8;
        table[b] = if byte.is_ascii_alphanumeric() { byte.to_ascii_lowercase() } else { 0 };
        b += 1;
    }
    table
};

/// The [`ASCII`] entry of a byte that starts or continues a multi-byte character.
const NOT_ASCII: u8 = 0xff;

impl Iterator for WordHashes<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let bytes = self.text.as_bytes();
        let mut hash = WORD_SEED;
        let mut in_word = false;
        while let Some(&byte) = bytes.get(self.at) {
            let letter = match ASCII[usize::from(byte)] {
                0 => {
                    self.at += 1;
                    false
                }
                NOT_ASCII => {
                    let c = self.text[self.at..].chars().next().unwrap_or_default();
                    self.at += c.len_utf8();
                    let letter = c.is_alphanumeric();
                    if letter {
                        hash = c.to_lowercase().fold(hash, mix);
                    }
                    letter
                }
                lower => {
                    self.at += 1;
                    hash = mix(hash, char::from(lower));
                    true
                }
            };
            if letter {
                in_word = true;
            } else if in_word {
                return Some(hash);
            }
        }
        in_word.then_some(hash)
    }
}

/// A set of shingle hashes. They are hashes already, so the set uses them as they are.
type Shingles = HashSet<u64, BuildHasherDefault<Identity>>;

/// The hasher of [`Shingles`]: a `u64` key is its own hash.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Words that carry content, folded a little ("panels" and "panel" are one word).
fn content_words(text: &str) -> HashSet<String> {
    words(text)
        .filter(|w| w.chars().count() >= 3 && !STOP_WORDS.contains(&w.as_str()))
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if stem.chars().count() >= 3 => stem.to_owned(),
            _ => w,
        })
        .collect()
}

/// Common English words that say nothing about a text's content.
const STOP_WORDS: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "these", "those", "are", "was", "were", "you",
    "your", "our", "its", "from", "have", "has", "had", "but", "not", "all", "can", "will",
    "would", "should", "could", "they", "them", "their", "there", "here", "what", "which", "who",
    "when", "where", "how", "why", "into", "onto", "about", "than", "then", "also", "very", "just",
    "more", "most", "some", "any", "each", "every", "other", "such", "only", "own", "same", "too",
    "out", "off", "over", "under", "again", "once", "been", "being", "does", "did", "doing",
    "because", "while", "until", "both", "few", "nor", "yet", "she", "his", "her", "him", "one",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::prompts;
    use crate::model::{PromptStyle, Sampling};
    use crate::thought::{Critique, Mode, Verdict};

    fn iteration(text: &str) -> Iteration {
        let mut it = Iteration::new(0, text.into());
        it.validations.push(Verdict::fail("words", 0.5, "Add 8 words (has 7, needs at least 15)"));
        it.critiques.push(Critique {
            critic: "reflexion".into(),
            needs_improvement: true,
            confidence: 0.9,
            feedback: "Say where the lamp ships from.".into(),
            suggestions: vec!["Mention that it ships free in the US".into()],
            error: None,
        });
        it
    }

    fn echo(revision: &str, style: PromptStyle) -> bool {
        let it = iteration("Our lamp are good and cheap, buy it.");
        let req = prompts::revise(Mode::Improve, &it.text, &it, 0.5, Sampling::default(), style);
        echoes_instructions(revision, &req, &it, &it.text)
    }

    #[test]
    fn echoed_instructions_are_caught_in_both_prompt_styles() {
        for style in [PromptStyle::Compact, PromptStyle::Standard] {
            let sent =
                "Rewrite the text with these changes: - Add 8 words (has 7, needs at least 15)";
            assert!(echo(sent, style), "{style:?}");
        }
        let compact = "Rewrite the text with only the rewritten text as a result of instructions";
        assert!(echo(compact, PromptStyle::Compact));
        assert!(echo("Output only the revised text. Our lamp is good.", PromptStyle::Standard));
    }

    #[test]
    fn a_revision_that_takes_up_a_suggestion_is_no_echo() {
        for style in [PromptStyle::Compact, PromptStyle::Standard] {
            let good = "Our lamp is good and cheap, and it ships free in the US. Buy it today.";
            assert!(!echo(good, style), "{style:?}");
        }
    }

    #[test]
    fn shingles_are_case_blind_and_four_words_long() {
        let a: Vec<u64> = shingles("Output ONLY the rewritten text").collect();
        let b: Vec<u64> = shingles("output only the Rewritten Text!").collect();
        assert_eq!(a.len(), 2);
        assert_eq!(a, b);
        assert_eq!(shingles("three words only").count(), 0);
        let c: Vec<u64> = shingles("only the rewritten output").collect();
        assert!(!a.contains(&c[0]), "order matters");
    }

    /// The word hashes as they were computed before [`WordHashes`]: the text split as
    /// [`words`] splits it, each character lower-cased on its own (so a final `Σ` is
    /// `σ`, as `char::to_lowercase` has it) and mixed in from [`WORD_SEED`].
    fn reference_word_hashes(text: &str) -> Vec<u64> {
        let word_hash = |word: &str| {
            word.chars().fold(WORD_SEED, |h, c| {
                if c.is_ascii() {
                    mix(h, c.to_ascii_lowercase())
                } else {
                    c.to_lowercase().fold(h, mix)
                }
            })
        };
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(word_hash)
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn word_hashes_are_those_of_the_words(text in any_text()) {
            let ours: Vec<u64> = WordHashes { text: &text, at: 0 }.collect();
            proptest::prop_assert_eq!(ours, reference_word_hashes(&text));
        }
    }

    fn any_text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![any::<String>(), "[a-zA-Z0-9 ,.'!\\n\\tÉéßİ🦀ǅ٣-]{0,60}"]
    }

    #[test]
    fn word_hashes_split_and_fold_as_words_does() {
        for text in ["", "  ", "Straße İstanbul ǅemal ٣٤ x", "a,b;;c-d 🦀e", "ΣΑΣ end."] {
            let ours: Vec<u64> = WordHashes { text, at: 0 }.collect();
            assert_eq!(ours, reference_word_hashes(text), "{text:?}");
        }
    }

    #[test]
    fn unrelated_text_is_told_from_expansions_and_shortenings() {
        let text = "Solar panels is cheap now and they pays back in five years on most roofs.";
        let unrelated_answer =
            "Rewrite the paragraph as a result of instructions given by the editor.";
        assert!(unrelated(unrelated_answer, text, text));
        let fixed = "Solar panels are cheap now, and they pay back in five years on most roofs.";
        assert!(!unrelated(fixed, text, text));
        let longer = "Solar panels are cheap now. On most roofs they pay back their price in \
                      about five years, and after that the electricity they make is free for \
                      decades, which lowers bills and cuts emissions.";
        assert!(!unrelated(longer, text, text));
        assert!(!unrelated("Solar panels are cheap.", text, text));
        assert!(!unrelated("Anything at all.", "Too short.", "Too short."), "too short to judge");
    }
}
