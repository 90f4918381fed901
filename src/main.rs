//! The `srebot` binary: parse the arguments, run the subcommand (see `srebot::cli`).

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    srebot::cli::dispatch(srebot::cli::Cli::parse())
}
