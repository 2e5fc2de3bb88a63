//! The file tier: one JSON file per answer in a directory, `<dir>/<hash>.json`, kept
//! across runs.
//!
//! Writes are atomic and fsynced (the shared directory backend, `backend::dir`, over
//! `atomic-write-file`): the entry is written to a temporary file in the same
//! directory, created exclusively under a random name (so a file or symlink planted
//! there is never written through), then renamed over the final name, so a reader
//! never sees half an entry and two writers of one key leave one whole entry. The TTL is checked against the time stored
//! in the entry (file times can be changed by copies and backups); an expired file is
//! removed when it is read. An I/O error never fails a call: the tier logs one warning
//! and answers "miss".

use super::entry::Entry;
use super::key::CacheKey;
use crate::backend::dir::Dir;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The directory tier.
#[derive(Debug, Clone)]
pub(super) struct FileTier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: Dir,
    ttl: Option<Duration>,
    warned: AtomicBool,
}

impl FileTier {
    /// A tier in `dir` (created if missing) whose entries are valid for `ttl`.
    pub(super) fn new(dir: impl Into<PathBuf>, ttl: Option<Duration>) -> std::io::Result<Self> {
        let dir = Dir::open(dir, true)?;
        Ok(Self { inner: Arc::new(Inner { dir, ttl, warned: AtomicBool::new(false) }) })
    }

    /// The file name of `key`'s entry.
    fn name_of(key: &CacheKey) -> String {
        format!("{}.json", key.hex())
    }

    /// The path of `key`'s entry.
    #[cfg(test)]
    pub(super) fn path_of(&self, key: &CacheKey) -> PathBuf {
        self.inner.dir.path_of(&Self::name_of(key))
    }

    /// The entry stored under `key`, if any and still valid.
    pub(super) async fn get(&self, key: &CacheKey) -> Option<Entry> {
        let inner = self.inner.clone();
        let key = *key;
        let read = tokio::task::spawn_blocking(move || {
            let name = Self::name_of(&key);
            let bytes = match inner.dir.read(&name) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            let entry = Entry::from_bytes(&bytes)?;
            if entry.remaining(inner.ttl).is_none() {
                // Expired: nobody will want it again. Another process may have
                // removed it already, which is just as good.
                let _ = inner.dir.remove(&name);
                return None;
            }
            entry.is_valid_for(&key, inner.ttl).then_some(Ok(entry))
        })
        .await;
        match read {
            Ok(Some(Ok(entry))) => Some(entry),
            Ok(Some(Err(e))) => {
                self.warn("read", &e.to_string());
                None
            }
            Ok(None) => None,
            Err(e) => {
                self.warn("read", &e.to_string());
                None
            }
        }
    }

    /// Store `entry` under `key` (write a new temporary file, then rename it; on error
    /// the temporary file is removed).
    pub(super) async fn put(&self, key: &CacheKey, entry: &Entry) {
        let inner = self.inner.clone();
        let name = Self::name_of(key);
        let bytes = entry.to_bytes();
        let written = tokio::task::spawn_blocking(move || inner.dir.write(&name, &bytes)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.warn("write", &e.to_string()),
            Err(e) => self.warn("write", &e.to_string()),
        }
    }

    /// Log the first failure only; later ones at debug level.
    fn warn(&self, op: &str, error: &str) {
        let dir = self.inner.dir.path().display();
        if self.inner.warned.swap(true, Ordering::Relaxed) {
            tracing::debug!("file cache {dir}: cannot {op} an entry: {error}");
        } else {
            tracing::warn!(
                "file cache {dir}: cannot {op} an entry ({error}); carrying on without it \
                 (further errors are logged at debug level)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Completion, Request};

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("redraft-file-tier-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn writes_leave_no_temporary_files_and_expired_entries_are_removed() {
        let dir = temp_dir("expiry");
        let tier = FileTier::new(&dir, Some(Duration::from_secs(60))).unwrap();
        let key = CacheKey::new("p", "m", None, &Request::default(), 0);
        let mut entry =
            Entry::new(&key, &Completion { text: "hi".into(), ..Completion::default() });
        tier.put(&key, &entry).await;
        let names: Vec<_> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from(format!("{}.json", key.hex()))]);
        assert_eq!(tier.get(&key).await.unwrap().text, "hi");

        entry.stored_at_ms -= 120_000;
        tier.put(&key, &entry).await;
        assert!(tier.get(&key).await.is_none());
        assert!(!tier.path_of(&key).exists(), "an expired entry is removed");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_planted_link_at_a_guessable_temporary_name_is_never_written_through() {
        let dir = temp_dir("planted");
        let tier = FileTier::new(&dir, None).unwrap();
        let key = CacheKey::new("p", "m", None, &Request::default(), 0);
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, "not a cache entry").unwrap();
        // The names a temporary file once had: the key, the process id, a counter.
        for n in 0..3 {
            let guessed = dir.join(format!(".{}.{}-{n}.tmp", key.hex(), std::process::id()));
            std::os::unix::fs::symlink(&victim, guessed).unwrap();
        }
        let entry = Entry::new(&key, &Completion { text: "hi".into(), ..Completion::default() });
        tier.put(&key, &entry).await;
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "not a cache entry");
        let meta = std::fs::symlink_metadata(tier.path_of(&key)).unwrap();
        assert!(meta.file_type().is_file(), "the entry is a file of its own");
        assert_eq!(tier.get(&key).await.unwrap().text, "hi");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_corrupt_file_is_a_miss() {
        let dir = temp_dir("corrupt");
        let tier = FileTier::new(&dir, None).unwrap();
        let key = CacheKey::new("p", "m", None, &Request::default(), 0);
        std::fs::write(tier.path_of(&key), b"{ half").unwrap();
        assert!(tier.get(&key).await.is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
