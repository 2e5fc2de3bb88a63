//! Standard error for the binary: messages, progress, streamed text and log lines.
//!
//! Everything the binary writes to stderr goes through here, because stderr is only
//! for people: when it is a pipe whose reader has gone, or a full disk, the write is
//! dropped. `eprintln!` would panic instead (exit 101), and an `--in-place` run would
//! then lose its result. (Results go to stdout; see `print_stdout`.)
//!
//! Log lines come from `tracing` (`RUST_LOG`, default `warn`). They are coloured only
//! when stderr is a terminal and `NO_COLOR` is unset or empty. llama.cpp's own log
//! lines (target `llama-cpp-2`, e.g. its tokenizer warnings at load) are off unless
//! `-v`, or unless `RUST_LOG` names that target itself.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use tracing_subscriber::EnvFilter;

/// Write `text` and a line break to stderr; a failed write is dropped.
pub(crate) fn line(text: impl Display) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// Write `text` to stderr as it is (streamed model output) and flush; a failed write
/// is dropped.
pub(crate) fn text(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// A writer to stderr that never fails: what it cannot write is dropped. It is the
/// log subscriber's writer, which must not report a failure (tracing-subscriber would
/// report it with `eprintln!`, and so panic).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().lock().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// The directives that keep llama.cpp's log lines out unless asked for: the target of
/// the lines it sends through `llama_cpp_2::send_logs_to_tracing`, and the crate's own
/// warnings about them.
const LLAMA_OFF: &str = "llama-cpp-2=off,llama_cpp_2=off";

/// Install the log subscriber: `tracing` events on stderr, filtered by `RUST_LOG`
/// (default `warn`; an invalid value is ignored), llama.cpp's lines only when
/// `verbose`.
pub(crate) fn init_logging(verbose: bool) {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter(verbose, std::env::var("RUST_LOG").ok().as_deref()))
        .with_writer(|| Stderr)
        .with_ansi(colour(std::io::stderr().is_terminal(), no_color))
        .log_internal_errors(false)
        .init();
}

/// Whether log lines are coloured: only on a terminal, and never under `NO_COLOR`.
fn colour(terminal: bool, no_color: bool) -> bool {
    terminal && !no_color
}

/// The log filter for `RUST_LOG` = `rust_log`. The llama.cpp directives come first, so
/// a `RUST_LOG` that names their target replaces them.
fn filter(verbose: bool, rust_log: Option<&str>) -> EnvFilter {
    let user = rust_log
        .filter(|s| !s.trim().is_empty() && EnvFilter::builder().parse(s).is_ok())
        .unwrap_or("warn");
    let directives = if verbose { user.to_owned() } else { format!("{LLAMA_OFF},{user}") };
    EnvFilter::builder().parse_lossy(directives)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    /// A writer that keeps what it is given.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// What is logged of one llama.cpp warning and one of ours under `filter`.
    fn logged(verbose: bool, rust_log: Option<&str>) -> String {
        let out = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter(verbose, rust_log))
            .with_writer(out.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "llama-cpp-2", "llama_vocab: special tokens cache");
            tracing::warn!(target: "llama_cpp_2::log", "a CONT log without a message");
            tracing::warn!(target: "redraft::cache", "Redis is down");
            tracing::info!(target: "llama-cpp-2", "loaded tensors");
        });
        String::from_utf8(out.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn llama_lines_are_off_unless_verbose() {
        let quiet = logged(false, None);
        assert!(quiet.contains("Redis is down"), "{quiet}");
        assert!(!quiet.contains("llama_vocab") && !quiet.contains("CONT"), "{quiet}");
        let quiet = logged(false, Some("debug"));
        assert!(quiet.contains("Redis is down"), "{quiet}");
        assert!(!quiet.contains("llama_vocab") && !quiet.contains("loaded"), "{quiet}");
        let verbose = logged(true, None);
        assert!(verbose.contains("llama_vocab") && verbose.contains("CONT"), "{verbose}");
        assert!(!verbose.contains("loaded tensors"), "info stays below the warn default");
    }

    #[test]
    fn rust_log_naming_the_llama_target_turns_it_on() {
        let out = logged(false, Some("warn,llama-cpp-2=info"));
        assert!(out.contains("llama_vocab") && out.contains("loaded tensors"), "{out}");
    }

    #[test]
    fn an_invalid_rust_log_falls_back_to_warn() {
        let out = logged(false, Some("redraft=loud"));
        assert!(out.contains("Redis is down") && !out.contains("llama_vocab"), "{out}");
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, false));
        assert!(!colour(true, true));
        assert!(!colour(false, false));
        assert!(!colour(false, true));
    }
}
