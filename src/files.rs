//! Small file-system helpers shared by the loaders of user critic and preset
//! directories.

use crate::Error;
use std::path::{Path, PathBuf};

/// The `*.toml` files directly in `dir`, sorted by path.
pub(crate) fn toml_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |source| Error::Io { path: dir.to_owned(), source };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
