//! The `admin` command: the ALPR Administrator's system settings from the command line:
//! camera sources, hot-list update sources and public key, the hot-list rules, retention and
//! its floor, the account rules (lockout, idle lock). Each subcommand
//! authenticates the `--as` administrator (PIN from `PATROL_ALPR_PIN` or stdin) like `users`,
//! and every change is audited; the values are kept in the encrypted database and take
//! precedence over the settings file (docs/operations.md, "Administered settings").

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::Context;
use super::store::{Secrets, actor, open_store, rules};
use crate::session::Accounts;
use crate::session::admin::{Administration, HotlistRulesChange, Setting, SettingsView};

/// Subcommands of `admin`.
#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Camera sources the console and `run` open.
    Cameras {
        /// What to do.
        #[command(subcommand)]
        action: ListAction,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID", global = true)]
        as_user: Option<String>,
    },
    /// Folders the shift-start hot-list update reads from.
    Sources {
        /// What to do.
        #[command(subcommand)]
        action: ListAction,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID", global = true)]
        as_user: Option<String>,
    },
    /// The agency's ed25519 public key that signs hot-list updates.
    HotlistKey {
        /// What to do.
        #[command(subcommand)]
        action: KeyAction,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID", global = true)]
        as_user: Option<String>,
    },
    /// How long stored reads are kept.
    Retention {
        /// What to do.
        #[command(subcommand)]
        action: RetentionAction,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID", global = true)]
        as_user: Option<String>,
    },
    /// The hot-list rules: when a list is stale, how loosely reads match, BOLO life, the
    /// past-reads window, the lists matched on text alone.
    HotlistRules {
        /// What to do.
        #[command(subcommand)]
        action: RulesAction,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID", global = true)]
        as_user: Option<String>,
    },
    /// The account rules: wrong PINs before a lockout, minutes before the console locks.
    Accounts {
        /// What to do.
        #[command(subcommand)]
        action: AccountsAction,
        /// The administrator doing it.
        #[arg(long = "as", value_name = "ADMIN_ID", global = true)]
        as_user: Option<String>,
    },
}

/// Actions on the account rules.
#[derive(Debug, clap::Subcommand)]
pub enum AccountsAction {
    /// Show the rules in force.
    Show,
    /// Set one or both rules.
    Set {
        /// Consecutive wrong PINs that lock an account (1-20).
        #[arg(long)]
        lockout_failures: Option<u32>,
        /// Minutes without input before the console locks (1-240).
        #[arg(long)]
        idle_lock_minutes: Option<u32>,
        /// Days without a log-on after which an account is suspended (0 never, else 7-3650).
        #[arg(long)]
        inactive_suspend_days: Option<u32>,
    },
}

/// Actions on the hot-list rules.
#[derive(Debug, clap::Subcommand)]
pub enum RulesAction {
    /// Show the rules in force.
    Show,
    /// Change one or more rules (the others stay); a console uses them from its next start.
    Set {
        /// Hours after which a list is stale (1-168).
        #[arg(long)]
        max_age_hours: Option<u32>,
        /// The most look-alike substitutions an approximate match may need (0-2).
        #[arg(long)]
        max_substitutions: Option<u8>,
        /// Characters the reader may confuse, each class one argument: `0ODQ 1I 8B`.
        #[arg(long, num_args = 1.., value_name = "CLASS")]
        equivalence_classes: Option<Vec<String>>,
        /// The longest a BOLO entry may stay, in days (1-90).
        #[arg(long)]
        bolo_max_days: Option<u32>,
        /// How far back new entries are checked against stored reads, in hours (0-720).
        #[arg(long)]
        past_reads_window_hours: Option<u32>,
        /// Match this list's entries on the plate text whatever state is read (repeatable).
        #[arg(long, value_name = "LIST")]
        text_only: Vec<String>,
        /// Match this list's entries with their state again (repeatable).
        #[arg(long, value_name = "LIST")]
        with_state: Vec<String>,
    },
}

/// Actions on a list setting.
#[derive(Debug, clap::Subcommand)]
pub enum ListAction {
    /// Show the entries in force and where they come from.
    List,
    /// Add an entry.
    Add {
        /// Cameras: auto, sim, replay:PATH or camera:INDEX|NAME|PATH; sources: a folder.
        value: String,
    },
    /// Remove an entry.
    Remove {
        /// The entry as listed.
        value: String,
    },
}

/// Actions on the hot-list key.
#[derive(Debug, clap::Subcommand)]
pub enum KeyAction {
    /// Show the key in force.
    Show,
    /// Set the key: the base64 line `hotlist keygen` printed, or --file KEY.pub.
    Set {
        /// The key.
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        key: Option<String>,
        /// Read the key from this file (the KEY.pub `hotlist keygen` wrote).
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// Actions on retention.
#[derive(Debug, clap::Subcommand)]
pub enum RetentionAction {
    /// Show the period in force.
    Show,
    /// Set the period (at least 365 days unless shorter ones are allowed).
    Set {
        /// Days.
        days: u32,
    },
    /// Allow or forbid periods under the one-year floor (on counsel's advice only).
    AllowShort {
        /// `true` or `false`.
        #[arg(action = clap::ArgAction::Set)]
        allow: bool,
    },
}

fn origin(view: &SettingsView, setting: Setting) -> &'static str {
    view.origin(setting)
}

fn print_list(title: &str, entries: &[String], from: &str) {
    println!("{title} ({from}):");
    if entries.is_empty() {
        println!("  (none)");
    }
    for entry in entries {
        println!("  {entry}");
    }
}

/// Runs `admin`.
pub fn run(ctx: &Context, command: AdminCommand) -> anyhow::Result<ExitCode> {
    let as_user = match &command {
        AdminCommand::Cameras { as_user, .. }
        | AdminCommand::Sources { as_user, .. }
        | AdminCommand::HotlistKey { as_user, .. }
        | AdminCommand::Retention { as_user, .. }
        | AdminCommand::HotlistRules { as_user, .. }
        | AdminCommand::Accounts { as_user, .. } => as_user.clone(),
    };
    let as_user = as_user.context("--as ADMIN_ID is required: settings are the ALPR Administrator's")?;
    let store = open_store(ctx)?;
    let accounts = Accounts::new(&store, rules(ctx));
    let admin = actor(&store, ctx, &as_user, &mut Secrets::new())?;
    let svc = Administration::new(&store, accounts, &ctx.config);
    match command {
        AdminCommand::Cameras { action, .. } => match action {
            ListAction::List => {
                let view = svc.view(&admin)?;
                print_list("camera sources", &view.camera_sources, origin(&view, Setting::CameraSources));
            }
            ListAction::Add { value } => {
                let now = svc.add_camera(&admin, &value)?;
                println!("added camera {}; now: {} (from the next log-on)", value.trim(), now.join(", "));
            }
            ListAction::Remove { value } => {
                let now = svc.remove_camera(&admin, &value)?;
                println!("removed camera {value}; now: {}", now.join(", "));
            }
        },
        AdminCommand::Sources { action, .. } => match action {
            ListAction::List => {
                let view = svc.view(&admin)?;
                print_list("hot-list sources", &view.hotlist_sources, origin(&view, Setting::HotlistSources));
            }
            ListAction::Add { value } => {
                let now = svc.add_hotlist_source(&admin, &value)?;
                if !std::path::Path::new(value.trim()).is_dir() {
                    eprintln!("note: {} is not a folder on this machine now (media not mounted?)", value.trim());
                }
                println!("added hot-list source {}; now: {}", value.trim(), now.join(", "));
            }
            ListAction::Remove { value } => {
                let now = svc.remove_hotlist_source(&admin, &value)?;
                println!(
                    "removed hot-list source {value}; now: {}",
                    if now.is_empty() { "none".into() } else { now.join(", ") }
                );
            }
        },
        AdminCommand::HotlistKey { action, .. } => match action {
            KeyAction::Show => {
                let view = svc.view(&admin)?;
                match &view.hotlist_public_key {
                    Some(key) => println!("{key} ({})", origin(&view, Setting::HotlistPublicKey)),
                    None => println!("none: every hot-list update is refused"),
                }
            }
            KeyAction::Set { key, file } => {
                let key = match (key, file) {
                    (Some(key), _) => key,
                    (None, Some(file)) => {
                        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?
                    }
                    (None, None) => anyhow::bail!("give the key or --file KEY.pub"),
                };
                let key = svc.set_hotlist_key(&admin, &key)?;
                println!("hot-list public key set: {key}");
            }
        },
        AdminCommand::Retention { action, .. } => match action {
            RetentionAction::Show => {
                let view = svc.view(&admin)?;
                println!("retention {} days ({})", view.retention_days, origin(&view, Setting::RetentionDays));
            }
            RetentionAction::Set { days } => {
                svc.set_retention(&admin, days)?;
                println!("retention {days} days");
            }
            RetentionAction::AllowShort { allow } => {
                svc.set_allow_short_retention(&admin, allow)?;
                println!("periods under the one-year floor {}", if allow { "allowed" } else { "refused" });
            }
        },
        AdminCommand::HotlistRules { action, .. } => match action {
            RulesAction::Show => {
                let view = svc.view(&admin)?;
                println!("{} ({})", view.hotlist_rules.summary(), origin(&view, Setting::HotlistRules));
            }
            RulesAction::Set {
                max_age_hours,
                max_substitutions,
                equivalence_classes,
                bolo_max_days,
                past_reads_window_hours,
                text_only,
                with_state,
            } => {
                let change = HotlistRulesChange {
                    max_age_hours,
                    equivalence_classes,
                    max_substitutions,
                    bolo_max_days,
                    past_reads_window_hours,
                    add_text_only: text_only,
                    remove_text_only: with_state,
                };
                if change.is_empty() {
                    anyhow::bail!("give at least one rule to change (see `admin hotlist-rules set --help`)");
                }
                let rules = svc.set_hotlist_rules(&admin, change)?;
                println!("hot-list rules: {} (a console uses them from its next start)", rules.summary());
            }
        },
        AdminCommand::Accounts { action, .. } => match action {
            AccountsAction::Show => {
                let view = svc.view(&admin)?;
                println!(
                    "lockout after {} wrong PINs ({})",
                    view.lockout_failures,
                    origin(&view, Setting::LockoutFailures)
                );
                println!(
                    "console locks after {} idle minutes ({})",
                    view.idle_lock_minutes,
                    origin(&view, Setting::IdleLockMinutes)
                );
                println!(
                    "accounts suspended after {} days without a log-on ({})",
                    view.inactive_suspend_days,
                    origin(&view, Setting::InactiveSuspendDays)
                );
            }
            AccountsAction::Set { lockout_failures, idle_lock_minutes, inactive_suspend_days } => {
                if lockout_failures.is_none() && idle_lock_minutes.is_none() && inactive_suspend_days.is_none() {
                    anyhow::bail!("give --lockout-failures N, --idle-lock-minutes N or --inactive-suspend-days N");
                }
                if let Some(n) = lockout_failures {
                    svc.set_lockout_failures(&admin, n)?;
                    println!("lockout after {n} wrong PINs");
                }
                if let Some(minutes) = idle_lock_minutes {
                    svc.set_idle_lock_minutes(&admin, minutes)?;
                    println!("console locks after {minutes} idle minutes");
                }
                if let Some(days) = inactive_suspend_days {
                    svc.set_inactive_suspend_days(&admin, days)?;
                    println!("accounts suspended after {days} days without a log-on");
                }
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}
