//! End-to-end tests of the real `redraft` binary for honest accounting: every request
//! a server saw is a call record, whatever interrupted it; a provider error every
//! later call would repeat stops the run at once; a refused connection fails fast; a
//! revision that echoes its instructions never replaces the text.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::cli::{Redraft, wait_until};
use crate::support::fake_openai::{FakeOpenAi, Reply, is_structured, last_user_message};
use serde_json::Value;
use std::time::Duration;

/// Every call record of a `--json` Thought, in order.
fn calls(thought: &Value) -> Vec<Value> {
    let iterations = thought["iterations"].as_array().cloned().unwrap_or_default();
    iterations.iter().flat_map(|it| it["calls"].as_array().cloned().unwrap_or_default()).collect()
}

/// Fast retries, so a test reaches its interesting request quickly.
const FAST_RETRY: &str = "[retry]\ninitial_backoff_ms = 1\nmax_backoff_ms = 1\n";

#[test]
fn ctrl_c_during_retries_keeps_every_request_sent() {
    // Two 429s and a 500 are retried; the fourth request hangs until Ctrl-C.
    let server = FakeOpenAi::start_blocking(|_, n| match n {
        0 | 1 => Reply::rate_limited("0"),
        2 => Reply::error(500, "server_error", "The server had an error."),
        _ => Reply::verdict(true, 0.9, "Too slow.").delayed(Duration::from_secs(30)),
    });
    let run = Redraft::new();
    let config = run.dir().write("redraft.toml", FAST_RETRY);
    let running = run
        .args(["improve", "A lamp.", "--json", "--config", config.to_str().unwrap()])
        .server(&server)
        .spawn();
    wait_until("the fourth request", Duration::from_secs(30), || server.request_count() >= 4);
    std::thread::sleep(Duration::from_millis(100));
    running.interrupt();
    let out = running.wait();
    assert_eq!(out.code, Some(130), "{out}");
    let t = out.json();
    let records = calls(&t);
    assert_eq!(server.request_count(), 4);
    assert_eq!(t["usage"]["calls"], 4, "every request sent is counted: {t}");
    assert_eq!(records.len(), 4, "{records:#?}");
    assert_eq!(
        records.iter().map(|r| r["attempt"].as_u64().unwrap()).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(records[0]["error"]["message"].as_str().unwrap().contains("429"), "{records:#?}");
    assert_eq!(records[0]["error"]["status"], 429, "{records:#?}");
    assert!(records[2]["error"]["message"].as_str().unwrap().contains("500"), "{records:#?}");
    assert_eq!(records[2]["error"]["status"], 500, "{records:#?}");
    assert_eq!(records[3]["error"]["kind"], "abandoned", "{records:#?}");
    let last = records[3]["error"]["message"].as_str().unwrap();
    assert!(last.contains("abandoned in flight"), "{last}");
    assert!(records.iter().all(|r| r["role"] == "critique"), "{records:#?}");
}

#[test]
fn the_deadline_keeps_the_calls_in_flight() {
    // Two critics ask at once; neither answers before the one-second deadline.
    let server = FakeOpenAi::start_blocking(|_, _| {
        Reply::verdict(true, 0.9, "Slow.").delayed(Duration::from_secs(20))
    });
    let run = Redraft::new();
    let config = run.dir().write("redraft.toml", "[budget]\ndeadline_secs = 1\n");
    let out = run
        .args(["improve", "A lamp.", "--json", "--critic", "reflexion", "--critic"])
        .args(["self_refine", "--config", config.to_str().unwrap()])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "a budget stop is a finished run: {out}");
    let t = out.json();
    assert_eq!(t["stop_reason"], "budget", "{t}");
    assert_eq!(server.request_count(), 2);
    assert_eq!(t["usage"]["calls"], 2, "{t}");
    let records = calls(&t);
    assert_eq!(records.len(), 2, "{records:#?}");
    let mut critics: Vec<&str> = records.iter().map(|r| r["critic"].as_str().unwrap()).collect();
    critics.sort_unstable();
    assert_eq!(critics, ["reflexion", "self_refine"]);
    assert!(
        records.iter().all(|r| r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("abandoned in flight")
            && r["error"]["kind"] == "abandoned")
    );
}

#[test]
fn an_auth_error_in_a_critique_stops_the_run_before_the_revision() {
    for (status, code, kind) in [
        (401, "invalid_api_key", "auth"),
        (429, "insufficient_quota", "quota"),
        (400, "context_length_exceeded", "context_length"),
    ] {
        let server = FakeOpenAi::start_blocking(move |body, _| {
            if is_structured(body) {
                Reply::error(status, code, "Refused.")
            } else {
                Reply::text("A revision that must never be asked for.")
            }
        });
        let out = Redraft::new().args(["improve", "A lamp.", "--json"]).server(&server).run();
        assert_eq!(out.code, Some(1), "{out}");
        assert_eq!(server.request_count(), 1, "no revision after {kind}: {out}");
        let t = out.json();
        assert_eq!(t["stop_reason"], "failed");
        assert_eq!(t["error"]["kind"], kind, "{t}");
        let error = t["error"]["message"].as_str().unwrap();
        assert!(error.contains("critic reflexion failed"), "{error}");
        assert!(error.contains(kind), "{kind}: {error}");
        assert_eq!(t["usage"]["calls"], 1);
    }
}

#[test]
fn a_critic_failing_for_its_own_reasons_still_only_loses_its_vote() {
    // A 500 on every critique (retried away) is not a reason to stop the run.
    let server = FakeOpenAi::start_blocking(|body, n| {
        if is_structured(body) {
            Reply::error(500, "server_error", "Down.")
        } else {
            Reply::text(&format!("Revision {n}."))
        }
    });
    let run = Redraft::new();
    let config =
        run.dir().write("redraft.toml", format!("{FAST_RETRY}max_attempts = 1\n").as_str());
    let out = run
        .args(["improve", "A lamp.", "--json", "--max-iterations", "2"])
        .args(["--config", config.to_str().unwrap()])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    let t = out.json();
    assert_eq!(t["stop_reason"], "max_iterations", "{t}");
    assert!(calls(&t).iter().any(|c| c["role"] == "revise"), "the revision was still sent");
}

#[test]
fn a_refused_connection_fails_after_two_retries_per_call() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/v1");
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--json", "--provider", "openai", "--base-url", &url])
        .run();
    assert_eq!(out.code, Some(1), "{out}");
    let t = out.json();
    let records = calls(&t);
    // The critique: 3 attempts (it does not vote); the revision: 3 attempts, then failed.
    assert_eq!(records.len(), 6, "{records:#?}");
    assert!(
        records.iter().all(|r| r["error"]["message"].as_str().unwrap().contains("unreachable")
            && r["error"]["kind"] == "unreachable")
    );
    assert_eq!(t["stop_reason"], "failed");
}

#[test]
fn max_connect_attempts_is_configurable_and_checked() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/v1");
    let run = Redraft::new();
    let config = run.dir().write("redraft.toml", "[retry]\nmax_connect_attempts = 1\n");
    let out = run
        .args(["improve", "A lamp.", "--json", "--provider", "openai", "--base-url", &url])
        .args(["--config", config.to_str().unwrap()])
        .run();
    assert_eq!(calls(&out.json()).len(), 2, "one attempt per call: {out}");

    let run = Redraft::new();
    let config = run.dir().write("redraft.toml", "[retry]\nmax_connect_attempts = 0\n");
    let out = run.args(["config", "check", "--config", config.to_str().unwrap()]).run();
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("retry.max_connect_attempts"), "{out}");
}

#[test]
fn a_revision_echoing_its_instructions_never_replaces_the_text() {
    // The reviser answers with the instructions it was given, every time.
    let server = FakeOpenAi::start_blocking(|body, _| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "Make it longer.")
        } else {
            let asked = last_user_message(body);
            let list = asked.lines().filter(|l| l.starts_with("- [")).collect::<Vec<_>>().join(" ");
            Reply::text(&format!("Revise this text with these changes: {list}"))
        }
    });
    let out = Redraft::new()
        .args(["improve", "Our lamp are good.", "--json", "--validator", "words:min=6"])
        .server(&server)
        .run();
    let t = out.json();
    assert_eq!(t["final_text"], "Our lamp are good.", "{t}");
    assert_eq!(t["iterations"].as_array().unwrap().len(), 1, "no iteration holds the echo");
    assert!(t["stop_detail"].as_str().unwrap().contains("echoed the revision instructions"), "{t}");
    let revisions = calls(&t).into_iter().filter(|c| c["role"] == "revise").count();
    assert_eq!(revisions, 2, "recorded and retried once, like an empty revision");
}
