//! The engine: drives a [`Thought`] through **draft → validate → critique → decide →
//! revise** until it is accepted, stops improving, or a budget runs out.
//!
//! The rules it enforces (see `DESIGN.md`, "The loop"):
//! - cheap validators all run; model-backed ones run only while every hard one passed;
//! - all critics of an iteration run concurrently, each with its own timeout; a critic
//!   that fails does not vote, and an iteration with no valid verdict is never accepted;
//! - a truncated or empty revision, or one that echoes the revision instructions (or,
//!   from the local model, has nothing to do with the text), never replaces the text;
//! - the final text is always validated and critiqued (except on `budget`,
//!   `cancelled`, `failed`), and the result is the best iteration, not the last.

mod builder;
mod cancel;
mod decide;
mod events;
mod observer;
mod prompts;
mod run;
mod unusable;

pub use crate::thought::cost::{Price, Prices};
pub use crate::thought::settings::{AcceptWhen, Budget, Settings};
pub use builder::{EngineBuilder, ValidatorEntry};
pub use cancel::{Cancel, CancelHandle};
pub use events::Event;
pub use observer::{Checkpoints, Observer};

use crate::critic::Critic;
use crate::model::LanguageModel;
use crate::thought::settings::RunSettings;
use crate::thought::{Mode, Phase, Thought};
use std::sync::Arc;

/// The improvement engine. Cheap to clone: clones share one model, critic set and
/// validator set, and may run concurrently.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    model: Arc<dyn LanguageModel>,
    critics: Vec<Arc<dyn Critic>>,
    validators: Vec<ValidatorEntry>,
    settings: Settings,
    prices: Prices,
    /// What every new thought records of this engine.
    described: RunSettings,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("provider", &self.inner.model.provider())
            .field("model", &self.inner.model.model())
            .field("critics", &self.inner.critics.iter().map(|c| c.name()).collect::<Vec<_>>())
            .field("validators", &self.inner.validators.len())
            .field("settings", &self.inner.settings)
            .finish()
    }
}

impl Engine {
    /// Start building an engine around `model`.
    pub fn builder(model: Arc<dyn LanguageModel>) -> EngineBuilder {
        EngineBuilder::new(model)
    }

    /// The engine's settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The price table that gives every call record its `cost_usd`.
    pub fn prices(&self) -> &Prices {
        &self.inner.prices
    }

    /// The names of the engine's critics, in order.
    pub fn critic_names(&self) -> Vec<&str> {
        self.inner.critics.iter().map(|c| c.name()).collect()
    }

    /// What this engine records in every thought it starts: its provider and model,
    /// critics, validators and settings.
    pub fn run_settings(&self) -> &RunSettings {
        &self.inner.described
    }

    /// A new thought for `mode` and `input`, recording this engine's run settings.
    pub fn new_thought(&self, mode: Mode, input: impl Into<String>) -> Thought {
        Thought::new(mode, input, self.inner.described.clone())
    }

    /// Improve `text` (it is the first draft) and return the finished thought.
    pub async fn improve(&self, text: impl Into<String>) -> Thought {
        self.run(self.new_thought(Mode::Improve, text), &Cancel::never(), &mut observer::Unobserved)
            .await
    }

    /// Write a first draft from `prompt`, improve it, and return the finished thought.
    pub async fn generate(&self, prompt: impl Into<String>) -> Thought {
        self.run(
            self.new_thought(Mode::Generate, prompt),
            &Cancel::never(),
            &mut observer::Unobserved,
        )
        .await
    }

    /// Continue a stored thought from its phase to the end, without repeating a call it
    /// recorded. A thought that stopped for `cancelled`, `budget` or `failed` starts
    /// again from the phase it stopped in; any other finished thought is returned as it
    /// is. The run goes on under this engine's budget: a deadline that differs from the
    /// stored one starts afresh (see [`Engine::step`]).
    pub async fn resume(&self, thought: Thought) -> Thought {
        self.run(Self::reopen(thought), &Cancel::never(), &mut observer::Unobserved).await
    }

    /// Reopen a thought stopped by `cancelled`, `budget` or `failed` at the phase it
    /// stopped in, so [`Engine::run`] continues it.
    pub fn reopen(mut thought: Thought) -> Thought {
        if let (Phase::Done, Some(phase)) = (thought.phase, thought.resume_from.take()) {
            thought.phase = phase;
            thought.stop_reason = None;
            thought.stop_detail = None;
            thought.error = None;
        }
        thought
    }

    /// Run `thought` in the background, yielding its [`Event`]s; the task's result is
    /// the finished thought.
    pub fn spawn_with_events(
        &self,
        thought: Thought,
        cancel: Cancel,
    ) -> (futures::channel::mpsc::UnboundedReceiver<Event>, tokio::task::JoinHandle<Thought>) {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let engine = self.clone();
        let task = tokio::spawn(async move {
            let mut send = move |e: &Event| {
                // A dropped receiver only means nobody watches progress any more.
                let _ = tx.unbounded_send(e.clone());
            };
            engine.run(thought, &cancel, &mut send).await
        });
        (rx, task)
    }
}
