//! The llama.cpp side of the local provider: one backend per process, one loaded model
//! per file, and the token loop of one generation.
//!
//! `LlamaBackend::init` may run only once per process, so the backend lives in a
//! `OnceLock`. A loaded model is immutable and shared (`Send + Sync`); it is loaded once
//! per file and kept for the life of the process (a few hundred KB of bookkeeping plus
//! the memory-mapped weights). Contexts are `Send` but not `Sync`, and creating two at
//! once from one model is unsound in llama.cpp, so each generation creates its own
//! context on a blocking thread while holding the model's lock: one generation at a
//! time per model. On a small machine that is also the fastest schedule, since one
//! generation already uses every thread it is given.

use crate::model::FinishReason;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use llama_cpp_2::token::data::LlamaTokenData;
use llama_cpp_2::token::data_array::LlamaTokenDataArray;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// Why the runtime failed; the provider maps it to a [`crate::model::ModelError`] or a
/// setup error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RuntimeError {
    /// The backend or the model could not be set up.
    #[error("{0}")]
    Load(String),
    /// The prompt does not fit the context.
    #[error(
        "the prompt has {prompt} tokens; the context holds {context} (raise local.context_size)"
    )]
    ContextLength {
        /// Prompt tokens.
        prompt: usize,
        /// Context size.
        context: u32,
    },
    /// A grammar could not be built.
    #[error("cannot build the output grammar: {0}")]
    Grammar(String),
    /// llama.cpp failed while generating.
    #[error("generation failed: {0}")]
    Generate(String),
}

/// The process's llama.cpp backend. Its log lines go to `tracing` with the target
/// `llama-cpp-2` (the `redraft` binary shows them only with `-v`: `cli::stderr`).
fn backend() -> Result<&'static LlamaBackend, RuntimeError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| RuntimeError::Load(format!("cannot start llama.cpp: {e}")))
}

/// A model file loaded into memory, shared by every request in the process.
pub(crate) struct Loaded {
    /// The canonical path it was loaded from.
    pub(crate) path: PathBuf,
    /// The file stem, reported as the model name.
    pub(crate) name: String,
    /// How long loading took.
    pub(crate) load_time: Duration,
    model: LlamaModel,
    template: LlamaChatTemplate,
    /// Held for the whole of one generation.
    busy: Mutex<()>,
    /// Generations started so far, added to the seed: a retry of the same request
    /// draws differently, while the same sequence of requests stays reproducible.
    generations: AtomicU32,
}

/// The model at `path`, loaded on first use and shared afterwards.
pub(crate) fn load(path: &Path) -> Result<&'static Loaded, RuntimeError> {
    static MODELS: Mutex<Vec<&'static Loaded>> = Mutex::new(Vec::new());
    let path =
        path.canonicalize().map_err(|e| RuntimeError::Load(format!("{}: {e}", path.display())))?;
    let mut models = MODELS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(found) = models.iter().find(|m| m.path == path) {
        return Ok(found);
    }
    let backend = backend()?;
    let started = Instant::now();
    let model =
        LlamaModel::load_from_file(backend, &path, &LlamaModelParams::default()).map_err(|e| {
            RuntimeError::Load(format!(
                "cannot load {} ({e}): not a GGUF model llama.cpp can read, or a corrupt file",
                path.display()
            ))
        })?;
    let template = model.chat_template(None).map_err(|e| {
        RuntimeError::Load(format!(
            "{} has no usable chat template ({e}); the local provider needs an instruct \
             model with its chat template embedded",
            path.display()
        ))
    })?;
    let name =
        path.file_stem().map_or_else(|| "local".to_owned(), |s| s.to_string_lossy().into_owned());
    // Kept for the life of the process: a model is loaded at most once per file.
    let loaded: &'static Loaded = Box::leak(Box::new(Loaded {
        path,
        name,
        load_time: started.elapsed(),
        model,
        template,
        busy: Mutex::new(()),
        generations: AtomicU32::new(0),
    }));
    tracing::debug!(
        path = %loaded.path.display(),
        secs = loaded.load_time.as_secs_f64(),
        "loaded the local model"
    );
    models.push(loaded);
    Ok(loaded)
}

/// One generation, fully described.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    /// `(role, content)` pairs, in order.
    pub(crate) messages: Vec<(String, String)>,
    /// A GBNF grammar (root rule `root`) the output must match.
    pub(crate) grammar: Option<String>,
    /// Most tokens to generate.
    pub(crate) max_tokens: u32,
    /// Sampling temperature; 0 or less is greedy.
    pub(crate) temperature: f32,
    /// Seed of the sampler (the number of earlier generations is added to it).
    pub(crate) seed: u32,
    /// Generation threads.
    pub(crate) threads: usize,
    /// Context size in tokens (prompt + output).
    pub(crate) context_size: u32,
}

/// What one generation produced.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Output {
    /// The generated text.
    pub(crate) text: String,
    /// `Stop` at an end-of-generation token, `Length` at the token cap.
    pub(crate) finish_reason: FinishReason,
    /// Tokens in the prompt.
    pub(crate) prompt_tokens: u64,
    /// Tokens generated.
    pub(crate) completion_tokens: u64,
    /// Time spent reading the prompt.
    pub(crate) prompt_time: Duration,
    /// Time spent generating (prompt processing excluded).
    pub(crate) generation_time: Duration,
}

impl Loaded {
    /// The prompt `messages` make under the model's own chat template, ending with the
    /// opening of the assistant's turn.
    pub(crate) fn render(&self, messages: &[(String, String)]) -> Result<String, RuntimeError> {
        let chat = messages
            .iter()
            .map(|(role, content)| LlamaChatMessage::new(role.clone(), content.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RuntimeError::Generate(format!("invalid message: {e}")))?;
        self.model
            .apply_chat_template(&self.template, &chat, true)
            .map_err(|e| RuntimeError::Generate(format!("cannot apply the chat template: {e}")))
    }

    /// Run `job` to the end (or until `cancel` is set), one generation at a time.
    pub(crate) fn generate(&self, job: &Job, cancel: &AtomicBool) -> Result<Output, RuntimeError> {
        let prompt = self.render(&job.messages)?;
        let _turn = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
        let backend = backend()?;
        let vocab = self.model.vocab();
        let tokens = vocab.tokenize(prompt.as_bytes(), true, true);
        let context = job.context_size;
        if tokens.is_empty() {
            return Err(RuntimeError::Generate("the prompt is empty".to_owned()));
        }
        // At least one token of room for the answer.
        if tokens.len() >= context as usize {
            return Err(RuntimeError::ContextLength { prompt: tokens.len(), context });
        }
        let room = context as usize - tokens.len();
        let max_tokens = (job.max_tokens as usize).min(room);
        let threads = i32::try_from(job.threads.max(1)).unwrap_or(1);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(context))
            .with_n_batch(context)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let mut ctx = self
            .model
            .new_context(backend, params)
            .map_err(|e| RuntimeError::Generate(format!("cannot create a context: {e}")))?;
        let seed = job.seed.wrapping_add(self.generations.fetch_add(1, Ordering::Relaxed));
        let mut sampler = self.sampler(job, seed)?;

        let prompt_started = Instant::now();
        let mut batch = LlamaBatch::new(context as usize, 1);
        let last = tokens.len() - 1;
        for (i, token) in tokens.iter().enumerate() {
            batch.add(*token, pos(i), &[0], i == last).map_err(generate_error)?;
        }
        ctx.decode(&mut batch).map_err(generate_error)?;
        let prompt_time = prompt_started.elapsed();

        let started = Instant::now();
        let mut bytes = Vec::new();
        let mut generated = 0usize;
        let mut finish_reason = FinishReason::Length;
        while generated < max_tokens {
            if cancel.load(Ordering::Relaxed) {
                finish_reason = FinishReason::Other;
                break;
            }
            let token = sampler.next(&ctx, batch.n_tokens() - 1);
            if vocab.is_eog(token) {
                finish_reason = FinishReason::Stop;
                break;
            }
            bytes.extend(vocab.token_to_piece(token, false, None));
            generated += 1;
            if generated == max_tokens {
                break;
            }
            batch.clear();
            batch
                .add(token, pos(tokens.len() + generated - 1), &[0], true)
                .map_err(generate_error)?;
            ctx.decode(&mut batch).map_err(generate_error)?;
        }
        Ok(Output {
            text: String::from_utf8_lossy(&bytes).into_owned(),
            finish_reason,
            prompt_tokens: tokens.len() as u64,
            completion_tokens: generated as u64,
            prompt_time,
            generation_time: started.elapsed(),
        })
    }

    /// The samplers of `job`: a light repetition penalty for free text (small models
    /// loop), then the temperature and a seeded draw, or greedy at temperature 0; and
    /// the grammar, if any, beside them (see [`Samplers::next`]).
    fn sampler(&self, job: &Job, seed: u32) -> Result<Samplers, RuntimeError> {
        let mut chain = Vec::new();
        let grammar = match &job.grammar {
            Some(grammar) => Some(
                LlamaSampler::grammar(&self.model, grammar, "root")
                    .map_err(|e| RuntimeError::Grammar(e.to_string()))?,
            ),
            None => {
                chain.push(LlamaSampler::penalties(self.model.n_vocab(), 64, 1.1, 0.0, 0.0));
                None
            }
        };
        if job.temperature > 0.0 {
            chain.push(LlamaSampler::top_k(40));
            chain.push(LlamaSampler::top_p(0.95, 1));
            chain.push(LlamaSampler::temp(job.temperature));
            chain.push(LlamaSampler::dist(seed));
        } else {
            chain.push(LlamaSampler::greedy());
        }
        Ok(Samplers { chain: LlamaSampler::chain_simple(chain), grammar })
    }
}

/// The sampler chain and the optional grammar of one generation.
struct Samplers {
    chain: LlamaSampler,
    grammar: Option<LlamaSampler>,
}

impl Samplers {
    /// The next token from the logits at batch index `idx`.
    ///
    /// With a grammar, checking all ~49k candidates against it at every step is the
    /// slow part, so (as llama.cpp's own sampler does) the chain first picks a token
    /// freely and only that token is checked; when the grammar rejects it, the grammar
    /// filters every candidate and the chain picks again. The grammar then accepts the
    /// token exactly once: `sample` is never called on it, since `sample` accepts too
    /// and a second `accept` would advance the grammar twice.
    fn next(&mut self, ctx: &LlamaContext<'_>, idx: i32) -> LlamaToken {
        // `sample` applies the chain and accepts the token into it.
        let token = self.chain.sample(ctx, idx);
        let Some(grammar) = &mut self.grammar else { return token };
        let mut one = LlamaTokenDataArray::new(vec![LlamaTokenData::new(token, 0.0, 1.0)], false);
        grammar.apply(&mut one);
        let token = if one.data.first().is_some_and(|t| t.logit().is_finite()) {
            token
        } else {
            let mut candidates = ctx.token_data_array_ith(idx);
            grammar.apply(&mut candidates);
            self.chain.apply(&mut candidates);
            candidates.selected_token().unwrap_or(token)
        };
        grammar.accept(token);
        token
    }
}

/// A token position as llama.cpp wants it (contexts are far below `i32::MAX`).
fn pos(i: usize) -> i32 {
    i32::try_from(i).unwrap_or(i32::MAX)
}

fn generate_error(e: impl std::fmt::Display) -> RuntimeError {
    RuntimeError::Generate(e.to_string())
}
