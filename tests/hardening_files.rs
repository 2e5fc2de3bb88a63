//! End-to-end tests of the real `redraft` binary writing standard error: a broken
//! stderr (a closed pipe, a full disk) never costs the result, and log lines carry no
//! colour codes when stderr is not a terminal.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use support::cli::Redraft;
use support::fake_openai::{FakeOpenAi, Reply, is_structured, last_user_message};

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
