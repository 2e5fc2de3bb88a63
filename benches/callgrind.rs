//! Instructions executed by a whole `redraft improve` process, counted by valgrind's
//! callgrind: a measure that, unlike CPU time on a shared two-core machine, does not
//! move with the load.
//!
//! A fake OpenAI server runs in this process (not under valgrind) and answers at once:
//! the one critic (`reflexion`) is never satisfied and every revision differs, so
//! `--max-iterations N` makes exactly `2N − 1` model calls. The real binary runs under
//! `valgrind --tool=callgrind` with `--json` twice — 3 iterations (5 calls) and 9
//! iterations (17 calls) — and the difference over the 12 extra calls is the cost of
//! one model call; what a 5-call run costs beyond its 5 calls is start-up and exit.
//! `redraft --version` is measured too: the floor of any invocation.
//!
//! Run with: `cargo bench --bench callgrind` (needs `valgrind`; `apt-get install
//! valgrind`). With `REDRAFT_CALLGRIND_KEEP=DIR` the profiles are kept in `DIR`
//! (`version.out`, `improve-3.out`, `improve-9.out`) for `callgrind_annotate`. Under `cargo test --benches` it runs each scenario once without valgrind
//! and checks the call counts.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/it/support/mod.rs"]
mod support;

mod common;

use std::path::Path;
use std::process::Command;
use support::fake_openai::{FakeOpenAi, Reply, is_structured};

/// Target instructions for a whole 5-call improve.
const TOTAL_TARGET: u64 = 10_000_000;
/// Target instructions per model call.
const PER_CALL_TARGET: u64 = 150_000;

fn main() {
    let server = FakeOpenAi::start_blocking(|body, n| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "Still not there.")
        } else {
            Reply::text(&format!("Attempt number {n}, a little better than the last one."))
        }
    });
    let binary = Path::new(env!("CARGO_BIN_EXE_redraft"));
    let valgrind =
        common::bench_mode() && Command::new("valgrind").arg("--version").output().is_ok();
    if common::bench_mode() && !valgrind {
        println!(
            "callgrind: valgrind is not installed (apt-get install valgrind); nothing measured"
        );
        return;
    }
    let version = run(binary, &["--version"], valgrind, "version");
    let mut rows = Vec::new();
    for iterations in [3, 9] {
        let before = server.request_count();
        let name = format!("improve-{iterations}");
        let count = run(binary, &improve_args(&server, iterations), valgrind, &name);
        let calls = server.request_count() - before;
        assert_eq!(calls, 2 * iterations - 1, "the scenario makes 2N − 1 calls");
        rows.push((calls as u64, count));
    }
    if !valgrind {
        println!("callgrind: both scenarios ran with the expected number of calls: ok");
        return;
    }
    let [(calls_a, total_a), (calls_b, total_b)] = [rows[0], rows[1]];
    let per_call = total_b.saturating_sub(total_a) / (calls_b - calls_a);
    let start_up = total_a.saturating_sub(per_call * calls_a);
    println!("| measure | instructions | target |");
    println!("|---|---:|---:|");
    println!("| `redraft --version` | {} | |", thousands(version));
    println!(
        "| improve, {calls_a} calls (`--json`, 1 critic) | {} | ≤ {} |",
        thousands(total_a),
        thousands(TOTAL_TARGET)
    );
    println!("| improve, {calls_b} calls | {} | |", thousands(total_b));
    println!(
        "| per model call: ({} − {}) / {} | {} | ≤ {} |",
        thousands(total_b),
        thousands(total_a),
        calls_b - calls_a,
        thousands(per_call),
        thousands(PER_CALL_TARGET)
    );
    println!("| start-up and exit: 5-call total − 5 × per call | {} | |", thousands(start_up));
    println!();
    println!("{}", common::machine_line());
}

/// `improve` against `server` for `iterations` iterations, the Thought as JSON.
fn improve_args(server: &FakeOpenAi, iterations: usize) -> Vec<String> {
    [
        "improve",
        "Our lamp are good and cheap, buy it.",
        "--json",
        "--provider",
        "openai",
        "--base-url",
        &server.base_url(),
        "--critic",
        "reflexion",
        "--max-iterations",
        &iterations.to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Run `binary` with `args` (under callgrind when `valgrind`); the instructions it
/// executed, or 0 without valgrind. The profile is kept as `{name}.out` in the
/// directory `REDRAFT_CALLGRIND_KEEP` names, if set.
fn run(binary: &Path, args: &[impl AsRef<str>], valgrind: bool, name: &str) -> u64 {
    let dir = std::env::temp_dir().join(format!("redraft-callgrind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out_file = dir.join("callgrind.out");
    let mut cmd = if valgrind {
        let mut cmd = Command::new("valgrind");
        cmd.arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out_file.display()))
            .arg(binary);
        cmd
    } else {
        Command::new(binary)
    };
    cmd.args(args.iter().map(AsRef::as_ref)).current_dir(&dir).env_remove("RUST_LOG");
    for (name, _) in std::env::vars() {
        if name.starts_with("REDRAFT__") || name == "OPENAI_API_KEY" {
            cmd.env_remove(name);
        }
    }
    let output = cmd.output().expect("run redraft");
    assert!(
        output.status.success(),
        "redraft {:?} failed: {}",
        args.iter().map(AsRef::as_ref).collect::<Vec<_>>(),
        String::from_utf8_lossy(&output.stderr)
    );
    if !valgrind {
        return 0;
    }
    let profile = std::fs::read_to_string(&out_file).unwrap();
    if let Some(keep) = std::env::var_os("REDRAFT_CALLGRIND_KEEP") {
        let keep = Path::new(&keep);
        std::fs::create_dir_all(keep).unwrap();
        std::fs::copy(&out_file, keep.join(format!("{name}.out"))).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    profile
        .lines()
        .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
        .and_then(|n| n.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .expect("a callgrind summary line")
}

/// `n` with thin spaces between thousands.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
