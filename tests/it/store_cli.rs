//! The thought store from the command line, through the real binary: `--store` on
//! `improve`, then `list`, `show`, `search`, `delete`; `kill -9` mid-run and `resume`
//! finishing it without repeating a completed call; `resume` refusing an explicit
//! different setting unless `--force`; the Redis store on the shared server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::cli::{Output, Redraft, Workdir, wait_until};
use crate::support::fake_openai::{FakeOpenAi, Reply, is_structured};
use crate::support::servers::{assert_usage_error, never_satisfied, revision_refused};
use serde_json::Value;
use std::time::Duration;

/// The id the run printed as `redraft: stored as ID`.
fn stored_id(out: &Output) -> String {
    out.stderr
        .lines()
        .find_map(|l| l.strip_prefix("redraft: stored as "))
        .unwrap_or_else(|| panic!("no `stored as` line:\n{out}"))
        .trim()
        .to_owned()
}

fn file_store(dir: &Workdir) -> String {
    format!("file:{}", dir.path().join("thoughts").display())
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not an array: {list}"))
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn improve_stores_the_thought_then_list_show_search_and_delete_find_it() {
    let server = never_satisfied();
    let dir = Workdir::new();
    let store = file_store(&dir);
    let run = Redraft::new()
        .args(["improve", "A solar lamp.", "--critic", "reflexion", "--max-iterations", "2"])
        .args(["--json", "--store", &store])
        .server(&server)
        .run();
    assert_eq!(run.code, Some(0), "{run}");
    let id = stored_id(&run);
    let improved = run.json();
    assert_eq!(improved["id"], id.as_str());

    let older = Redraft::new()
        .args(["generate", "Write about wind.", "--critic", "reflexion", "--max-iterations", "1"])
        .args(["--store", &store])
        .server(&server)
        .run();
    assert_eq!(older.code, Some(0), "{older}");
    let newest = stored_id(&older);

    let list = Redraft::new().args(["list", "--json", "--store", &store]).run();
    assert_eq!(list.code, Some(0), "{list}");
    assert_eq!(ids(&list.json()), [newest.as_str(), id.as_str()], "newest first");
    let limited = Redraft::new().args(["list", "--json", "--limit", "1", "--store", &store]).run();
    assert_eq!(ids(&limited.json()), [newest.as_str()]);
    let text = Redraft::new().args(["list", "--store", &store]).run();
    assert_eq!(text.code, Some(0), "{text}");
    assert!(text.stdout.contains(&id) && text.stdout.contains("max_iterations"), "{text}");

    // A unique prefix is enough; --json is the Thought exactly as improve printed it.
    let prefix = &id[..id.len() - 2];
    let shown = Redraft::new().args(["show", prefix, "--json", "--store", &store]).run();
    assert_eq!(shown.code, Some(0), "{shown}");
    assert_eq!(shown.json(), improved);
    let audit = Redraft::new().args(["show", &id, "--store", &store]).run();
    assert_eq!(audit.code, Some(0), "{audit}");
    for needle in [
        "=== iteration 0",
        "=== iteration 1",
        "A solar lamp.",
        "critiques:",
        "reflexion: needs improvement",
        "decision: revise",
        "calls:",
        "tokens",
        "stopped: max_iterations",
    ] {
        assert!(audit.stdout.contains(needle), "`{needle}` missing:\n{audit}");
    }

    let search = |extra: &[&str]| {
        let out = Redraft::new().args(["search", "--json", "--store", &store]).args(extra).run();
        assert_eq!(out.code, Some(0), "{out}");
        ids(&out.json())
    };
    assert_eq!(search(&["solar"]), [id.as_str()]);
    assert_eq!(search(&["SOLAR", "--critic", "reflexion"]), [id.as_str()]);
    assert!(search(&["solar", "--critic", "self_refine"]).is_empty());
    assert_eq!(search(&["", "--stop-reason", "max_iterations"]).len(), 2);
    assert!(search(&["", "--stop-reason", "accepted"]).is_empty());
    assert_eq!(search(&["", "--since", "2000-01-01"]).len(), 2);
    assert!(search(&["", "--since", "2999-01-01T00:00:00Z"]).is_empty());
    assert!(search(&["no such words"]).is_empty());
    let bad = Redraft::new().args(["search", "x", "--since", "yesterday", "--store", &store]).run();
    assert_usage_error(&bad, &["--since"]);
    let bad =
        Redraft::new().args(["search", "x", "--stop-reason", "bored", "--store", &store]).run();
    assert_usage_error(&bad, &["--stop-reason"]);

    let deleted = Redraft::new().args(["delete", prefix, "--store", &store]).run();
    assert_eq!(deleted.code, Some(0), "{deleted}");
    let list = Redraft::new().args(["list", "--json", "--store", &store]).run();
    assert_eq!(ids(&list.json()), [newest.as_str()]);
    let gone = Redraft::new().args(["show", &id, "--store", &store]).run();
    assert_usage_error(&gone, &[&id]);
    let again = Redraft::new().args(["delete", &id, "--store", &store]).run();
    assert_usage_error(&again, &[&id]);
}

#[test]
fn without_a_store_the_store_commands_say_how_to_configure_one() {
    for args in
        [&["list"][..], &["show", "abc"], &["search", "x"], &["delete", "abc"], &["resume", "abc"]]
    {
        let out = Redraft::new().args(args).run();
        assert_usage_error(&out, &["no thought store is configured", "--store", "[store]"]);
    }
}

#[test]
fn a_bad_store_value_is_a_usage_error_naming_the_flag_without_the_password() {
    for bad in ["tiered?", "file:", "mysql://user:hunter2@db"] {
        let out = Redraft::new().args(["improve", "A lamp.", "--store", bad]).run();
        assert_usage_error(&out, &["--store"]);
        assert!(!out.stderr.contains("hunter2"), "{out}");
    }
    let out = Redraft::new()
        .args(["list", "--store", "redis://:hunter2@127.0.0.1:1"])
        .env("REDRAFT__STORE__PREFIX", "redraft-test-store-cli-unreachable")
        .run();
    assert_eq!(out.code, Some(1), "an unreachable Redis is a failure: {out}");
    assert!(out.stderr.contains("redis://:[redacted]@127.0.0.1:1"), "{out}");
    assert!(!out.stderr.contains("hunter2"), "{out}");
}

#[test]
fn a_run_killed_mid_run_is_finished_by_resume_without_repeating_a_completed_call() {
    // Critique, revise, then the second critique hangs until the run is killed.
    let server = FakeOpenAi::start_blocking(|body, n| {
        let reply = if is_structured(body) {
            Reply::verdict(true, 0.9, "Still not there.")
        } else {
            Reply::text(&format!("Attempt number {n}."))
        };
        if n == 2 { reply.delayed(Duration::from_secs(600)) } else { reply }
    });
    let dir = Workdir::new();
    let store = file_store(&dir);
    let running = Redraft::new()
        .args(["improve", "A lamp.", "--critic", "reflexion", "--max-iterations", "3"])
        .args(["--store", &store])
        .server(&server)
        .spawn();
    wait_until("the third request", Duration::from_secs(60), || server.request_count() >= 3);
    let status = std::process::Command::new("kill")
        .args(["-KILL", &running.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let killed = running.wait();
    assert_eq!(killed.code, None, "killed by a signal: {killed}");
    let id = stored_id(&killed);

    let stored = Redraft::new().args(["show", &id, "--json", "--store", &store]).run();
    let stored = stored.json();
    assert_eq!(stored["phase"], "critique", "{stored}");
    assert!(stored["stop_reason"].is_null());
    let stored_calls = stored["usage"]["calls"].as_u64().unwrap();
    assert_eq!(stored_calls, 2, "the two completed calls were stored");

    let resumed = Redraft::new()
        .args(["resume", &id[..8], "--json", "--store", &store])
        .server(&server)
        .run();
    assert_eq!(resumed.code, Some(0), "{resumed}");
    assert_eq!(stored_id(&resumed), id);
    let t = resumed.json();
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["stop_reason"], "max_iterations");
    assert_eq!(t["iterations"].as_array().unwrap().len(), 3);
    // Every request but the one in flight at the kill is a call of the thought.
    let calls = t["usage"]["calls"].as_u64().unwrap();
    assert_eq!(calls, 5);
    assert_eq!(server.request_count() as u64, calls + 1, "no completed call was sent again");
    assert_eq!(t["iterations"][0], stored["iterations"][0], "the stored work is kept");
    let again = Redraft::new().args(["show", &id, "--json", "--store", &store]).run();
    assert_eq!(again.json(), t, "the finished thought is stored");
}

#[test]
fn resume_refuses_an_explicit_different_critic_unless_forced() {
    let failing = revision_refused();
    let dir = Workdir::new();
    let store = file_store(&dir);
    let failed = Redraft::new()
        .args(["improve", "A lamp.", "--critic", "reflexion", "--store", &store])
        .server(&failing)
        .run();
    assert_eq!(failed.code, Some(1), "{failed}");
    let id = stored_id(&failed);

    let server = never_satisfied();
    let refused = Redraft::new()
        .args(["resume", &id, "--critic", "self_refine", "--store", &store])
        .server(&server)
        .run();
    assert_usage_error(&refused, &["critics", "reflexion", "self_refine", "--force"]);
    assert_eq!(server.request_count(), 0, "nothing was sent");

    let forced = Redraft::new()
        .args([
            "resume",
            &id,
            "--critic",
            "self_refine",
            "--force",
            "--json",
            "--max-iterations",
            "2",
        ])
        .args(["--store", &store])
        .server(&server)
        .run();
    assert_eq!(forced.code, Some(0), "{forced}");
    assert!(forced.stderr.contains("self_refine"), "{forced}");
    let t = forced.json();
    assert_eq!(t["id"], id.as_str());
    assert_eq!(t["stop_reason"], "max_iterations", "{t}");
    let critics: Vec<&str> = t["iterations"][1]["critiques"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["critic"].as_str().unwrap())
        .collect();
    assert_eq!(critics, ["self_refine"]);
}

/// Removes every key under a prefix of the shared Redis when dropped.
struct RedisPrefix(String);

impl Drop for RedisPrefix {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open("redis://127.0.0.1:6379") else { return };
        let Ok(mut conn) = client.get_connection() else { return };
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{}:*", self.0)).query(&mut conn).unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut conn);
        }
    }
}

#[test]
fn the_redis_store_keeps_lists_shows_and_deletes_a_run() {
    let prefix = RedisPrefix(format!("redraft-test-store-cli-{}", std::process::id()));
    let store = "redis://127.0.0.1:6379";
    let cmd = || Redraft::new().env("REDRAFT__STORE__PREFIX", &prefix.0);
    let server = never_satisfied();
    let run = cmd()
        .args(["improve", "A wind lamp.", "--critic", "reflexion", "--max-iterations", "1"])
        .args(["--json", "--store", store])
        .server(&server)
        .run();
    assert_eq!(run.code, Some(0), "{run}");
    let id = stored_id(&run);

    let mut conn = redis::Client::open(store).unwrap().get_connection().unwrap();
    let exists: bool =
        redis::cmd("EXISTS").arg(format!("{}:thought:{id}", prefix.0)).query(&mut conn).unwrap();
    assert!(exists, "the thought is under the configured prefix");

    let list = cmd().args(["list", "--json", "--store", store]).run();
    assert_eq!(ids(&list.json()), [id.as_str()], "{list}");
    let shown = cmd().args(["show", &id, "--json", "--store", store]).run();
    assert_eq!(shown.json(), run.json());
    let found = cmd().args(["search", "wind", "--json", "--store", store]).run();
    assert_eq!(ids(&found.json()), [id.as_str()], "{found}");
    let deleted = cmd().args(["delete", &id, "--store", store]).run();
    assert_eq!(deleted.code, Some(0), "{deleted}");
    let list = cmd().args(["list", "--json", "--store", store]).run();
    assert!(ids(&list.json()).is_empty(), "{list}");
}

#[test]
fn the_tiered_store_writes_through_to_redis_and_files_and_lists_from_them() {
    let prefix = RedisPrefix(format!("redraft-test-store-tiered-cli-{}", std::process::id()));
    let dir = Workdir::new();
    let files = dir.path().join("thoughts");
    let cmd = || {
        Redraft::new()
            .env("REDRAFT__STORE__PREFIX", &prefix.0)
            .env("REDRAFT__STORE__URL", "redis://127.0.0.1:6379")
            .env("REDRAFT__STORE__DIR", files.to_str().unwrap())
    };
    let server = never_satisfied();
    let run = cmd()
        .args(["improve", "A tiered lamp.", "--critic", "reflexion", "--max-iterations", "1"])
        .args(["--json", "--store", "tiered"])
        .server(&server)
        .run();
    assert_eq!(run.code, Some(0), "{run}");
    let id = stored_id(&run);
    assert!(files.join(format!("{id}.json")).is_file(), "written through to the file tier");
    let mut conn = redis::Client::open("redis://127.0.0.1:6379").unwrap().get_connection().unwrap();
    let exists: bool =
        redis::cmd("EXISTS").arg(format!("{}:thought:{id}", prefix.0)).query(&mut conn).unwrap();
    assert!(exists, "written through to Redis");
    let list = cmd().args(["list", "--json", "--store", "tiered"]).run();
    assert_eq!(ids(&list.json()), [id.as_str()], "{list}");
    let shown = cmd().args(["show", &id, "--json", "--store", "tiered"]).run();
    assert_eq!(shown.json(), run.json());

    let neither = Redraft::new().args(["list", "--store", "tiered"]).run();
    assert_eq!(neither.code, Some(2), "{neither}");
    assert!(neither.stderr.contains("store.url, store.dir or both"), "{neither}");
}
