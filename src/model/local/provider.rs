//! [`LocalModel`]: the [`LanguageModel`] of the `local` provider.

use super::fetch::check_size;
use super::runtime::{self, Job, Loaded, RuntimeError};
use super::{DEFAULT_MODEL, PROVIDER, grammar, missing_model_message, prompt};
use crate::Error;
use crate::model::{
    Completion, LanguageModel, ModelError, ModelErrorKind, PromptStyle, Request, ResponseFormat,
    TokenUsage,
};
use async_trait::async_trait;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How the local model runs (config `[local]`, resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSettings {
    /// The GGUF file to load.
    pub model_path: PathBuf,
    /// Generation threads, at least 1.
    pub threads: usize,
    /// Context size in tokens: prompt and answer together.
    pub context_size: u32,
    /// Cap on the tokens of any one answer, whatever the request asks for.
    pub max_tokens: u32,
    /// Seed of the sampler; each generation adds the number of generations before it
    /// in this process, so a retry draws differently while a run repeats exactly.
    pub seed: u32,
}

/// A small instruct model running in this process through llama.cpp.
///
/// Cheap to build more than once: the model file is loaded once per process and
/// shared. Requests run one at a time per model file, each on a blocking thread.
/// Dropping a request's future stops its generation at the next token.
pub struct LocalModel {
    loaded: &'static Loaded,
    settings: LocalSettings,
}

impl std::fmt::Debug for LocalModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalModel")
            .field("model", &self.loaded.name)
            .field("settings", &self.settings)
            .finish()
    }
}

impl LocalModel {
    /// Load the model `settings` names (or reuse it, if this process loaded it already).
    ///
    /// A missing file, a default model file of the wrong size, or a file llama.cpp cannot
    /// load is an [`Error::Provider`] that says to run `redraft model fetch`.
    pub fn load(settings: LocalSettings) -> Result<LocalModel, Error> {
        let path = &settings.model_path;
        if !path.is_file() {
            return Err(setup_error(missing_model_message(path)));
        }
        if path.file_name().is_some_and(|n| n == DEFAULT_MODEL.file_name)
            && let Err(e) = check_size(path, &DEFAULT_MODEL)
        {
            return Err(setup_error(format!(
                "{e}; run `redraft model fetch` to download it again"
            )));
        }
        let loaded = runtime::load(path).map_err(|e| {
            setup_error(format!(
                "{e}; run `redraft model fetch` for the default model, or check --model-path"
            ))
        })?;
        Ok(LocalModel { loaded, settings })
    }

    /// The file the model was loaded from (canonical).
    pub fn path(&self) -> &Path {
        &self.loaded.path
    }

    /// How long loading the file took, the first time this process loaded it.
    pub fn load_time(&self) -> Duration {
        self.loaded.load_time
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &LocalSettings {
        &self.settings
    }

    /// The job `request` (already prepared) describes.
    fn job(&self, request: &Request) -> Result<Job, ModelError> {
        let max_tokens = request.sampling.max_tokens.unwrap_or(self.settings.max_tokens);
        let grammar = match &request.format {
            ResponseFormat::Text => None,
            ResponseFormat::JsonSchema { schema, .. } => Some(serde_json::Value::clone(schema)),
            ResponseFormat::JsonObject => Some(serde_json::json!({ "type": "object" })),
        }
        .map(|schema| grammar::to_grammar(&grammar::bounded(&schema, max_tokens)))
        .transpose()
        .map_err(|e| {
            ModelError::new(
                ModelErrorKind::UnsupportedFormat,
                PROVIDER,
                format!("cannot turn the JSON schema into a grammar: {e}"),
            )
        })?;
        Ok(Job {
            messages: request
                .messages
                .iter()
                .map(|m| (role_name(m.role).to_owned(), m.content.clone()))
                .collect(),
            grammar,
            max_tokens,
            temperature: request.sampling.temperature.unwrap_or(prompt::MAX_TEMPERATURE),
            seed: self.settings.seed,
            threads: self.settings.threads,
            context_size: self.settings.context_size,
        })
    }
}

#[async_trait]
impl LanguageModel for LocalModel {
    fn provider(&self) -> &str {
        PROVIDER
    }

    fn model(&self) -> &str {
        &self.loaded.name
    }

    /// Caps `max_tokens` at `local.max_tokens` and the temperature at 0.3 and, for
    /// structured answers, adds an example answer to the system prompt.
    fn prepare<'a>(&self, request: &'a Request) -> Cow<'a, Request> {
        prompt::prepare(request, self.settings.max_tokens)
    }

    /// Compact: a 135M model copies tags and long instructions into its answer.
    fn prompt_style(&self) -> PromptStyle {
        PromptStyle::Compact
    }

    async fn complete(&self, request: &Request) -> Result<Completion, ModelError> {
        // Idempotent: a request that went through `prepare` already is unchanged.
        let request = self.prepare(request);
        let job = self.job(&request)?;
        let loaded = self.loaded;
        let cancel = CancelOnDrop(Arc::new(AtomicBool::new(false)));
        let flag = Arc::clone(&cancel.0);
        request.trace.sent(PROVIDER);
        let output = tokio::task::spawn_blocking(move || loaded.generate(&job, &flag))
            .await
            .map_err(|e| {
                ModelError::new(
                    ModelErrorKind::Server,
                    PROVIDER,
                    format!("generation panicked: {e}"),
                )
            })?
            .map_err(model_error)?;
        tracing::debug!(
            prompt_tokens = output.prompt_tokens,
            prompt_secs = output.prompt_time.as_secs_f64(),
            tokens = output.completion_tokens,
            secs = output.generation_time.as_secs_f64(),
            "local generation"
        );
        Ok(Completion {
            text: output.text,
            finish_reason: output.finish_reason,
            usage: TokenUsage {
                prompt_tokens: output.prompt_tokens,
                completion_tokens: output.completion_tokens,
            },
            model: self.loaded.name.clone(),
            provider: PROVIDER.to_owned(),
            ..Completion::default()
        })
    }
}

/// Sets the flag when the request's future is dropped, so the generation stops early.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn role_name(role: crate::model::Role) -> &'static str {
    match role {
        crate::model::Role::System => "system",
        crate::model::Role::User => "user",
        crate::model::Role::Assistant => "assistant",
    }
}

fn setup_error(reason: String) -> Error {
    Error::Provider { provider: PROVIDER.to_owned(), reason }
}

fn model_error(e: RuntimeError) -> ModelError {
    let kind = match &e {
        RuntimeError::ContextLength { .. } => ModelErrorKind::ContextLength,
        RuntimeError::Grammar(_) => ModelErrorKind::UnsupportedFormat,
        RuntimeError::Load(_) | RuntimeError::Generate(_) => ModelErrorKind::Server,
    };
    ModelError::new(kind, PROVIDER, e.to_string())
}
