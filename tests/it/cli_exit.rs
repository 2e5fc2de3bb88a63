//! End-to-end tests of the real `redraft` binary: exit codes (0 finished, 1 failed,
//! 2 usage or configuration, 130 cancelled), bad input and configuration reported with
//! what and where, the listing commands, `config check`, and the API key never shown.
//!
//! Every run is isolated (see `support::cli`): a fresh empty directory, no `REDRAFT__*`
//! or `OPENAI_API_KEY` variables, `--base-url` pointing at the fake server.
#![allow(clippy::unwrap_used, clippy::expect_used)]


use crate::support::cli::{Redraft, Running, wait_until};
use crate::support::fake_openai::{FakeOpenAi, Reply, is_structured};
use crate::support::servers::{assert_usage_error, never_satisfied, revision_refused, untouchable};
use serde_json::Value;
use std::time::Duration;

// ---------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------

#[test]
fn max_iterations_exits_0_with_the_best_text() {
    let server = never_satisfied();
    let out =
        Redraft::new().args(["improve", "A lamp.", "--max-iterations", "2"]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("redraft: max_iterations after 2 iteration(s)"), "{out}");
    assert_eq!(out.stdout, "Attempt number 1.\n", "ties go to the later draft");
    assert_eq!(server.request_count(), 3);
}

#[test]
fn a_failed_run_exits_1_with_the_error_on_stderr_and_the_thought_with_json() {
    let server = revision_refused();
    let plain = Redraft::new().args(["improve", "A lamp."]).server(&server).run();
    assert_eq!(plain.code, Some(1), "{plain}");
    assert!(plain.stderr.contains("redraft: failed after 1 iteration(s)"), "{plain}");
    assert!(plain.stderr.contains("redraft: error: revision failed"), "{plain}");
    assert!(plain.stderr.contains("HTTP 401"), "{plain}");

    let json = Redraft::new().args(["improve", "A lamp.", "--json"]).server(&server).run();
    assert_eq!(json.code, Some(1), "{json}");
    let t = json.json();
    assert_eq!(t["stop_reason"], "failed");
    assert_eq!(t["phase"], "done");
    assert!(t["error"].as_str().is_some_and(|e| e.contains("revision failed")), "{t}");
    let revise = t["iterations"][0]["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["role"] == "revise")
        .expect("the failed revision call is in the audit");
    assert!(revise["error"].as_str().is_some_and(|e| e.contains("401")), "{revise}");
    assert_eq!(t["usage"]["calls"], 2);
    assert!(json.stderr.contains("redraft: error:"), "{json}");
}

#[test]
fn a_configuration_error_exits_2_before_any_request() {
    let server = untouchable();
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--accept-when", "sometimes"])
        .server(&server)
        .run();
    assert_usage_error(&out, &["engine.accept_when", "sometimes", "all_satisfied"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn ctrl_c_cancels_the_run_prints_the_partial_thought_and_exits_130() {
    let server = FakeOpenAi::start_blocking(|_, _| {
        Reply::verdict(true, 0.9, "Too slow to matter.").delayed(Duration::from_secs(5))
    });
    let running = Redraft::new().args(["improve", "A lamp.", "--json"]).server(&server).spawn();
    interrupt_during_the_first_request(&server, &running);
    let out = running.wait();
    assert_eq!(out.code, Some(130), "{out}");
    let t = out.json();
    assert_eq!(t["stop_reason"], "cancelled");
    assert_eq!(t["phase"], "done");
    assert_eq!(t["resume_from"], "critique", "a cancelled run can resume where it stopped");
    assert_eq!(t["final_text"], "A lamp.", "the best text so far is the input");
    assert!(out.stderr.contains("cancelling"), "{out}");
    assert!(out.stderr.contains("redraft: cancelled"), "{out}");
    assert_eq!(server.request_count(), 1);
}

#[test]
fn ctrl_c_leaves_an_in_place_file_unchanged() {
    let server = FakeOpenAi::start_blocking(|_, _| {
        Reply::verdict(true, 0.9, "Too slow to matter.").delayed(Duration::from_secs(5))
    });
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "A lamp.\n");
    let running =
        run.args(["improve", "--in-place", "--file"]).args([&path]).server(&server).spawn();
    interrupt_during_the_first_request(&server, &running);
    let out = running.wait();
    assert_eq!(out.code, Some(130), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "A lamp.\n");
    assert!(out.stderr.contains("left unchanged"), "{out}");
}

/// Send Ctrl-C to `running` once `server` has received its first request (which the
/// server holds for seconds): the run is then in the middle of a model call.
fn interrupt_during_the_first_request(server: &FakeOpenAi, running: &Running) {
    wait_until("the first request to reach the server", Duration::from_secs(30), || {
        server.request_count() >= 1
    });
    // The binary's Ctrl-C listener is a task spawned before the run starts; give it a
    // moment to be polled (and so installed) even on a busy machine.
    std::thread::sleep(Duration::from_millis(100));
    running.interrupt();
}

// ---------------------------------------------------------------------------------
// Bad input: what and where
// ---------------------------------------------------------------------------------

#[test]
fn an_unknown_critic_lists_the_known_ones() {
    let server = untouchable();
    let out = Redraft::new().args(["improve", "A lamp.", "--critic", "nope"]).server(&server).run();
    assert_usage_error(&out, &["`nope`", "reflexion", "self_refine", "constitutional"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn an_invalid_regex_names_the_pattern() {
    let server = untouchable();
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--validator", "regex:(["])
        .server(&server)
        .run();
    assert_usage_error(&out, &["invalid validator `regex:([`", "/([/"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn an_unknown_validator_kind_lists_the_known_ones() {
    let server = untouchable();
    let out =
        Redraft::new().args(["improve", "A lamp.", "--validator", "bogus:1"]).server(&server).run();
    assert_usage_error(&out, &["`bogus:1`", "unknown kind `bogus`", "words", "regex"]);
    assert_eq!(server.request_count(), 0);
}

/// An empty or blank text is an input error (exit 2), found before any request; the
/// full matrix is in `tests/hardening_inputs.rs`.
#[test]
fn an_empty_or_blank_text_is_an_input_error_saying_it_is_empty() {
    let server = untouchable();
    for text in ["", "   \n\t "] {
        let out = Redraft::new().args(["improve", text]).server(&server).run();
        assert_usage_error(&out, &["redraft: error: the text to improve is empty"]);
    }
    let prompt = Redraft::new().args(["generate", " "]).server(&server).run();
    assert_usage_error(&prompt, &["the prompt is empty"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn no_input_and_empty_standard_input_is_an_empty_text_not_a_panic() {
    let server = untouchable();
    let out = Redraft::new().args(["improve"]).server(&server).stdin("").run();
    assert_usage_error(&out, &["the text to improve is empty", "standard input"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn non_utf8_standard_input_is_named() {
    let server = untouchable();
    let out = Redraft::new().args(["improve", "-"]).server(&server).stdin([0xff, 0xfe, 0x41]).run();
    assert_usage_error(&out, &["standard input is not valid UTF-8"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_non_utf8_file_is_named() {
    let server = untouchable();
    let run = Redraft::new();
    let path = run.dir().write("latin1.txt", [b'c', b'a', b'f', 0xe9]);
    let out = run.args(["improve", "--file"]).args([&path]).server(&server).run();
    assert_usage_error(&out, &["latin1.txt is not valid UTF-8", "offset 3"]);
}

#[test]
fn a_missing_input_file_is_named() {
    let server = untouchable();
    let out = Redraft::new().args(["improve", "--file", "nowhere.txt"]).server(&server).run();
    assert_usage_error(&out, &["cannot read nowhere.txt"]);
}

#[test]
fn in_place_needs_a_file_even_with_a_text_argument() {
    let server = untouchable();
    let out = Redraft::new().args(["improve", "A lamp.", "--in-place"]).server(&server).run();
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stderr.contains("--in-place"), "{out}");
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_config_file_with_an_unknown_key_names_the_file_and_the_dotted_key() {
    let server = untouchable();
    let run = Redraft::new();
    run.dir().write("bad.toml", "[engine]\nmax_iterationz = 3\n");
    let out = run.args(["improve", "A lamp.", "--config", "bad.toml"]).server(&server).run();
    assert_usage_error(&out, &["bad.toml", "`engine.max_iterationz`", "max_iterations"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_missing_config_file_is_named() {
    let server = untouchable();
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--config", "absent.toml"])
        .server(&server)
        .run();
    assert_usage_error(&out, &["absent.toml", "cannot read"]);
}

#[test]
fn a_bad_environment_variable_is_named() {
    let server = untouchable();
    let out = Redraft::new()
        .args(["improve", "A lamp."])
        .server(&server)
        .env("REDRAFT__ENGINE__MAX_ITERATIONS", "zero")
        .run();
    assert_usage_error(&out, &["REDRAFT__ENGINE__MAX_ITERATIONS", "engine.max_iterations"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_redraft_toml_in_the_current_directory_is_used() {
    let server = never_satisfied();
    let run = Redraft::new();
    run.dir().write("redraft.toml", "[engine]\nmax_iterations = 1\n");
    let out = run.args(["improve", "A lamp.", "--json"]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    let t = out.json();
    assert_eq!(t["config"]["engine"]["max_iterations"], 1);
    assert_eq!(t["iterations"].as_array().unwrap().len(), 1);
    assert_eq!(server.request_count(), 1, "one critique, no revision");
}

// ---------------------------------------------------------------------------------
// Listings and config check
// ---------------------------------------------------------------------------------

#[test]
fn critics_json_lists_the_built_in_critics() {
    let out = Redraft::new().args(["critics", "--json"]).run();
    assert_eq!(out.code, Some(0), "{out}");
    let list = out.json();
    let names: Vec<&str> =
        list.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for name in ["reflexion", "self_refine", "constitutional"] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let reflexion = list.as_array().unwrap().iter().find(|c| c["name"] == "reflexion").unwrap();
    assert_eq!(reflexion["origin"], "built-in");
    assert!(reflexion["description"].as_str().is_some_and(|d| !d.is_empty()));
}

#[test]
fn validators_json_lists_kinds_and_presets() {
    let out = Redraft::new().args(["validators", "--json"]).run();
    assert_eq!(out.code, Some(0), "{out}");
    let v = out.json();
    let kinds: Vec<&str> =
        v["kinds"].as_array().unwrap().iter().map(|k| k["name"].as_str().unwrap()).collect();
    for kind in ["chars", "words", "require", "forbid", "regex"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let presets = v["presets"].as_array().unwrap();
    assert!(!presets.is_empty(), "{v}");
    assert!(presets.iter().all(|p| p["name"].is_string() && p["description"].is_string()));
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    for args in [&["critics"][..], &["validators"], &["validators", "--json"], &["config", "check"]]
    {
        let mut running = Redraft::new().args(args).spawn();
        // Most likely closed before the child writes; if not, the pipe buffer takes the
        // output and the run is an ordinary success.
        running.close_stdout();
        let out = running.wait();
        assert_eq!(out.code, Some(0), "{args:?}: {out}");
        assert!(!out.stderr.contains("panicked"), "{args:?}: {out}");
    }
}

#[test]
fn config_check_prints_the_resolved_configuration() {
    let run = Redraft::new().env("REDRAFT__PROVIDER__MODEL", "gpt-test");
    run.dir().write("redraft.toml", "[engine]\nmax_iterations = 5\n");
    let out = run.args(["config", "check", "--preset", "fast"]).run();
    assert_eq!(out.code, Some(0), "{out}");
    let c = out.json();
    assert_eq!(c["engine"]["max_iterations"], 5);
    assert_eq!(c["provider"]["model"], "gpt-test");
    assert_eq!(c["preset"], "fast");
    let sources: Vec<&str> =
        c["sources"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(sources.first(), Some(&"built-in defaults"));
    assert!(sources.contains(&"environment"), "{sources:?}");
    assert!(out.stderr.contains("configuration OK"), "{out}");
}

#[test]
fn config_check_with_a_bad_file_exits_2() {
    let run = Redraft::new();
    run.dir().write("bad.toml", "[engine]\nmax_iterationz = 3\n");
    let out = run.args(["config", "check", "--config", "bad.toml"]).run();
    assert_usage_error(&out, &["bad.toml", "`engine.max_iterationz`"]);
}

// ---------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------

const KEY: &str = "sk-test-secret-123";

#[test]
fn config_check_never_shows_the_api_key() {
    let out = Redraft::new()
        .args(["config", "check"])
        .env("REDRAFT__PROVIDER__NAME", "openai")
        .env("OPENAI_API_KEY", KEY)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.json()["provider"]["api_key"], "[redacted]");
    assert!(!out.stdout.contains(KEY) && !out.stderr.contains(KEY), "{out}");
}

#[test]
fn the_api_key_is_sent_to_the_server_and_shown_nowhere() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "Say more.")
        } else {
            Reply::text("A revised lamp.")
        }
    });
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--json", "--max-iterations", "2", "--verbose"])
        .server(&server)
        .env("OPENAI_API_KEY", KEY)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(server.request_count(), 3);
    for n in 0..3 {
        assert_eq!(server.header(n, "authorization").as_deref(), Some("Bearer sk-test-secret-123"));
    }
    let t = out.json();
    assert_eq!(t["config"]["provider"]["api_key"], "[redacted]");
    assert!(!out.stdout.contains(KEY), "{out}");
    assert!(!out.stderr.contains(KEY), "{out}");
}

#[test]
fn the_api_key_is_not_in_a_failed_run_s_output() {
    // A server that echoes the key back in its error message.
    let server = FakeOpenAi::start_blocking(|_, _| {
        Reply::error(401, "invalid_api_key", &format!("Incorrect API key provided: {KEY}."))
    });
    let out = Redraft::new()
        .args(["generate", "A lamp.", "--json"])
        .server(&server)
        .env("OPENAI_API_KEY", KEY)
        .run();
    assert_eq!(out.code, Some(1), "{out}");
    let t: Value = out.json();
    assert_eq!(t["stop_reason"], "failed");
    assert!(!out.stdout.contains(KEY), "{out}");
    assert!(!out.stderr.contains(KEY), "{out}");
}
