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
//! In the order of the import rule (below), lowest first:
//!
//! - [`thought`] — the serialisable state of one run: iterations, verdicts, critiques,
//!   decisions, every model call, usage and timings; the words of a conversation
//!   ([`thought::message`]), the typed run settings ([`thought::settings`]) and the
//!   price table ([`thought::cost`]).
//! - [`model`] — the [`LanguageModel`] trait, the request/completion types, the
//!   recorder every call goes through, structured (JSON) output, the providers over one
//!   HTTP transport, and the in-process local model.
//! - [`cache`] — the response cache: a stable key per request, and memory, Redis and
//!   file tiers.
//! - [`store`] — where thoughts are kept: the [`ThoughtStore`] trait (save, load, list
//!   newest first, search, delete, ids by unique prefix), a small summary per thought
//!   for listing and search, and memory, file and Redis backends.
//! - [`middleware`] — the layers around a model: retry, rate and concurrency limits,
//!   timeout, fallback, and the cache layer; what each does and why in that order.
//! - [`critic`] — the [`Critic`] trait and critics defined as data (`critics/*.toml`).
//! - [`validator`] — the [`Validator`] trait, the built-in validator kinds, composition
//!   and presets (`validators/*.toml`).
//! - [`config`] — layered configuration: raw serde structs, then one resolved object.
//! - [`engine`] — the state machine that drives a run ([`Engine`], [`EngineBuilder`]):
//!   [`Engine::step`] advances a thought by one phase, [`Engine::run`] loops over it and
//!   tells an [`Observer`] of every event and of the thought after every phase.
//! - [`assemble`] — the wiring: configuration becomes providers, the middleware stack
//!   (the one place its order is built), the cache layer, critics, validators and the
//!   engine; the engine of a stored thought ([`assemble::resume`]); the dry-run planner.
//! - [`error`] — the library's error type (used by every module).
//!
//! The `redraft` binary's `cli` module sits on top of all of them.
//!
//! ## The import rule
//!
//! Imports run one way: each module uses only those listed before it —
//! `thought` → `model` → {`cache`, `store`} → `middleware` → {`critic`, `validator`} → `config` →
//! `engine` → `assemble` → (`cli`, in the binary). `error` and the private helpers
//! (`files`, `json`, and `backend`: the file-directory and Redis I/O that `cache`
//! and `store` share) may be used by all. In particular `model` knows nothing of `config`, and
//! `config` nothing of `engine`: configuration turns into objects only in [`assemble`].
//!
//! ## The public API
//!
//! The crate root re-exports what a typical use needs (the engine, its observer and
//! cancellation, the `Thought`, configuration, the three plug-in traits). Each module
//! re-exports its main types at its top; a submodule is public only where it is an API
//! of its own (a provider, the HTTP transport, the call recorder, structured output).
//! Everything else is `pub(crate)`: the `unreachable_pub` lint (in `Cargo.toml`) holds
//! that line.

pub mod assemble;
mod backend;
pub mod cache;
pub mod config;
pub mod critic;
pub mod engine;
pub mod error;
mod files;
mod json;
pub mod middleware;
pub mod model;
pub mod store;
pub mod thought;
pub mod validator;

pub use config::Config;
pub use critic::Critic;
pub use engine::{Cancel, Engine, EngineBuilder, Event, Observer};
pub use error::Error;
pub use model::LanguageModel;
pub use store::ThoughtStore;
pub use thought::{ErrorInfo, ErrorKind, StopReason, Thought};
pub use validator::Validator;
