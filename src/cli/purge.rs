//! The `purge` command: deletes reads and images past the retention period, keeping those
//! protected by a case hold or a hit under review; audited with the counts.

use std::process::ExitCode;

use chrono::Utc;

use super::Context;
use super::store::{Secrets, actor, open_store, rules};
use crate::audit::AuditAction;
use crate::session::{Accounts, Permission};
use crate::store::retention::retention_period;

/// Options of `purge`.
#[derive(Debug, clap::Args)]
pub struct PurgeArgs {
    /// Count what would be deleted without deleting it.
    #[arg(long)]
    pub dry_run: bool,
    /// An administrator running it by hand (recorded); without it the purge runs as the
    /// scheduled `system` duty with the configured retention.
    #[arg(long = "as", value_name = "ADMIN_ID")]
    pub as_user: Option<String>,
}

/// Runs `purge`.
pub fn run(ctx: &Context, args: &PurgeArgs) -> anyhow::Result<ExitCode> {
    let cfg = &ctx.config.store;
    let period = retention_period(cfg.retention_days, cfg.allow_short_retention)?;
    let store = open_store(ctx)?;
    let who = match &args.as_user {
        Some(id) => {
            let user = actor(&store, ctx, id, &mut Secrets::new())?;
            Accounts::new(&store, rules(ctx)).authorize(
                &user,
                Permission::ManageRetention,
                AuditAction::Purge,
                "purge",
            )?;
            user.id
        }
        None => "system".to_owned(),
    };
    let cutoff = Utc::now() - period;
    let counts = store.purge(cutoff, args.dry_run, &who)?;
    let verb = if args.dry_run { "would delete" } else { "deleted" };
    println!(
        "retention {} days (before {}): {verb} {} reads, {} hits, {} hit events; kept {} protected reads",
        cfg.retention_days,
        cutoff.to_rfc3339(),
        counts.reads,
        counts.hits,
        counts.hit_events,
        counts.protected_kept
    );
    Ok(ExitCode::SUCCESS)
}
