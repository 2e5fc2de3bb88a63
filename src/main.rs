//! The `redraft` command line: parses arguments, runs the command, maps errors to exit
//! codes (2 usage or configuration, 1 failed run, 130 cancelled) and readable messages.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::args::Cli::parse();
    cli::stderr::init_logging(cli.verbose());
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
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
