//! Entry point of the `patrol-alpr` binary: parse the command line, set up logging, run.

use std::process::ExitCode;

use clap::Parser;
use patrol_alpr::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    patrol_alpr::cli::init_logging(cli.verbose);
    match patrol_alpr::cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", patrol_alpr::cli::describe_error(&err));
            ExitCode::FAILURE
        }
    }
}
