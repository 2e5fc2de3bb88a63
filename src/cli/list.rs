//! `redraft critics` and `redraft validators`: what is available, as text or JSON.

use super::Failure;
use anyhow::anyhow;
use redraft::config::Config;
use redraft::critic::Registry;
use redraft::validator::{Presets, kinds};
use std::process::ExitCode;

/// List the critics.
pub(crate) fn critics(config: &Config, json: bool) -> Result<ExitCode, Failure> {
    let registry = Registry::with_dirs(&config.critics.dirs)?;
    let list = registry.list();
    if json {
        print_json(&list)?;
    } else {
        for c in &list {
            println!("{:<16} {}", c.name, c.description);
            let paper = c.paper.as_deref().unwrap_or("no paper");
            println!("{:<16} {paper} [{}, {}]", "", c.strategy, c.origin);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// List the validator kinds and presets.
pub(crate) fn validators(config: &Config, json: bool) -> Result<ExitCode, Failure> {
    let presets = Presets::load_dirs(&config.validators.dirs)?;
    let kinds = kinds();
    let presets = presets.list();
    if json {
        print_json(&serde_json::json!({ "kinds": kinds, "presets": presets }))?;
    } else {
        println!("Validator kinds (use with --validator SPEC):");
        for k in &kinds {
            println!("  {:<30} {}", k.syntax, k.description);
        }
        println!("\nPresets (use with --validator preset:NAME):");
        for p in &presets {
            println!("  {:<30} {}", p.name, p.description);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Runtime(anyhow!("cannot serialise: {e}")))?;
    println!("{text}");
    Ok(())
}
