//! What listing and searching read instead of whole thoughts: a [`Summary`] per
//! thought, the [`Query`] that filters summaries, and the [`Page`] of results with its
//! opaque [`Cursor`].

use super::StoreError;
use crate::thought::{Mode, Phase, StopReason, Thought};
use serde::{Deserialize, Serialize};

/// How many characters of the input and of the final text a summary keeps (and text
/// search looks at).
pub const PREFIX_CHARS: usize = 1024;

/// The metadata of one stored thought.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The thought's id.
    pub id: String,
    /// Unix time in milliseconds when the run was created.
    pub created_at_ms: u64,
    /// Improve or generate.
    pub mode: Mode,
    /// Where the run is.
    pub phase: Phase,
    /// Why it ended, if it has.
    pub stop_reason: Option<StopReason>,
    /// The model of the run's provider.
    pub model: String,
    /// The critics configured for the run, and any other critic that left a critique.
    pub critics: Vec<String>,
    /// The validators configured for the run, and any other that left a verdict.
    pub validators: Vec<String>,
    /// How many drafts were evaluated.
    pub iterations: usize,
    /// The first [`PREFIX_CHARS`] characters of the input.
    pub input: String,
    /// The first [`PREFIX_CHARS`] characters of the final text, if any.
    pub final_text: Option<String>,
}

impl Summary {
    /// The summary of `thought`.
    pub fn of(thought: &Thought) -> Self {
        let mut critics: Vec<String> =
            thought.settings.critics.iter().map(|c| c.name.clone()).collect();
        let mut validators: Vec<String> =
            thought.settings.validators.iter().map(|v| v.name.clone()).collect();
        for iteration in &thought.iterations {
            for c in &iteration.critiques {
                if !critics.contains(&c.critic) {
                    critics.push(c.critic.clone());
                }
            }
            for v in &iteration.validations {
                if !validators.contains(&v.validator) {
                    validators.push(v.validator.clone());
                }
            }
        }
        Self {
            id: thought.id.clone(),
            created_at_ms: thought.created_at_ms,
            mode: thought.mode,
            phase: thought.phase,
            stop_reason: thought.stop_reason,
            model: thought.settings.provider.model.clone(),
            critics,
            validators,
            iterations: thought.iterations.len(),
            input: prefix(&thought.input),
            final_text: thought.final_text.as_deref().map(prefix),
        }
    }

    /// Where the summary sorts: newest first means largest key first.
    pub(crate) fn key(&self) -> (u64, &str) {
        (self.created_at_ms, &self.id)
    }
}

fn prefix(text: &str) -> String {
    match text.char_indices().nth(PREFIX_CHARS) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

/// Which summaries a search wants: every field set must match (all `None`: every
/// thought). Results come newest first, at most `limit` a page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// Text that the input or final text (their first [`PREFIX_CHARS`] characters)
    /// contains, compared without regard to case.
    pub text: Option<String>,
    /// A critic the run used.
    pub critic: Option<String>,
    /// A validator the run used.
    pub validator: Option<String>,
    /// Why the run ended.
    pub stop_reason: Option<StopReason>,
    /// Improve or generate.
    pub mode: Option<Mode>,
    /// The run's model.
    pub model: Option<String>,
    /// Created at or after (Unix milliseconds).
    pub since_ms: Option<u64>,
    /// Created before (Unix milliseconds).
    pub until_ms: Option<u64>,
    /// Continue after this cursor (a previous page's [`Page::next`]).
    pub cursor: Option<Cursor>,
    /// Most results a page; 0 means the default, 50.
    pub limit: usize,
}

impl Query {
    /// A query for thoughts whose input or final text contains `text`.
    pub fn text(text: impl Into<String>) -> Self {
        Self { text: Some(text.into()), ..Self::default() }
    }

    /// Whether `summary` matches every field set.
    pub fn matches(&self, summary: &Summary) -> bool {
        let text = self.text.as_deref().map(str::to_lowercase);
        text.is_none_or(|t| {
            summary.input.to_lowercase().contains(&t)
                || summary.final_text.as_deref().is_some_and(|f| f.to_lowercase().contains(&t))
        }) && self.critic.as_ref().is_none_or(|c| summary.critics.contains(c))
            && self.validator.as_ref().is_none_or(|v| summary.validators.contains(v))
            && self.stop_reason.is_none_or(|r| summary.stop_reason == Some(r))
            && self.mode.is_none_or(|m| summary.mode == m)
            && self.model.as_ref().is_none_or(|m| &summary.model == m)
            && self.since_ms.is_none_or(|t| summary.created_at_ms >= t)
            && self.until_ms.is_none_or(|t| summary.created_at_ms < t)
    }

    /// The page size.
    pub(crate) fn page_size(&self) -> usize {
        if self.limit == 0 { 50 } else { self.limit }
    }
}

/// Where a listing stopped: hand it back to get the next page. Its text form
/// ([`Display`](std::fmt::Display) / [`FromStr`](std::str::FromStr)) is opaque but
/// stable, so it can travel through a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    created_at_ms: u64,
    id: String,
}

impl Cursor {
    /// The cursor just after `summary`.
    pub(crate) fn after(summary: &Summary) -> Self {
        Self { created_at_ms: summary.created_at_ms, id: summary.id.clone() }
    }

    /// The position: results are those whose key is smaller.
    pub(crate) fn key(&self) -> (u64, &str) {
        (self.created_at_ms, &self.id)
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:x}.{}", self.created_at_ms, self.id)
    }
}

impl std::str::FromStr for Cursor {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        let invalid = || StoreError::InvalidCursor(s.to_owned());
        let (ms, id) = s.split_once('.').ok_or_else(invalid)?;
        let created_at_ms = u64::from_str_radix(ms, 16).map_err(|_| invalid())?;
        super::check_id(id).map_err(|_| invalid())?;
        Ok(Self { created_at_ms, id: id.to_owned() })
    }
}

/// A stored document that a listing could not read, and why; it was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file or key.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

/// One page of a listing or search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The summaries, newest first.
    pub items: Vec<Summary>,
    /// The cursor for the next page; `None` on the last one.
    pub next: Option<Cursor>,
    /// Documents that could not be read and were left out (each also logged).
    pub skipped: Vec<Skipped>,
}

impl Page {
    /// The page of up to `limit` of `summaries` (in any order) that match `query`
    /// and come after `cursor`, newest first.
    pub(crate) fn of(
        mut summaries: Vec<Summary>,
        query: Option<&Query>,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Self {
        summaries.retain(|s| {
            cursor.is_none_or(|c| s.key() < c.key()) && query.is_none_or(|q| q.matches(s))
        });
        summaries.sort_unstable_by(|a, b| b.key().cmp(&a.key()));
        let more = summaries.len() > limit;
        summaries.truncate(limit);
        let next = if more { summaries.last().map(Cursor::after) } else { None };
        Self { items: summaries, next, skipped: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_bad_ones_are_refused() {
        let c = Cursor { created_at_ms: 0x1234, id: "abc-1".into() };
        assert_eq!(c.to_string().parse::<Cursor>().unwrap(), c);
        for bad in ["", "zz.abc", "12", "12.a/b"] {
            assert!(bad.parse::<Cursor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_cut_at_a_character_boundary() {
        let long = "é".repeat(PREFIX_CHARS + 10);
        assert_eq!(prefix(&long).chars().count(), PREFIX_CHARS);
        assert_eq!(prefix("short"), "short");
    }
}
