//! A critic that talks to its own model (a critic file's `[model] name = "…"`), instead
//! of the run's model. Everything else — text, history, call log — is the run's.

use super::{Critic, CriticError, CritiqueContext};
use crate::model::LanguageModel;
use crate::thought::Critique;
use async_trait::async_trait;
use std::sync::Arc;

/// Wraps a critic so that its calls go to `model`.
pub struct OwnModel {
    critic: Arc<dyn Critic>,
    model: Arc<dyn LanguageModel>,
}

impl OwnModel {
    /// `critic`, asking `model`.
    pub fn new(critic: Arc<dyn Critic>, model: Arc<dyn LanguageModel>) -> Self {
        Self { critic, model }
    }
}

#[async_trait]
impl Critic for OwnModel {
    fn name(&self) -> &str {
        self.critic.name()
    }

    fn version(&self) -> u32 {
        self.critic.version()
    }

    async fn critique(&self, cx: &CritiqueContext<'_>) -> Result<Critique, CriticError> {
        let cx = CritiqueContext { model: &*self.model, ..*cx };
        self.critic.critique(&cx).await
    }
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use super::*;
    use crate::critic::Registry;
    use crate::model::scripted::{ScriptedModel, reply};
    use crate::model::{CallLog, Sampling};
    use crate::thought::Mode;

    #[tokio::test]
    async fn calls_go_to_the_critics_own_model() {
        let verdict =
            r#"{"needs_improvement":false,"confidence":0.9,"feedback":"ok","suggestions":[]}"#;
        let run_model = ScriptedModel::new(|_, _| Ok(reply("wrong model")));
        let own = Arc::new(ScriptedModel::new(move |_, _| Ok(reply(verdict))));
        let critic = Registry::builtin().build("reflexion", None, Sampling::default()).unwrap();
        let critic = OwnModel::new(critic, own.clone());
        let log = CallLog::new();
        let cx = CritiqueContext {
            text: "t",
            input: "t",
            mode: Mode::Improve,
            iteration: 0,
            history: &[],
            model: &run_model,
            log: &log,
        };
        let c = critic.critique(&cx).await.unwrap();
        assert_eq!(c.feedback, "ok");
        assert_eq!(own.requests().len(), 1);
        assert!(run_model.requests().is_empty());
        assert_eq!(log.len(), 1, "the call is recorded in the run's log");
    }
}
