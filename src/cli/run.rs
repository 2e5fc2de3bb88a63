//! `redraft improve` and `redraft generate`: build the engine from the layered
//! configuration and the flags, run with Ctrl-C wired to cancellation, and report.

use super::args::RunArgs;
use super::in_place::Target;
use super::{Failure, output, plan, print_stdout, stderr};
use anyhow::anyhow;
use redraft::EngineBuilder;
use redraft::config::{Config, Flag, LoadOptions};
use redraft::engine::{Cancel, CancelHandle, Event};
use redraft::thought::{Mode, StopReason, Thought};
use std::path::Path;
use std::process::ExitCode;

/// Run one improve or generate from the command line.
pub(crate) async fn run(
    mode: Mode,
    input: String,
    args: &RunArgs,
    in_place: Option<&Path>,
) -> Result<ExitCode, Failure> {
    let config = load(args)?;
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
    let (handle, cancel) = Cancel::pair();
    watch_interrupts(handle)?;
    let mut progress = output::Progress::new(args.verbose, args.stream);
    let mut on_event = move |e: &Event| progress.show(e);
    let thought = engine.run(engine.new_thought(mode, input), &cancel, &mut on_event).await;
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

/// The layered configuration, with the flags as the top layer: an error about a
/// flag's value names the flag. Warnings (a critic given twice) go to stderr.
fn load(args: &RunArgs) -> Result<Config, Failure> {
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
    let opts = LoadOptions {
        file: args.config.clone(),
        preset: args.preset.clone(),
        flags,
        ..LoadOptions::default()
    };
    let config = Config::load_with(&opts)?;
    super::print_warnings(&config);
    Ok(config)
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
