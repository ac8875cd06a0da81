//! The `audit` command: verify the audit log's hash chain, and the supervisors' random
//! audits (draw a sample, review its items, show the results). Each use is itself audited.

use std::process::ExitCode;

use chrono::Utc;

use super::Context;
use super::store::{Secrets, actor, open_store, parse_time, rules};
use crate::audit::{AuditAction, AuditEvent};
use crate::reports::sample::{Verdict, draw_sample, review_item, show_sample};
use crate::session::{Accounts, Permission};
use crate::store::audit_log::Verification;

/// Subcommands of `audit`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain: prints `intact: N rows` (exit 0) or the first broken row (exit 2).
    Verify {
        /// The supervisor or administrator checking (recorded); without it the check is
        /// recorded as `local-cli`.
        #[arg(long = "as", value_name = "ID")]
        as_user: Option<String>,
    },
    /// Draw a random sample of data accesses and hit decisions in a period.
    Sample {
        /// Period start (YYYY-MM-DD or RFC 3339).
        #[arg(long)]
        from: String,
        /// Period end (a date includes that day).
        #[arg(long)]
        to: String,
        /// Items to draw.
        #[arg(long)]
        size: usize,
        /// RNG seed (random when omitted; always recorded).
        #[arg(long)]
        seed: Option<u64>,
        /// The supervisor.
        #[arg(long = "as", value_name = "SUPERVISOR_ID")]
        as_user: String,
    },
    /// Mark one sampled item compliant or flagged.
    Review {
        /// Sample id.
        sample: i64,
        /// Item number in the sample.
        item: i64,
        /// compliant or flagged.
        #[arg(long)]
        verdict: String,
        /// Note (required when flagged).
        #[arg(long, default_value = "")]
        note: String,
        /// The supervisor.
        #[arg(long = "as", value_name = "SUPERVISOR_ID")]
        as_user: String,
    },
    /// Show a sample and its reviews.
    Show {
        /// Sample id.
        sample: i64,
        /// The supervisor.
        #[arg(long = "as", value_name = "SUPERVISOR_ID")]
        as_user: String,
    },
}

/// Runs `audit`.
pub fn run(ctx: &Context, command: AuditCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(ctx)?;
    let accounts = Accounts::new(&store, rules(ctx));
    let mut secrets = Secrets::new();
    match command {
        AuditCommand::Verify { as_user } => {
            let who = match as_user {
                Some(id) => {
                    let user = actor(&store, ctx, &id, &mut secrets)?;
                    accounts.authorize(&user, Permission::ViewAuditLog, AuditAction::AuditView, "audit verify")?;
                    user.id
                }
                None => "local-cli".to_owned(),
            };
            let result = store.verify_audit_log()?;
            let (line, code) = match &result {
                Verification::Intact { rows } => (format!("intact: {rows} rows"), ExitCode::SUCCESS),
                Verification::Broken { seq, reason } => (format!("broken at row {seq}: {reason}"), ExitCode::from(2)),
            };
            store.audit(AuditEvent::new(&who, store.organization(), AuditAction::AuditView, "audit verify", &line))?;
            println!("{line}");
            Ok(code)
        }
        AuditCommand::Sample { from, to, size, seed, as_user } => {
            let user = actor(&store, ctx, &as_user, &mut secrets)?;
            let sample =
                draw_sample(&store, &accounts, &user, parse_time(&from, false)?, parse_time(&to, true)?, size, seed)?;
            println!(
                "sample {}: {} of {} items, seed {}",
                sample.id,
                sample.items.len(),
                sample.population,
                sample.seed
            );
            for item in &sample.items {
                println!("{}\t{}", item.item_no, item.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Review { sample, item, verdict, note, as_user } => {
            let verdict =
                Verdict::parse(&verdict).ok_or_else(|| anyhow::anyhow!("--verdict must be compliant or flagged"))?;
            let user = actor(&store, ctx, &as_user, &mut secrets)?;
            review_item(&store, &accounts, &user, sample, item, verdict, &note)?;
            println!("sample {sample} item {item}: {}", verdict.as_str());
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Show { sample, as_user } => {
            let user = actor(&store, ctx, &as_user, &mut secrets)?;
            let s = show_sample(&store, &accounts, &user, sample)?;
            println!(
                "sample {} drawn {} by {}: {} to {}, {} of {} items, seed {}",
                s.id,
                s.drawn_at.to_rfc3339(),
                s.supervisor,
                s.from.to_rfc3339(),
                s.to.to_rfc3339(),
                s.items.len(),
                s.population,
                s.seed
            );
            for i in &s.items {
                let verdict = i.verdict.map(Verdict::as_str).unwrap_or("unreviewed");
                let by = i.reviewed_by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
                let at =
                    i.reviewed_at.map(|t| format!(" at {}", t.with_timezone(&Utc).to_rfc3339())).unwrap_or_default();
                println!("{}\t{verdict}{by}{at}\t{}\t{}", i.item_no, i.note.as_deref().unwrap_or(""), i.summary);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
