//! The `export` command: releases stored reads (CSV plus crop images) to a California public
//! agency, recording the agency, purpose and case number; other recipients are refused.

use std::path::PathBuf;
use std::process::ExitCode;

use super::Context;
use super::store::{Secrets, actor, open_store, parse_time, rules};
use crate::reports::release::{AgencyKind, ExportRequest, Recipient, export_reads};
use crate::session::Accounts;

/// Options of `export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Reads from (YYYY-MM-DD or RFC 3339).
    #[arg(long)]
    pub from: String,
    /// Reads to (a date includes that day).
    #[arg(long)]
    pub to: String,
    /// The requesting agency's name.
    #[arg(long)]
    pub agency: String,
    /// The requesting agency's state (two letters).
    #[arg(long)]
    pub agency_state: String,
    /// The kind of agency.
    #[arg(long, value_enum)]
    pub agency_kind: AgencyKind,
    /// The law-enforcement purpose.
    #[arg(long)]
    pub purpose: String,
    /// The case or incident number.
    #[arg(long = "case")]
    pub case_number: String,
    /// Folder for reads.csv and images/.
    #[arg(long)]
    pub out: PathBuf,
    /// The supervisor or administrator releasing it.
    #[arg(long = "as", value_name = "ID")]
    pub as_user: String,
}

/// Runs `export`.
pub fn run(ctx: &Context, args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx)?;
    let accounts = Accounts::new(&store, rules(ctx));
    let user = actor(&store, ctx, &args.as_user, &mut Secrets::new())?;
    let request = ExportRequest {
        recipient: Recipient { agency: args.agency.clone(), state: args.agency_state.clone(), kind: args.agency_kind },
        purpose: args.purpose.clone(),
        case_number: args.case_number.clone(),
        from: parse_time(&args.from, false)?,
        to: parse_time(&args.to, true)?,
        out_dir: args.out.clone(),
    };
    let summary = export_reads(&store, &accounts, &user, &request)?;
    println!("released {} reads and {} images: {}", summary.reads, summary.images, summary.csv.display());
    Ok(ExitCode::SUCCESS)
}
