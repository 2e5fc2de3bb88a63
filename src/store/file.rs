//! The file store: one JSON document per thought, `<dir>/<id>.json`, and its
//! [`Summary`] in a sidecar, `<dir>/index/<created, hex>.<id>.json`.
//!
//! Both are written atomically through the directory backend shared with the response
//! cache (temporary file, fsync, rename, directory fsync; the fsyncs can be turned
//! off), the document first, so several processes may save, list and load at once: a
//! reader sees a whole old or a whole new file, and a listed thought has a document.
//! Deleting removes the sidecar first.
//!
//! Listing reads only the index directory's names (they sort by creation time) and
//! the sidecars of the page; searching reads every sidecar, never a document. A corrupt
//! or truncated file is never fatal: loading it is a [`StoreError::Corrupt`], and a
//! listing skips it, names it in [`Page::skipped`] and logs a warning.

use super::{
    Cursor, Page, Query, Skipped, StoreError, Summary, ThoughtStore, check_id, json_error,
    pick_prefix,
};
use crate::backend::dir::Dir;
use crate::thought::Thought;
use async_trait::async_trait;
use std::path::PathBuf;
use std::sync::Arc;

/// A directory of thoughts.
#[derive(Debug, Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    docs: Dir,
    index: Dir,
    sync: bool,
}

impl FileStore {
    /// A store in `dir` (created if missing) that fsyncs every write.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        Self::open_with(dir, true)
    }

    /// A store in `dir`; `sync`: fsync each file and the directory on every write
    /// (durable across a power cut; off: still atomic, much faster).
    pub fn open_with(dir: impl Into<PathBuf>, sync: bool) -> Result<Self, StoreError> {
        let dir = dir.into();
        let io = |path: &PathBuf| {
            let path = path.clone();
            move |source| StoreError::Io { path, source }
        };
        let docs = Dir::open(&dir, sync).map_err(io(&dir))?;
        let index_path = dir.join("index");
        let index = Dir::open(&index_path, sync).map_err(io(&index_path))?;
        Ok(Self { inner: Arc::new(Inner { docs, index, sync }) })
    }

    /// The directory of the store.
    pub(crate) fn dir(&self) -> &std::path::Path {
        self.inner.docs.path()
    }

    /// Whether writes are fsynced.
    pub(crate) fn syncs(&self) -> bool {
        self.inner.sync
    }

    /// The path of the document of `id`.
    pub fn path_of(&self, id: &str) -> PathBuf {
        self.inner.docs.path_of(&doc_name(id))
    }

    /// The path of the summary sidecar of `id` created at `created_at_ms`.
    pub fn summary_path_of(&self, id: &str, created_at_ms: u64) -> PathBuf {
        self.inner.index.path_of(&index_name(id, created_at_ms))
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner)).await.map_err(|e| StoreError::Io {
            path: self.inner.docs.path().to_owned(),
            source: std::io::Error::other(e.to_string()),
        })?
    }
}

fn doc_name(id: &str) -> String {
    format!("{id}.json")
}

fn index_name(id: &str, created_at_ms: u64) -> String {
    format!("{created_at_ms:016x}.{id}.json")
}

/// The creation time and id of an index file name.
fn parse_index_name(name: &str) -> Option<(u64, &str)> {
    let (ms, rest) = name.split_once('.')?;
    let id = rest.strip_suffix(".json")?;
    Some((u64::from_str_radix(ms, 16).ok()?, id))
}

impl Inner {
    fn io(&self, dir: &Dir, name: &str) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = dir.path_of(name);
        move |source| StoreError::Io { path, source }
    }

    fn index_io(&self) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = self.index.path().to_owned();
        move |source| StoreError::Io { path, source }
    }

    /// The summary in the index file `name`, or why it cannot be read.
    fn read_summary(&self, name: &str) -> Result<Option<Summary>, Skipped> {
        let skipped = |reason: String| Skipped { name: name.to_owned(), reason };
        let Some(bytes) = self.index.read(name).map_err(|e| skipped(e.to_string()))? else {
            return Ok(None); // deleted since the directory was read
        };
        serde_json::from_slice(&bytes).map(Some).map_err(|e| skipped(e.to_string()))
    }

    /// The summaries in the index files `names`, and the ones that could not be read.
    fn read_summaries(&self, names: &[String]) -> (Vec<Summary>, Vec<Skipped>) {
        let mut summaries = Vec::with_capacity(names.len());
        let mut skipped = Vec::new();
        for name in names {
            match self.read_summary(name) {
                Ok(Some(summary)) => summaries.push(summary),
                Ok(None) => {}
                Err(s) => skipped.push(s),
            }
        }
        (summaries, skipped)
    }
}

fn report(dir: &Dir, skipped: &[Skipped]) {
    for s in skipped {
        tracing::warn!(
            "file store {}: skipping unreadable {} ({})",
            dir.path().display(),
            s.name,
            s.reason
        );
    }
}

#[async_trait]
impl ThoughtStore for FileStore {
    async fn save(&self, thought: &Thought) -> Result<(), StoreError> {
        let id = check_id(&thought.id)?.to_owned();
        let doc = serde_json::to_vec(thought).map_err(|e| json_error(&id, &e))?;
        let summary = Summary::of(thought);
        let side = serde_json::to_vec(&summary).map_err(|e| json_error(&id, &e))?;
        self.blocking(move |inner| {
            let name = doc_name(&id);
            inner.docs.write(&name, &doc).map_err(inner.io(&inner.docs, &name))?;
            let name = index_name(&id, summary.created_at_ms);
            inner.index.write(&name, &side).map_err(inner.io(&inner.index, &name))
        })
        .await
    }

    async fn load(&self, id: &str) -> Result<Option<Thought>, StoreError> {
        let id = check_id(id)?.to_owned();
        self.blocking(move |inner| {
            let name = doc_name(&id);
            let Some(bytes) = inner.docs.read(&name).map_err(inner.io(&inner.docs, &name))? else {
                return Ok(None);
            };
            serde_json::from_slice(&bytes).map(Some).map_err(|e| json_error(&id, &e))
        })
        .await
    }

    async fn list(&self, cursor: Option<&Cursor>, limit: usize) -> Result<Page, StoreError> {
        let cursor = cursor.cloned();
        let page = self
            .blocking(move |inner| {
                let names = inner.index.names(".json").map_err(inner.index_io())?;
                let mut keyed: Vec<((u64, String), String)> = names
                    .into_iter()
                    .filter_map(|name| {
                        let (ms, id) = parse_index_name(&name)?;
                        let key = (ms, id.to_owned());
                        Some((key, name))
                    })
                    .filter(|((ms, id), _)| {
                        cursor.as_ref().is_none_or(|c| (*ms, id.as_str()) < c.key())
                    })
                    .collect();
                keyed.sort_unstable_by(|a, b| b.0.cmp(&a.0));
                let mut items = Vec::with_capacity(limit);
                let mut skipped = Vec::new();
                let mut rest = keyed.iter();
                for (_, name) in rest.by_ref() {
                    if items.len() == limit {
                        break;
                    }
                    match inner.read_summary(name) {
                        Ok(Some(summary)) => items.push(summary),
                        Ok(None) => {}
                        Err(s) => skipped.push(s),
                    }
                }
                let more = items.len() == limit && keyed.len() > items.len() + skipped.len();
                let next = if more { items.last().map(Cursor::after) } else { None };
                Ok(Page { items, next, skipped })
            })
            .await?;
        report(&self.inner.index, &page.skipped);
        Ok(page)
    }

    async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let id = check_id(id)?.to_owned();
        self.blocking(move |inner| {
            let suffix = format!(".{id}.json");
            let mut found = false;
            for name in inner.index.names(&suffix).map_err(inner.index_io())? {
                if parse_index_name(&name).is_some_and(|(_, i)| i == id) {
                    found |= inner.index.remove(&name).map_err(inner.io(&inner.index, &name))?;
                }
            }
            let name = doc_name(&id);
            Ok(inner.docs.remove(&name).map_err(inner.io(&inner.docs, &name))? || found)
        })
        .await
    }

    async fn search(&self, query: &Query) -> Result<Page, StoreError> {
        let query = query.clone();
        let page = self
            .blocking(move |inner| {
                let names = inner.index.names(".json").map_err(inner.index_io())?;
                let names: Vec<String> = names
                    .into_iter()
                    .filter(|name| {
                        parse_index_name(name).is_some_and(|(ms, id)| {
                            query.since_ms.is_none_or(|t| ms >= t)
                                && query.until_ms.is_none_or(|t| ms < t)
                                && query.cursor.as_ref().is_none_or(|c| (ms, id) < c.key())
                        })
                    })
                    .collect();
                // Two threads: the reads dominate and the machine has at least two cores.
                let (left, right) = names.split_at(names.len() / 2);
                let ((mut summaries, mut skipped), (more, more_skipped)) =
                    std::thread::scope(|s| {
                        let other = s.spawn(|| inner.read_summaries(right));
                        let mine = inner.read_summaries(left);
                        (mine, other.join().unwrap_or_default())
                    });
                summaries.extend(more);
                skipped.extend(more_skipped);
                let mut page =
                    Page::of(summaries, Some(&query), query.cursor.as_ref(), query.page_size());
                page.skipped = skipped;
                Ok(page)
            })
            .await?;
        report(&self.inner.index, &page.skipped);
        Ok(page)
    }

    async fn resolve_prefix(&self, prefix: &str) -> Result<String, StoreError> {
        let prefix = prefix.to_owned();
        self.blocking(move |inner| {
            let names = inner
                .docs
                .names(".json")
                .map_err(|source| StoreError::Io { path: inner.docs.path().to_owned(), source })?;
            let ids = names
                .into_iter()
                .filter_map(|name| name.strip_suffix(".json").map(str::to_owned))
                .filter(|id| id.starts_with(&prefix))
                .collect();
            pick_prefix(&prefix, ids)
        })
        .await
    }
}
