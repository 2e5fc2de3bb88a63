//! redraft — an iterative text-improvement engine.
//!
//! Give it a prompt ("write a product description for…") or a text ("improve this
//! email") and it loops **generate → validate → critique → revise** until the text is
//! accepted, stops improving, or a budget runs out. Every run keeps a complete audit
//! trail, a [`Thought`], that can be serialised and resumed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), redraft::Error> {
//! use redraft::{Engine, config::Config};
//! let config = Config::load(None)?;
//! let engine = Engine::from_config(&config)?;
//! let thought = engine.improve("Our product are good and cheap.").await;
//! println!("{}", thought.final_text.unwrap_or_default());
//! # Ok(()) }
//! ```
//!
//! # Layout
//!
//! - [`thought`] — the serialisable state of one run: iterations, verdicts, critiques,
//!   decisions, every model call, usage and timings.
//! - [`engine`] — the state machine that drives a run ([`Engine`], [`EngineBuilder`]).
//! - [`model`] — the [`LanguageModel`] trait, the request/completion types, the
//!   recorder every call goes through, structured (JSON) output, the providers, and
//!   the middleware that wraps them.
//! - [`critic`] — the [`Critic`] trait and critics defined as data (`critics/*.toml`).
//! - [`validator`] — the [`Validator`] trait, the built-in validator kinds, composition
//!   and presets (`validators/*.toml`).
//! - [`cache`] — the response cache: a stable key per request, and memory, Redis and
//!   file tiers (used by the cache layer in [`model::middleware`]).
//! - [`config`] — layered configuration: raw serde structs, then one resolved object.
//! - [`error`] — the library's error type.

pub mod cache;
pub mod config;
pub mod critic;
pub mod engine;
pub mod error;
mod files;
pub mod model;
pub mod thought;
pub mod validator;

pub use critic::Critic;
pub use engine::{Engine, EngineBuilder, Event};
pub use error::Error;
pub use model::LanguageModel;
pub use thought::{StopReason, Thought};
pub use validator::Validator;
