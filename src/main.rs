//! The `redraft` command line: parses arguments, runs the command, maps errors to exit
//! codes (2 usage or configuration, 1 failed run, 130 cancelled) and readable messages.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::args::Cli::parse();
    cli::stderr::init_logging(cli.verbose());
    // One thread: a run is one task (its concurrent critics are joined in it, and the
    // local model computes on the blocking pool), so worker threads would only add
    // cross-thread wake-ups to every HTTP call.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            cli::stderr::line(format_args!("redraft: error: cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(cli::dispatch(cli)) {
        Ok(code) => code,
        Err(cli::Failure::Usage(e)) => {
            cli::stderr::line(format_args!("redraft: error: {e:#}"));
            ExitCode::from(2)
        }
        Err(cli::Failure::Runtime(e)) => {
            cli::stderr::line(format_args!("redraft: error: {e:#}"));
            ExitCode::from(1)
        }
    }
}
