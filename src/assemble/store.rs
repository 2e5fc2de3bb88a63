//! The thought store a [`StoreConfig`] describes, and [`StoreCheckpoints`]: the
//! [`Observer`] that saves the thought after every phase of a run.

use crate::Observer;
use crate::config::{StoreConfig, StoreKind};
use crate::store::{FileStore, MemoryStore, RedisStore, StoreError, ThoughtStore, Tiered};
use crate::thought::Thought;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::sync::mpsc;

/// How many thoughts a `memory` store keeps.
pub const MEMORY_CAPACITY: usize = 1000;

/// The store `config` describes, or `None` for `kind = "none"`. A file store's
/// directory is created here; Redis is reached on first use.
pub fn open(config: &StoreConfig) -> Result<Option<Arc<dyn ThoughtStore>>, StoreError> {
    let store: Arc<dyn ThoughtStore> = match config.kind {
        StoreKind::None => return Ok(None),
        StoreKind::Memory => Arc::new(MemoryStore::new(MEMORY_CAPACITY)),
        StoreKind::File => {
            let dir = config.dir.clone().unwrap_or_default();
            Arc::new(FileStore::open(dir)?)
        }
        StoreKind::Redis => Arc::new(redis(config, config.url.as_ref())?),
        StoreKind::Tiered => {
            let mut tiers = Tiered::builder().memory(MemoryStore::new(MEMORY_CAPACITY));
            if let Some(url) = &config.url {
                tiers = tiers.redis(redis(config, Some(url))?);
            }
            if let Some(dir) = &config.dir {
                tiers = tiers.file(FileStore::open(dir.clone())?);
            }
            Arc::new(tiers.build()?)
        }
    };
    Ok(Some(store))
}

fn redis(
    config: &StoreConfig,
    url: Option<&secrecy::SecretString>,
) -> Result<RedisStore, StoreError> {
    let url = url.map(|u| u.expose_secret().to_owned()).unwrap_or_default();
    RedisStore::builder(url).prefix(&config.prefix).ttl(config.ttl).build()
}

type Job = (Box<Thought>, mpsc::SyncSender<Result<(), StoreError>>);
type OnError = Box<dyn FnMut(&Thought, &StoreError) + Send>;

/// An [`Observer`] whose [`checkpoint`](Observer::checkpoint) saves the thought, so an
/// interrupted run can be resumed from its last phase.
///
/// Each save finishes before the run goes on to its next phase (a phase's calls are
/// stored before the next phase sends any), on a thread with its own runtime: the
/// observer works from any runtime, a single-threaded one included. A failed save is
/// handed to [`on_error`](Self::on_error) — once per outage, not once per phase — and
/// the run goes on.
pub struct StoreCheckpoints {
    jobs: Option<mpsc::Sender<Job>>,
    worker: Option<std::thread::JoinHandle<()>>,
    on_error: OnError,
    failing: bool,
}

impl std::fmt::Debug for StoreCheckpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreCheckpoints").field("failing", &self.failing).finish_non_exhaustive()
    }
}

impl StoreCheckpoints {
    /// Checkpoints into the store `config` describes (opened on the saving thread), or
    /// `None` for `kind = "none"`. Failures are logged (`tracing`) until
    /// [`on_error`](Self::on_error) says otherwise.
    pub fn spawn(config: &StoreConfig) -> Result<Option<Self>, StoreError> {
        if config.kind == StoreKind::None {
            return Ok(None);
        }
        let config = config.clone();
        let (opened_tx, opened) = mpsc::sync_channel::<Result<(), StoreError>>(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let worker = std::thread::Builder::new()
            .name("redraft-store".to_owned())
            .spawn(move || {
                let runtime =
                    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(rt) => rt,
                        Err(e) => {
                            let path = std::path::PathBuf::from("tokio runtime");
                            let _ = opened_tx.send(Err(StoreError::Io { path, source: e }));
                            return;
                        }
                    };
                let store = match runtime.block_on(async { open(&config) }) {
                    Ok(Some(store)) => store,
                    Ok(None) => return,
                    Err(e) => {
                        let _ = opened_tx.send(Err(e));
                        return;
                    }
                };
                let _ = opened_tx.send(Ok(()));
                while let Ok((thought, done)) = queue.recv() {
                    let _ = done.send(runtime.block_on(store.save(&thought)));
                }
            })
            .map_err(|source| StoreError::Io { path: "store thread".into(), source })?;
        match opened.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => {
                let source = std::io::Error::other("the store thread stopped");
                return Err(StoreError::Io { path: "store thread".into(), source });
            }
        }
        Ok(Some(Self {
            jobs: Some(jobs),
            worker: Some(worker),
            on_error: Box::new(|thought, e| {
                tracing::warn!("could not store thought {}: {e}", thought.id);
            }),
            failing: false,
        }))
    }

    /// Call `f` with the thought and the error when a save fails (the first failure
    /// after a success, not every one while the store stays unreachable).
    pub fn on_error(mut self, f: impl FnMut(&Thought, &StoreError) + Send + 'static) -> Self {
        self.on_error = Box::new(f);
        self
    }

    /// Save `thought` now, waiting until it is saved.
    pub fn save(&mut self, thought: &Thought) -> Result<(), StoreError> {
        let (done, result) = mpsc::sync_channel(1);
        let stopped = || StoreError::Io {
            path: "store thread".into(),
            source: std::io::Error::other("the store thread stopped"),
        };
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        jobs.send((Box::new(thought.clone()), done)).map_err(|_| stopped())?;
        result.recv().map_err(|_| stopped())?
    }

    /// [`save`](Self::save), with a failure reported as [`on_error`](Self::on_error)
    /// says; whether it was saved.
    pub fn save_or_report(&mut self, thought: &Thought) -> bool {
        match self.save(thought) {
            Ok(()) => {
                self.failing = false;
                true
            }
            Err(e) => {
                if !self.failing {
                    (self.on_error)(thought, &e);
                }
                self.failing = true;
                false
            }
        }
    }
}

impl Observer for StoreCheckpoints {
    fn checkpoint(&mut self, thought: &Thought) {
        self.save_or_report(thought);
    }
}

impl Drop for StoreCheckpoints {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
