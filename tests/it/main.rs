//! The integration tests, built as one binary so that linking does not dominate a build
//! on two cores. Each module is one area; [`support`] holds the fake provider servers,
//! the CLI runner and the shared fixtures.
//!
//! Run one area with a filter, e.g. `cargo test --release --all-features cli_exit::`.

// A fixture or an assertion that cannot hold should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod cache_memory;
mod cache_tiers;
mod cli;
mod cli_exit;
mod config;
mod cost_budget;
mod cost_dry_run;
mod critics;
mod engine;
mod hardening_engine;
mod hardening_files;
mod hardening_inputs;
mod local_model;
mod middleware_engine;
mod middleware_stack;
mod openai_provider;
mod provider_conformance;
mod providers_anthropic;
mod providers_config;
mod providers_gemini;
mod providers_ollama;
mod resume;
mod store;
mod store_cli;
mod store_tiered;
mod validators;
