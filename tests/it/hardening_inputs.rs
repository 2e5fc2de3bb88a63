//! Hardening of what the `redraft` binary accepts, end to end (issue 7, points 7–12):
//! iteration caps and planning at the cap, critic names and validator specs checked at
//! load with the file, variable or flag that set them, empty input as an input error,
//! nothing on stdout for a failed run, credentials and query strings in `base_url`,
//! missing API keys found before sending, and repeated or oversized values.
//!
//! Every run is isolated (see `support::cli`) and talks to a fake server on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]


use crate::support::cli::{Output, Redraft};
use crate::support::fake_openai::{FakeOpenAi, Reply, is_structured};
use crate::support::servers::{assert_usage_error, never_satisfied, revision_refused, untouchable};
use serde_json::Value;

// ---------------------------------------------------------------------------------
// 7. Iteration cap; planning at the cap
// ---------------------------------------------------------------------------------

#[test]
fn a_dry_run_at_the_iteration_cap_plans_every_call() {
    let server = untouchable();
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--dry-run", "--json", "--max-iterations", "1000"])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    let plan = out.json();
    assert_eq!(plan["max_iterations"], 1000);
    assert_eq!(plan["iterations"], 1000);
    // One critique per iteration (reflexion, the default critic), one revision
    // between each two.
    assert_eq!(plan["totals"]["calls"], 1999);
    assert_eq!(plan["calls"].as_array().unwrap().len(), 1999);
    assert_eq!(plan["stop_reason"], "max_iterations");
    assert_eq!(server.request_count(), 0, "a dry run sends nothing");
}

#[test]
fn max_iterations_outside_1_to_1000_is_refused_naming_the_flag_and_the_range() {
    let server = untouchable();
    for n in ["1001", "0", "1000000"] {
        let out = Redraft::new()
            .args(["improve", "A lamp.", "--dry-run", "--max-iterations", n])
            .server(&server)
            .run();
        assert_usage_error(&out, &["--max-iterations", "engine.max_iterations", "1 to 1000"]);
    }
    assert_eq!(server.request_count(), 0);
}

#[test]
fn engine_max_iterations_above_1000_is_refused_in_a_file_and_the_environment() {
    let run = Redraft::new();
    run.dir().write("big.toml", "[engine]\nmax_iterations = 5000\n");
    let out = run.args(["config", "check", "--config", "big.toml"]).run();
    assert_usage_error(&out, &["big.toml", "`engine.max_iterations`", "1 to 1000"]);

    let out = Redraft::new()
        .args(["config", "check"])
        .env("REDRAFT__ENGINE__MAX_ITERATIONS", "1001")
        .run();
    assert_usage_error(&out, &["REDRAFT__ENGINE__MAX_ITERATIONS", "1 to 1000"]);
}

// ---------------------------------------------------------------------------------
// 8. Critic names and validator specs, checked at load
// ---------------------------------------------------------------------------------

#[test]
fn config_check_refuses_an_unknown_critic_in_a_file_naming_file_and_item() {
    let run = Redraft::new();
    run.dir().write("critics.toml", "[critics]\nenabled = [\"reflexion\", \"nosuch\"]\n");
    let out = run.args(["config", "check", "--config", "critics.toml"]).run();
    assert_usage_error(&out, &["critics.toml", "`critics.enabled[1]`", "unknown critic `nosuch`"]);
    assert!(!out.stderr.contains("configuration OK"), "{out}");
}

#[test]
fn config_check_refuses_invalid_validator_specs_in_a_file() {
    let run = Redraft::new();
    run.dir().write("v.toml", "[validators]\nenabled = [\"words:min=3\", \"regex:(\"]\n");
    let out = run.args(["config", "check", "--config", "v.toml"]).run();
    assert_usage_error(&out, &["v.toml", "`validators.enabled[1]`", "invalid validator `regex:(`"]);

    let run = Redraft::new();
    run.dir().write("t.toml", "[validators]\nenabled = [{ kind = \"regex\", pattern = \"(\" }]\n");
    let out = run.args(["config", "check", "--config", "t.toml"]).run();
    assert_usage_error(&out, &["t.toml", "`validators.enabled[0]`", "invalid regex"]);

    let run = Redraft::new();
    run.dir().write("p.toml", "[validators]\nenabled = [\"preset:nosuch\"]\n");
    let out = run.args(["config", "check", "--config", "p.toml"]).run();
    assert_usage_error(&out, &["p.toml", "`validators.enabled[0]`", "nosuch"]);
}

#[test]
fn config_check_names_the_environment_variable_of_a_bad_list() {
    let out = Redraft::new()
        .args(["config", "check"])
        .env("REDRAFT__VALIDATORS__ENABLED", "words:min=3,max=9;regex:(")
        .run();
    assert_usage_error(
        &out,
        &["environment variable REDRAFT__VALIDATORS__ENABLED", "`validators.enabled[1]`"],
    );

    let out = Redraft::new()
        .args(["config", "check"])
        .env("REDRAFT__CRITICS__ENABLED", "reflexion,nosuch")
        .run();
    assert_usage_error(
        &out,
        &["environment variable REDRAFT__CRITICS__ENABLED", "`critics.enabled[1]`", "`nosuch`"],
    );
}

#[test]
fn a_bad_critic_var_names_the_file_and_the_critic() {
    let run = Redraft::new();
    run.dir().write(
        "vars.toml",
        "[critics]\nenabled = [\"constitutional\"]\n[critics.vars.constitutional]\nnosuchvar = \"x\"\n",
    );
    let out = run.args(["config", "check", "--config", "vars.toml"]).run();
    assert_usage_error(&out, &["vars.toml", "`critics.vars.constitutional`", "nosuchvar"]);
}

#[test]
fn improve_with_a_bad_critic_in_the_file_fails_before_any_request_naming_the_file() {
    let server = untouchable();
    let run = Redraft::new();
    run.dir().write("redraft.toml", "[critics]\nenabled = [\"nosuch\"]\n");
    let out = run.args(["improve", "A lamp."]).server(&server).run();
    assert_usage_error(&out, &["redraft.toml", "`critics.enabled[0]`", "unknown critic `nosuch`"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn bad_critic_and_validator_flags_name_the_flag() {
    let server = untouchable();
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--critic", "reflexion", "--critic", "nosuch"])
        .server(&server)
        .run();
    assert_usage_error(&out, &["--critic", "`critics.enabled[1]`", "unknown critic `nosuch`"]);

    let out =
        Redraft::new().args(["improve", "A lamp.", "--validator", "regex:("]).server(&server).run();
    assert_usage_error(&out, &["--validator", "invalid validator `regex:(`", "/(/"]);
    assert_eq!(server.request_count(), 0);
}

// ---------------------------------------------------------------------------------
// 9. Empty input; nothing on stdout for a failed run
// ---------------------------------------------------------------------------------

#[test]
fn empty_or_blank_input_is_an_input_error_with_one_line_and_no_request() {
    let server = untouchable();
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["improve", ""], "", "the text to improve is empty"),
        (vec!["improve", "  \n\t "], "", "the text to improve is empty"),
        (vec!["improve", "--json", ""], "", "the text to improve is empty"),
        (vec!["improve", "--dry-run", " "], "", "the text to improve is empty"),
        (vec!["improve"], "", "standard input"),
        (vec!["improve", "-"], " \n", "standard input"),
        (vec!["generate", " "], "", "the prompt is empty"),
    ];
    for (args, stdin, needle) in cases {
        let out = Redraft::new().args(args.clone()).server(&server).stdin(stdin).run();
        assert_usage_error(&out, &[needle]);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: one line\n{out}");
    }
    let run = Redraft::new();
    let path = run.dir().write("empty.txt", "\n\n");
    let out = run.args(["improve", "--file"]).args([&path]).server(&server).run();
    assert_usage_error(&out, &["the text to improve is empty", "empty.txt"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_failed_run_prints_nothing_on_stdout_but_the_json_thought_still_goes_out() {
    let server = revision_refused();
    let plain = Redraft::new().args(["improve", "A lamp."]).server(&server).run();
    assert_eq!(plain.code, Some(1), "{plain}");
    assert_eq!(plain.stdout, "", "no text for `> better.txt` to pick up\n{plain}");
    assert!(plain.stderr.contains("redraft: error: revision failed"), "{plain}");

    let json = Redraft::new().args(["improve", "A lamp.", "--json"]).server(&server).run();
    assert_eq!(json.code, Some(1), "{json}");
    assert_eq!(json.json()["stop_reason"], "failed");
}

// ---------------------------------------------------------------------------------
// 10. Credentials and query strings in base_url
// ---------------------------------------------------------------------------------

const PASSWORD: &str = "s3cr3t-pw";
const QUERY_KEY: &str = "QK-abc123";

/// `root` with user info and `?api-key=…` added, and `path` (the API root's) between.
fn credentialed(root: &str, path: &str) -> String {
    let host = root.strip_prefix("http://").unwrap();
    format!("http://alice:{PASSWORD}@{host}{path}?api-key={QUERY_KEY}")
}

fn assert_no_credentials(out: &Output) {
    for secret in [PASSWORD, QUERY_KEY] {
        assert!(!out.stdout.contains(secret), "stdout shows {secret}:\n{out}");
        assert!(!out.stderr.contains(secret), "stderr shows {secret}:\n{out}");
    }
}

#[test]
fn an_openai_base_url_query_stays_after_the_path_and_is_shown_nowhere() {
    let server = FakeOpenAi::start_any(|_, body, n| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "Say more.")
        } else {
            Reply::text(&format!("A revised lamp {n}."))
        }
    });
    let base_url = credentialed(&server.root_url(), "/v1");
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--json", "--verbose", "--max-iterations", "2"])
        .args(["--provider", "openai", "--base-url", &base_url])
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    let expected = format!("/v1/chat/completions?api-key={QUERY_KEY}");
    assert_eq!(server.paths(), vec![expected; 3]);
    let shown = out.json()["config"]["provider"]["base_url"].as_str().unwrap().to_owned();
    assert!(shown.contains("alice:[redacted]@") && shown.ends_with("/v1?api-key=[redacted]"));
    assert_no_credentials(&out);
}

#[test]
fn config_check_redacts_credentials_in_base_urls() {
    let run = Redraft::new();
    let primary = credentialed("http://127.0.0.1:9", "/v1");
    let fallback = credentialed("http://127.0.0.1:8", "/v1");
    run.dir().write(
        "creds.toml",
        format!(
            "[provider]\nname = \"openai\"\nbase_url = \"{primary}\"\n\
             [[fallback]]\nbase_url = \"{fallback}\"\nmodel = \"other\"\n"
        ),
    );
    let out = run.args(["config", "check", "--config", "creds.toml"]).run();
    assert_eq!(out.code, Some(0), "{out}");
    let c = out.json();
    assert_eq!(
        c["provider"]["base_url"],
        "http://alice:[redacted]@127.0.0.1:9/v1?api-key=[redacted]"
    );
    assert_eq!(
        c["fallback"][0]["base_url"],
        "http://alice:[redacted]@127.0.0.1:8/v1?api-key=[redacted]"
    );
    assert_no_credentials(&out);

    let out = Redraft::new()
        .args(["config", "check"])
        .env("REDRAFT__PROVIDER__NAME", "openai")
        .env("REDRAFT__PROVIDER__BASE_URL", "ftp://alice:s3cr3t-pw@h/?api-key=QK-abc123")
        .run();
    assert_usage_error(&out, &["provider.base_url", "not an http"]);
    assert_no_credentials(&out);
}

/// One failed run of `provider` at `base_url` (every request answered with a 400, no
/// retries), to see where its requests went.
fn run_against(provider: &str, base_url: &str, extra: &[&str]) -> Output {
    Redraft::new()
        .args(["improve", "A lamp.", "--json", "--max-iterations", "2"])
        .args(["--provider", provider, "--base-url", base_url])
        .args(extra)
        .env("REDRAFT__RETRY__MAX_ATTEMPTS", "1")
        .env("ANTHROPIC_API_KEY", "sk-ant-test")
        .env("GEMINI_API_KEY", "AIza-test")
        .env("OLLAMA_API_KEY", "")
        .run()
}

fn refusing_server() -> FakeOpenAi {
    FakeOpenAi::start_any(|_, _, _| Reply::error(400, "invalid_request", "not today"))
}

#[test]
fn every_provider_keeps_the_base_url_query_after_its_path() {
    let cases = [
        ("anthropic", "", format!("/v1/messages?api-key={QUERY_KEY}")),
        ("ollama", "", format!("/api/chat?api-key={QUERY_KEY}")),
        (
            "gemini",
            "/v1beta",
            format!("/v1beta/models/gemini-2.0-flash:generateContent?api-key={QUERY_KEY}"),
        ),
        ("openai", "/v1", format!("/v1/chat/completions?api-key={QUERY_KEY}")),
    ];
    for (provider, root_path, expected) in cases {
        let server = refusing_server();
        let out = run_against(provider, &credentialed(&server.root_url(), root_path), &[]);
        assert!(out.code == Some(1), "{provider}: the server refuses everything\n{out}");
        let paths = server.paths();
        assert!(!paths.is_empty(), "{provider}: nothing was sent\n{out}");
        assert!(paths.iter().all(|p| *p == expected), "{provider}: {paths:?}\n{out}");
        assert_eq!(out.json()["stop_reason"], "failed", "{provider}");
        assert_no_credentials(&out);
    }
}

#[test]
fn a_streamed_gemini_revision_keeps_both_queries() {
    let server = refusing_server();
    let base_url = credentialed(&server.root_url(), "/v1beta");
    let out = run_against("gemini", &base_url, &["--stream"]);
    assert_eq!(out.code, Some(1), "{out}");
    let stream = format!(
        "/v1beta/models/gemini-2.0-flash:streamGenerateContent?api-key={QUERY_KEY}&alt=sse"
    );
    assert!(server.paths().contains(&stream), "{:?}\n{out}", server.paths());
    assert_no_credentials(&out);
}

// ---------------------------------------------------------------------------------
// 11. A missing API key, before sending
// ---------------------------------------------------------------------------------

#[test]
fn anthropic_and_gemini_without_their_key_fail_before_sending_naming_the_variable() {
    let cases = [("anthropic", "", "ANTHROPIC_API_KEY"), ("gemini", "/v1beta", "GEMINI_API_KEY")];
    for (provider, root_path, variable) in cases {
        let server = untouchable();
        let base_url = format!("{}{root_path}", server.root_url());
        let out = Redraft::new()
            .args(["improve", "A lamp.", "--provider", provider, "--base-url", &base_url])
            .env(variable, "")
            .run();
        let unset = format!("{variable} is not set");
        assert_usage_error(&out, &[&unset, "provider.api_key_env", provider]);
        assert_eq!(server.request_count(), 0, "{provider}");

        // Planning sends nothing and needs no key.
        let plan = Redraft::new()
            .args(["improve", "A lamp.", "--dry-run", "--provider", provider])
            .args(["--base-url", &base_url])
            .env(variable, "")
            .run();
        assert_eq!(plan.code, Some(0), "{plan}");
    }
}

#[test]
fn a_key_in_a_custom_header_is_enough() {
    let server = FakeOpenAi::start_any(|_, _, _| Reply::error(400, "invalid_request", "no"));
    let run = Redraft::new();
    run.dir().write(
        "redraft.toml",
        "[provider]\nname = \"anthropic\"\nheaders = { \"x-api-key\" = \"sk-from-header\" }\n",
    );
    let out = run
        .args(["improve", "A lamp.", "--max-iterations", "1", "--base-url"])
        .args([server.root_url()])
        .env("ANTHROPIC_API_KEY", "")
        .env("REDRAFT__RETRY__MAX_ATTEMPTS", "1")
        .run();
    assert_eq!(server.request_count(), 1, "{out}");
    assert_eq!(server.header(0, "x-api-key").as_deref(), Some("sk-from-header"));
}

// ---------------------------------------------------------------------------------
// 12. Oversized and repeated values
// ---------------------------------------------------------------------------------

#[test]
fn a_huge_max_iterations_is_too_large_with_the_maximum() {
    let server = untouchable();
    for n in ["18446744073709551615", "99999999999999999999999"] {
        let out = Redraft::new()
            .args(["improve", "A lamp.", "--max-iterations", n])
            .server(&server)
            .run();
        assert_usage_error(&out, &["--max-iterations", "too large", "maximum is 1000"]);
        assert!(!out.stderr.contains("string"), "no type error about a string\n{out}");
    }
    let out = Redraft::new()
        .args(["config", "check"])
        .env("REDRAFT__ENGINE__MAX_ITERATIONS", "18446744073709551615")
        .run();
    assert_usage_error(&out, &["REDRAFT__ENGINE__MAX_ITERATIONS", "too large", "1000"]);
    assert_eq!(server.request_count(), 0);
}

#[test]
fn soft_given_twice_says_so() {
    let server = untouchable();
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--validator", "soft:soft:words:max=3"])
        .server(&server)
        .run();
    assert_usage_error(&out, &["`soft:soft:words:max=3`", "`soft:` is given twice"]);
    assert!(!out.stderr.contains("must come first"), "{out}");
    assert_eq!(server.request_count(), 0);
}

#[test]
fn a_critic_given_twice_runs_once_with_a_warning() {
    let server = never_satisfied();
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--max-iterations", "1", "--json"])
        .args(["--critic", "reflexion", "--critic", "reflexion"])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("redraft: warning: critic `reflexion` is listed twice"), "{out}");
    assert!(out.stderr.contains("--critic"), "{out}");
    assert_eq!(server.request_count(), 1, "one critique, not two");
    let t: Value = out.json();
    assert_eq!(t["config"]["critics"]["enabled"], serde_json::json!(["reflexion"]));
}

#[test]
fn a_critic_listed_twice_in_the_config_runs_once_with_a_warning() {
    let server = never_satisfied();
    let run = Redraft::new();
    run.dir().write("redraft.toml", "[critics]\nenabled = [\"reflexion\", \"reflexion\"]\n");
    let out = run.args(["improve", "A lamp.", "--max-iterations", "1"]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(out.stderr.contains("warning: critic `reflexion` is listed twice"), "{out}");
    assert!(out.stderr.contains("redraft.toml"), "{out}");
    assert_eq!(server.request_count(), 1, "one critique, not two");
}
