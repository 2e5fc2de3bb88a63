//! The thought store: every run's [`Thought`] saved under its own id, to be loaded,
//! listed (newest first, paged), searched, deleted and later resumed.
//!
//! - [`ThoughtStore`] (this file) — the trait, usable as `dyn` so configuration picks
//!   the backend at run time; ids may be given as a unique prefix, like git
//!   ([`ThoughtStore::resolve_prefix`]).
//! - [`Summary`] — the small metadata record kept beside each thought (id, created,
//!   stop reason, phase, mode, model, critics, validators, the first
//!   [`PREFIX_CHARS`] characters of the input and final text), so listing and
//!   searching never read whole documents; [`Query`] filters over it.
//! - [`MemoryStore`] — in-process, bounded, least recently used dropped first.
//! - [`FileStore`] — one JSON document per thought in a directory, plus a summary
//!   sidecar, both written atomically (the directory backend shared with the response
//!   cache); safe with concurrent writers and readers in several processes; a corrupt
//!   file is reported in the [`Page`] and skipped.
//! - [`RedisStore`] — `<prefix>:thought:<id>` documents, a time-sorted index for
//!   listing, a summary hash for search, an optional TTL (the Redis connection shared
//!   with the response cache).
//! - [`Tiered`] — memory → Redis → file, each optional: read-through, write-through,
//!   read-repair of the faster tiers; a Redis outage is one warning, and the writes
//!   Redis missed are replayed when it is back (remembered in the file tier's
//!   directory, so a restart does not lose them).

mod file;
mod memory;
mod redis;
mod summary;
mod tiered;

pub use file::FileStore;
pub use memory::MemoryStore;
pub use redis::{RedisStore, RedisStoreBuilder};
pub use summary::{Cursor, PREFIX_CHARS, Page, Query, Skipped, Summary};
pub use tiered::{Tiered, TieredBuilder};

use crate::thought::Thought;
use async_trait::async_trait;
use std::sync::Arc;

/// Why a store could not do what it was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No stored thought has this id (or an id starting with this prefix).
    #[error("no stored thought has an id starting with `{0}`")]
    NotFound(String),
    /// More than one stored thought has an id starting with this prefix.
    #[error("the id prefix `{prefix}` is ambiguous: it matches {}", candidates.join(", "))]
    Ambiguous {
        /// The prefix given.
        prefix: String,
        /// Some of the ids it matches (at least two).
        candidates: Vec<String>,
    },
    /// A stored document could not be read as a thought.
    #[error("stored thought `{id}` is corrupt: {reason}")]
    Corrupt {
        /// The id (or file name) of the document.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A list cursor that no list of this store handed out.
    #[error("invalid list cursor `{0}`")]
    InvalidCursor(String),
    /// An id that cannot be a stored thought's (empty, or with characters other than
    /// ASCII letters, digits, `-` and `_`).
    #[error("invalid thought id `{0}`")]
    InvalidId(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Redis could not be reached or answered with an error.
    #[error("Redis store {url}: {reason}")]
    Redis {
        /// The URL, password masked.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// Where thoughts are kept. Every method is safe to call concurrently; saving a
/// thought whose id is already stored replaces it.
#[async_trait]
pub trait ThoughtStore: Send + Sync {
    /// Store `thought` under its id (replacing any earlier save of it).
    async fn save(&self, thought: &Thought) -> Result<(), StoreError>;

    /// The thought stored under exactly `id`, or `None`.
    async fn load(&self, id: &str) -> Result<Option<Thought>, StoreError>;

    /// Up to `limit` summaries, newest first (by creation time, then id), starting
    /// after `cursor` (the [`Page::next`] of the previous page; `None`: the first page).
    async fn list(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, StoreError>;

    /// Remove the thought stored under exactly `id`; whether there was one.
    async fn delete(&self, id: &str) -> Result<bool, StoreError>;

    /// The summaries matching `query`, newest first, paged like [`list`](Self::list).
    async fn search(&self, query: &Query) -> Result<Page, StoreError>;

    /// The one stored id that starts with `prefix` (an exact id wins over longer ones);
    /// [`StoreError::NotFound`] or [`StoreError::Ambiguous`] otherwise.
    async fn resolve_prefix(&self, prefix: &str) -> Result<String, StoreError>;
}

#[async_trait]
impl<S: ThoughtStore + ?Sized> ThoughtStore for Arc<S> {
    async fn save(&self, thought: &Thought) -> Result<(), StoreError> {
        (**self).save(thought).await
    }
    async fn load(&self, id: &str) -> Result<Option<Thought>, StoreError> {
        (**self).load(id).await
    }
    async fn list(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, StoreError> {
        (**self).list(cursor, limit).await
    }
    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        (**self).delete(id).await
    }
    async fn search(&self, query: &Query) -> Result<Page, StoreError> {
        (**self).search(query).await
    }
    async fn resolve_prefix(&self, prefix: &str) -> Result<String, StoreError> {
        (**self).resolve_prefix(prefix).await
    }
}

/// `id` if it can be a stored thought's: non-empty ASCII letters, digits, `-`, `_`
/// (ids become file names and Redis keys).
pub(crate) fn check_id(id: &str) -> Result<&str, StoreError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok { Ok(id) } else { Err(StoreError::InvalidId(id.to_owned())) }
}

/// The one id among `ids` (all starting with `prefix`) that `prefix` names.
pub(crate) fn pick_prefix(prefix: &str, mut ids: Vec<String>) -> Result<String, StoreError> {
    if ids.iter().any(|id| id == prefix) {
        return Ok(prefix.to_owned());
    }
    ids.sort();
    ids.dedup();
    match ids.len() {
        0 => Err(StoreError::NotFound(prefix.to_owned())),
        1 => Ok(ids.remove(0)),
        _ => {
            ids.truncate(5);
            Err(StoreError::Ambiguous { prefix: prefix.to_owned(), candidates: ids })
        }
    }
}

fn json_error(id: &str, e: &serde_json::Error) -> StoreError {
    StoreError::Corrupt { id: id.to_owned(), reason: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_and_prefixes_picked_like_git() {
        assert!(check_id("0193ab-01").is_ok());
        for bad in ["", "../x", "a b", "a:b", "a/b"] {
            assert!(matches!(check_id(bad), Err(StoreError::InvalidId(_))), "{bad}");
        }
        let ids = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(pick_prefix("ab", ids(&["abc"])).unwrap(), "abc");
        assert_eq!(pick_prefix("ab", ids(&["ab", "abc"])).unwrap(), "ab");
        assert!(matches!(pick_prefix("a", ids(&[])), Err(StoreError::NotFound(_))));
        let err = pick_prefix("a", ids(&["ab", "ac"])).unwrap_err();
        assert!(err.to_string().contains("ab, ac"), "{err}");
    }
}
