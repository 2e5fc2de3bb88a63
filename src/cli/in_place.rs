//! `improve --file F --in-place`: write the final text back over the file as the file
//! it was.
//!
//! [`Target::prepare`] runs before any model call, so a file that will not be written
//! costs no tokens: it resolves symlinks (the text goes to the link's target, the link
//! stays a link), refuses what is not a regular file and a read-only file (no write bit
//! for anyone: even root, who could write it, is refused), and creates and removes the
//! temporary file the write will use, which checks that the directory allows it and
//! that the file's owner and group can be kept.
//!
//! [`Target::write_back`] writes with `atomic-write-file`: a temporary file created
//! exclusively, with a random name, beside the target (never one that is already there,
//! nor through a planted symlink), given the target's mode, owner and group, synced,
//! then renamed over it. A final text equal to the input is not written at all, so an
//! unchanged file keeps its bytes and its inode; a changed text gets the input's own
//! ending (none, `\n` or `\r\n`).

use super::{Failure, stderr};
use anyhow::anyhow;
use atomic_write_file::AtomicWriteFile;
use redraft::thought::{StopReason, Thought};
use std::fs::Metadata;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A file that `--in-place` has checked it can write back.
#[derive(Debug)]
pub(crate) struct Target {
    /// The path as given, for messages.
    shown: PathBuf,
    /// The file itself: `shown` with every symlink resolved.
    file: PathBuf,
}

impl Target {
    /// Check that the final text can be written back over `path`; a usage error (exit
    /// 2) naming the file when not.
    pub(crate) fn prepare(path: &Path) -> Result<Target, Failure> {
        let shown = path.display();
        let refuse = |why: String| Failure::Usage(anyhow!("--in-place: {shown} {why}"));
        let file =
            std::fs::canonicalize(path).map_err(|e| refuse(format!("cannot be resolved: {e}")))?;
        let meta = std::fs::metadata(&file).map_err(|e| refuse(format!("cannot be read: {e}")))?;
        if !meta.is_file() {
            return Err(refuse("is not a regular file: only a regular file is rewritten".into()));
        }
        if let Some(mode) = read_only(&meta) {
            return Err(refuse(format!(
                "is read-only ({mode}), so it is not overwritten; make it writable \
                 (chmod u+w) or leave out --in-place"
            )));
        }
        let target = Target { shown: path.to_owned(), file };
        // The very temporary file the write will use, created and removed.
        let probe = target.open().map_err(refuse)?;
        probe.discard().map_err(|e| refuse(format!("cannot be written back: {e}")))?;
        Ok(target)
    }

    /// Write `thought`'s final text back, unless the run failed or was cancelled or the
    /// text is the input.
    pub(crate) fn write_back(&self, thought: &Thought) -> Result<(), Failure> {
        let shown = self.shown.display();
        let keep = matches!(thought.stop_reason, Some(StopReason::Failed | StopReason::Cancelled));
        let Some(text) = thought.final_text.as_deref().filter(|_| !keep) else {
            stderr::line(format_args!("redraft: {shown} left unchanged"));
            return Ok(());
        };
        if text == thought.input {
            stderr::line(format_args!("redraft: {shown} left unchanged (nothing to change)"));
            return Ok(());
        }
        let bytes = with_ending_of(&thought.input, text);
        let mut file = self.open().map_err(|why| Failure::Runtime(anyhow!("{shown} {why}")))?;
        let write = file.write_all(bytes.as_bytes()).and_then(|()| file.commit());
        write.map_err(|e| Failure::Runtime(anyhow!("cannot write {shown}: {e}")))
    }

    /// A new, empty temporary file beside the target, with the target's owner, group
    /// and mode; dropped (so removed) on error, which says why, after the file's name.
    ///
    /// Owner and mode are given here rather than by atomic-write-file's `preserve_*`
    /// options: its 0.3 leaves the temporary file behind when keeping the owner fails,
    /// and it sets the mode before the owner, whose change clears set-user-ID bits.
    fn open(&self) -> Result<AtomicWriteFile, String> {
        let mut options = AtomicWriteFile::options();
        #[cfg(unix)]
        {
            use atomic_write_file::unix::OpenOptionsExt;
            options.preserve_mode(false).preserve_owner(false);
        }
        let dir = self.file.parent().unwrap_or(Path::new("/")).display();
        let file = options.open(&self.file).map_err(|e| {
            format!("cannot be written back: cannot create a temporary file in {dir}: {e}")
        })?;
        let meta = std::fs::metadata(&self.file).map_err(|e| format!("cannot be read: {e}"))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            let (uid, gid) = (meta.uid(), meta.gid());
            let mine = file.metadata().map_err(|e| format!("cannot be written back: {e}"))?;
            if (mine.uid(), mine.gid()) != (uid, gid) {
                std::os::unix::fs::fchown(file.as_file(), Some(uid), Some(gid)).map_err(|e| {
                    format!(
                        "cannot be written back: a new file cannot be given its owner and \
                         group (uid {uid}, gid {gid}): {e}"
                    )
                })?;
            }
        }
        file.set_permissions(meta.permissions()).map_err(|e| {
            format!("cannot be written back: a new file cannot be given its mode: {e}")
        })?;
        Ok(file)
    }
}

/// How `meta`'s file is read-only, when it is: on Unix, no write bit for anyone (root
/// could still write it, but its owner said not to).
fn read_only(meta: &Metadata) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o7777;
        (mode & 0o222 == 0).then(|| format!("mode {mode:04o}"))
    }
    #[cfg(not(unix))]
    meta.permissions().readonly().then(|| "read-only attribute".to_owned())
}

/// `text` ending as `input` does: a text without a final line break gets the input's
/// (`\r\n` or `\n`), or none when the input had none.
fn with_ending_of(input: &str, text: &str) -> String {
    let ending = if input.ends_with("\r\n") {
        "\r\n"
    } else if input.ends_with('\n') {
        "\n"
    } else {
        ""
    };
    if text.ends_with('\n') { text.to_owned() } else { format!("{text}{ending}") }
}

#[cfg(test)]
mod tests {
    use super::with_ending_of;

    #[test]
    fn a_text_gets_the_input_s_ending() {
        assert_eq!(with_ending_of("a", "b"), "b");
        assert_eq!(with_ending_of("a\n", "b"), "b\n");
        assert_eq!(with_ending_of("a\r\n", "b"), "b\r\n");
        assert_eq!(with_ending_of("a", "b\n"), "b\n");
        assert_eq!(with_ending_of("a\n", "b\n"), "b\n");
    }
}
