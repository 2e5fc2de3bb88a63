//! The `redraft` binary's commands: argument parsing, input and output, exit codes.

pub(crate) mod args;
mod in_place;
mod input;
mod json;
mod list;
mod model;
mod output;
mod plan;
mod run;
pub(crate) mod stderr;
mod stored;

use anyhow::{Context, anyhow};
use args::{Cli, Command, ConfigCommand, ModelCommand};
use redraft::config::{Config, LoadOptions};
use redraft::thought::Mode;
use std::io::Write;
use std::process::ExitCode;

/// Why a command did not succeed, which decides the exit code.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad usage, input or configuration: exit 2.
    Usage(anyhow::Error),
    /// The work itself failed: exit 1.
    Runtime(anyhow::Error),
}

impl From<redraft::Error> for Failure {
    fn from(e: redraft::Error) -> Self {
        Self::Usage(e.into())
    }
}

/// Run the parsed command line.
pub(crate) async fn dispatch(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Improve(a) => {
            let text = input::read(a.text.as_deref(), a.file.as_deref(), "text to improve")?;
            let target = if a.in_place { a.file.clone() } else { None };
            run::run(Mode::Improve, text, &a.run, target.as_deref()).await
        }
        Command::Generate(a) => {
            let prompt = input::read(a.prompt.as_deref(), None, "prompt")?;
            run::run(Mode::Generate, prompt, &a.run, None).await
        }
        Command::Resume(a) => run::resume(&a).await,
        Command::List(a) => stored::list(&a).await,
        Command::Show(a) => stored::show(&a).await,
        Command::Search(a) => stored::search(&a).await,
        Command::Delete(a) => stored::delete(&a).await,
        Command::Critics(a) => list::critics(&load(a.config.as_deref(), None)?, a.json),
        Command::Validators(a) => list::validators(&load(a.config.as_deref(), None)?, a.json),
        Command::Config(ConfigCommand::Check { config, preset }) => {
            let config = load(config.as_deref(), preset)?;
            let json = serde_json::to_string_pretty(&config.redacted())
                .context("could not print the configuration")
                .map_err(Failure::Runtime)?;
            print_stdout(&format!("{json}\n"))?;
            let layers = config.sources().join(" ← ");
            stderr::line(format_args!("redraft: configuration OK (layers: {layers})"));
            Ok(ExitCode::SUCCESS)
        }
        Command::Model(ModelCommand::Fetch { config }) => model::fetch(config.as_deref()),
        Command::Model(ModelCommand::Path { config, model_path }) => {
            model::path(config.as_deref(), model_path)
        }
    }
}

/// Write `text` to standard output. A closed pipe (`redraft critics | head -1`) is not
/// an error: the reader has stopped reading, and `println!` would panic.
pub(crate) fn print_stdout(text: &str) -> Result<(), Failure> {
    write_stdout(text.as_bytes())
}

/// Write `bytes` to standard output, as [`print_stdout`] does.
pub(crate) fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => {
            result.map_err(|e| Failure::Runtime(anyhow!("cannot write to standard output: {e}")))
        }
    }
}

/// Load the configuration with an optional file and preset, no flag overrides, and
/// print its warnings.
fn load(file: Option<&std::path::Path>, preset: Option<String>) -> Result<Config, Failure> {
    let opts = LoadOptions { file: file.map(Into::into), preset, ..LoadOptions::default() };
    let config = Config::load_with(&opts)?;
    print_warnings(&config);
    Ok(config)
}

/// What loading `config` noticed but did not refuse, one `redraft: warning:` line each
/// on stderr.
pub(crate) fn print_warnings(config: &Config) {
    for warning in config.warnings() {
        eprintln!("redraft: warning: {warning}");
    }
}
