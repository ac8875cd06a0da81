//! The `read` command.

use std::process::ExitCode;

use super::Context;

/// Options of `read`.
#[derive(Debug, clap::Args)]
pub struct ReadArgs {}

/// Runs `read`.
pub fn run(_ctx: &Context, _args: &ReadArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("read is being built")
}
