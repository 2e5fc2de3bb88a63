//! Fake servers and assertions that many end-to-end tests of the binary share.

use super::cli::Output;
use super::fake_openai::{FakeOpenAi, Reply, is_structured};

/// A server that must not be called: every request is answered with a 500 saying so,
/// and `request_count` shows it.
pub fn untouchable() -> FakeOpenAi {
    FakeOpenAi::start_blocking(|_, _| Reply::error(500, "unexpected", "no request was expected"))
}

/// A server whose critic is never satisfied and whose revisions always differ.
pub fn never_satisfied() -> FakeOpenAi {
    FakeOpenAi::start_blocking(|body, n| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "Still not there.")
        } else {
            Reply::text(&format!("Attempt number {n}."))
        }
    })
}

/// A server whose critic asks for a revision and whose reviser refuses the key (401):
/// a run that fails at its first revision.
pub fn revision_refused() -> FakeOpenAi {
    FakeOpenAi::start_blocking(|body, _| {
        if is_structured(body) {
            Reply::verdict(true, 0.9, "Say more.")
        } else {
            Reply::error(401, "invalid_api_key", "Incorrect API key provided.")
        }
    })
}

/// Assert a usage, input or configuration failure: exit 2, nothing on stdout, one
/// `redraft: error:` line on stderr containing each of `needles`, and no panic.
pub fn assert_usage_error(out: &Output, needles: &[&str]) {
    assert_eq!(out.code, Some(2), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.starts_with("redraft: error: "), "{out}");
    assert!(!out.stderr.contains("panicked"), "{out}");
    for needle in needles {
        assert!(out.stderr.contains(needle), "stderr should mention {needle:?}:\n{out}");
    }
}
