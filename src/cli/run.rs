//! `redraft improve` and `redraft generate`: build the engine from the layered
//! configuration and the flags, run with Ctrl-C wired to cancellation, and report.

use super::args::{EngineArgs, ResumeArgs, RunArgs};
use super::in_place::Target;
use super::{Failure, output, plan, print_stdout, stderr};
use anyhow::anyhow;
use redraft::assemble::resume::{Rebuilt, rebuild};
use redraft::assemble::store::StoreCheckpoints;
use redraft::config::{Config, Flag, LoadOptions};
use redraft::engine::{Cancel, CancelHandle, Event};
use redraft::thought::{Mode, StopReason, Thought};
use redraft::{Engine, EngineBuilder, Observer};
use std::path::Path;
use std::process::ExitCode;

/// Run one improve or generate from the command line.
pub(crate) async fn run(
    mode: Mode,
    input: String,
    args: &RunArgs,
    in_place: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let (config, _) = load(&args.engine)?;
    if args.dry_run {
        return plan::run(mode, &input, &config, args.json).await;
    }
    // Before any model call: a file that cannot be written back costs no tokens.
    let target = in_place.map(Target::prepare).transpose()?;
    let engine = EngineBuilder::for_config(&config)?.stream(args.stream).build()?;
    if config.provider.kind == redraft::config::ProviderKind::Local {
        let file = config.local.model_file()?;
        let name = file.file_stem().unwrap_or(file.as_os_str()).to_string_lossy();
        stderr::line(format_args!(
            "redraft: using the local model {name} ({} thread(s); demo quality; see README \
             for real providers)",
            config.local.threads
        ));
    }
    let thought = engine.new_thought(mode, input);
    let mut observer = Watch::new(&config, output::Progress::new(args.verbose, args.stream))?;
    observer.start(&thought);
    let (handle, cancel) = Cancel::pair();
    watch_interrupts(handle)?;
    let thought = engine.run(thought, &cancel, &mut observer).await;
    observer.finish(&thought);
    // The file is written back whatever became of the output.
    let reported = report(&thought, args.json);
    if let Some(target) = &target {
        target.write_back(&thought)?;
    }
    reported?;
    Ok(exit_code(&thought))
}

/// Cancel the run on the first Ctrl-C (SIGINT) and quit at once on the second. The
/// handler is registered before this returns, so no early signal is missed.
#[cfg(unix)]
fn watch_interrupts(handle: CancelHandle) -> Result<(), Failure> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut sigint = signal(SignalKind::interrupt())
        .map_err(|e| Failure::Runtime(anyhow!("cannot listen for Ctrl-C: {e}")))?;
    tokio::spawn(async move {
        if sigint.recv().await.is_some() {
            stderr::line("redraft: cancelling (Ctrl-C again to quit at once)…");
            handle.cancel();
            if sigint.recv().await.is_some() {
                std::process::exit(130);
            }
        }
    });
    Ok(())
}

/// Cancel the run on the first Ctrl-C and quit at once on the second.
#[cfg(not(unix))]
fn watch_interrupts(handle: CancelHandle) -> Result<(), Failure> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stderr::line("redraft: cancelling (Ctrl-C again to quit at once)…");
            handle.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    Ok(())
}

/// `redraft resume`: the stored thought, its engine rebuilt with what is given
/// explicitly (a difference refused unless `--force`), run on from its phase.
pub(crate) async fn resume(args: &ResumeArgs) -> Result<ExitCode, Failure> {
    let (config, opts) = load(&args.engine)?;
    let store = super::stored::open(&config).await?;
    let id = super::stored::resolve(store.as_ref(), &args.id).await?;
    let thought = store
        .load(&id)
        .await
        .map_err(|e| Failure::Runtime(anyhow!("cannot load thought {id}: {e}")))?
        .ok_or_else(|| Failure::Usage(anyhow!("no stored thought has the id `{id}`")))?;
    drop(store);
    let Rebuilt { engine, differences } = rebuild(&thought, &opts)?;
    if !differences.is_empty() {
        if !args.force {
            return Err(Failure::Usage(anyhow!(
                "thought {id} was made with other settings than given now: {}; give --force \
                 to resume with the new ones",
                differences.join("; ")
            )));
        }
        for difference in &differences {
            stderr::line(format_args!("redraft: warning: resuming with {difference} (--force)"));
        }
    }
    resume_with(&engine, thought, &config, args).await
}

async fn resume_with(
    engine: &Engine,
    thought: Thought,
    config: &Config,
    args: &ResumeArgs,
) -> Result<ExitCode, Failure> {
    let mut observer = Watch::new(config, output::Progress::new(args.verbose, false))?;
    let thought = Engine::reopen(thought);
    observer.start(&thought);
    let (handle, cancel) = Cancel::pair();
    watch_interrupts(handle)?;
    let thought = engine.run(thought, &cancel, &mut observer).await;
    observer.finish(&thought);
    report(&thought, args.json)?;
    Ok(exit_code(&thought))
}

/// What watches a run from the command line: the progress display takes the events,
/// the store (when one is configured) the thought after every phase.
struct Watch {
    progress: output::Progress,
    store: Option<StoreCheckpoints>,
}

impl Watch {
    /// The observer for a run under `config`; a store that cannot be opened is a usage
    /// error, before any call is sent.
    fn new(config: &Config, progress: output::Progress) -> Result<Self, Failure> {
        let store = StoreCheckpoints::spawn(&config.store)
            .map_err(|e| {
                Failure::Usage(anyhow!("cannot open the store {}: {e}", config.store.describe()))
            })?
            .map(|s| {
                s.on_error(|thought, e| {
                    stderr::line(format_args!(
                        "redraft: warning: could not store thought {}: {e} (the run goes on)",
                        thought.id
                    ));
                })
            });
        Ok(Self { progress, store })
    }

    /// Save the thought before its first phase and say under which id.
    fn start(&mut self, thought: &Thought) {
        if let Some(store) = &mut self.store {
            store.save_or_report(thought);
            stderr::line(format_args!("redraft: stored as {}", thought.id));
        }
    }

    /// Save the finished thought (the last checkpoint may not have been its final form).
    fn finish(&mut self, thought: &Thought) {
        if let Some(store) = &mut self.store {
            store.save_or_report(thought);
        }
    }
}

impl Observer for Watch {
    fn event(&mut self, event: &Event) {
        self.progress.show(event);
    }

    fn checkpoint(&mut self, thought: &Thought) {
        if let Some(store) = &mut self.store {
            store.checkpoint(thought);
        }
    }
}

/// The layered configuration, with the flags as the top layer: an error about a
/// flag's value names the flag. Warnings (a critic given twice) go to stderr. Also
/// the options it was loaded with, for `resume` to layer the stored settings in.
fn load(args: &EngineArgs) -> Result<(Config, LoadOptions), Failure> {
    let mut flags = Vec::new();
    let mut set = |name: &str, key: &str, value: Option<String>| {
        if let Some(v) = value {
            flags.push(Flag::one(name, key, v));
        }
    };
    set("--provider", "provider.name", args.provider.clone());
    set("--base-url", "provider.base_url", args.base_url.clone());
    set("--model", "provider.model", args.model.clone());
    set(
        "--model-path",
        "local.model_path",
        args.model_path.as_ref().map(|p| p.display().to_string()),
    );
    set("--max-iterations", "engine.max_iterations", args.max_iterations.clone());
    set("--accept-when", "engine.accept_when", args.accept_when.clone());
    set("--no-cache", "cache.enabled", args.no_cache.then(|| "false".to_owned()));
    // Lists are taken whole from the flags: a validator spec may itself contain commas.
    if !args.critics.is_empty() {
        flags.push(Flag::many("--critic", "critics.enabled", args.critics.clone()));
    }
    if !args.validators.is_empty() {
        flags.push(Flag::many("--validator", "validators.enabled", args.validators.clone()));
    }
    if let Some(spec) = &args.store {
        flags.extend(super::stored::flags(spec)?);
    }
    let opts = LoadOptions {
        file: args.config.clone(),
        preset: args.preset.clone(),
        flags,
        ..LoadOptions::default()
    };
    let config = Config::load_with(&opts)?;
    super::print_warnings(&config);
    Ok((config, opts))
}

/// The Thought (with `--json`) or the final text on stdout, the summary on stderr.
/// A failed run prints no text: `redraft improve … > better.txt` must not silently
/// get the unimproved input (the `--json` Thought, saying why, still goes out).
fn report(thought: &Thought, json: bool) -> Result<(), Failure> {
    let failed = thought.stop_reason == Some(StopReason::Failed);
    if json {
        // Serialised once, into one buffer written out whole.
        let mut text = Vec::with_capacity(64 * 1024);
        super::json::to_writer_pretty(&mut text, thought)
            .map_err(|e| Failure::Runtime(anyhow!("cannot serialise the thought: {e}")))?;
        text.push(b'\n');
        super::write_stdout(&text)?;
    } else if let Some(text) = thought.final_text.as_ref().filter(|_| !failed) {
        print_stdout(&with_final_newline(text))?;
    }
    stderr::line(output::summary(thought));
    Ok(())
}

/// `text` for standard output, a stream of lines: it ends with the line break it had,
/// or one if it had none, so the shell's prompt or the next output starts on a line of
/// its own. (A file written back keeps its own ending: see `in_place`.)
fn with_final_newline(text: &str) -> String {
    if text.ends_with('\n') { text.to_owned() } else { format!("{text}\n") }
}

/// 0 for accepted, max_iterations, plateau, budget; 1 for failed; 130 for cancelled.
fn exit_code(thought: &Thought) -> ExitCode {
    exit_code_for(thought.stop_reason)
}

/// The exit code of a run that stopped for `stop_reason`.
pub(crate) fn exit_code_for(stop_reason: Option<StopReason>) -> ExitCode {
    match stop_reason {
        Some(StopReason::Cancelled) => ExitCode::from(130),
        Some(StopReason::Failed) | None => ExitCode::from(1),
        Some(_) => ExitCode::SUCCESS,
    }
}
