//! Critic memory (Reflexion): a critic's own earlier feedback, read back from the run's
//! history and bounded so the prompt does not grow with the number of iterations.

use crate::thought::Iteration;

/// How many earlier reflections are passed back, at most (the most recent ones).
pub(super) const MAX_REFLECTIONS: usize = 3;

/// How many characters of each reflection are kept, at most.
pub(super) const MAX_REFLECTION_CHARS: usize = 600;

/// The feedback `critic` gave on iterations before `current`, oldest first: only its
/// valid verdicts (no error) with non-empty feedback, the last [`MAX_REFLECTIONS`], each
/// cut to [`MAX_REFLECTION_CHARS`] characters.
pub(super) fn reflections(history: &[Iteration], critic: &str, current: usize) -> Vec<String> {
    // Walk back from the most recent iteration and stop at MAX_REFLECTIONS: the cost
    // of one critique is then independent of how long the run has been going (a scan
    // of the whole history each iteration made a long run quadratic).
    let mut found: Vec<&str> = history
        .iter()
        .rev()
        .filter(|it| it.index < current)
        .flat_map(|it| it.critiques.iter().rev())
        .filter(|c| c.critic == critic && c.error.is_none())
        .map(|c| c.feedback.trim())
        .filter(|f| !f.is_empty())
        .take(MAX_REFLECTIONS)
        .collect();
    found.reverse();
    found.into_iter().map(|f| truncate(f, MAX_REFLECTION_CHARS)).collect()
}

/// `text` cut to at most `max` characters, ending with `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let keep: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{}…", keep.trim_end())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thought::Critique;

    fn iteration(index: usize, critiques: Vec<Critique>) -> Iteration {
        let mut it = Iteration::new(index, format!("draft {index}"));
        it.critiques = critiques;
        it
    }

    fn said(critic: &str, feedback: &str) -> Critique {
        let mut c = Critique::failed(
            critic,
            crate::thought::ErrorInfo::new(crate::thought::ErrorKind::Critic, ""),
        );
        c.error = None;
        c.feedback = feedback.to_owned();
        c
    }

    #[test]
    fn keeps_only_own_valid_feedback_most_recent_last() {
        let history = vec![
            iteration(0, vec![said("me", "first"), said("other", "not mine")]),
            iteration(
                1,
                vec![
                    Critique::failed(
                        "me",
                        crate::thought::ErrorInfo::new(
                            crate::thought::ErrorKind::Timeout,
                            "timed out",
                        ),
                    ),
                    said("me", "  "),
                ],
            ),
            iteration(2, vec![said("me", "second")]),
        ];
        assert_eq!(reflections(&history, "me", 3), vec!["first", "second"]);
        assert_eq!(reflections(&history, "me", 1), vec!["first"]);
        assert!(reflections(&history, "nobody", 3).is_empty());
    }

    #[test]
    fn bounded_in_count_and_length() {
        let history: Vec<Iteration> = (0..6)
            .map(|i| iteration(i, vec![said("me", &format!("r{i} {}", "é".repeat(700)))]))
            .collect();
        let got = reflections(&history, "me", 6);
        assert_eq!(got.len(), MAX_REFLECTIONS);
        assert!(got[0].starts_with("r3 ") && got[2].starts_with("r5 "), "{got:?}");
        assert!(got.iter().all(|r| r.chars().count() <= MAX_REFLECTION_CHARS && r.ends_with('…')));
    }

    #[test]
    fn short_feedback_is_kept_whole() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
    }
}
