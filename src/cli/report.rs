//! The `report` command: the supervisors' usage report as a table or CSV.

use std::process::ExitCode;

use super::Context;
use super::store::{Secrets, actor, open_store, parse_time, rules};
use crate::reports::usage::{to_csv, usage_report};
use crate::session::Accounts;

/// Subcommands of `report`.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Per officer per shift: log-on/off, active share, downtime, reads, hits, confirmations.
    Usage {
        /// First day (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        from: String,
        /// Last day, included (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        to: String,
        /// Only this officer.
        #[arg(long)]
        officer: Option<String>,
        /// CSV on stdout instead of a table.
        #[arg(long)]
        csv: bool,
        /// The supervisor or administrator viewing it.
        #[arg(long = "as", value_name = "ID")]
        as_user: String,
        /// Run over the whole fleet in the office database instead of this console's own
        /// records (also from PATROL_ALPR_OFFICE_URL); recorded in the office's audit log too.
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: Option<String>,
    },
}

/// Runs `report`.
pub fn run(ctx: &Context, command: ReportCommand) -> anyhow::Result<ExitCode> {
    let ReportCommand::Usage { from, to, officer, csv, as_user, db } = command;
    if let Some(db) = db {
        let period = (parse_time(&from, false)?, parse_time(&to, true)?);
        return super::office::usage(ctx, &db, period, officer.as_deref(), csv, &as_user);
    }
    let store = open_store(ctx)?;
    let accounts = Accounts::new(&store, rules(ctx));
    let user = actor(&store, ctx, &as_user, &mut Secrets::new())?;
    let report =
        usage_report(&store, &accounts, &user, parse_time(&from, false)?, parse_time(&to, true)?, officer.as_deref())?;
    let (rows, head) = (report.rows, report.audit_head.token());
    if csv {
        print!("{}", to_csv(&rows));
        // On stderr, so the CSV stays one table a spreadsheet opens as it is.
        eprintln!("audit chain head: {head}");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<12} {:>6} {:<17} {:<17} {:>7} {:>7} {:>6} {:>7} {:>6} {:>5} {:>5} {:>5} {:>6}",
        "officer",
        "shift",
        "log-on",
        "log-off",
        "minutes",
        "active",
        "share",
        "down",
        "reads",
        "hits",
        "conf",
        "exig",
        "km"
    );
    for r in &rows {
        let hits: i64 = r.hits_by_list.values().sum();
        println!(
            "{:<12} {:>6} {:<17} {:<17} {:>7.0} {:>7.0} {:>5.0}% {:>7.0} {:>6} {:>5} {:>5} {:>5} {:>6.1}",
            r.officer,
            r.shift_id,
            r.logon.format("%Y-%m-%d %H:%M"),
            r.logoff.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "(open)".into()),
            r.shift_minutes,
            r.active_minutes,
            r.active_share * 100.0,
            r.camera_downtime_minutes,
            r.reads,
            hits,
            r.confirmations,
            r.exigent_overrides,
            r.distance_km
        );
        if !r.minutes_by_area.is_empty() {
            let areas: Vec<String> =
                r.minutes_by_area.iter().take(5).map(|(cell, m)| format!("{cell} {m:.0} min")).collect();
            println!("{:<12} active by area: {}", "", areas.join(", "));
        }
        if !r.deactivation_reasons.is_empty() {
            println!("{:<12} deactivated: {}", "", r.deactivation_reasons.join("; "));
        }
    }
    println!("{} shifts", rows.len());
    println!("audit chain head: {head}  (keep this line; `audit verify --head {head}` checks it later)");
    Ok(ExitCode::SUCCESS)
}
