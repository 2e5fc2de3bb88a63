//! A directory of documents with atomic writes. All calls block: run them on
//! `spawn_blocking`.
//!
//! With `sync` on (the default for both users) a write goes through
//! `atomic-write-file`: a temporary file created exclusively under a random name in the
//! same directory (so a file or symlink planted there is never written through),
//! written, fsynced, renamed over the final name, and the directory fsynced, so the
//! document survives a power cut once the call returns. With `sync` off the same
//! temporary-file-and-rename dance runs without the two fsyncs: still atomic for
//! readers and other writers, not durable across a crash of the machine.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A directory of documents.
#[derive(Debug, Clone)]
pub(crate) struct Dir {
    path: PathBuf,
    sync: bool,
}

impl Dir {
    /// The directory at `path`, created if missing; `sync`: fsync every write.
    pub(crate) fn open(path: impl Into<PathBuf>, sync: bool) -> std::io::Result<Self> {
        let path = path.into();
        std::fs::create_dir_all(&path)?;
        Ok(Self { path, sync })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The path of the document `name`.
    pub(crate) fn path_of(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The document `name`, or `None` when there is none.
    pub(crate) fn read(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path_of(name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replace the document `name` with `bytes`, atomically (on error the temporary
    /// file is removed).
    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path_of(name);
        if self.sync {
            let mut file = atomic_write_file::AtomicWriteFile::open(&path)?;
            file.write_all(bytes)?;
            return file.commit();
        }
        let temp = self.path.join(temp_name(name));
        let written = (|| {
            let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&temp)?;
            file.write_all(bytes)?;
            std::fs::rename(&temp, &path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written
    }

    /// Remove the document `name`; whether there was one.
    pub(crate) fn remove(&self, name: &str) -> std::io::Result<bool> {
        match std::fs::remove_file(self.path_of(name)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The names of the documents ending in `suffix` (temporary files, whose names
    /// start with a dot, never count).
    pub(crate) fn names(&self, suffix: &str) -> std::io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.path)? {
            let entry = entry?;
            if let Ok(name) = entry.file_name().into_string()
                && name.ends_with(suffix)
                && !name.starts_with('.')
            {
                names.push(name);
            }
        }
        Ok(names)
    }
}

/// A fresh temporary name beside `name`: hidden, unique in this process, and not
/// guessable from outside it (the nanoseconds of the clock).
fn temp_name(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(".{name}.{}-{n}-{nanos:08x}.tmp", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("redraft-dir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn writes_with_and_without_sync_replace_the_document_and_leave_no_temporary_file() {
        for sync in [true, false] {
            let path = temp_dir(&format!("sync-{sync}"));
            let dir = Dir::open(&path, sync).unwrap();
            dir.write("a.json", b"one").unwrap();
            dir.write("a.json", b"two").unwrap();
            assert_eq!(dir.read("a.json").unwrap().as_deref(), Some(&b"two"[..]));
            let all: Vec<_> =
                std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(all, vec![std::ffi::OsString::from("a.json")]);
            assert_eq!(dir.names(".json").unwrap(), vec!["a.json".to_owned()]);
            assert!(dir.remove("a.json").unwrap());
            assert!(!dir.remove("a.json").unwrap());
            assert_eq!(dir.read("a.json").unwrap(), None);
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}
