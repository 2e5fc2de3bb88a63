//! [`Observer`]: what watches a run — a progress display takes its [`Event`]s, a store
//! takes the [`Thought`] after every phase as a checkpoint to resume from.

use super::Event;
use crate::thought::Thought;

/// Watches a run. Both methods do nothing by default; implement the ones you need.
///
/// A closure over `&Event` is an observer of events:
///
/// ```
/// # use redraft::engine::{Event, Observer};
/// let mut seen = 0;
/// let mut count = |_: &Event| seen += 1;
/// let observer: &mut dyn Observer = &mut count;
/// # let _ = observer;
/// ```
pub trait Observer: Send {
    /// Something happened: a phase began or ended, text streamed in, the run finished.
    fn event(&mut self, event: &Event) {
        let _ = event;
    }

    /// A phase was applied to `thought` (every call it made is recorded, its phase is
    /// the next one): store it here and [`Engine::resume`](super::Engine::resume) can
    /// continue from it without repeating a call.
    fn checkpoint(&mut self, thought: &Thought) {
        let _ = thought;
    }
}

impl<F: FnMut(&Event) + Send> Observer for F {
    fn event(&mut self, event: &Event) {
        self(event);
    }
}

/// An observer that sees nothing.
pub(crate) struct Unobserved;

impl Observer for Unobserved {}

/// An observer of checkpoints only: `Checkpoints(|t: &Thought| …)`.
pub struct Checkpoints<F>(pub F);

impl<F: FnMut(&Thought) + Send> Observer for Checkpoints<F> {
    fn checkpoint(&mut self, thought: &Thought) {
        (self.0)(thought);
    }
}
