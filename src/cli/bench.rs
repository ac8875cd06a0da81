//! The `bench` command.

use std::process::ExitCode;

use super::Context;

/// Options of `bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

/// Runs `bench`.
pub fn run(_ctx: &Context, _args: &BenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("bench is being built")
}
