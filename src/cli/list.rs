//! `redraft critics` and `redraft validators`: what is available, as text or JSON.

use super::{Failure, print_stdout};
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
        let mut text = String::new();
        for c in &list {
            let paper = c.paper.as_deref().unwrap_or("no paper");
            text.push_str(&format!("{:<16} {}\n", c.name, c.description));
            text.push_str(&format!("{:<16} {paper} [{}, {}]\n", "", c.strategy, c.origin));
        }
        print_stdout(&text)?;
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
        let mut text = String::from("Validator kinds (use with --validator SPEC):\n");
        for k in &kinds {
            text.push_str(&format!("  {:<30} {}\n", k.syntax, k.description));
        }
        text.push_str("\nPresets (use with --validator preset:NAME):\n");
        for p in &presets {
            text.push_str(&format!("  {:<30} {}\n", p.name, p.description));
        }
        print_stdout(&text)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Runtime(anyhow!("cannot serialise: {e}")))?;
    print_stdout(&format!("{text}\n"))
}
