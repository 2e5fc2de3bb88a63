//! The shutdown signal a run listens to (injected, so tests and the CLI control it).

use tokio::sync::watch;

/// The receiving side: a run stops with `cancelled` when this fires.
#[derive(Debug, Clone)]
pub struct Cancel(Option<watch::Receiver<bool>>);

/// The sending side: call [`CancelHandle::cancel`] to stop every run holding a
/// matching [`Cancel`].
#[derive(Debug)]
pub struct CancelHandle(watch::Sender<bool>);

impl Cancel {
    /// A signal that never fires.
    pub fn never() -> Self {
        Self(None)
    }

    /// A connected pair.
    pub fn pair() -> (CancelHandle, Cancel) {
        let (tx, rx) = watch::channel(false);
        (CancelHandle(tx), Cancel(Some(rx)))
    }

    /// Whether the signal has fired.
    pub fn is_cancelled(&self) -> bool {
        self.0.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Resolves when the signal fires (never, if the handle is dropped unfired).
    pub async fn cancelled(&self) {
        let Some(rx) = &self.0 else { return std::future::pending().await };
        let mut rx = rx.clone();
        if rx.wait_for(|fired| *fired).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl CancelHandle {
    /// Fire the signal.
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}
