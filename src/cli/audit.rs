//! The `audit` command: verify the audit log's hash chain, and the supervisors' random
//! audits (draw a sample, review its items, show the results). Each use is itself audited.

use std::process::ExitCode;

use chrono::Utc;

use super::Context;
use super::store::{Secrets, actor, open_store, parse_time, rules};
use crate::audit::{AuditAction, AuditEvent};
use crate::hotlist::update::{generate_key, parse_public_key, read_private_key};
use crate::reports::ReportError;
use crate::reports::anchor::anchor_audit_log;
use crate::reports::sample::{Verdict, draw_sample, review_item, show_sample};
use crate::session::{Accounts, Permission};
use crate::store::Store;
use crate::store::anchors::Anchor;
use crate::store::audit_log::{AuditHead, Verification};
use crate::store::key::check_outside;

/// Subcommands of `audit`.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain, and the anchors and heads kept off the car: prints
    /// `intact: N rows` and the head (exit 0) or the first broken row (exit 2).
    Verify {
        /// The supervisor or administrator checking (recorded); without it the check is
        /// recorded as `local-cli`.
        #[arg(long = "as", value_name = "ID")]
        as_user: Option<String>,
        /// An anchors file carried off the car by `audit anchor --out` (repeatable). Needs
        /// --anchor-key: a file is only as good as the key that signed its lines.
        #[arg(long = "anchors", value_name = "FILE")]
        anchors: Vec<std::path::PathBuf>,
        /// The agency's anchor public key (the base64 line, or the KEY.pub file); every
        /// anchor, stored or carried, must then be signed by it (repeatable).
        #[arg(long = "anchor-key", value_name = "KEY")]
        anchor_keys: Vec<String>,
        /// A head printed on a usage report, `SEQ:HASH` (repeatable): the chain must still
        /// hold that row.
        #[arg(long = "head", value_name = "SEQ:HASH")]
        heads: Vec<String>,
        /// Verify every car's chain as the office received it, and the office's own log,
        /// instead of this console's (needs --as; also from PATROL_ALPR_OFFICE_URL).
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: Option<String>,
    },
    /// Make the agency's anchor key pair: the private key to FILE (0600, never kept on a car),
    /// the public key to FILE.pub and on stdout.
    AnchorKey {
        /// Where to write the private key (refused if it exists).
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Sign the chain's head with the anchor key (a supervisor), append the signed line to
    /// the carried file, and keep a copy in the car.
    Anchor {
        /// The private key from `audit anchor-key`, on removable storage.
        #[arg(long = "signing-key", value_name = "FILE")]
        signing_key: std::path::PathBuf,
        /// The anchors file to append to, off the car (created if missing).
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
        /// The supervisor.
        #[arg(long = "as", value_name = "SUPERVISOR_ID")]
        as_user: String,
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
        /// Across the fleet, in the office database (also from PATROL_ALPR_OFFICE_URL);
        /// recorded in the office's audit log too.
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: Option<String>,
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
        /// Across the fleet, in the office database (also from PATROL_ALPR_OFFICE_URL);
        /// recorded in the office's audit log too.
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: Option<String>,
    },
    /// Show a sample and its reviews.
    Show {
        /// Sample id.
        sample: i64,
        /// The supervisor.
        #[arg(long = "as", value_name = "SUPERVISOR_ID")]
        as_user: String,
        /// Across the fleet, in the office database (also from PATROL_ALPR_OFFICE_URL);
        /// recorded in the office's audit log too.
        #[arg(long = "db", value_name = "URL", env = "PATROL_ALPR_OFFICE_URL", hide_env_values = true)]
        db: Option<String>,
    },
}

/// Runs `audit`.
pub fn run(ctx: &Context, command: AuditCommand) -> anyhow::Result<ExitCode> {
    // The anchor key is made off the car, where there is no database (nor its key) to open.
    if let AuditCommand::AnchorKey { out } = &command {
        return anchor_key(ctx, out);
    }
    let store = open_store(ctx)?;
    let accounts = Accounts::new(&store, rules(ctx));
    let mut secrets = Secrets::new();
    match command {
        AuditCommand::Verify { as_user, db: Some(db), .. } => {
            super::office::verify(ctx, &store, &mut secrets, &db, as_user.as_deref())
        }
        AuditCommand::Verify { as_user, anchors, anchor_keys, heads, db: None } => {
            let who = match as_user {
                Some(id) => {
                    let user = actor(&store, ctx, &id, &mut secrets)?;
                    accounts.authorize(&user, Permission::ViewAuditLog, AuditAction::AuditView, "audit verify")?;
                    user.id
                }
                None => "local-cli".to_owned(),
            };
            if !anchors.is_empty() && anchor_keys.is_empty() {
                anyhow::bail!(
                    "--anchors needs --anchor-key: an anchors file is only as good as the key that signed it"
                );
            }
            let keys = anchor_keys.iter().map(|k| public_key(k)).collect::<anyhow::Result<Vec<_>>>()?;
            let carried = anchors.iter().map(|f| read_anchors(f)).collect::<anyhow::Result<Vec<_>>>()?;
            let carried_count: usize = carried.iter().map(Vec::len).sum();
            let heads = heads
                .iter()
                .map(|h| {
                    AuditHead::parse(h)
                        .ok_or_else(|| anyhow::anyhow!("--head {h:?}: give SEQ:HASH as a report prints it"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let lines = verify_lines(&store, carried.into_iter().flatten().collect(), keys, &heads, carried_count)?;
            let broken = lines.iter().any(|l| l.starts_with("broken"));
            let summary = lines.join("; ");
            store.audit(AuditEvent::new(
                &who,
                store.organization(),
                AuditAction::AuditView,
                "audit verify",
                &summary,
            ))?;
            for line in &lines {
                println!("{line}");
            }
            Ok(if broken { ExitCode::from(2) } else { ExitCode::SUCCESS })
        }
        AuditCommand::AnchorKey { .. } => unreachable!("handled before the store opens"),
        AuditCommand::Anchor { signing_key, out, as_user } => {
            check_outside(&signing_key, &ctx.paths.data_dir)?;
            let key = read_private_key(&signing_key)?;
            let user = actor(&store, ctx, &as_user, &mut secrets)?;
            let anchor = anchor_audit_log(&store, &accounts, &user, &key, Utc::now(), |anchor| {
                append_line(&out, &anchor.line()).map_err(|source| ReportError::Io { path: out.clone(), source })
            })?;
            println!(
                "anchored row {} ({}) of store {}; appended to {}",
                anchor.seq,
                anchor.hash,
                anchor.store,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Sample { from, to, size, seed, as_user, db: Some(db) } => {
            let period = (parse_time(&from, false)?, parse_time(&to, true)?);
            super::office::sample(ctx, &store, &mut secrets, &db, period, size, seed, &as_user)
        }
        AuditCommand::Review { sample, item, verdict, note, as_user, db: Some(db) } => {
            super::office::review(ctx, &store, &mut secrets, &db, (sample, item), &verdict, &note, &as_user)
        }
        AuditCommand::Show { sample, as_user, db: Some(db) } => {
            super::office::show(ctx, &store, &mut secrets, &db, sample, &as_user)
        }
        AuditCommand::Sample { from, to, size, seed, as_user, db: None } => {
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
        AuditCommand::Review { sample, item, verdict, note, as_user, db: None } => {
            let verdict =
                Verdict::parse(&verdict).ok_or_else(|| anyhow::anyhow!("--verdict must be compliant or flagged"))?;
            let user = actor(&store, ctx, &as_user, &mut secrets)?;
            review_item(&store, &accounts, &user, sample, item, verdict, &note)?;
            println!("sample {sample} item {item}: {}", verdict.as_str());
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Show { sample, as_user, db: None } => {
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

/// A public key given as the base64 line or as the file holding it.
fn public_key(text: &str) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    let path = std::path::Path::new(text);
    let line = if path.is_file() {
        std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{text}: {e}"))?
    } else {
        text.to_owned()
    };
    parse_public_key(&line)
        .map_err(|_| anyhow::anyhow!("--anchor-key {text:?}: not an ed25519 public key (base64, or the KEY.pub file)"))
}

/// Every anchor line of a carried file; a line that is not one is an error naming it, since
/// a carried file is evidence and is never read in part.
fn read_anchors(path: &std::path::Path) -> anyhow::Result<Vec<Anchor>> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| Anchor::parse(line).map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), n + 1)))
        .collect()
}

/// Appends one line and flushes it to the disk before the car records its copy.
fn append_line(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(format!("{line}\n").as_bytes())?;
    file.sync_all()
}

/// The chain check, then the anchors (stored and carried) and the printed heads, one line
/// each; a line starting `broken` fails the whole check.
fn verify_lines(
    store: &Store,
    carried: Vec<Anchor>,
    keys: Vec<ed25519_dalek::VerifyingKey>,
    heads: &[AuditHead],
    carried_count: usize,
) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    let head = store.audit_head()?;
    lines.push(match store.verify_audit_log()? {
        Verification::Intact { rows } => format!("intact: {rows} rows, head {}", head.token()),
        Verification::Broken { seq, reason } => format!("broken at row {seq}: {reason}"),
    });
    let stored = store.anchors()?.len();
    let report = store.check_anchors(carried, keys.clone())?;
    let signatures =
        if keys.is_empty() { "rows only: give --anchor-key to check the signatures" } else { "signatures checked" };
    lines.push(match (&report.broken, report.newest) {
        (Some((seq, reason)), _) => format!("broken at row {seq}: {reason}"),
        (None, _) if carried_count > 0 && report.other_stores == carried_count => {
            format!("broken: none of the {carried_count} carried anchors is for this store (was its id changed?)")
        }
        (None, None) => format!("anchors: none ({stored} stored, {carried_count} carried); anchor with `audit anchor`"),
        (None, Some(newest)) => format!(
            "anchors: {} hold ({stored} stored, {carried_count} carried, {} of other cars; {signatures}); rows after {newest} are not anchored yet",
            report.held, report.other_stores
        ),
    });
    for printed in heads {
        lines.push(match store.audit_head_at(printed.seq)? {
            Some(row) if row.hash == printed.hash => format!("head {}: holds", printed.seq),
            Some(_) => format!(
                "broken at row {}: the chain holds another row there than the printed head {}",
                printed.seq,
                printed.token()
            ),
            None => format!("broken at row {}: the chain ends at row {} (rows deleted)", printed.seq, head.seq),
        });
    }
    Ok(lines)
}

/// `audit anchor-key`: refused inside the car's data dir, since a key that sits beside the
/// log could re-sign a rebuilt one.
fn anchor_key(ctx: &Context, out: &std::path::Path) -> anyhow::Result<ExitCode> {
    check_outside(out, &ctx.paths.data_dir)?;
    let public = generate_key(out)?;
    println!("{public}");
    eprintln!(
        "anchor key written to {} (keep it off the car); its public key is above and in {}.pub",
        out.display(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
