//! End-to-end tests of the real `redraft` binary writing files and standard error:
//! `--in-place` keeps the file's mode, owner and symlinks, refuses what it cannot or must
//! not write before any model call, never follows a planted temporary file, and leaves
//! an unchanged file alone; a broken stderr never costs the result; log lines carry no
//! colour codes when stderr is not a terminal; `model path` fails for a missing file.
//!
//! The permission tests run the binary as the unprivileged user 65534 through
//! `setpriv` (root may write anything, so only another user can be denied). They need
//! root to switch users, as CI has; elsewhere they say so and pass without running.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::cli::{Output, Redraft, Workdir};
use crate::support::fake_openai::{FakeOpenAi, Reply, is_structured, last_user_message};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The text every revision of [`revise_once_server`] answers.
const REVISED: &str = "Revised. A solar lamp that lasts all night.";

/// A server whose critics are unhappy until the text contains `Revised.`, and whose
/// revisions answer [`REVISED`] (in two chunks when streamed).
fn revise_once_server() -> FakeOpenAi {
    FakeOpenAi::start_blocking(|body, _| {
        if !is_structured(body) && body["stream"] == true {
            let (head, tail) = REVISED.split_at(9);
            Reply::sse(&[
                (None, chunk(head, None)),
                (None, chunk(tail, Some("stop"))),
                (None, "[DONE]".to_owned()),
            ])
        } else if !is_structured(body) {
            Reply::text(REVISED)
        } else if last_user_message(body).contains("Revised.") {
            Reply::verdict(false, 0.9, "Clear and complete now.")
        } else {
            Reply::verdict(true, 0.9, "Say what powers the lamp.")
        }
    })
}

/// One chunk of an OpenAI chat completion stream.
fn chunk(content: &str, finish: Option<&str>) -> String {
    serde_json::json!({"id": "c", "object": "chat.completion.chunk", "model": "m",
        "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
    .to_string()
}

/// A server whose critic is satisfied with any text at once.
fn satisfied_server() -> FakeOpenAi {
    FakeOpenAi::start_blocking(|_, _| Reply::verdict(false, 0.9, "Fine."))
}

/// `redraft improve --in-place --file PATH` against `server`.
fn improve_in_place(run: Redraft, path: &Path, server: &FakeOpenAi) -> Redraft {
    run.args(["improve", "--in-place", "--file"]).args([path]).server(server)
}

/// The unprivileged user (and group) the permission tests run as.
const NOBODY: u32 = 65534;

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(path: &Path, uid: u32, gid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Assert a refusal before the run: exit 2, one `redraft: error:` naming `needles`,
/// nothing on stdout, no request sent.
fn assert_refused_before_any_call(out: &Output, server: &FakeOpenAi, needles: &[&str]) {
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains("redraft: error: "), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
    for needle in needles {
        assert!(out.stderr.contains(needle), "stderr should mention {needle:?}:\n{out}");
    }
    assert_eq!(server.request_count(), 0, "no model call before the refusal");
}

/// Whether this process runs as root (and so can switch to another user).
fn running_as_root() -> bool {
    let id = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&id.stdout).trim() == "0"
}

/// `run` set to start as user and group [`NOBODY`] with no supplementary groups, from
/// a copy of the binary that user can reach (the build directory may be private), or
/// `None` when this process cannot switch users (not root).
fn as_nobody(run: Redraft) -> Option<(Redraft, Workdir)> {
    if !running_as_root() {
        eprintln!("skipped: switching to user {NOBODY} needs root (CI runs as root)");
        return None;
    }
    let bin = Workdir::new();
    chmod(bin.path(), 0o755);
    let copy = bin.path().join("redraft");
    let built = PathBuf::from(env!("CARGO_BIN_EXE_redraft"));
    if std::fs::hard_link(&built, &copy).is_err() {
        std::fs::copy(&built, &copy).unwrap();
    }
    chmod(&copy, 0o755);
    let uid = format!("--reuid={NOBODY}");
    let gid = format!("--regid={NOBODY}");
    let wrapper = ["setpriv", uid.as_str(), gid.as_str(), "--clear-groups"];
    Some((run.via(wrapper, &copy), bin))
}

// ---------------------------------------------------------------------------------
// --in-place keeps what the file is: mode, owner, symlinks
// ---------------------------------------------------------------------------------

#[test]
fn in_place_keeps_the_file_mode() {
    for mode in [0o600, 0o755, 0o640] {
        let server = revise_once_server();
        let run = Redraft::new();
        let path = run.dir().write("draft.txt", "A lamp.\n");
        chmod(&path, mode);
        let out = improve_in_place(run, &path, &server).run();
        assert_eq!(out.code, Some(0), "{out}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{REVISED}\n"));
        assert_eq!(mode_of(&path), mode, "mode {mode:o} kept:\n{out}");
    }
}

#[test]
fn in_place_keeps_the_file_owner() {
    if !running_as_root() {
        eprintln!("skipped: giving a file to another user needs root (CI runs as root)");
        return;
    }
    let server = revise_once_server();
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "A lamp.\n");
    chown(&path, NOBODY, NOBODY);
    // Set-user-ID survives too (a change of owner after the mode would clear it).
    chmod(&path, 0o4754);
    let out = improve_in_place(run, &path, &server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{REVISED}\n"));
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (NOBODY, NOBODY), "owner and group kept");
    assert_eq!(mode_of(&path), 0o4754, "mode kept");
}

#[test]
fn in_place_writes_through_a_symlink_to_its_target_and_keeps_the_link() {
    let server = revise_once_server();
    let run = Redraft::new();
    std::fs::create_dir(run.dir().path().join("real")).unwrap();
    let target = run.dir().write("real/draft.txt", "A lamp.\n");
    let link = run.dir().path().join("draft.txt");
    std::os::unix::fs::symlink("real/draft.txt", &link).unwrap();
    let out = improve_in_place(run, &link, &server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "still a link");
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("real/draft.txt"));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), format!("{REVISED}\n"));
    assert_eq!(names_in(out.dir.path()), ["draft.txt", "real"], "no temporary file left");
    assert_eq!(names_in(&out.dir.path().join("real")), ["draft.txt"], "no temporary file left");
}

// ---------------------------------------------------------------------------------
// --in-place refuses, before any model call, what it cannot or must not write
// ---------------------------------------------------------------------------------

#[test]
fn in_place_refuses_a_read_only_file_even_as_root() {
    let server = revise_once_server();
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "A lamp.\n");
    chmod(&path, 0o444);
    let out = improve_in_place(run, &path, &server).run();
    assert_refused_before_any_call(&out, &server, &["draft.txt", "read-only"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "A lamp.\n");
    assert_eq!(mode_of(&path), 0o444);
}

#[test]
fn in_place_refuses_its_own_read_only_file_as_an_unprivileged_user() {
    let server = revise_once_server();
    let run = Redraft::new();
    let dir = run.dir().path().to_owned();
    let path = run.dir().write("draft.txt", "A lamp.\n");
    chmod(&path, 0o444);
    // The user owns the file and its directory, so a rename over it would succeed.
    chown(&path, NOBODY, NOBODY);
    chown(&dir, NOBODY, NOBODY);
    let Some((run, _bin)) = as_nobody(run) else { return };
    let out = improve_in_place(run, &path, &server).run();
    assert_refused_before_any_call(&out, &server, &["draft.txt", "read-only"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "A lamp.\n");
}

#[test]
fn in_place_refuses_when_the_directory_forbids_the_temporary_file() {
    let server = revise_once_server();
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "A lamp.\n");
    // Anyone may write the file, but only root may create files beside it.
    chmod(&path, 0o666);
    chmod(run.dir().path(), 0o755);
    let Some((run, _bin)) = as_nobody(run) else { return };
    let out = improve_in_place(run, &path, &server).run();
    assert_refused_before_any_call(&out, &server, &["draft.txt", "temporary file"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "A lamp.\n");
    assert_eq!(names_in(out.dir.path()), ["draft.txt"]);
}

#[test]
fn in_place_refuses_another_user_s_file_in_a_shared_directory() {
    let server = revise_once_server();
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "A lamp.\n");
    // root's file, not writable by others, in a directory anyone may write: a rename
    // would replace it with the user's own file.
    chmod(&path, 0o644);
    chmod(run.dir().path(), 0o777);
    let Some((run, _bin)) = as_nobody(run) else { return };
    let out = improve_in_place(run, &path, &server).run();
    assert_refused_before_any_call(&out, &server, &["draft.txt"]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "A lamp.\n");
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (0, 0), "still root's file");
    assert_eq!(names_in(out.dir.path()), ["draft.txt"]);
}

#[test]
fn in_place_as_an_unprivileged_user_rewrites_its_own_file() {
    let server = revise_once_server();
    let run = Redraft::new();
    let dir = run.dir().path().to_owned();
    let path = run.dir().write("draft.txt", "A lamp.\n");
    chmod(&path, 0o600);
    chown(&path, NOBODY, NOBODY);
    chown(&dir, NOBODY, NOBODY);
    let Some((run, _bin)) = as_nobody(run) else { return };
    let out = improve_in_place(run, &path, &server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{REVISED}\n"));
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid(), mode_of(&path)), (NOBODY, NOBODY, 0o600));
}

// ---------------------------------------------------------------------------------
// The temporary file
// ---------------------------------------------------------------------------------

#[test]
fn a_planted_temporary_file_symlink_is_never_followed() {
    let server = revise_once_server();
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "A lamp.\n");
    let other = run.dir().write("other.txt", "Someone else's file.\n");
    for planted in ["draft.txt.redraft-tmp", ".draft.txt.redraft-tmp"] {
        std::os::unix::fs::symlink(&other, run.dir().path().join(planted)).unwrap();
    }
    let out = improve_in_place(run, &path, &server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(std::fs::read_to_string(&other).unwrap(), "Someone else's file.\n");
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_file(), "draft.txt is still a regular file");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{REVISED}\n"));
    let names = names_in(out.dir.path());
    assert_eq!(
        names,
        [".draft.txt.redraft-tmp", "draft.txt", "draft.txt.redraft-tmp", "other.txt"],
        "the planted links stay, no other file is left"
    );
}

// ---------------------------------------------------------------------------------
// An unchanged file is left alone; a changed one keeps its own ending
// ---------------------------------------------------------------------------------

#[test]
fn in_place_leaves_an_accepted_file_without_a_final_newline_untouched() {
    let server = satisfied_server();
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "Already good.");
    let before = std::fs::metadata(&path).unwrap();
    let out = improve_in_place(run, &path, &server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(std::fs::read(&path).unwrap(), b"Already good.", "the file's bytes are kept");
    let after = std::fs::metadata(&path).unwrap();
    assert_eq!(after.ino(), before.ino(), "not replaced by a new file");
    assert_eq!(after.mtime_nsec(), before.mtime_nsec(), "not rewritten");
    assert!(out.stderr.contains("draft.txt left unchanged"), "{out}");
}

#[test]
fn in_place_leaves_an_accepted_crlf_file_untouched() {
    let server = satisfied_server();
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "Already good.\r\nTwo lines.\r\n");
    let before = std::fs::metadata(&path).unwrap();
    let out = improve_in_place(run, &path, &server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(std::fs::read(&path).unwrap(), b"Already good.\r\nTwo lines.\r\n");
    assert_eq!(std::fs::metadata(&path).unwrap().ino(), before.ino(), "not replaced");
}

#[test]
fn in_place_gives_a_revision_the_file_s_own_ending() {
    for (input, ending) in [("A lamp.", ""), ("A lamp.\n", "\n"), ("A lamp.\r\n", "\r\n")] {
        let server = revise_once_server();
        let run = Redraft::new();
        let path = run.dir().write("draft.txt", input);
        let out = improve_in_place(run, &path, &server).run();
        assert_eq!(out.code, Some(0), "{out}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{REVISED}{ending}"),
            "input {input:?}"
        );
        // Standard output is a stream of lines: it always ends with a line break.
        assert_eq!(out.stdout, format!("{REVISED}\n"), "input {input:?}");
    }
}

#[test]
fn stdout_ends_an_unchanged_text_without_a_newline_with_one() {
    let server = satisfied_server();
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "Already good.");
    let out = run.args(["improve", "--file"]).args([&path]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stdout, "Already good.\n");
    assert_eq!(std::fs::read(&path).unwrap(), b"Already good.");
}

// ---------------------------------------------------------------------------------
// A broken stderr never costs the result
// ---------------------------------------------------------------------------------

/// Run a revising `--in-place` run, with progress, streaming and debug logs, with
/// stderr connected to `stderr`; assert it exits 0 and writes the file.
fn in_place_with_stderr(stderr: impl Into<std::process::Stdio>, what: &str) {
    let server = revise_once_server();
    let run = Redraft::new().env("RUST_LOG", "redraft=debug").stderr(stderr);
    let path = run.dir().write("draft.txt", "A lamp.\n");
    let out = improve_in_place(run, &path, &server).args(["-v", "--stream"]).run();
    assert_eq!(out.code, Some(0), "stderr {what}: {out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{REVISED}\n"), "{what}");
    assert_eq!(out.stdout, format!("{REVISED}\n"), "{what}");
}

#[test]
fn a_closed_stderr_pipe_is_not_a_crash_and_the_file_is_written() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    in_place_with_stderr(writer, "a pipe closed by its reader");
}

#[test]
fn a_full_disk_on_stderr_is_not_a_crash_and_the_file_is_written() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    in_place_with_stderr(full, "/dev/full");
}

#[test]
fn a_failed_run_with_a_closed_stderr_exits_1_not_101() {
    let server = FakeOpenAi::start_blocking(|_, _| {
        Reply::error(401, "invalid_api_key", "Incorrect API key provided.")
    });
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Redraft::new().args(["improve", "A lamp."]).server(&server).stderr(writer).run();
    assert_eq!(out.code, Some(1), "{out}");
}

// ---------------------------------------------------------------------------------
// Colour
// ---------------------------------------------------------------------------------

#[test]
fn log_lines_on_a_piped_stderr_carry_no_colour_codes() {
    let server = satisfied_server();
    let out = Redraft::new()
        .args(["improve", "A lamp."])
        .server(&server)
        .env("RUST_LOG", "redraft=debug")
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("http response"), "a debug line was logged:\n{out}");
    assert!(!out.stderr.contains("\x1b["), "no ANSI escape codes:\n{out:?}", out = out.stderr);
}

#[test]
fn a_warning_on_a_piped_stderr_carries_no_colour_codes() {
    // Redis down (nothing listens on port 1): the cache logs one warning, carries on.
    let run = Redraft::new().env("RUST_LOG", "warn");
    run.dir().write("redraft.toml", "[cache]\nredis_url = \"redis://127.0.0.1:1\"\n");
    let server = satisfied_server();
    let out = run.args(["improve", "A lamp."]).server(&server).run();
    assert!(out.stderr.contains("WARN"), "a warning was logged:\n{out}");
    assert!(!out.stderr.contains("\x1b["), "no ANSI escape codes:\n{out:?}", out = out.stderr);
}

// ---------------------------------------------------------------------------------
// `redraft model path`
// ---------------------------------------------------------------------------------

#[test]
fn model_path_of_a_missing_file_prints_it_and_exits_1() {
    let out = Redraft::new().args(["model", "path", "--model-path", "/nonexistent.gguf"]).run();
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(out.stdout, "/nonexistent.gguf\n", "{out}");
    assert!(out.stderr.contains("/nonexistent.gguf"), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
}

#[test]
fn model_path_of_a_present_file_exits_0() {
    let run = Redraft::new();
    let path = run.dir().write("m.gguf", b"GGUF");
    let out = run.args(["model", "path", "--model-path"]).args([&path]).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stdout, format!("{}\n", path.display()), "{out}");
}

#[test]
fn model_path_help_documents_the_exit_code() {
    let out = Redraft::new().args(["model", "path", "--help"]).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stdout.contains("exits 1 when it is missing"), "{out}");
}
