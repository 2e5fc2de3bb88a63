//! Shared helpers for integration tests and benchmarks.
//!
//! Include from a test file with `mod support;`, or from a benchmark with
//! `#[path = "../tests/support/mod.rs"] mod support;`. See [`fake_openai`] for the fake
//! OpenAI-compatible server, and [`cli`] for running the real binary in isolation.

// Each test crate uses a different part of this module, and `pub` is what makes the
// helpers usable from the including file.
#![allow(dead_code, unreachable_pub)]
// A fixture that cannot start should fail the test loudly.
#![allow(clippy::expect_used, clippy::unwrap_used)]

pub mod cli;
pub mod fake_openai;
pub mod fake_providers;
pub mod servers;
