//! Rebuilding the engine that made a stored [`Thought`]: its run settings become a
//! configuration layer (above the user's file and environment, below what the caller
//! gives explicitly), the API keys come from the environment, and what differs from
//! the stored settings is reported.

use crate::config::{Config, LoadOptions};
use crate::thought::Thought;
use crate::{Engine, Error};

/// An engine rebuilt for a stored thought, and how its settings differ from the
/// stored ones.
#[derive(Debug)]
pub struct Rebuilt {
    /// The engine, ready for [`Engine::resume`].
    pub engine: Engine,
    /// One `key: stored → now` line for each setting that differs from the stored one
    /// (a setting given explicitly, a critic whose definition changed, a redacted base
    /// URL the configuration now sets differently); budgets and the deadline may change
    /// on resume and are not listed.
    pub differences: Vec<String>,
}

/// The engine that made `thought`, from its run settings, then what `opts` says
/// explicitly: its `file` (`--config`), `REDRAFT__` variables, overrides and flags win
/// over the stored settings, and each difference they make is listed; a `redraft.toml`
/// found in the working directory only fills what the thought does not record (such as
/// timeouts and retry policy). The API keys are read from the environment as usual.
pub fn rebuild(thought: &Thought, opts: &LoadOptions) -> Result<Rebuilt, Error> {
    let name = format!("stored thought {}", thought.id);
    let opts = LoadOptions { stored: Some((name, thought.settings.clone())), ..opts.clone() };
    let config = Config::load_with(&opts)?;
    let engine = Engine::from_config(&config)?;
    let differences = thought.settings.differences(engine.run_settings());
    Ok(Rebuilt { engine, differences })
}

impl Engine {
    /// The engine that made `thought`, rebuilt from its stored run settings and the
    /// API keys in the environment (`./redraft.toml` fills only what the thought does
    /// not record). An error when the rebuilt engine would differ from the stored one —
    /// a `REDRAFT__` variable that sets a recorded key otherwise, a critic whose
    /// definition changed — listing each difference; see [`rebuild`] to decide yourself.
    ///
    /// ```no_run
    /// # async fn demo(stored: &str) -> Result<(), redraft::Error> {
    /// let thought: redraft::Thought = serde_json::from_str(stored).unwrap();
    /// let engine = redraft::Engine::for_thought(&thought)?;
    /// let finished = engine.resume(thought).await;
    /// # let _ = finished; Ok(()) }
    /// ```
    pub fn for_thought(thought: &Thought) -> Result<Engine, Error> {
        let Rebuilt { engine, differences } = rebuild(thought, &LoadOptions::default())?;
        if differences.is_empty() {
            return Ok(engine);
        }
        Err(Error::config(
            format!("stored thought {}", thought.id),
            None,
            format!(
                "the engine rebuilt for it differs from the one that made it: {}",
                differences.join("; ")
            ),
        ))
    }
}
