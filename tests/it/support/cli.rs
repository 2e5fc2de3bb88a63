//! Running the real `redraft` binary in isolation, for end-to-end tests.
//!
//! Every [`Redraft`] runs in a fresh, empty directory of its own (so no `./redraft.toml`
//! is picked up), with every `REDRAFT__*` variable, `OPENAI_API_KEY` and `RUST_LOG`
//! removed from the child's environment, and with standard input empty unless a test
//! gives one. A test adds what it needs on top: arguments, variables, files, input.
//!
//! ```text
//! let server = FakeOpenAi::start_blocking(|_, _| Reply::verdict(false, 0.9, "fine"));
//! let out = Redraft::new().args(["improve", "A text."]).server(&server).run();
//! assert_eq!(out.code, 0, "{out}");
//! ```

use super::fake_openai::FakeOpenAi;
use serde_json::Value;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A fresh, empty directory under the system temp dir, removed when dropped.
#[derive(Debug)]
pub struct Workdir {
    path: PathBuf,
}

impl Workdir {
    /// Create a new, uniquely named, empty directory.
    pub fn new() -> Workdir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir()
            .join(format!("redraft-cli-test-{}-{n}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("create the test's work directory");
        Workdir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Write `contents` to `name` inside the directory; returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, contents).expect("write a test file");
        path
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One invocation of the binary, built up step by step.
pub struct Redraft {
    dir: Workdir,
    args: Vec<OsString>,
    envs: Vec<(String, String)>,
    stdin: Vec<u8>,
    via: Option<(Vec<OsString>, PathBuf)>,
    stderr: Option<Stdio>,
}

impl Redraft {
    /// An invocation with no arguments, in a fresh directory, with a clean environment.
    pub fn new() -> Redraft {
        Redraft {
            dir: Workdir::new(),
            args: Vec::new(),
            envs: Vec::new(),
            stdin: Vec::new(),
            via: None,
            stderr: None,
        }
    }

    /// The directory the binary will run in.
    pub fn dir(&self) -> &Workdir {
        &self.dir
    }

    /// Append arguments.
    pub fn args<I, S>(mut self, args: I) -> Redraft
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Append `--provider openai --base-url <server>/v1`.
    pub fn server(self, server: &FakeOpenAi) -> Redraft {
        let url = server.base_url();
        self.args(["--provider", "openai", "--base-url", url.as_str()])
    }

    /// Set a variable in the child's environment.
    pub fn env(mut self, name: &str, value: &str) -> Redraft {
        self.envs.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Give the child this standard input (default: empty, not a terminal).
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Redraft {
        self.stdin = bytes.into();
        self
    }

    /// Start `binary` (a copy of the built one) through `wrapper`, as `wrapper… binary
    /// args…`: e.g. `setpriv --reuid=65534 …` to run as an unprivileged user.
    pub fn via<I, S>(mut self, wrapper: I, binary: impl Into<PathBuf>) -> Redraft
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.via = Some((wrapper.into_iter().map(Into::into).collect(), binary.into()));
        self
    }

    /// Connect the child's stderr to `to` (a closed pipe, `/dev/full`) instead of
    /// capturing it; the output's `stderr` is then empty.
    pub fn stderr(mut self, to: impl Into<Stdio>) -> Redraft {
        self.stderr = Some(to.into());
        self
    }

    /// The command, configured but not started.
    fn command(&mut self) -> Command {
        let mut cmd = match &self.via {
            None => Command::new(env!("CARGO_BIN_EXE_redraft")),
            Some((wrapper, binary)) => {
                let (program, wrapper_args) = wrapper.split_first().expect("a wrapper program");
                let mut cmd = Command::new(program);
                cmd.args(wrapper_args).arg(binary);
                cmd
            }
        };
        cmd.args(&self.args).current_dir(self.dir.path());
        for (name, _) in std::env::vars_os() {
            let Some(name) = name.to_str() else { continue };
            let upper = name.to_ascii_uppercase();
            if upper.starts_with("REDRAFT__") || upper == "OPENAI_API_KEY" || upper == "RUST_LOG" {
                cmd.env_remove(name);
            }
        }
        for (name, value) in &self.envs {
            cmd.env(name, value);
        }
        let stderr = self.stderr.take().unwrap_or_else(Stdio::piped);
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr);
        cmd
    }

    /// Run to completion and collect the exit code and output.
    pub fn run(self) -> Output {
        let child = self.spawn();
        child.wait()
    }

    /// Start the binary (its standard input is written and closed at once).
    pub fn spawn(mut self) -> Running {
        let mut child = self.command().spawn().expect("start the redraft binary");
        let mut stdin = child.stdin.take().expect("piped stdin");
        // A binary that exits without reading its input closes the pipe: not an error.
        let _ = stdin.write_all(&self.stdin);
        drop(stdin);
        Running { child, dir: self.dir }
    }
}

/// A started binary.
pub struct Running {
    child: Child,
    dir: Workdir,
}

impl Running {
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGINT (as Ctrl-C does) with the `kill` command.
    pub fn interrupt(&self) {
        let status =
            Command::new("kill").args(["-INT", &self.id().to_string()]).status().expect("run kill");
        assert!(status.success(), "kill -INT failed: {status}");
    }

    /// Close our end of the child's stdout, as `| head` does once it has read enough;
    /// the child's next write to stdout fails with a broken pipe.
    pub fn close_stdout(&mut self) {
        drop(self.child.stdout.take());
    }

    /// Wait for the exit and collect the exit code and output.
    pub fn wait(self) -> Output {
        let out = self.child.wait_with_output().expect("wait for the redraft binary");
        Output {
            code: out.status.code(),
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
            dir: self.dir,
        }
    }
}

/// What a finished run produced.
pub struct Output {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
    /// The directory it ran in (still there until the output is dropped).
    pub dir: Workdir,
}

impl Output {
    /// Stdout parsed as JSON (a `--json` run's Thought, a listing, a config).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }
}

/// Shows the exit code and both streams, for assertion messages.
impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Wait until `done()` holds, checking every 10 ms, for at most `limit`; panics with
/// `what` when it never does. For waiting on another process, not for timing it.
pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
