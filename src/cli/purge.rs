//! The `purge` command: deletes reads and images past the retention period, keeping those
//! protected by a case hold or a hit under review; audited with the counts.

use std::process::ExitCode;

use chrono::Utc;

use super::Context;
use super::store::{Secrets, actor, open_store, rules};
use crate::session::Accounts;
use crate::session::admin::Administration;

/// Options of `purge`.
#[derive(Debug, clap::Args)]
pub struct PurgeArgs {
    /// Count what would be deleted without deleting it.
    #[arg(long)]
    pub dry_run: bool,
    /// The administrator running it (PIN from PATROL_ALPR_PIN or stdin; recorded). Outside
    /// the console's own schedule, reads are deleted only by a logged-on administrator.
    #[arg(long = "as", value_name = "ADMIN_ID")]
    pub as_user: String,
}

/// Runs `purge` with the retention in force (the administrator's, else the settings file's).
pub fn run(ctx: &Context, args: &PurgeArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx)?;
    let now = Utc::now();
    let user = actor(&store, ctx, &args.as_user, &mut Secrets::new())?;
    let accounts = Accounts::new(&store, rules(ctx));
    let outcome = Administration::new(&store, accounts, &ctx.config).purge(&user, args.dry_run, now)?;
    let counts = outcome.counts;
    let verb = if args.dry_run { "would delete" } else { "deleted" };
    println!(
        "retention {} days (before {}): {verb} {} reads, {} hits, {} hit events; kept {} protected reads",
        outcome.retention_days,
        outcome.cutoff.to_rfc3339(),
        counts.reads,
        counts.hits,
        counts.hit_events,
        counts.protected_kept
    );
    Ok(ExitCode::SUCCESS)
}
