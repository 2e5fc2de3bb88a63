//! End-to-end tests of the real `redraft` binary against the fake OpenAI-compatible
//! server: input and output, the `--json` audit trail, and the wire contract (what
//! requests a run sends, and what they carry).
//!
//! Every run is isolated (see `support::cli`): a fresh empty directory, no `REDRAFT__*`
//! or `OPENAI_API_KEY` variables, `--base-url` pointing at the fake server.
#![allow(clippy::unwrap_used, clippy::expect_used)]


use crate::support::cli::Redraft;
use crate::support::fake_openai::{
    FakeOpenAi, Reply, is_structured, last_user_message, response_format_type,
};
use serde_json::Value;

/// A server whose critics are unhappy until the text contains `Revised.`, and whose
/// revisions answer `Revised. A solar lamp that lasts all night.`
fn revise_once_server() -> FakeOpenAi {
    FakeOpenAi::start_blocking(|body, _| {
        if !is_structured(body) {
            Reply::text("Revised. A solar lamp that lasts all night.")
        } else if last_user_message(body).contains("Revised.") {
            Reply::verdict(false, 0.9, "Clear and complete now.")
        } else {
            Reply::verdict(true, 0.9, "Say what powers the lamp.")
        }
    })
}

/// The structured (critique) requests among `requests`.
fn critique_requests(requests: &[Value]) -> Vec<&Value> {
    requests.iter().filter(|r| is_structured(r)).collect()
}

/// The `calls` of iteration `i` of a thought whose role is `role`.
fn calls_with_role<'a>(thought: &'a Value, i: usize, role: &str) -> Vec<&'a Value> {
    thought["iterations"][i]["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == role)
        .collect()
}

// ---------------------------------------------------------------------------------
// Input and output
// ---------------------------------------------------------------------------------

#[test]
fn improve_prints_exactly_the_final_text_and_a_summary_naming_the_stop_reason() {
    let server = revise_once_server();
    let out = Redraft::new().args(["improve", "A lamp."]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stdout, "Revised. A solar lamp that lasts all night.\n", "{out}");
    assert!(out.stderr.contains("redraft: accepted after 2 iteration(s)"), "{out}");
    assert!(out.stderr.contains("3 call(s)"), "{out}");
    assert_eq!(server.request_count(), 3);
}

#[test]
fn improve_reads_standard_input_with_a_dash() {
    let server = FakeOpenAi::start_blocking(|_, _| Reply::verdict(false, 0.9, "Fine."));
    let out = Redraft::new()
        .args(["improve", "-"])
        .server(&server)
        .stdin("A text from standard input.\n")
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stdout, "A text from standard input.\n", "{out}");
    let critique = &server.requests()[0];
    assert!(last_user_message(critique).contains("A text from standard input."));
}

#[test]
fn improve_reads_piped_standard_input_without_an_argument() {
    let server = FakeOpenAi::start_blocking(|_, _| Reply::verdict(false, 0.9, "Fine."));
    let out = Redraft::new().args(["improve", "--json"]).server(&server).stdin("Piped text.").run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.json()["input"], "Piped text.");
}

#[test]
fn improve_reads_a_file() {
    let server = FakeOpenAi::start_blocking(|_, _| Reply::verdict(false, 0.9, "Fine."));
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "A text from a file.\n");
    let out = run.args(["improve", "--file"]).args([&path]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stdout, "A text from a file.\n", "{out}");
    assert!(last_user_message(&server.requests()[0]).contains("A text from a file."));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "A text from a file.\n");
}

#[test]
fn in_place_rewrites_the_file_with_the_final_text() {
    let server = revise_once_server();
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "A lamp.\n");
    let out = run.args(["improve", "--in-place", "--file"]).args([&path]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    let written = std::fs::read_to_string(&path).unwrap();
    assert_eq!(written, "Revised. A solar lamp that lasts all night.\n");
    let names: Vec<_> = std::fs::read_dir(out.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["draft.txt"], "no temporary file is left behind");
}

#[test]
fn in_place_on_an_accepted_file_keeps_it_byte_for_byte() {
    let server = FakeOpenAi::start_blocking(|_, _| Reply::verdict(false, 0.9, "Fine."));
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "Already good.\n");
    let out = run.args(["improve", "--in-place", "--file"]).args([&path]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "Already good.\n");
    assert_eq!(out.stdout, "Already good.\n");
}

#[test]
fn in_place_leaves_the_file_unchanged_when_the_run_fails() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "Say more.")
        } else {
            Reply::error(401, "invalid_api_key", "Incorrect API key provided.")
        }
    });
    let run = Redraft::new();
    let path = run.dir().write("draft.txt", "A lamp.\n");
    let out = run.args(["improve", "--in-place", "--file"]).args([&path]).server(&server).run();
    assert_eq!(out.code, Some(1), "{out}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "A lamp.\n");
    assert!(out.stderr.contains("left unchanged"), "{out}");
}

#[test]
fn generate_sends_a_plain_draft_request_whose_last_user_message_is_the_prompt() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        if is_structured(body) {
            Reply::verdict(false, 0.9, "Fine.")
        } else {
            Reply::text("Meet the lamp that charges itself.")
        }
    });
    let prompt = "A product description for a solar lamp, under 50 words.";
    let out = Redraft::new().args(["generate", prompt]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    assert_eq!(out.stdout, "Meet the lamp that charges itself.\n");
    let requests = server.requests();
    assert_eq!(requests.len(), 2, "a draft, then one critique");
    let draft = &requests[0];
    assert!(draft.get("response_format").is_none(), "{draft}");
    assert_eq!(last_user_message(draft), prompt);
    let messages = draft["messages"].as_array().unwrap();
    assert_eq!(messages.last().unwrap()["role"], "user", "the prompt comes last: {draft}");
    assert!(last_user_message(&requests[1]).contains("Meet the lamp that charges itself."));
}

// ---------------------------------------------------------------------------------
// The --json audit trail
// ---------------------------------------------------------------------------------

#[test]
fn json_prints_the_whole_thought() {
    let server = revise_once_server();
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--json", "--validator", "require:solar"])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    let t = out.json();

    assert_eq!(t["schema_version"], 1);
    assert!(t["id"].as_str().is_some_and(|id| !id.is_empty()), "{t}");
    assert_eq!(t["mode"], "improve");
    assert_eq!(t["input"], "A lamp.");
    assert_eq!(t["phase"], "done");
    assert_eq!(t["stop_reason"], "accepted");
    assert_eq!(t["best_iteration"], 1);
    let iterations = t["iterations"].as_array().unwrap();
    assert_eq!(iterations.len(), 2);
    assert_eq!(t["final_text"], iterations[1]["text"]);
    assert_eq!(t["final_text"], "Revised. A solar lamp that lasts all night.");

    for (i, it) in iterations.iter().enumerate() {
        assert_eq!(it["index"], i);
        assert!(it["text"].is_string());
        assert!(it.get("generation").is_some(), "{it}");
        for v in it["validations"].as_array().unwrap() {
            assert!(v["validator"].is_string() && v["passed"].is_boolean(), "{v}");
            assert!(v["score"].is_number() && v["message"].is_string(), "{v}");
        }
        for c in it["critiques"].as_array().unwrap() {
            assert_eq!(c["critic"], "reflexion");
            assert!(c["needs_improvement"].is_boolean() && c["confidence"].is_number(), "{c}");
            assert!(c["feedback"].is_string() && c["suggestions"].is_array(), "{c}");
            assert!(c.get("error").is_some(), "{c}");
        }
        assert!(it["decision"].is_object(), "{it}");
        for call in it["calls"].as_array().unwrap() {
            assert!(!call["messages"].as_array().unwrap().is_empty(), "{call}");
            assert!(call["sampling"]["temperature"].is_number(), "{call}");
            assert!(call["sampling"]["max_tokens"].is_number(), "{call}");
            assert_eq!(call["prompt_tokens"], 12);
            assert_eq!(call["completion_tokens"], 7);
            assert!(call["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{call}");
            assert_eq!(call["attempt"], 1);
            assert_eq!(call["finish_reason"], "stop");
            assert_eq!(call["provider"], "openai");
        }
    }
    // The first draft failed its validator and was criticised; the revision passed.
    assert_eq!(iterations[0]["validations"][0]["passed"], false);
    assert_eq!(iterations[0]["critiques"][0]["needs_improvement"], true);
    assert_eq!(iterations[0]["decision"]["action"], "revise");
    assert_eq!(calls_with_role(&t, 0, "critique").len(), 1);
    assert_eq!(calls_with_role(&t, 0, "revise").len(), 1);
    assert_eq!(iterations[1]["generation"]["finish_reason"], "stop");
    // The final text itself was validated and critiqued.
    let last = &iterations[1];
    assert_eq!(last["validations"].as_array().unwrap().len(), 1);
    assert_eq!(last["validations"][0]["passed"], true);
    assert_eq!(last["critiques"].as_array().unwrap().len(), 1);
    assert_eq!(last["critiques"][0]["needs_improvement"], false);
    assert_eq!(last["decision"]["accepted"], true);

    assert_eq!(t["usage"]["calls"], server.request_count() as u64);
    assert_eq!(t["usage"]["calls"], 3);
    assert_eq!(t["usage"]["prompt_tokens"], 36);
    assert!(t["timings"]["total_ms"].is_number(), "{t}");
    let config = &t["config"];
    assert_eq!(config["provider"]["base_url"], server.base_url());
    assert_eq!(config["provider"]["api_key"], Value::Null, "no key was set");
    assert_eq!(config["validators"]["enabled"], serde_json::json!(["require:solar"]));
    assert!(out.stderr.contains("accepted"), "the summary still goes to stderr: {out}");
}

// ---------------------------------------------------------------------------------
// The wire contract
// ---------------------------------------------------------------------------------

#[test]
fn the_default_critic_is_reflexion_with_one_critique_request_per_iteration() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "Still vague.")
        } else {
            Reply::text("Another try.")
        }
    });
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--json", "--max-iterations", "2"])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    let t = out.json();
    assert_eq!(t["config"]["critics"]["enabled"], serde_json::json!(["reflexion"]));
    let requests = server.requests();
    assert_eq!(requests.len(), 3, "critique, revise, critique");
    assert_eq!(critique_requests(&requests).len(), 2);
    for i in 0..2 {
        let critiques = calls_with_role(&t, i, "critique");
        assert_eq!(critiques.len(), 1, "iteration {i}");
        assert_eq!(critiques[0]["critic"], "reflexion");
    }
}

#[test]
fn critique_requests_ask_for_the_verdict_schema_with_the_text_last() {
    let server = revise_once_server();
    let out = Redraft::new().args(["improve", "A lamp."]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    let requests = server.requests();
    let critiques = critique_requests(&requests);
    assert_eq!(critiques.len(), 2);
    for (critique, text) in
        critiques.iter().zip(["A lamp.", "Revised. A solar lamp that lasts all night."])
    {
        assert_eq!(critique["response_format"]["type"], "json_schema", "{critique}");
        let schema = &critique["response_format"]["json_schema"]["schema"];
        let required: Vec<&str> =
            schema["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        for field in ["needs_improvement", "confidence", "feedback", "suggestions"] {
            assert!(required.contains(&field), "{field} is required: {schema}");
        }
        let messages = critique["messages"].as_array().unwrap();
        assert_eq!(messages.last().unwrap()["role"], "user");
        assert!(last_user_message(critique).contains(text), "{critique}");
    }
    let revision = &requests[1];
    assert!(!is_structured(revision), "{revision}");
    assert_eq!(revision["messages"].as_array().unwrap().last().unwrap()["role"], "user");
    assert!(last_user_message(revision).contains("<text>\nA lamp.\n</text>"), "{revision}");
}

#[test]
fn the_revision_request_carries_every_critique_and_failed_validator_verbatim() {
    let server = FakeOpenAi::start_blocking(|body, n| {
        if is_structured(body) {
            // Each critique request gets its own, recognisable feedback.
            Reply::verdict(true, 0.9, &format!("Feedback number {n}: name the battery size."))
        } else {
            Reply::text("A solar lamp with a 2000 mAh battery.")
        }
    });
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--json", "--max-iterations", "2"])
        .args(["--critic", "reflexion", "--critic", "self_refine"])
        .args(["--validator", "require:solar", "--validator", "words:min=5"])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    let t = out.json();
    let first = &t["iterations"][0];
    let revisions: Vec<Value> =
        server.requests().into_iter().filter(|r| !is_structured(r)).collect();
    assert_eq!(revisions.len(), 1);
    let prompt = last_user_message(&revisions[0]);

    let critiques = first["critiques"].as_array().unwrap();
    assert_eq!(critiques.len(), 2);
    for c in critiques {
        let feedback = c["feedback"].as_str().unwrap();
        assert!(feedback.starts_with("Feedback number"), "{c}");
        assert!(prompt.contains(feedback), "missing {feedback:?} in:\n{prompt}");
    }
    let validations = first["validations"].as_array().unwrap();
    assert_eq!(validations.len(), 2);
    for v in validations {
        assert_eq!(v["passed"], false, "{v}");
        let message = v["message"].as_str().unwrap();
        assert!(!message.is_empty());
        assert!(prompt.contains(message), "missing {message:?} in:\n{prompt}");
    }
    assert!(prompt.contains("<text>\nA lamp.\n</text>"), "{prompt}");
}

#[test]
fn three_critics_make_exactly_three_critique_requests_per_iteration() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "Not yet.")
        } else {
            Reply::text("Another try.")
        }
    });
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--json", "--max-iterations", "2"])
        .args(["--critic", "reflexion", "--critic", "self_refine", "--critic", "constitutional"])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    let t = out.json();
    assert_eq!(t["stop_reason"], "max_iterations");
    let requests = server.requests();
    assert_eq!(critique_requests(&requests).len(), 6);
    assert_eq!(requests.len(), 7, "six critiques and one revision");
    for i in 0..2 {
        let mut names: Vec<&str> = calls_with_role(&t, i, "critique")
            .iter()
            .map(|c| c["critic"].as_str().unwrap())
            .collect();
        names.sort_unstable();
        assert_eq!(names, ["constitutional", "reflexion", "self_refine"], "iteration {i}");
    }
    assert_eq!(t["usage"]["calls"], 7);
}

// ---------------------------------------------------------------------------------
// Structured output: fallback and malformed answers
// ---------------------------------------------------------------------------------

#[test]
fn a_server_rejecting_json_schema_falls_back_to_json_object_and_the_audit_shows_it() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        if response_format_type(body).as_deref() == Some("json_schema") {
            Reply::schema_rejected()
        } else if !is_structured(body) {
            Reply::text("Revised. A solar lamp.")
        } else if last_user_message(body).contains("Revised.") {
            Reply::verdict(false, 0.9, "Good.")
        } else {
            Reply::verdict(true, 0.9, "Name the power source.")
        }
    });
    let out = Redraft::new().args(["improve", "A lamp.", "--json"]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    let t = out.json();
    assert_eq!(t["stop_reason"], "accepted");
    assert_eq!(t["final_text"], "Revised. A solar lamp.");

    let requests = server.requests();
    let formats: Vec<Option<String>> = requests.iter().map(response_format_type).collect();
    assert_eq!(
        formats,
        [Some("json_schema".into()), Some("json_object".into()), None, Some("json_object".into())],
        "one rejected schema request, then json_object for every later critique"
    );
    assert_eq!(t["usage"]["calls"], server.request_count() as u64);
    assert_eq!(t["usage"]["calls"], 4);

    let critiques = calls_with_role(&t, 0, "critique");
    assert_eq!(critiques.len(), 2, "the rejected attempt is in the audit");
    assert_eq!(critiques[0]["response_format"], "json_schema");
    assert!(critiques[0]["error"].as_str().is_some_and(|e| e.contains("400")), "{t}");
    assert_eq!(critiques[1]["response_format"], "json_object");
    assert_eq!(critiques[1]["error"], Value::Null);
    assert_eq!(critiques[1]["attempt"], 2);
    assert_eq!(t["iterations"][0]["critiques"][0]["error"], Value::Null, "the verdict counted");
}

#[test]
fn a_critic_answering_non_json_twice_does_not_vote_and_blocks_acceptance() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        if !is_structured(body) {
            Reply::text("Revised. A solar lamp.")
        } else if last_user_message(body).contains("Revised.") {
            Reply::verdict(false, 0.9, "Good.")
        } else {
            Reply::text("I think it is fine, really.")
        }
    });
    let out = Redraft::new().args(["improve", "A lamp.", "--json"]).server(&server).run();
    assert_eq!(out.code, Some(0), "{out}");
    let t = out.json();
    let first = &t["iterations"][0];
    let critique = &first["critiques"][0];
    let error = critique["error"].as_str().expect("the critique failed");
    assert!(error.contains("JSON"), "{error}");
    assert_eq!(first["decision"]["accepted"], false);
    assert_eq!(first["decision"]["critics_voting"], 0);
    assert_eq!(first["decision"]["action"], "revise");
    assert_eq!(t["stop_reason"], "accepted");
    assert_eq!(t["best_iteration"], 1);

    let requests = server.requests();
    assert_eq!(requests.len(), 4, "critique, re-ask, revision, critique");
    let reask = &requests[1];
    assert!(is_structured(reask));
    let messages = reask["messages"].as_array().unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m["role"] == "assistant" && m["content"] == "I think it is fine, really."),
        "the re-ask shows the model its answer: {reask}"
    );
    let attempts: Vec<&Value> =
        calls_with_role(&t, 0, "critique").iter().map(|c| &c["attempt"]).collect();
    assert_eq!(attempts, [1, 2]);
}

#[test]
fn a_garbage_http_body_is_a_recorded_critique_error_not_a_crash() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        if is_structured(body) {
            Reply::Raw { status: 200, body: "<html><body>Bad gateway</body></html>".into() }
        } else {
            Reply::text("unused")
        }
    });
    let out = Redraft::new()
        .args(["improve", "A lamp.", "--json", "--max-iterations", "1"])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
    let t = out.json();
    assert_eq!(t["stop_reason"], "max_iterations");
    let critique = &t["iterations"][0]["critiques"][0];
    let error = critique["error"].as_str().expect("the critique failed");
    assert!(error.contains("malformed"), "{error}");
    assert_eq!(t["iterations"][0]["decision"]["accepted"], false);
    assert_eq!(t["usage"]["calls"], server.request_count() as u64);
}

// ---------------------------------------------------------------------------------
// Validator specs from the command line
// ---------------------------------------------------------------------------------

#[test]
fn everything_after_regex_colon_is_one_pattern() {
    let server = FakeOpenAi::start_blocking(|_, _| Reply::verdict(false, 0.9, "Fine."));
    let out = Redraft::new()
        .args(["improve", "# Title\nx a,b:c y", "--json"])
        .args(["--validator", "regex:^#", "--validator", "regex:a,b:c"])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    let t = out.json();
    assert_eq!(
        t["config"]["validators"]["enabled"],
        serde_json::json!(["regex:^#", "regex:a,b:c"])
    );
    let validations = t["iterations"][0]["validations"].as_array().unwrap();
    let names: Vec<&str> = validations.iter().map(|v| v["validator"].as_str().unwrap()).collect();
    assert_eq!(names, ["regex(/^#/)", "regex(/a,b:c/)"]);
    assert!(validations.iter().all(|v| v["passed"] == true), "{t}");
    assert_eq!(t["stop_reason"], "accepted");
}

#[test]
fn a_failing_regex_validator_is_reported_with_its_pattern() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        if is_structured(body) {
            Reply::verdict(false, 0.9, "Fine.")
        } else {
            Reply::text("# Title\nNow with a heading.")
        }
    });
    let out = Redraft::new()
        .args(["improve", "No heading here.", "--json", "--validator", "regex:^#"])
        .server(&server)
        .run();
    assert_eq!(out.code, Some(0), "{out}");
    let t = out.json();
    assert_eq!(t["iterations"][0]["validations"][0]["passed"], false);
    assert_eq!(t["iterations"][1]["validations"][0]["passed"], true);
    assert_eq!(t["final_text"], "# Title\nNow with a heading.");
    assert_eq!(out.stdout.lines().next(), Some("{"), "--json prints only the thought");
}

#[test]
fn generate_stream_shows_the_draft_as_it_arrives() {
    let server = FakeOpenAi::start_blocking(|body, _| {
        if is_structured(body) {
            return Reply::verdict(false, 0.9, "fine");
        }
        let chunk = |content: &str, finish: Option<&str>| {
            serde_json::json!({"id": "c", "object": "chat.completion.chunk", "model": "m",
                "choices": [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]})
            .to_string()
        };
        assert_eq!(body["stream"], true, "drafts are streamed");
        Reply::sse(&[
            (None, chunk("Solar ", None)),
            (None, chunk("lamps shine.", Some("stop"))),
            (None, "[DONE]".to_owned()),
        ])
    });
    let out =
        Redraft::new().args(["generate", "--stream", "Write about lamps"]).server(&server).run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "Solar lamps shine.\n");
    assert!(out.stderr.contains("Solar lamps shine."), "{}", out.stderr);
    assert!(out.stderr.contains("streaming"), "{}", out.stderr);
}
