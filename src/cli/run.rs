//! `redraft improve` and `redraft generate`: build the engine from the layered
//! configuration and the flags, run with Ctrl-C wired to cancellation, and report.

use super::args::RunArgs;
use super::{Failure, output};
use anyhow::anyhow;
use redraft::Engine;
use redraft::config::{Config, LoadOptions};
use redraft::engine::{Cancel, Event};
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
    let engine = Engine::from_config(&config)?;
    if config.provider.name == redraft::model::local::PROVIDER {
        let file = config.local.model_file()?;
        let name = file.file_stem().unwrap_or(file.as_os_str()).to_string_lossy();
        eprintln!(
            "redraft: using the local model {name} ({} thread(s); demo quality; see README \
             for real providers)",
            config.local.threads
        );
    }
    let (handle, cancel) = Cancel::pair();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("redraft: cancelling (Ctrl-C again to quit at once)…");
            handle.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    let verbose = args.verbose;
    let mut on_event = move |e: &Event| {
        if verbose {
            eprintln!("redraft: {}", output::describe(e));
        }
    };
    let thought = engine.run(engine.new_thought(mode, input), &cancel, &mut on_event).await;
    report(&thought, args.json)?;
    if let Some(path) = in_place {
        write_back(&thought, path)?;
    }
    Ok(exit_code(&thought))
}

/// The layered configuration, with the flags as the top layer.
fn load(args: &RunArgs) -> Result<Config, Failure> {
    let mut overrides = Vec::new();
    let mut set = |key: &str, value: Option<String>| {
        if let Some(v) = value {
            overrides.push((key.to_owned(), v));
        }
    };
    set("provider.name", args.provider.clone());
    set("provider.base_url", args.base_url.clone());
    set("provider.model", args.model.clone());
    set("local.model_path", args.model_path.as_ref().map(|p| p.display().to_string()));
    set("engine.max_iterations", args.max_iterations.map(|n| n.to_string()));
    set("engine.accept_when", args.accept_when.clone());
    let opts = LoadOptions {
        file: args.config.clone(),
        preset: args.preset.clone(),
        overrides,
        ..LoadOptions::default()
    };
    let mut config = Config::load_with(&opts)?;
    // Lists are taken whole from the flags: a validator spec may itself contain commas.
    if !args.critics.is_empty() {
        config.critics.enabled = args.critics.clone();
    }
    if !args.validators.is_empty() {
        config.validators.enabled =
            args.validators.iter().map(|s| serde_json::Value::String(s.clone())).collect();
    }
    Ok(config)
}

fn report(thought: &Thought, json: bool) -> Result<(), Failure> {
    if json {
        let text = serde_json::to_string_pretty(thought)
            .map_err(|e| Failure::Runtime(anyhow!("cannot serialise the thought: {e}")))?;
        println!("{text}");
    } else if let Some(text) = &thought.final_text {
        println!("{text}");
    }
    eprintln!("{}", output::summary(thought));
    Ok(())
}

/// Write the final text back over the input file (write a sibling, then rename).
fn write_back(thought: &Thought, path: &Path) -> Result<(), Failure> {
    let keep = matches!(thought.stop_reason, Some(StopReason::Failed | StopReason::Cancelled));
    let Some(text) = thought.final_text.as_deref().filter(|_| !keep) else {
        eprintln!("redraft: {} left unchanged", path.display());
        return Ok(());
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".redraft-tmp");
    let write =
        std::fs::write(&tmp, format!("{text}\n")).and_then(|()| std::fs::rename(&tmp, path));
    write.map_err(|e| Failure::Runtime(anyhow!("cannot write {}: {e}", path.display())))
}

/// 0 for accepted, max_iterations, plateau, budget; 1 for failed; 130 for cancelled.
fn exit_code(thought: &Thought) -> ExitCode {
    match thought.stop_reason {
        Some(StopReason::Cancelled) => ExitCode::from(130),
        Some(StopReason::Failed) | None => ExitCode::from(1),
        Some(_) => ExitCode::SUCCESS,
    }
}
